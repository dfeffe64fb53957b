"""The registered specs of ``neuroalign-majaj2015``: datasets and benchmarks (cheap: no I/O).

Kept apart from :mod:`neuroalign_majaj2015.benchmarks` so that registering the benchmarks does
not import the scoring engine (``neuroalign list`` stays fast).
"""

from __future__ import annotations

from neuroalign import BenchmarkSpec

from .data import CITATION, dataset_specs

__all__ = ["benchmark_specs", "dataset_specs", "VISUAL_DEGREES", "NUMBER_OF_TRIALS"]

VISUAL_DEGREES = 8.0
NUMBER_OF_TRIALS = 50
_METRICS = {"pls": "PLS regression (25 components)", "ridge": "ridge regression (per-site alpha, "
            "efficient leave-one-out)"}


def benchmark_specs() -> list[BenchmarkSpec]:
    """The six registered specs (cheap: no I/O): ``MajajHong2015.{V4,IT}-{pls,ridge}`` (reported on
    the private split, which needs Brain-Score's credentials) and Brain-Score's public-split
    benchmarks ``MajajHong2015public.{V4,IT}-pls`` (open data, no credentials)."""
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
    for region in ("V4", "IT"):
        specs.append(BenchmarkSpec(
            id=f"MajajHong2015public.{region}-pls",
            factory="neuroalign_majaj2015.benchmarks:MajajHong2015Benchmark",
            # 2: Brain-Score parity defaults (full-activation reported score, Resize((s, s)),
            # no clipping); 1 = PCA on the reported score, timm crop, clipped
            version=2,
            dataset="MajajHong2015.public",
            metric="pls",
            ceiling="internal_consistency",
            region=region,
            kind="neural",
            visual_degrees=VISUAL_DEGREES,
            number_of_trials=NUMBER_OF_TRIALS,
            citation=CITATION,
            paper_section="Schrimpf et al. 2018 (Brain-Score), Methods: Neural predictivity; "
                          "brainscore-vision 2.4.2 benchmarks/majajhong2015 "
                          "(MajajHongV4PublicBenchmark, MajajHongITPublicBenchmark)",
            description=f"{region} neural predictivity on the public split of Majaj-Hong 2015 "
                        "(open data: no credentials needed): PLS regression (25 components) to "
                        f"{88 if region == 'V4' else 168} {region} sites, 3,200 images; layer "
                        "selection and score on this split (Brain-Score's public benchmark), "
                        "ceiled by split-half internal consistency (explained variance); not "
                        "part of region means.",
            parameters={"selection_dataset": "MajajHong2015.public",
                        "ceiling_mode": "explained_variance", "clip": False, "reduction": "pca",
                        "reported_features": "full", "preprocessing": "brainscore",
                        "aggregate": False},
        ))
    return specs
