"""The figure vocabulary of the report: what a :class:`~neuroalign.Figure` receives and returns.

A figure (built from a :class:`~neuroalign.FigureSpec`) is called with a :class:`FigureContext`
and returns one or more charts: :class:`BarChart`, :class:`LineChart`, :class:`ScatterChart`,
:class:`Heatmap` or :class:`StripChart`. The report draws each as inline SVG
(:mod:`neuroalign.app.report.svg`) and embeds the chart's :meth:`~Chart.table` so the plotted
numbers can be downloaded as CSV or JSON from inside the file. Charts hold plain numbers and
strings only; a figure never writes SVG itself.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...scores import Score
    from ...specs import BenchmarkSpec
    from .leaderboard import Leaderboard

__all__ = [
    "Chart",
    "Bar",
    "BarChart",
    "Series",
    "LineChart",
    "Point",
    "ScatterChart",
    "Heatmap",
    "StripPoint",
    "StripChart",
    "FigureContext",
]


def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@dataclass
class Chart:
    """Base of every chart: a title, a description (the figure's alt text) and notes.

    ``key`` is set by the report (a unique id inside the page); ``caption`` is shown under the
    figure (e.g. "showing the 40 best of 600 models").
    """

    title: str
    description: str = ""
    caption: str = ""
    key: str = ""

    #: the SVG element type each data mark is drawn with (the tests count them)
    kind = "chart"

    @property
    def n_marks(self) -> int:
        """How many data marks (SVG elements of class ``mark``) the chart draws."""
        raise NotImplementedError

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """``(columns, rows)`` of the plotted numbers (what the download links export)."""
        raise NotImplementedError


@dataclass
class Bar:
    """One bar: a label (model), a value and an optional symmetric error."""

    label: str
    value: float
    error: float | None = None


@dataclass
class BarChart(Chart):
    """Bars with error bars and an optional horizontal reference line (a ceiling).

    ``bars`` are drawn in the given order; ``higher_is_better`` only labels the axis.
    """

    bars: list[Bar] = field(default_factory=list)
    y_label: str = "score"
    ceiling: float | None = None
    ceiling_label: str = "ceiling"
    higher_is_better: bool = True
    kind = "bar"

    @property
    def n_marks(self) -> int:
        return sum(1 for b in self.bars if _finite(b.value))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return ["label", "value", "error"], [[b.label, b.value, b.error] for b in self.bars]


@dataclass
class Series:
    """One line: points ``(x[i], y[i])`` with optional errors and per-point labels.

    ``highlight`` is the index of a point drawn larger (e.g. the chosen layer).
    """

    name: str
    x: list[float]
    y: list[float]
    error: list[float | None] | None = None
    labels: list[str] | None = None
    highlight: int | None = None

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"series {self.name!r}: {len(self.x)} x values but {len(self.y)} y")


@dataclass
class LineChart(Chart):
    """Lines with markers; ``x_ticks`` ``[(value, label)]`` replace the numeric x ticks."""

    series: list[Series] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""
    x_ticks: list[tuple[float, str]] | None = None
    kind = "line"

    @property
    def n_marks(self) -> int:
        return sum(1 for s in self.series for y in s.y if _finite(y))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        rows = []
        for s in self.series:
            for i, (x, y) in enumerate(zip(s.x, s.y)):
                rows.append([s.name, x, s.labels[i] if s.labels else None, y,
                             s.error[i] if s.error else None, i == s.highlight])
        return ["series", "x", "x_label", "y", "error", "highlighted"], rows


@dataclass
class Point:
    """One scatter point (a model), with optional errors and a group (drawn in its colour)."""

    label: str
    x: float
    y: float
    x_error: float | None = None
    y_error: float | None = None
    group: str = ""


@dataclass
class ScatterChart(Chart):
    """A scatter plot; ``front`` draws the Pareto front of points maximising both axes."""

    points: list[Point] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""
    front: bool = False
    kind = "scatter"

    @property
    def n_marks(self) -> int:
        return sum(1 for p in self.points if _finite(p.x) and _finite(p.y))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        front = set(pareto_front(self.points)) if self.front else set()
        return (["label", "group", "x", "x_error", "y", "y_error", "on_front"],
                [[p.label, p.group, p.x, p.x_error, p.y, p.y_error, i in front]
                 for i, p in enumerate(self.points)])


def pareto_front(points: Sequence[Point]) -> list[int]:
    """Indices of the points no other point beats on both axes (maximising x and y), by x."""
    finite = [(p.x, p.y, i) for i, p in enumerate(points) if _finite(p.x) and _finite(p.y)]
    front, best_y = [], -math.inf
    for x, y, i in sorted(finite, key=lambda t: (-t[0], -t[1])):
        if y > best_y:
            front.append(i)
            best_y = y
    return sorted(front, key=lambda i: points[i].x)


@dataclass
class Heatmap(Chart):
    """A matrix of values in ``[vmin, vmax]``; ``marked`` cells get a dot (e.g. significant)."""

    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)
    marked: list[list[bool]] | None = None
    vmin: float = -1.0
    vmax: float = 1.0
    value_label: str = "value"
    mark_label: str = "marked"
    #: a symmetric matrix (rows == columns): only the lower triangle is drawn and exported
    triangle: bool = False
    kind = "heatmap"

    def cells(self) -> list[tuple[int, int]]:
        """``(row, column)`` indices of the cells drawn."""
        return [(i, j) for i in range(len(self.rows)) for j in range(len(self.columns))
                if not self.triangle or j <= i]

    @property
    def n_marks(self) -> int:
        return len(self.cells())

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return (["row", "column", self.value_label, self.mark_label],
                [[self.rows[i], self.columns[j], self.values[i][j],
                  bool(self.marked[i][j]) if self.marked else False] for i, j in self.cells()])


@dataclass
class StripPoint:
    """One point of a strip chart: its row, position, label, shade in [0, 1] and highlight."""

    row: str
    x: float
    label: str
    shade: float = 0.5
    highlight: bool = False


@dataclass
class StripChart(Chart):
    """Rows of points on a shared x axis (paper 001's ranking comparison, Figure 3)."""

    rows: list[str] = field(default_factory=list)
    points: list[StripPoint] = field(default_factory=list)
    x_label: str = ""
    shade_label: str = ""
    highlight_label: str = ""
    kind = "strip"

    @property
    def n_marks(self) -> int:
        return sum(1 for p in self.points if _finite(p.x))

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return (["row", "label", "x", "shade", "highlighted"],
                [[p.row, p.label, p.x, p.shade, p.highlight] for p in self.points])


@dataclass
class FigureContext:
    """Everything a figure may read, and the subject it is drawn for.

    Attributes
    ----------
    results : pandas.DataFrame
        Tidy table, one row per (model, benchmark): the record the leaderboard shows (columns as
        :meth:`~neuroalign.scoring.results.ResultsDatabase.query`).
    board : Leaderboard
        The model x benchmark values, errors and chosen layers.
    benchmarks : dict
        Benchmark id -> its registered :class:`~neuroalign.BenchmarkSpec` (None if not installed).
    extras : pandas.DataFrame
        Per-model columns the user supplied (``--models-csv``), indexed by model id.
    aggregates : dict
        Aggregator id -> one value per model.
    subject : str or None
        The benchmark (scope ``"benchmark"``) or model (scope ``"model"``) being drawn.
    parameters : dict
        The figure spec's parameters.
    """

    results: pd.DataFrame
    board: Leaderboard
    benchmarks: Mapping[str, BenchmarkSpec | None] = field(default_factory=dict)
    extras: pd.DataFrame | None = None
    aggregates: Mapping[str, pd.Series] = field(default_factory=dict)
    subject: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    scores: Callable[[str, str], Score | None] | None = None

    def score(self, model: str, benchmark: str) -> Score | None:
        """The full stored Score (layers, children, attrs, provenance) of a cell, or None."""
        return None if self.scores is None else self.scores(model, benchmark)

    @property
    def models(self) -> list[str]:
        """Models in leaderboard order."""
        return self.board.models

    def benchmark_ids(self, pattern: str = "*") -> list[str]:
        """Benchmark ids with results matching the fnmatch ``pattern``."""
        return [b for b in self.board.benchmarks if fnmatch.fnmatchcase(b, pattern)]

    def higher_is_better(self, benchmark: str) -> bool:
        """The benchmark's direction (from its spec, else the leaderboard's)."""
        spec = self.benchmarks.get(benchmark)
        if spec is not None:
            return bool(spec.higher_is_better)
        return self.board.directions.get(benchmark, True)

    def extra(self, column: str) -> pd.Series | None:
        """The user's per-model column ``column`` (floats; None when not supplied)."""
        if self.extras is None or column not in self.extras.columns:
            return None
        return self.extras[column]

    def groups(self) -> dict[str, tuple[str, str]]:
        """``benchmark -> (region, kind)`` of the board's columns (computed once)."""
        cached = self.__dict__.get("_groups")
        if cached is None:
            from ...scoring.aggregate import benchmark_groups

            cached = self.__dict__["_groups"] = benchmark_groups(self.board.values)
        return cached

    def about(self, subject: str | None, parameters: Mapping[str, Any] | None = None
              ) -> FigureContext:
        """A copy drawn for ``subject`` with ``parameters``."""
        copy = replace(self, subject=subject, parameters=dict(parameters or {}))
        if "_groups" in self.__dict__:
            copy.__dict__["_groups"] = self.__dict__["_groups"]
        return copy
