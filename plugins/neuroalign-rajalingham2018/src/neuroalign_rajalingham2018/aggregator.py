"""``flat_mean``: the plain mean of a model's scores (paper 004's Brain-Score).

Paper 004 (Schrimpf et al. 2018, "Brain-Score"): "The Brain-Score presented here is the mean of
the three scores" (V4, IT, behavior). The core's ``mean`` averages regions within kinds first
(``(mean(V4, IT) + behavior) / 2``), today's Brain-Score hierarchy; this aggregator weighs every
child equally.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from neuroalign.errors import SpecError
from neuroalign import Aggregator, AggregatorSpec
from neuroalign import Score

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FlatMeanAggregator"]


class FlatMeanAggregator(Aggregator):
    """Unweighted mean of the children (see the module docstring).

    Parameters
    ----------
    spec : AggregatorSpec, optional
        ``parameters["missing"]``: ``"zero"`` (default; a NaN child counts as 0, as on
        Brain-Score's leaderboard) or ``"skip"``.
    """

    def __init__(self, spec: AggregatorSpec | None = None):
        self.spec = spec or AggregatorSpec(
            id="flat_mean", factory="neuroalign_rajalingham2018.aggregator:FlatMeanAggregator")
        self.missing = self.spec.parameters.get("missing", "zero")
        if self.missing not in ("zero", "skip"):
            raise SpecError(f"Aggregator 'flat_mean': parameter missing={self.missing!r} is not "
                            "valid; use 'zero' or 'skip'")

    def combine(self, children: Mapping[str, Score]) -> Score:
        """The mean of the children's values; error ``sqrt(sum e_i^2) / n`` (independent)."""
        values, errors, absent = [], [], []
        for name, child in children.items():
            value, error = float(child.value), child.error
            if math.isnan(value):
                absent.append(name)
                if self.missing == "skip":
                    continue
                value, error = 0.0, 0.0
            values.append(value)
            errors.append(error)
        if not values:
            return Score(value=math.nan, children=dict(children),
                         attrs={"aggregator": "flat_mean", "missing": absent})
        n = len(values)
        known = all(e is not None and not math.isnan(e) for e in errors)
        error = math.sqrt(sum(e * e for e in errors)) / n if known else None
        return Score(value=sum(values) / n, error=error, children=dict(children),
                     attrs={"aggregator": "flat_mean", "missing_rule": self.missing,
                            "missing": absent})

    def rank(self, table: pd.DataFrame) -> pd.Series:
        """Per model (row), the mean over benchmark columns (missing: zero or skipped)."""
        filled = table.fillna(0.0) if self.missing == "zero" else table
        return filled.mean(axis=1, skipna=True)
