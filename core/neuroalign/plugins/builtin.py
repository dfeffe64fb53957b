"""Built-in aggregators ``mean``, ``zmean`` and ``meanrank`` (paper 001, section 4) and the
core's report figures (:mod:`neuroalign.app.report.figures`)."""

from __future__ import annotations

from .hookspecs import hookimpl
from ..specs import AggregatorSpec, FigureSpec

_AHLERT = "Ahlert et al., 'How aligned are different alignment metrics?' (2024), section 4"


@hookimpl
def register_aggregators(register):
    register(AggregatorSpec(
        id="mean",
        factory="neuroalign.scoring.aggregate:MeanAggregator",
        parameters={"missing": "zero"},
        description="Brain-Score's hierarchical arithmetic mean: benchmark -> region -> "
        "neural/behavioral -> overall. parameters.missing: 'zero' (Brain-Score: a missing "
        "benchmark counts as 0) or 'skip' (average what is there); parameters.levels: 'kinds' "
        "(default) or 'regions' (regions averaged directly, paper 000's 'Avg').",
        citation=_AHLERT,
    ))
    register(AggregatorSpec(
        id="zmean",
        factory="neuroalign.scoring.standardised:ZMeanAggregator",
        parameters={"level": "kinds", "missing": "complete", "ddof": 0},
        description="z-transform each group score across models, then average per model. "
        "parameters.level: 'kinds' (default, paper 001 Fig. 2: Brain-Score's neural and "
        "behavioral scores, each the hierarchical mean of its regions' benchmarks), 'regions' or "
        "'benchmarks' (flat). parameters.missing: 'complete' (default, paper 001's analysis "
        "set: models lacking any score get NaN), 'skip' (standardise what is there) or 'zero' "
        "(a missing score counts as 0). Lower-is-better benchmarks form their own groups, "
        "negated.",
        citation=_AHLERT,
    ))
    register(AggregatorSpec(
        id="meanrank",
        factory="neuroalign.scoring.standardised:MeanRankAggregator",
        parameters={"level": "kinds", "missing": "complete"},
        description="Rank models on each group score (1 worst .. n best), then average the "
        "ranks. parameters.level and parameters.missing as for zmean (defaults 'kinds', "
        "'complete'); lower-is-better groups are ranked the other way.",
        citation=_AHLERT,
    ))


_FIGURES = "neuroalign.app.report.figures"
_PAPER_002 = ("Small-scale adversarial perturbations expose differences between predictive "
              "encoding models of human fMRI responses")
_PAPER_003 = "Linsley et al., 'Adversarial Alignment' (2023)"


@hookimpl
def register_figures(register):
    register(FigureSpec(
        id="benchmark_bars", factory=f"{_FIGURES}:BenchmarkBars", scope="benchmark", order=10,
        parameters={"max_bars": 40},
        description="Each model's ceiled score with error bars and the ceiling, best first."))
    register(FigureSpec(
        id="layer_profile", factory=f"{_FIGURES}:LayerProfile", scope="benchmark", order=20,
        parameters={"max_series": 8},
        description="Score of every candidate layer (Score.layers); the chosen layer ringed."))
    register(FigureSpec(
        id="region_scores", factory=f"{_FIGURES}:RegionScores", scope="model", order=10,
        description="Mean score per region, with the rho-hierarchy (paper 000).",
        paper_section="CrossViT-18 Brain-Score 2022 entry, rho-hierarchy"))
    register(FigureSpec(
        id="metric_agreement", factory=f"{_FIGURES}:MetricAgreement", scope="global",
        section="Across benchmarks", order=10, parameters={"alpha": 0.05, "complete": True},
        description="Pairwise Spearman agreement between benchmarks, Bonferroni-marked.",
        citation=_AHLERT, paper_section="section 2, Figure 1"))
    register(FigureSpec(
        id="ranking_comparison", factory=f"{_FIGURES}:RankingComparison", scope="global",
        section="Across benchmarks", order=20,
        parameters={"aggregators": ["mean", "zmean", "meanrank"], "shift": 10},
        description="Model rankings under mean, z-mean and mean-rank.",
        citation=_AHLERT, paper_section="section 4, Figure 3"))
    register(FigureSpec(
        id="score_vs_imagenet", factory=f"{_FIGURES}:ScoreVsColumn", scope="global",
        section="Paper figures", order=10, inputs=("imagenet_top1",),
        parameters={"column": "imagenet_top1", "aggregator": "mean"},
        description="Aggregate score vs ImageNet top-1 accuracy (from --models-csv).",
        citation=_PAPER_003, paper_section="Figures 2 and 3"))
    register(FigureSpec(
        id="predictivity_vs_sensitivity", factory=f"{_FIGURES}:BenchmarkScatter",
        scope="global", section="Paper figures", order=30, benchmarks="NSD.*",
        parameters={"x": "NSD.*-fgsm_sensitivity*", "y": "NSD.*", "y_exclude": "*sensitivity*",
                    "x_label": "adversarial sensitivity (lower is better)",
                    "y_label": "predictivity", "discriminability": True},
        description="Predictivity vs adversarial sensitivity, with sparseness and normalised "
                    "variance of both.",
        citation=_PAPER_002, paper_section="2.4 and Figure 3"))
    register(FigureSpec(
        id="tolerance_vs_alignment", factory=f"{_FIGURES}:BenchmarkScatter", scope="global",
        section="Paper figures", order=40, benchmarks="ClickMe.*",
        parameters={"x": "ClickMe.alignment-*", "y": "ClickMe.tolerance-*",
                    "x_label": "adversarial alignment", "y_label": "perturbation tolerance",
                    "front": True},
        description="Perturbation tolerance vs adversarial alignment, with the Pareto front.",
        citation=_PAPER_003, paper_section="Figure 4"))
