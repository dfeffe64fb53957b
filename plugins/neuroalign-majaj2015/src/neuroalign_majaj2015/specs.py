"""The registered benchmark specs of ``neuroalign-majaj2015`` (cheap: specs only, no I/O).

Kept apart from :mod:`neuroalign_majaj2015.benchmarks` so that registering the benchmarks does
not import the scoring engine (``neuroalign list`` stays fast).
"""

from __future__ import annotations

from neuroalign import BenchmarkSpec

from .data import CITATION

__all__ = ["benchmark_specs", "VISUAL_DEGREES", "NUMBER_OF_TRIALS"]

VISUAL_DEGREES = 8.0
NUMBER_OF_TRIALS = 50
_METRICS = {"pls": "PLS regression (25 components)", "ridge": "ridge regression (per-site alpha, "
            "efficient leave-one-out)"}


def benchmark_specs() -> list[BenchmarkSpec]:
    """The four registered specs (cheap: no I/O)."""
    specs = []
    for region in ("V4", "IT"):
        for metric, mapping in _METRICS.items():
            specs.append(BenchmarkSpec(
                id=f"MajajHong2015.{region}-{metric}",
                factory="neuroalign_majaj2015.benchmarks:MajajHong2015Benchmark",
                version=2,
                dataset="MajajHong2015.private",
                metric=metric,
                ceiling="internal_consistency",
                region=region,
                kind="neural",
                visual_degrees=VISUAL_DEGREES,
                number_of_trials=NUMBER_OF_TRIALS,
                citation=CITATION,
                paper_section="Schrimpf et al. 2018 (Brain-Score), Methods: Neural predictivity; "
                              "Neural recordings (Majaj et al. 2015)",
                description=f"{region} neural predictivity on Majaj-Hong 2015: {mapping} from "
                            f"model features to {88 if region == 'V4' else 168} {region} sites, "
                            "layer selected on the public split, score on the private split, "
                            "ceiled by split-half internal consistency (explained variance).",
                parameters={"selection_dataset": "MajajHong2015.public",
                            "ceiling_mode": "explained_variance", "clip": False,
                            "reduction": "pca", "reported_features": "full",
                            "preprocessing": "brainscore"},
            ))
    return specs
