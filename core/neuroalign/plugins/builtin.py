"""Built-in aggregators ``mean``, ``zmean`` and ``meanrank`` (paper 001, section 4)."""

from __future__ import annotations

from .hookspecs import hookimpl
from ..specs import AggregatorSpec

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
        factory="neuroalign.scoring.aggregate:ZMeanAggregator",
        description="z-transform each benchmark across models, then average per model.",
        citation=_AHLERT,
    ))
    register(AggregatorSpec(
        id="meanrank",
        factory="neuroalign.scoring.aggregate:MeanRankAggregator",
        description="Rank models on each benchmark (higher is better), then average the ranks.",
        citation=_AHLERT,
    ))
