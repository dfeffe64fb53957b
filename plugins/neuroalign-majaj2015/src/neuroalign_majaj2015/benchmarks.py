"""Benchmarks ``MajajHong2015.{V4,IT}-{pls,ridge}`` (version 2).

Brain-Score's ``MajajHong2015.V4-pls`` / ``MajajHong2015.IT-pls`` (Schrimpf et al. 2018,
"Neural predictivity"): model features of the stimuli shown at 8 degrees, a PLS (25 components)
or ridge mapping to the region's sites, cross-validated Pearson r (10 stratified 90/10 splits,
median over sites, mean over splits), ceiled by the split-half internal consistency of the
sites (Spearman-Brown), explained-variance normalisation (``raw**2 / ceiling``, not clipped, as
Brain-Score; ``parameters["clip"]=True`` clips to [0, 1]). The reported score uses the chosen
layer's *full* activations (Brain-Score applies ``LayerPCA(1000)`` only during layer selection),
and images are resized to the model's input square without a centre crop (Brain-Score's
``Resize((s, s))``). Version 2 (these Brain-Score defaults) replaces version 1 (PCA on the
reported score, timm's ``crop_pct``, clipped scores); ``docs/benchmarks/MajajHong2015.*.md``
give the measured effect of each option.

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
        ``ratio`` or ``none``), ``clip`` (default False), ``reduction`` for layer selection
        (``pca``, ``srp`` or None), ``reported_features`` (``full`` or ``reduced``) and
        ``preprocessing`` (``brainscore`` or ``model``).
    """

    default_selection_dataset = "MajajHong2015.public"
    unit_name = "sites"
