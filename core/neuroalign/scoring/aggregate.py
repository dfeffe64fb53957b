"""Aggregators of scores into one score or a ranking (paper 001, section 4).

Three built-in aggregators, registered as ``mean``, ``zmean`` and ``meanrank`` by
:mod:`neuroalign.plugins.builtin`:

* :class:`MeanAggregator` -- Brain-Score's hierarchical arithmetic mean: benchmarks are averaged
  within their region (V1, V2, V4, IT, behavior, ...), regions within their kind (neural,
  behavioral), and kinds into the overall score. Engineering benchmarks never enter it.
* :class:`ZMeanAggregator` -- z-transform each group score (default: Brain-Score's neural and
  behavioral scores, as paper 001's Figure 2) across models, then average.
* :class:`MeanRankAggregator` -- rank models on each group score (higher is better), then average.

Both live in :mod:`neuroalign.scoring.standardised`, which states their
``level`` and ``missing`` rules; the mean's missing rule is on :class:`MeanAggregator`.

z-mean and mean-rank depend on the other models, so they only :meth:`~Aggregator.rank` a
model x benchmark table; the mean also :meth:`~Aggregator.combine`\\ s one model's scores into a
Score tree (what :func:`neuroalign.compose` uses).

Statistics (:func:`agreement`, :func:`rho_hierarchy`, :func:`explained_variance`) live in
:mod:`neuroalign.scoring.stats` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import NeuroalignError, SpecError
from ..interfaces import Aggregator
from ..specs import REGIONS, AggregatorSpec
from ..scores import Provenance, Score
from .tables import HIERARCHY, numeric_table, wide_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "MISSING",
    "MeanAggregator",
    "FunctionAggregator",
    "benchmark_groups",
    "benchmark_directions",
    "region_means",
    "rank",
    "Agreement",
    "agreement",
    "rho_hierarchy",
    "explained_variance",
]

#: valid values of the ``missing`` parameter
MISSING: tuple[str, ...] = ("zero", "skip")
#: valid values of the mean's ``levels`` parameter: average regions within kinds, then kinds
#: (Brain-Score's leaderboard), or average the regions directly (paper 000's 'Avg')
LEVELS: tuple[str, ...] = ("kinds", "regions")
#: the ventral-stream regions ordered by depth (paper 000's rho-hierarchy)
#: kinds that never enter an overall score: Brain-Score's engineering benchmarks; in a
#: model x benchmark table also composites (already aggregates of other columns) and benchmarks
#: whose spec says ``parameters["aggregate"] = False`` (Brain-Score's public benchmarks,
#: ``parent=None``), both grouped as ``"excluded"``
EXCLUDED_KINDS: tuple[str, ...] = ("engineering", "excluded")


def _kind_of_region(region: str | None) -> str | None:
    if region == "behavior":
        return "behavioral"
    if region in HIERARCHY:
        return "neural"
    return None


def _region_of_id(identifier: str) -> str | None:
    """The ``Region`` of a ``Family.Region-metric`` id when it is a known region."""
    if "." not in identifier:
        return None
    region = identifier.split(".", 1)[1].split("-", 1)[0]
    return region if region in REGIONS else None


def _classify(name: str, score: Score) -> tuple[str, str]:
    """``(region group, kind)`` of a child score, from its attrs, then its name."""
    region = score.attrs.get("region") or (name if name in REGIONS else _region_of_id(name))
    kind = score.attrs.get("kind")
    if kind in (None, "composite"):
        kinds = score.attrs.get("kinds")
        if isinstance(kinds, Mapping) and len(kinds) == 1:
            kind = next(iter(kinds))
        else:
            kind = _kind_of_region(region) or kind or "neural"
    return region or name, kind


class _Base(Aggregator):
    """Shared parameter handling: ``missing`` is validated once, here."""

    default_id: ClassVar[str]
    default_missing: ClassVar[str] = "zero"
    #: whether :meth:`combine` works on one model's scores (z-mean and mean-rank need several)
    combines: ClassVar[bool] = True

    def __init__(self, spec: AggregatorSpec | None = None):
        if spec is None:
            spec = AggregatorSpec(id=self.default_id,
                                  factory=f"neuroalign.aggregate:{type(self).__name__}")
        self.spec = spec
        self.missing: str = spec.parameters.get("missing", self.default_missing)
        if self.missing not in MISSING:
            raise SpecError(
                f"Aggregator {spec.id!r}: parameter missing={self.missing!r} is not valid; "
                f"use one of {list(MISSING)}"
            )
        self.levels: str = spec.parameters.get("levels", "kinds")
        if self.levels not in LEVELS:
            raise SpecError(
                f"Aggregator {spec.id!r}: parameter levels={self.levels!r} is not valid; "
                f"use one of {list(LEVELS)}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.spec.id!r}, missing={self.missing!r})"

    def _needs_several_models(self) -> NeuroalignError:
        return SpecError(
            f"Aggregator {self.spec.id!r} cannot combine the scores of a single model: it "
            "transforms each benchmark across several models. Rank a model x benchmark table "
            f"instead: neuroalign.rank(table, {self.spec.id!r}) or "
            f"neuroalign.get_aggregator({self.spec.id!r}).rank(table); use 'mean' to combine "
            "one model's scores"
        )


# ------------------------------------------------------------------------------ hierarchy


def _hierarchical(leaves: list[tuple[str, str, str, float, float | None]], missing: str,
                  levels: str = "kinds"
                  ) -> tuple[float, float | None, dict[str, float], dict[str, float], list[str]]:
    """Weighted mean of ``(name, region, kind, value, error)`` leaves over the hierarchy.

    With ``levels="kinds"`` each leaf's weight is ``1/n_kinds * 1/n_regions_of_its_kind *
    1/n_leaves_of_its_region``, so the value is exactly
    mean(kinds(mean(regions(mean(benchmarks))))); with ``levels="regions"`` it is
    ``1/n_regions * 1/n_leaves_of_its_region`` (mean(regions(mean(benchmarks))), paper 000's
    average). The error of that linear combination of independent estimates is
    ``sqrt(sum(w_i^2 * e_i^2))``.
    """
    tree: dict[str, dict[str, list[tuple[float, float | None]]]] = {}
    absent: list[str] = []
    for name, region, kind, value, error in leaves:
        if kind in EXCLUDED_KINDS:
            continue
        if value is None or math.isnan(value):
            absent.append(name)
            if missing == "skip":
                continue
            value, error = 0.0, 0.0  # Brain-Score: a missing benchmark counts as 0
        tree.setdefault(kind, {}).setdefault(region, []).append((value, error))
    total, variance, known = 0.0, 0.0, True
    regions: dict[str, float] = {}
    kinds: dict[str, float] = {}
    n_regions = sum(len(by_region) for by_region in tree.values())
    for kind, by_region in tree.items():
        kind_total = 0.0
        for region, values in by_region.items():
            regions[region] = sum(v for v, _ in values) / len(values)
            kind_total += regions[region]
            weight = 1.0 / (len(tree) * len(by_region) * len(values)) if levels == "kinds" \
                else 1.0 / (n_regions * len(values))
            for value, error in values:
                total += weight * value
                if error is None or math.isnan(error):
                    known = False
                else:
                    variance += (weight * error) ** 2
        kinds[kind] = kind_total / len(by_region)
    if not tree:
        return math.nan, None, regions, kinds, absent
    return total, (math.sqrt(variance) if known else None), regions, kinds, absent


class MeanAggregator(_Base):
    """Brain-Score's hierarchical arithmetic mean: benchmark -> region -> kind -> overall.

    Parameters
    ----------
    spec : AggregatorSpec, optional
        ``spec.parameters["missing"]`` says what a missing score (NaN, e.g. a benchmark that
        failed or was not run) does:

        ``"zero"`` (default, Brain-Score's leaderboard rule)
            it counts as 0 in its region's mean;
        ``"skip"``
            it is left out and the mean is taken over what is there (a region or kind with
            nothing left drops out of the level above).

    Notes
    -----
    Each child's region comes from ``score.attrs["region"]``, else from its name when that is a
    region (``"V4"``) or a ``Family.Region-metric`` id; its kind from ``score.attrs["kind"]``, else
    from the region (``behavior`` -> behavioral, V1..IT -> neural). A child without a region is a
    group of its own. Kind ``engineering`` never enters the overall score, nor does a child whose
    benchmark is lower-is-better (``attrs["higher_is_better"]`` or its spec; listed in
    ``attrs["lower_is_better_left_out"]``).

    The error is propagated as for independent estimates through the weighted mean that the
    hierarchy amounts to, ``sqrt(sum(w_i^2 * error_i^2))``; it is ``None`` when any child that
    enters the mean has no error. Missing children counted as zero have error 0.
    """

    default_id = "mean"

    def combine(self, children: Mapping[str, Score]) -> Score:
        """One Score whose value is the hierarchical mean and whose children are ``children``.

        ``attrs`` records the per-region and per-kind means, the ``missing`` rule and which
        children were missing.
        """
        leaves, lower = [], []
        for name, child in children.items():
            if not _child_higher_is_better(name, child):
                lower.append(name)  # a sensitivity or error: no place in a mean of alignments
                continue
            region, kind = _classify(name, child)
            leaves.append((name, region, kind, float(child.value), child.error))
        value, error, regions, kinds, absent = _hierarchical(leaves, self.missing, self.levels)
        plugins: dict[str, str] = {}
        for child in children.values():
            plugins.update(child.provenance.plugins)
        return Score(
            value=value,
            error=error,
            children=dict(children),
            attrs={"aggregator": self.spec.id, "missing": self.missing, "levels": self.levels,
                   "regions": regions, "kinds": kinds, "missing_children": absent,
                   **({"lower_is_better_left_out": lower} if lower else {})},
            provenance=Provenance(plugins=plugins),
        )

    def rank(self, table: pd.DataFrame) -> pd.Series:
        """The hierarchical mean of each row (model) of a model x benchmark table.

        Columns are grouped by :func:`benchmark_groups`; NaN cells are missing scores. Columns
        whose benchmark is lower-is-better (:func:`benchmark_directions`) are left out, as
        engineering benchmarks are: an arithmetic mean of alignment scores has no place for
        them (``zmean`` and ``meanrank`` include them as groups of their own, flipped).
        ``attrs`` of the result: ``aggregator``, ``missing`` (what a NaN did), ``levels`` and
        ``incomplete`` (the models missing a score that enters the mean).
        """
        import pandas as pd

        groups = benchmark_groups(table)
        higher = benchmark_directions(table)
        columns = [c for c in table.columns if higher[c]]  # lower-is-better: left out
        out = {}
        for model, row in table.iterrows():
            leaves = [(c, *groups[c], float(row[c]), None) for c in columns]
            out[model] = _hierarchical(leaves, self.missing, self.levels)[0]
        result = pd.Series(out, name=self.spec.id, dtype=float).reindex(table.index)
        result.attrs = {"aggregator": self.spec.id, "missing": self.missing,
                        "levels": self.levels,
                        "incomplete": [m for m in table.index if table.loc[m, [
                            c for c in columns if groups[c][1] not in EXCLUDED_KINDS]].isna().any()]}
        return result


# ------------------------------------------------------------------------------ tables


def benchmark_groups(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """``column -> (region, kind)`` for the benchmark columns of ``table``.

    In order of precedence: ``table.attrs["benchmarks"][column]`` (a mapping with ``region``
    and ``kind``); the spec of a registered benchmark of that id (a registered composite, or a
    spec with ``parameters["aggregate"] = False``, gets kind ``"excluded"``: it never enters an
    aggregate); the ``Region`` of a ``Family.Region-metric`` id; else the column is a group of
    its own of kind ``neural``.
    """
    declared = table.attrs.get("benchmarks", {}) if hasattr(table, "attrs") else {}
    groups: dict[str, tuple[str, str]] = {}
    for column in table.columns:
        info = dict(declared.get(column, {}))
        if "region" not in info or "kind" not in info:
            spec = _registered_benchmark(str(column))
            if spec is not None:
                info.setdefault("region", spec.region)
                excluded = spec.kind == "composite" or spec.parameters.get("aggregate") is False
                info.setdefault("kind", "excluded" if excluded else spec.kind)
        region = info.get("region") or _region_of_id(str(column)) or str(column)
        kind = info.get("kind")
        if kind in (None, "composite"):
            kind = _kind_of_region(region) or "neural"
        groups[column] = (region, kind)
    return groups


def region_means(table: pd.DataFrame) -> pd.DataFrame:
    """Model x region table: each region the mean of its (non-excluded) benchmark columns.

    Columns are grouped by :func:`benchmark_groups`; NaN cells are left out of a region's mean
    (a region with no score is NaN). Feed it to :func:`rho_hierarchy` for one value per model.
    """
    import pandas as pd

    table = numeric_table(wide_table(table))
    groups = benchmark_groups(table)
    columns: dict[str, list[str]] = {}
    for column, (region, kind) in groups.items():
        if kind not in EXCLUDED_KINDS:
            columns.setdefault(region, []).append(column)
    return pd.DataFrame({region: table[names].mean(axis=1, skipna=True)
                         for region, names in columns.items()}, index=table.index)


def benchmark_directions(table: pd.DataFrame) -> dict[str, bool]:
    """``column -> higher_is_better`` for the benchmark columns of ``table``.

    From ``table.attrs["benchmarks"][column]["higher_is_better"]``, else the spec of a registered
    benchmark of that id, else True.
    """
    declared = table.attrs.get("benchmarks", {}) if hasattr(table, "attrs") else {}
    out: dict[str, bool] = {}
    for column in table.columns:
        info = declared.get(column, {})
        if "higher_is_better" in info:
            out[column] = bool(info["higher_is_better"])
            continue
        spec = _registered_benchmark(str(column))
        out[column] = bool(getattr(spec, "higher_is_better", True)) if spec is not None else True
    return out


def _child_higher_is_better(name: str, score: Score) -> bool:
    """A child score's direction: ``score.attrs["higher_is_better"]``, else its registered
    benchmark spec's, else True."""
    if "higher_is_better" in score.attrs:
        return bool(score.attrs["higher_is_better"])
    spec = _registered_benchmark(str(name))
    return bool(getattr(spec, "higher_is_better", True)) if spec is not None else True


def _registered_benchmark(identifier: str) -> Any:
    from ..plugins.lookup import get_registry

    try:
        return get_registry().spec("benchmark", identifier)
    except (NeuroalignError, ValueError):
        return None


class FunctionAggregator(Aggregator):
    """A plain function ``f(table) -> pandas.Series`` used as an aggregator.

    ``f`` receives a model x benchmark table (rows: models; columns: benchmark ids or group
    names; values: ceiled scores, NaN where missing) and returns one value per row, higher is
    better. :meth:`rank` is ``f`` itself; :meth:`combine` calls ``f`` on a one-row table of a
    single model's child scores, so the same function works in :func:`neuroalign.compose`.

    Parameters
    ----------
    function : callable
        ``f(table) -> Series`` (a scalar is accepted from a one-row table too).
    identifier : str, optional
        The aggregator's id (``[a-z][a-z0-9_]*``); default the function's name in lower case,
        prefixed ``fn_`` so it never shadows a registered aggregator.

    Examples
    --------
    >>> suite = neuroalign.compose({"V4": [...], "IT": [...]},
    ...                            aggregator=lambda t: t.median(axis=1))  # doctest: +SKIP
    """

    combines = True

    def __init__(self, function: Any, identifier: str | None = None):
        import re

        if not callable(function):
            raise SpecError(f"FunctionAggregator needs a callable f(table) -> Series; found "
                            f"{function!r}")
        self.function = function
        if identifier is None:
            raw = getattr(function, "__name__", "function")
            raw = "lambda" if raw == "<lambda>" else raw
            identifier = "fn_" + (re.sub(r"[^a-z0-9_]", "_", raw.lower()).strip("_") or "function")
        self.spec = AggregatorSpec(
            id=identifier, factory="neuroalign.aggregate:FunctionAggregator",
            description=f"the function {getattr(function, '__qualname__', function)!r}",
        )

    def __repr__(self) -> str:
        return f"FunctionAggregator({self.function!r}, id={self.spec.id!r})"

    def rank(self, table: pd.DataFrame) -> pd.Series:
        """``f(table)`` checked to be one number per row."""
        import pandas as pd

        out = self.function(table)
        if not isinstance(out, pd.Series):
            if len(table.index) == 1 and isinstance(out, (int, float)):
                out = pd.Series([float(out)], index=table.index)
            else:
                raise SpecError(
                    f"aggregator {self.spec.id!r}: f(table) must return a pandas Series (one "
                    f"value per row of the model x benchmark table); it returned "
                    f"{type(out).__name__}"
                )
        if len(out) != len(table.index) or not out.index.equals(table.index):
            raise SpecError(
                f"aggregator {self.spec.id!r}: f(table) returned {len(out)} values indexed "
                f"{list(out.index)[:5]}; expected one per row, indexed {list(table.index)[:5]} "
                "(reduce over axis=1)"
            )
        return out.astype(float).rename(self.spec.id)

    def combine(self, children: Mapping[str, Score]) -> Score:
        """One Score: ``f`` on the one-row table of the children's values."""
        import pandas as pd

        table = pd.DataFrame([{name: float(child.value) for name, child in children.items()}],
                             index=pd.Index(["model"], name="model"))
        table.attrs["benchmarks"] = {
            name: {"region": child.attrs.get("region"), "kind": child.attrs.get("kind")}
            for name, child in children.items()
        }
        value = float(self.rank(table).iloc[0])
        plugins: dict[str, str] = {}
        for child in children.values():
            plugins.update(child.provenance.plugins)
        return Score(value=value, children=dict(children),
                     attrs={"aggregator": self.spec.id}, provenance=Provenance(plugins=plugins))


def rank(table: pd.DataFrame, aggregator: Any = "mean") -> pd.Series:
    """One value per model from a model x benchmark table, higher is better.

    Parameters
    ----------
    table : pandas.DataFrame
        Models as rows, benchmark ids as columns, ceiled scores as values (NaN: missing). A tidy
        table with columns ``model_id``, ``benchmark_id`` and ``value`` (as the results registry
        returns) is pivoted first.
    aggregator : str, Aggregator or callable
        An aggregator id (``"mean"``, ``"zmean"``, ``"meanrank"``, or a plugin's), object, or a
        plain function ``f(table) -> Series`` (:class:`FunctionAggregator`).

    Returns
    -------
    pandas.Series
        Indexed like the table's rows; sort it with ``.sort_values(ascending=False)``.
    """
    if isinstance(aggregator, str):
        from ..plugins.lookup import get_aggregator

        aggregator = get_aggregator(aggregator)
    elif not isinstance(aggregator, Aggregator) and callable(aggregator):
        aggregator = FunctionAggregator(aggregator)
    return aggregator.rank(wide_table(table))


# Statistics live in neuroalign.stats; re-exported here for convenience.
from .stats import Agreement, agreement, explained_variance, rho_hierarchy  # noqa: E402


