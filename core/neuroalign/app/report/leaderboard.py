"""Leaderboards: models x benchmarks of ceiled scores, with errors, chosen layers and an aggregate.

Build one from a tidy results table (:meth:`neuroalign.scoring.results.ResultsDatabase.query`)
with :func:`leaderboard`, then show it in the terminal (:func:`print_leaderboard`, a rich table)
or in the HTML report (:mod:`neuroalign.app.report`).

The aggregate column comes from a registered aggregator (``neuroalign list aggregators``;
default ``mean``) through its ``rank(table) -> Series`` method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from ...scoring.results import ResultsDatabase

__all__ = ["Leaderboard", "leaderboard", "print_leaderboard", "render_table",
           "render_by_benchmark"]


@dataclass
class Leaderboard:
    """A model x benchmark table of ceiled scores, best model first.

    Attributes
    ----------
    values, errors : pandas.DataFrame
        Ceiled values and their errors; index = model, columns = benchmark ids (NaN: not scored).
    layers : pandas.DataFrame
        The layer chosen for each cell (``None`` when no layer was selected).
    aggregate : pandas.Series or None
        One value per model from the aggregator's ``rank``; rows are sorted by it.
    aggregator : str or None
        Id of the aggregator used.
    higher_is_better : bool
        Direction of ``aggregate`` (False for rank-like aggregates).
    rho_hierarchy : pandas.Series or None
        Paper 000's rho-hierarchy per model: Spearman correlation of its V1, V2, V4, IT region
        means (:func:`neuroalign.aggregate.region_means`) with depth 1..4; NaN for a model with
        fewer than two of those regions; None when no model has two.
    directions : dict
        Benchmark id -> whether higher is better (``BenchmarkSpec.higher_is_better``).
    identity : pandas.DataFrame or None
        Per row: ``weights`` (which weights, in words) and ``data`` (real, synthetic ...), when
        the results table had those columns. A model scored with several identities gets one
        row per identity, labelled ``"<model> [<weights>, <data>]"``.
    """

    values: pd.DataFrame
    errors: pd.DataFrame
    layers: pd.DataFrame
    aggregate: pd.Series | None = None
    aggregator: str | None = None
    higher_is_better: bool = True
    rho_hierarchy: pd.Series | None = None
    directions: dict[str, bool] = field(default_factory=dict)
    identity: pd.DataFrame | None = None

    def _identity(self, model: Any) -> dict[str, Any]:
        if self.identity is None or model not in self.identity.index:
            return {}
        return {k: self.identity.at[model, k] for k in ("weights", "data")}

    @property
    def models(self) -> list[str]:
        return [str(m) for m in self.values.index]

    @property
    def benchmarks(self) -> list[str]:
        return [str(b) for b in self.values.columns]

    def to_frame(self) -> pd.DataFrame:
        """Values with the aggregate as the first column (named after the aggregator)."""
        frame = self.values.copy()
        if self.rho_hierarchy is not None:
            frame.insert(0, "rho_hierarchy", self.rho_hierarchy)
        if self.aggregate is not None:
            frame.insert(0, self.aggregator or "aggregate", self.aggregate)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{"aggregator", "benchmarks", "rows": [{"rank", "model", "aggregate",
        "scores": {benchmark: {"value", "error", "layer"}}}]}`` (NaN as None)."""
        rows = []
        for rank, model in enumerate(self.values.index, start=1):
            scores = {}
            for bench in self.values.columns:
                value = _num(self.values.at[model, bench])
                if value is None:
                    continue
                scores[str(bench)] = {"value": value, "error": _num(self.errors.at[model, bench]),
                                      "layer": self.layers.at[model, bench]}
            aggregate = None if self.aggregate is None else _num(self.aggregate.get(model))
            rho = None if self.rho_hierarchy is None else _num(self.rho_hierarchy.get(model))
            rows.append({"rank": rank, "model": str(model), **self._identity(model),
                         "aggregate": aggregate, "rho_hierarchy": rho, "scores": scores})
        return {"aggregator": self.aggregator, "higher_is_better": self.higher_is_better,
                "benchmarks": self.benchmarks,
                "benchmark_higher_is_better": {b: self.directions.get(b, True)
                                               for b in self.benchmarks},
                "rows": rows}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def leaderboard(results: pd.DataFrame | ResultsDatabase | None = None, *,
                aggregator: str | None = "mean") -> Leaderboard:
    """Pivot a tidy results table into a :class:`Leaderboard`.

    Parameters
    ----------
    results : DataFrame or ResultsDatabase, optional
        A table with at least the columns ``model``, ``benchmark``, ``value`` (and optionally
        ``error``, ``layer``, ``weights_hash``, ``version``, ``updated``), as returned by
        :meth:`ResultsDatabase.query`; or a registry (all its records); default: the default
        results registry. When a (model, benchmark) pair has several records the highest
        version, then the latest, is used. With ``weights`` and ``data`` columns (as
        :meth:`ResultsDatabase.query` returns), a model stored with several (weights, data)
        identities gets one row per identity (``model [weights, data]``) and the identity is
        shown; otherwise a model stored with several weights hashes gets one row per weights
        (``model [hash8]``).
    aggregator : str or None
        Registered aggregator id for the aggregate column, or None for no aggregate.

    The direction of each benchmark (``higher_is_better``) comes from ``results.attrs
    ["benchmarks"][id]`` when given, else from the registered benchmark spec (default: higher
    is better); the aggregator reads the same.

    Returns
    -------
    Leaderboard
    """
    import pandas as pd

    from ...scoring.results import ResultsDatabase

    if results is None:
        results = ResultsDatabase()
    table = results.query() if isinstance(results, ResultsDatabase) else results.copy()
    missing = {"model", "benchmark", "value"} - set(table.columns)
    if missing:
        from ...errors import NeuroalignError

        raise NeuroalignError(
            f"a leaderboard needs the columns model, benchmark and value; missing {sorted(missing)}"
            " (pass ResultsDatabase().query())"
        )
    for column, default in (("error", float("nan")), ("layer", None), ("weights_hash", None),
                            ("version", 0), ("updated", "")):
        if column not in table.columns:
            table[column] = default
    has_identity = {"weights", "data"} <= set(table.columns)
    if has_identity:
        from ...scoring.results import row_labels

        table = table.copy()
        table["model"] = row_labels(table)
    else:
        table = _label_weights(table)
    table = table.sort_values(["version", "updated"], na_position="first").drop_duplicates(
        ["model", "benchmark"], keep="last"
    )
    values = table.pivot(index="model", columns="benchmark", values="value").astype("float64")
    values = values.reindex(columns=sorted(values.columns))
    errors = table.pivot(index="model", columns="benchmark", values="error")
    errors = errors.reindex(index=values.index, columns=values.columns).astype("float64")
    layers = table.pivot(index="model", columns="benchmark", values="layer")
    layers = layers.reindex(index=values.index, columns=values.columns).astype(object)
    layers = layers.where(layers.notna(), None)
    values.index.name = errors.index.name = layers.index.name = "model"
    values.columns.name = errors.columns.name = layers.columns.name = "benchmark"

    declared = results.attrs.get("benchmarks", {}) if hasattr(results, "attrs") else {}
    values.attrs["benchmarks"] = {b: dict(declared[b]) for b in values.columns if b in declared}
    from ...scoring.aggregate import benchmark_directions

    directions = {str(b): v for b, v in benchmark_directions(values).items()}
    aggregate, higher = None, True
    if aggregator is not None and not values.empty:
        from ...plugins.lookup import get_aggregator

        runtime = get_aggregator(aggregator)
        higher = bool(getattr(runtime, "higher_is_better", True))
        aggregate = pd.Series(runtime.rank(values), dtype="float64").reindex(values.index)
        aggregate.name = aggregator
        order = aggregate.sort_values(ascending=not higher, na_position="last", kind="stable").index
    else:
        order = values.mean(axis=1).sort_values(ascending=False, na_position="last",
                                                kind="stable").index
    rho = _rho_hierarchy(values)
    identity = None
    if has_identity:
        identity = table.drop_duplicates("model").set_index("model")[["weights", "data"]]
        identity = identity.reindex(order)
    return Leaderboard(values.loc[order], errors.loc[order], layers.loc[order],
                       None if aggregate is None else aggregate.loc[order], aggregator, higher,
                       None if rho is None else rho.loc[order], directions, identity)


