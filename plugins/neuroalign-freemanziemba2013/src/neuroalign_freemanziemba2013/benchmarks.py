"""Benchmarks ``FreemanZiemba2013.{V1,V2}-pls`` and ``FreemanZiemba2013public.{V1,V2}-pls``.

Brain-Score's V1 and V2 neural benchmarks (brainscore-vision 2.4.2,
``benchmarks/freemanziemba2013/``): model features of the texture and noise images shown at
4 degrees, PLS (25 components) to the region's units, cross-validated Pearson r (10 stratified
90/10 splits stratified by ``texture_type``, median over units, mean over splits), ceiled by
the split-half internal consistency of the units over the 20 repetitions (Spearman-Brown),
explained-variance normalisation (``raw**2 / ceiling``).

* ``FreemanZiemba2013.{V1,V2}-pls`` (version 3, the reported scores) score the **private** split
  (315 images) with its own ceiling; a model without a region commitment has its layer chosen on
  the public split first (Brain-Score's ``STANDARD_REGION_BENCHMARKS``).
* ``FreemanZiemba2013public.{V1,V2}-pls`` (version 1) score the **public** split (135 images)
  with its own ceiling; layer selection runs on that same split, as Brain-Score commits a
  model's V1/V2 layer with exactly these benchmarks, so their score is the best layer's. They
  are not part of any region's mean (Brain-Score: ``parent=None``).
"""

from __future__ import annotations

from neuroalign_neural.benchmark import NeuralBenchmark

from .specs import NUMBER_OF_TRIALS, VISUAL_DEGREES, benchmark_specs

__all__ = ["benchmark_specs", "FreemanZiemba2013Benchmark", "VISUAL_DEGREES", "NUMBER_OF_TRIALS"]


class FreemanZiemba2013Benchmark(NeuralBenchmark):
    """A Freeman-Ziemba 2013 region benchmark (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``region``, ``metric`` (+ ``metric_parameters``: ``stratification_coord``),
        ``ceiling``, ``dataset`` (reported split) and, in ``parameters``,
        ``selection_dataset``, ``ceiling_mode`` and ``reduction``.
    """

    default_selection_dataset = "FreemanZiemba2013.public"
    unit_name = "units"
