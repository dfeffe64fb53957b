"""z-mean and mean-rank over the Brain-Score hierarchy (paper 001, section 4, Figures 2 and 3).

Paper 001 standardises at a level of the Brain-Score hierarchy, not over the flat list of
benchmarks: Brain-Score's overall score is the arithmetic mean of a neural and a behavioral score
(each the mean of its regions, each region the mean of its benchmarks), and its Figure 2 (right)
z-transforms *those two scores* across models before averaging them; the mean rank likewise ranks
models "at some level of the Brain-Score hierarchy" and averages the ranks. Taken flat over
benchmark columns, a region with many benchmarks (Brain-Score's V1 has dozens) would outweigh a
region with one, which the hierarchy exists to prevent.

So :class:`ZMeanAggregator` and :class:`MeanRankAggregator` first reduce a model x benchmark table
to a model x group table with the mean's hierarchy (:func:`group_scores`), then z-transform or
rank each group column across models and average per model. ``parameters["level"]`` picks the
groups: ``"kinds"`` (default, the paper's: neural, behavioral, and any other kind that enters the
mean), ``"regions"`` (V1, V2, V4, IT, behavior, ...), or ``"benchmarks"`` (flat; what these
aggregators did before).

Direction: benchmarks whose spec says ``higher_is_better=False`` are never averaged with
higher-is-better ones; they form a group of their own per kind (or region), named with the
suffix ``" (lower is better)"``, whose z-scores are negated and whose ranks run the other way.

Missing scores (``parameters["missing"]``), stated per aggregator:

``"complete"`` (default of both, paper 001's analysis set)
    only models with every benchmark of the table are standardised or ranked (paper 001 analyses
    "only those models for which all scores are available"); the others get NaN and are listed
    in the result's ``attrs["incomplete"]``.
``"skip"``
    a group score is the mean of what a model has; each group is standardised or ranked among
    the models that have it; a model's aggregate averages the groups it has.
``"zero"``
    Brain-Score's leaderboard rule: a missing score counts as 0 before anything else.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from ..specs import AggregatorSpec
from .aggregate import EXCLUDED_KINDS, _Base, benchmark_directions, benchmark_groups
from .tables import numeric_table, wide_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["GROUP_LEVELS", "TABLE_MISSING", "LOWER", "group_scores", "ZMeanAggregator",
           "MeanRankAggregator"]

#: valid values of the ``level`` parameter of z-mean and mean-rank
GROUP_LEVELS: tuple[str, ...] = ("kinds", "regions", "benchmarks")
#: valid values of the ``missing`` parameter of z-mean and mean-rank
TABLE_MISSING: tuple[str, ...] = ("complete", "skip", "zero")
#: suffix of a group holding lower-is-better benchmarks
LOWER = " (lower is better)"


def group_scores(table: pd.DataFrame, level: str = "kinds", missing: str = "skip"
                 ) -> tuple[pd.DataFrame, dict[str, bool], dict[str, list[str]]]:
    """Model x group table of a model x benchmark table, by the mean's hierarchy.

    Parameters
    ----------
    table : pandas.DataFrame
        Models as rows, benchmark ids as columns (or a tidy results table); NaN: missing.
    level : {"kinds", "regions", "benchmarks"}
        ``"kinds"``: each kind's score is the mean over its regions of each region's mean over
        its benchmarks (Brain-Score's neural and behavioral scores); ``"regions"``: each region's
        mean; ``"benchmarks"``: the columns themselves.
    missing : {"complete", "skip", "zero"}
        ``"zero"`` fills NaN with 0 first; otherwise NaN cells are left out of the means (a group
        with nothing is NaN). ``"complete"`` is applied by the aggregators, not here.

    Returns
    -------
    (groups, higher, members)
        The model x group table; ``group -> higher_is_better``; ``group -> benchmark columns``.
        Excluded kinds (engineering, composites, ``parameters["aggregate"] = False``) never
        enter. Lower-is-better benchmarks form their own groups (suffix :data:`LOWER`).
    """
    import pandas as pd

    if level not in GROUP_LEVELS:
        raise SpecError(f"level={level!r} is not valid; use one of {list(GROUP_LEVELS)}")
    table = numeric_table(wide_table(table))
    where = benchmark_groups(table)
    direction = benchmark_directions(table)
    columns = [c for c in table.columns if where[c][1] not in EXCLUDED_KINDS]
    table = table[columns]
    if missing == "zero":
        table = table.fillna(0.0)
    # group -> region -> columns, in table order
    tree: dict[str, dict[str, list[str]]] = {}
    for column in columns:
        region, kind = where[column]
        key = {"kinds": kind, "regions": region, "benchmarks": str(column)}[level]
        key = key if direction[column] else key + LOWER
        tree.setdefault(key, {}).setdefault(region, []).append(column)
    out = {}
    for key, regions in tree.items():
        region_means = pd.DataFrame({r: table[cs].mean(axis=1, skipna=True)
                                     for r, cs in regions.items()}, index=table.index)
        out[key] = _denoise(region_means.mean(axis=1, skipna=True))
    groups = pd.DataFrame(out, index=table.index, columns=list(tree))
    higher = {key: not key.endswith(LOWER) for key in tree}
    members = {key: [c for cs in regions.values() for c in cs] for key, regions in tree.items()}
    return groups, higher, members


def _denoise(column: pd.Series) -> pd.Series:
    """Round away float noise of the means (0.5 + 0.4 vs 0.6 + 0.3): 12 significant digits of
    the column's largest magnitude, so equal means tie in ranks and z-scores."""
    import numpy as np

    scale = float(column.abs().max()) if column.notna().any() else 0.0
    if not scale or not math.isfinite(scale):
        return column
    unit = 10.0 ** (math.floor(math.log10(scale)) - 11)
    return (column / unit).round() * unit if np.isfinite(unit) else column


class _GroupAggregator(_Base):
    """Shared by z-mean and mean-rank: reduce to groups, then transform each group column."""

    default_missing = "complete"
    combines = False

    def __init__(self, spec: AggregatorSpec | None = None):
        if spec is None:
            spec = AggregatorSpec(id=self.default_id,
                                  factory=f"neuroalign.scoring.standardised:{type(self).__name__}")
        params = dict(spec.parameters)
        self.level: str = params.get("level", "kinds")
        if self.level not in GROUP_LEVELS:
            raise SpecError(
                f"Aggregator {spec.id!r}: parameter level={self.level!r} is not valid; use one "
                f"of {list(GROUP_LEVELS)}"
            )
        missing = params.get("missing", self.default_missing)
        if missing not in TABLE_MISSING:
            raise SpecError(
                f"Aggregator {spec.id!r}: parameter missing={missing!r} is not valid; use one "
                f"of {list(TABLE_MISSING)}"
            )
        self.spec = spec
        self.missing: str = missing

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(id={self.spec.id!r}, level={self.level!r}, "
                f"missing={self.missing!r})")

    def combine(self, children: Any) -> Any:
        """Not defined for one model; raises :class:`~neuroalign.SpecError` pointing to rank."""
        raise self._needs_several_models()

    def _transform(self, column: pd.Series, higher: bool) -> pd.Series:
        raise NotImplementedError

    def rank(self, table: pd.DataFrame) -> pd.Series:
        """One value per model (row), higher is better; NaN for a model left out.

        ``attrs`` of the result: ``aggregator``, ``level``, ``missing``, ``groups`` (group ->
        its benchmark columns), ``higher_is_better`` (per group) and ``incomplete`` (models
        missing a score: NaN under ``"complete"``, averaged over what they have under
        ``"skip"``, counted as 0 under ``"zero"``).
        """
        import pandas as pd

        wide = numeric_table(wide_table(table))
        groups, higher, members = group_scores(wide, self.level, self.missing)
        used = [c for cs in members.values() for c in cs]
        complete = wide[used].notna().all(axis=1) if used else pd.Series(True, wide.index)
        if self.missing == "complete":
            groups = groups[complete]
        transformed = pd.DataFrame({g: self._transform(groups[g].dropna(), higher[g])
                                    for g in groups.columns}, index=groups.index,
                                   columns=groups.columns)
        out = transformed.mean(axis=1, skipna=True).reindex(wide.index).rename(self.spec.id)
        out.attrs = {
            "aggregator": self.spec.id, "level": self.level, "missing": self.missing,
            "groups": members, "higher_is_better": higher,
            "incomplete": [m for m in wide.index[~complete]],
        }
        return out


class ZMeanAggregator(_GroupAggregator):
    """z-transform each group score across models, then average per model (paper 001, Fig. 2).

    Parameters
    ----------
    spec : AggregatorSpec, optional
        ``parameters["level"]``: ``"kinds"`` (default: Brain-Score's neural and behavioral
        scores, as paper 001's Figure 2 z-transforms them), ``"regions"`` or ``"benchmarks"``
        (flat). ``parameters["missing"]``: ``"complete"`` (default: only models with every
        score; others NaN), ``"skip"`` or ``"zero"`` (see :mod:`neuroalign.scoring.standardised`).
        ``parameters["ddof"]``: delta degrees of freedom of the standard deviation (default 0,
        as ``scipy.stats.zscore``).

    Notes
    -----
    A group on which every model scores the same carries no information: its z-scores are 0,
    not NaN. The z-scores of a lower-is-better group are negated. Paper 001 notes the drawback:
    a model's z-mean changes when other models are added.
    """

    default_id = "zmean"

    def _transform(self, column: pd.Series, higher: bool) -> pd.Series:
        ddof = int(self.spec.parameters.get("ddof", 0))
        std = column.std(ddof=ddof) if len(column) > ddof else math.nan
        if not std or math.isnan(std):  # constant (or a single model): no information
            z = column * 0.0
        else:
            z = (column - column.mean()) / std
        return z if higher else -z


class MeanRankAggregator(_GroupAggregator):
    """Rank models on each group score, then average each model's ranks (paper 001, Fig. 3).

    Ranks run from 1 (worst) to n (best) so that, as for every aggregator, higher is better; ties
    share their average rank; on a lower-is-better group the lowest value gets the highest rank.
    ``parameters["level"]`` and ``parameters["missing"]`` as for :class:`ZMeanAggregator`
    (defaults ``"kinds"`` and ``"complete"``).
    """

    default_id = "meanrank"

    def _transform(self, column: pd.Series, higher: bool) -> pd.Series:
        return column.rank(method="average", ascending=higher)