def _rho_hierarchy(values: pd.DataFrame) -> pd.Series | None:
    """Paper 000's rho-hierarchy per model, or None when no model has all of V1, V2, V4, IT
    (with fewer regions the statistic is degenerate; rows missing a region get NaN)."""
    from ...scoring.aggregate import region_means
    from ...scoring.tables import HIERARCHY
    from ...scoring.stats import rho_hierarchy

    if values.empty:
        return None
    regions = region_means(values)
    counts = regions[[r for r in HIERARCHY if r in regions.columns]].notna().sum(axis=1)
    if counts.empty or int(counts.max()) < len(HIERARCHY):
        return None
    return rho_hierarchy(regions).astype("float64")


def _label_weights(table: pd.DataFrame) -> pd.DataFrame:
    hashes = table.dropna(subset=["weights_hash"]).groupby("model")["weights_hash"].nunique()
    several = set(hashes[hashes > 1].index)
    if several:
        table = table.copy()
        table["model"] = [
            f"{m} [{str(h)[:8]}]" if m in several and isinstance(h, str) and h else m
            for m, h in zip(table["model"], table["weights_hash"])
        ]
    return table


def _cell(value: float, error: float, precision: int = 3) -> str:
    if value is None or math.isnan(value):
        return ""
    text = f"{value:.{precision}f}"
    if error is not None and not math.isnan(error):
        text += f" ±{error:.{precision}f}"
    return text


