"""``example_median``: a plugin aggregator (the built-in ones live in neuroalign.scoring.aggregate)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from neuroalign import Aggregator, AggregatorSpec
from neuroalign import Score


class MedianAggregator(Aggregator):
    """The median of the children's values (missing ones skipped); error not propagated.

    Parameters
    ----------
    spec : AggregatorSpec
        No parameters.
    """

    def __init__(self, spec: AggregatorSpec):
        self.spec = spec

    def combine(self, children: Mapping[str, Score]) -> Score:
        """Median of ``children``'s values; the children are kept."""
        values = [c.value for c in children.values() if not math.isnan(c.value)]
        return Score(value=float(np.median(values)) if values else math.nan,
                     children=dict(children), attrs={"aggregator": self.spec.id})

    def rank(self, table):
        """Median of each row (model) over its benchmarks; higher is better."""
        return table.astype(float).median(axis=1, skipna=True).rename(self.spec.id)
