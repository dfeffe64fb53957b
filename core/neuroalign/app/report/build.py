"""Build a report: gather the data, run every registered figure, render, write atomically.

:func:`build_report` calls each :class:`~neuroalign.FigureSpec`'s figure for its scope (each
benchmark, each model, or once); a figure that raises
:class:`~neuroalign.errors.FigureUnavailable` leaves a note with its reason, and one that fails
in any other way leaves a note with the error (and a warning), so one plugin's figure never
sinks the page. :func:`write_report` renders it (:mod:`neuroalign.app.report.page`).
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import FigureUnavailable
from .charts import Chart, FigureContext
from .data import ReportData, collect

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...scoring.results import ResultsDatabase
    from ...specs import FigureSpec

__all__ = ["Placed", "Report", "build_report"]


@dataclass
class Placed:
    """The charts (or the reason for none) of one figure for one subject."""

    spec: FigureSpec
    subject: str | None
    charts: list[Chart] = field(default_factory=list)
    reason: str | None = None
    failed: bool = False


@dataclass
class Report:
    """A built report: its data and every placed figure, in page order."""

    data: ReportData
    figures: list[Placed] = field(default_factory=list)

    def placed(self, scope: str, subject: str | None = None) -> list[Placed]:
        """Figures of ``scope`` (for ``subject``), in order."""
        return [p for p in self.figures if p.spec.scope == scope and p.subject == subject]

    @property
    def charts(self) -> list[Chart]:
        return [c for p in self.figures for c in p.charts]


def _context(data: ReportData) -> FigureContext:
    return FigureContext(results=data.results, board=data.board, benchmarks=data.benchmarks,
                         extras=data.extras, aggregates=data.aggregates, scores=data.score)


def _run(spec: FigureSpec, figure: Any, context: FigureContext, subject: str | None) -> Placed:
    placed = Placed(spec, subject)
    try:
        out = figure(context.about(subject, spec.parameters))
    except FigureUnavailable as error:
        placed.reason = str(error)
        return placed
    except Exception as error:  # noqa: BLE001 - one figure must not sink the page
        placed.reason = f"the figure failed: {type(error).__name__}: {error}"
        placed.failed = True
        warnings.warn(f"report figure {spec.id!r}" + (f" for {subject!r}" if subject else "")
                      + f" failed: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2)
        return placed
    charts = [out] if isinstance(out, Chart) else list(out or [])
    bad = [type(c).__name__ for c in charts if not isinstance(c, Chart)]
    if bad or not charts:
        placed.reason = (f"the figure returned {bad or 'no chart'}; a Figure returns Chart "
                         "objects (BarChart, LineChart, ScatterChart, Heatmap, StripChart)")
        placed.failed = True
        return placed
    placed.charts = charts
    return placed


def build_report(results: ResultsDatabase | ReportData | None = None, *, model: str = "*",
                 benchmark: str = "*", aggregator: str = "mean",
                 extras: pd.DataFrame | None = None,
                 failures: Mapping[tuple[str, str], str] | None = None,
                 figures: str | Sequence[str] = "*") -> Report:
    """Gather the data and run every registered figure whose id matches ``figures``.

    Parameters
    ----------
    results : ResultsDatabase or ReportData, optional
        Default: the default results database.
    model, benchmark : str
        fnmatch patterns of the model and benchmark ids to include.
    aggregator : str
        Aggregator the leaderboard is first sorted by (the others are offered in the page).
    extras : pandas.DataFrame, optional
        Per-model columns, e.g. ``imagenet_top1`` (see :func:`~.data.read_models_csv`).
    failures : mapping, optional
        ``(model id, benchmark id) -> error`` of failed runs, shown in their empty cells.
    figures : str or sequence of str
        fnmatch pattern(s) of figure ids to draw (default: all).
    """
    from ...plugins.lookup import get_registry
    from ...scoring.results import ResultsDatabase

    if isinstance(results, ReportData):
        data = results
    else:
        data = collect(results if results is not None else ResultsDatabase(), model=model,
                       benchmark=benchmark, aggregator=aggregator, extras=extras,
                       failures=failures)
    patterns = [figures] if isinstance(figures, str) else list(figures)
    registry = get_registry()
    context = _context(data)
    report = Report(data)
    entries = [e for e in registry.entries("figure")
               if any(fnmatch.fnmatchcase(e.spec.id, p) for p in patterns)]
    entries.sort(key=lambda e: (e.spec.order, e.spec.id))
    context.groups()  # shared by every copy the figures get
    for entry in entries:
        spec = entry.spec
        try:
            figure = registry.build("figure", spec.id)
        except Exception as error:  # noqa: BLE001
            report.figures.append(Placed(spec, None, reason=f"cannot be built: {error}",
                                         failed=True))
            continue
        benchmarks = [b for b in data.board.benchmarks if fnmatch.fnmatchcase(b, spec.benchmarks)]
        if spec.scope == "benchmark":
            subjects: list[str | None] = list(benchmarks)
        elif spec.scope == "model":
            subjects = list(data.board.models)
        else:
            subjects = [None]
            if not benchmarks:
                report.figures.append(Placed(spec, None, reason=(
                    f"no results for benchmarks matching {spec.benchmarks!r}")))
                continue
        for subject in subjects:
            report.figures.append(_run(spec, figure, context, subject))
    for number, chart in enumerate(report.charts):
        chart.key = f"fig{number}"
    return report