# ------------------------------------------------------------------------------ terminal
def render_table(board: Leaderboard, *, title: str | None = "Leaderboard",
                 show_layers: bool = True) -> Table:
    """A rich table: rank, model, aggregate, then one column per benchmark."""
    from rich.table import Table
    from rich.text import Text

    from ..text import plain

    # every name comes from stored results (outside data): plain Text, never markup
    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("model")
    if board.identity is not None:
        table.add_column("weights")
        table.add_column("data")
    if board.aggregate is not None:
        table.add_column(Text(plain(board.aggregator or "aggregate")), justify="right",
                         style="bold")
    if board.rho_hierarchy is not None:
        table.add_column("ρ-hierarchy", justify="right")
    for bench in board.benchmarks:
        lower = not board.directions.get(bench, True)
        table.add_column(Text(plain(bench) + (" (lower is better)" if lower else "")),
                         justify="right", overflow="fold")
    for rank, model in enumerate(board.values.index, start=1):
        row: list[Any] = [str(rank), Text(plain(model))]
        if board.identity is not None:
            identity = board._identity(model)
            row += [Text(plain(identity.get("weights", ""))), Text(plain(identity.get("data", "")))]
        if board.aggregate is not None:
            value = board.aggregate.get(model)
            row.append("" if value is None or math.isnan(value) else f"{value:.3f}")
        if board.rho_hierarchy is not None:
            rho = board.rho_hierarchy.get(model)
            row.append("" if rho is None or math.isnan(rho) else f"{rho:+.2f}")
        for bench in board.benchmarks:
            text = Text(_cell(board.values.at[model, bench], board.errors.at[model, bench]))
            layer = board.layers.at[model, bench]
            if show_layers and text.plain and layer:
                text.append("\n" + plain(layer), style="dim")
            row.append(text)
        table.add_row(*row)
    return table


def render_by_benchmark(board: Leaderboard, *, title: str | None = "Leaderboard",
                        show_layers: bool = True) -> Table:
    """The leaderboard transposed: one row per benchmark (the aggregate and the rho-hierarchy
    first), one column per model (best first). For many benchmarks and few models, where the
    model x benchmark table of :func:`render_table` does not fit the console."""
    from rich.table import Table
    from rich.text import Text

    from ..text import plain

    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False)
    table.add_column("benchmark", no_wrap=True)
    models = list(board.values.index)
    for rank, model in enumerate(models, start=1):
        table.add_column(Text(f"#{rank} {plain(model)}"), justify="right", overflow="fold")
    if board.identity is not None:
        for key in ("weights", "data"):
            table.add_row(key, *[Text(plain(board._identity(m).get(key, ""))) for m in models])
    if board.aggregate is not None:
        cells = []
        for model in models:
            value = board.aggregate.get(model)
            cells.append("" if value is None or math.isnan(value) else f"{value:.3f}")
        table.add_row(Text(plain(board.aggregator or "aggregate"), style="bold"), *cells,
                      style="bold")
    if board.rho_hierarchy is not None:
        cells = []
        for model in models:
            rho = board.rho_hierarchy.get(model)
            cells.append("" if rho is None or math.isnan(rho) else f"{rho:+.2f}")
        table.add_row("ρ-hierarchy", *cells)
    for bench in board.benchmarks:
        lower = not board.directions.get(bench, True)
        cells = []
        for model in models:
            text = Text(_cell(board.values.at[model, bench], board.errors.at[model, bench]))
            layer = board.layers.at[model, bench]
            if show_layers and text.plain and layer:
                text.append(f" ({plain(layer)})", style="dim")
            cells.append(text)
        table.add_row(Text(plain(bench) + (" (lower is better)" if lower else "")), *cells)
    return table


def _fits(board: Leaderboard, width: int) -> bool:
    """Whether the model x benchmark table fits ``width`` columns with readable cells (about
    14 characters per score column, the widest model name, rank, aggregate and rho)."""
    columns = len(board.benchmarks) + (board.aggregate is not None) + (
        board.rho_hierarchy is not None)
    name = max((len(str(m)) for m in board.values.index), default=10)
    return 6 + name + 14 * columns <= width


def print_leaderboard(board: Leaderboard, console: Console | None = None) -> None:
    """Print :func:`render_table` to ``console`` (default: a new stdout console), or
    :func:`render_by_benchmark` (one row per benchmark) when the table would not fit its width."""
    from rich.console import Console
    from rich.text import Text

    from ..text import plain

    console = console or Console()
    if board.values.empty:
        console.print("no results to show (score something with: neuroalign score MODEL BENCHMARK)")
        return
    if _fits(board, console.width):
        console.print(render_table(board))
    else:
        console.print(render_by_benchmark(board))
    if board.aggregator:
        direction = "higher" if board.higher_is_better else "lower"
        console.print(Text(f"aggregate: {plain(board.aggregator)} ({direction} is better); "
                           "cells: ceiled score ± error, chosen layer "
                           f"{'below' if _fits(board, console.width) else 'in brackets'}",
                           style="dim"))
    if board.rho_hierarchy is not None:
        console.print(Text("ρ-hierarchy: Spearman r of the V1, V2, V4, IT region means with "
                           "depth 1..4 (paper 000)", style="dim"))

