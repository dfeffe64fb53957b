"""The report: a terminal leaderboard and one self-contained static HTML file.

Modules, each one part of it:

- :mod:`.leaderboard` -- the model x benchmark table (:func:`leaderboard`) and its rich output;
- :mod:`.data` -- what a report shows, gathered from a results database (:func:`collect`);
- :mod:`.charts` -- the figure vocabulary (:class:`~.charts.BarChart`, ...) and the
  :class:`~.charts.FigureContext` a :class:`~neuroalign.Figure` receives;
- :mod:`.figures` -- the core's figures, registered through ``register_figures``;
- :mod:`.svg` -- inline SVG for each chart;
- :mod:`.build` -- running every registered figure (:func:`build_report`);
- :mod:`.board_html` -- the page's leaderboard: columnar data, the rows and columns in view
  drawn by the script;
- :mod:`.page` -- the HTML document (inline CSS/JS from ``assets/``, no network; what is not
  shown at load waits in one compressed store).
"""

from __future__ import annotations

import os
from pathlib import Path

from .build import Report, build_report
from .page import write_report
from .leaderboard import (Leaderboard, leaderboard, print_leaderboard, render_by_benchmark,
                          render_table)

__all__ = ["Leaderboard", "Report", "build_report", "leaderboard", "print_leaderboard",
           "render_by_benchmark", "render_html", "render_table", "write_html", "write_report"]


def _board_report(board: Leaderboard) -> Report:
    import pandas as pd

    from .data import ReportData

    aggregates = {} if board.aggregate is None else {board.aggregator or "aggregate":
                                                     board.aggregate}
    missing = {(m, b): "not scored" for m in board.models for b in board.benchmarks}
    return Report(ReportData(pd.DataFrame(), board, aggregates, missing=missing))


def render_html(board: Leaderboard, *, title: str = "neuroalign leaderboard") -> str:
    """A leaderboard alone as one self-contained HTML page (no figures; see
    :func:`write_report` for the full report)."""
    from .page import render_page

    return render_page(_board_report(board), title=title)


def write_html(board: Leaderboard, path: str | os.PathLike[str], *,
               title: str = "neuroalign leaderboard") -> Path:
    """Write :func:`render_html` to ``path`` atomically; return the path."""
    return write_report(path, _board_report(board), title=title)
