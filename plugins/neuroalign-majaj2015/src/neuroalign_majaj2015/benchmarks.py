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

from neuroalign.interfaces import BenchmarkSpec
from neuroalign.scoring import NeuralBenchmark, NeuralSplit

from .data import CITATION

__all__ = ["benchmark_specs", "MajajHong2015Benchmark", "VISUAL_DEGREES", "NUMBER_OF_TRIALS"]

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
                version=1,
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
                            "ceiling_mode": "explained_variance", "reduction": "pca"},
            ))
    return specs


class MajajHong2015Benchmark(NeuralBenchmark):
    """A Majaj-Hong 2015 region benchmark (see the module docstring).

    Parameters
    ----------
    spec : BenchmarkSpec
        ``region``, ``metric``, ``ceiling``, ``dataset`` (reported split) and, in
        ``parameters``, ``selection_dataset``, ``ceiling_mode`` (``explained_variance``,
        ``ratio`` or ``none``) and ``reduction`` (``pca``, ``srp`` or None).
    """

    def load_split(self, role: str) -> NeuralSplit:
        """The public (``"selection"``) or private (``"reported"``) split, this region's sites."""
        from neuroalign.registry import get_dataset

        if role not in ("selection", "reported"):
            raise ValueError(f"role must be 'selection' or 'reported'; found {role!r}")
        identifier = (self.spec.parameters.get("selection_dataset", "MajajHong2015.public")
                      if role == "selection" else self.spec.dataset)
        dataset = get_dataset(identifier)
        assembly = dataset.load()
        regional = assembly.isel(neuroid=(assembly["region"] == self.spec.region).values)
        if regional.sizes["neuroid"] == 0:
            regions = sorted(set(map(str, assembly["region"].values)))
            raise ValueError(
                f"{identifier} has no {self.spec.region!r} sites; its regions are {regions}"
            )
        return NeuralSplit(name=identifier, stimuli=dataset.stimuli(), repetitions=regional,
                           sha256=dict(getattr(dataset, "sha256", {}) or {}))

    def normalize(self, raw, ceiling):
        """Ceiled score (``parameters["ceiling_mode"]``, default explained variance)."""
        from neuroalign_neural import ceiled_score

        return ceiled_score(raw, ceiling, mode=self.spec.parameters.get("ceiling_mode",
                                                                        "explained_variance"))
