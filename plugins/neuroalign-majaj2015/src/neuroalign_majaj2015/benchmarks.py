"""Benchmarks ``MajajHong2015.{V4,IT}-{pls,ridge}`` (version 1).

Brain-Score's ``MajajHong2015.V4-pls`` / ``MajajHong2015.IT-pls`` (Schrimpf et al. 2018,
"Neural predictivity"): model features of the stimuli shown at 8 degrees, a PLS (25 components)
or ridge mapping to the region's sites, cross-validated Pearson r (10 stratified 90/10 splits,
median over sites, mean over splits), ceiled by the split-half internal consistency of the
sites (Spearman-Brown), explained-variance normalisation (``raw**2 / ceiling``, clipped to [0, 1]).

Layer selection (models without a region commitment) scores every candidate layer on
``MajajHong2015.public`` (variations 0 and 3) and reports the best layer's score on
``MajajHong2015.private`` (variation 6), so the layer is never chosen on the reported data.
"""

from __future__ import annotations

from neuroalign_neural.benchmark import NeuralBenchmark

# The specs live in specs.py so registration never imports the scoring engine.
from .specs import NUMBER_OF_TRIALS, VISUAL_DEGREES, benchmark_specs

__all__ = ["benchmark_specs", "MajajHong2015Benchmark", "VISUAL_DEGREES", "NUMBER_OF_TRIALS"]


class MajajHong2015Benchmark(NeuralBenchmark):
    """A Majaj-Hong 2015 region benchmark (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``region``, ``metric``, ``ceiling``, ``dataset`` (reported split) and, in
        ``parameters``, ``selection_dataset``, ``ceiling_mode`` (``explained_variance``,
        ``ratio`` or ``none``) and ``reduction`` (``pca``, ``srp`` or None).
    """

    default_selection_dataset = "MajajHong2015.public"
    unit_name = "sites"
