"""The report's leaderboard: a table whose rows the page's script draws from columnar data.

A 600 x 100 leaderboard is 60 000 cells: as DOM it costs seconds of parsing, style and
layout before the page can be used. So the page holds the numbers once, as one compact JSON
block (:func:`board_json`: column-major arrays of values, errors and layer indices, every
aggregator's column, the reasons of empty and stale cells), and the script
(``assets/report.js``) keeps only the rows and benchmark columns in view (plus a margin) as
DOM, between spacer rows and columns; sorting, filtering, the aggregator switch and the CSV/JSON
download work on the arrays, over every row. The first :data:`FIRST_ROWS` rows and
:data:`FIRST_COLS` benchmark columns are also written as plain HTML, so the table shows before
the script runs (and, in part, without it); the script draws rows exactly as written here.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .build import Report

__all__ = ["COL_PX", "FIRST_COLS", "FIRST_ROWS", "ROW_PX", "aggregator_names", "board_json",
           "leaderboard_html", "shades"]

_esc = html.escape
#: leaderboard rows written as HTML (the rest exist only as data until scrolled into view)
FIRST_ROWS = 20
#: benchmark columns written as HTML (the script draws the columns in view, as it scrolls)
FIRST_COLS = 12
#: height of a leaderboard row in CSS pixels (``#lb tbody tr`` in report.css; report.js ROW)
ROW_PX = 46
#: width of a benchmark column in CSS pixels (8.6rem in report.css at 16 px)
COL_PX = 8.6 * 16


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _rounded(value: float) -> float | None:
    """A cell's number as shown (3 decimals); None for missing."""
    return None if math.isnan(value) else float(_fmt(value))


def aggregator_names(report: Report) -> list[str]:
    """The aggregators in the page's order: the leaderboard's own first."""
    names = list(report.data.aggregates)
    board = report.data.board
    if board.aggregator in names:
        names.remove(board.aggregator)
        names.insert(0, board.aggregator)
    return names


def shades(values: Any, higher: list[bool]) -> Any:
    """Shade 0..9 of each cell: its position within its benchmark's range, 9 the best
    (mid-range 5 when the column is constant). Same rule as the page's script."""
    import numpy as np

    if values.size == 0:
        return np.zeros(values.shape, dtype=int)
    with np.errstate(all="ignore"):
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        span = np.where(high > low, high - low, np.nan)
        t = (values - low) / span
    t = np.where(np.isnan(t), 0.5, t)
    if len(higher):
        t = np.where(np.asarray(higher, dtype=bool)[None, :], t, 1 - t)
    return np.clip(np.floor(t * 10 + 1e-9).astype(int), 0, 9)


def _shown(report: Report) -> tuple[Any, Any]:
    """Values and errors as shown (rounded to 3 decimals; NaN for missing)."""
    import numpy as np

    board = report.data.board
    values = np.round(board.values.to_numpy(dtype="float64"), 3)
    errors = np.round(board.errors.to_numpy(dtype="float64"), 3)
    return values, errors


def board_json(report: Report) -> str:
    """The leaderboard as columnar JSON (safe inside a ``<script>`` element).

    Keys: ``models``, ``ids`` (model id per row, for the run hint), ``benchmarks``, ``higher``
    (1/0 per benchmark), ``aggregators`` (names), ``aggregates`` (one list per aggregator,
    6 significant digits), ``values`` and ``errors`` (one list per benchmark, 3 decimals, null
    for missing), ``layers`` (one list per benchmark of indices into ``layer_names``, -1 for
    none), ``missing`` and ``stale`` (``[row, column, reason]``).
    """
    data = report.data
    board = data.board
    models, benches = board.models, board.benchmarks
    values, errors = _shown(report)
    layer_names: dict[str, int] = {}
    layer_grid = board.layers.to_numpy(dtype=object)
    layers = [[layer_names.setdefault(str(layer_grid[i, j]), len(layer_names))
               if layer_grid[i, j] else -1 for i in range(len(models))]
              for j in range(len(benches))]
    names = aggregator_names(report)
    aggregates = [[None if math.isnan(v) else float(f"{v:.6g}") for v in
                   data.aggregates[n].reindex(board.values.index).to_numpy(dtype="float64")]
                  for n in names]
    index = {m: i for i, m in enumerate(models)}
    column = {b: j for j, b in enumerate(benches)}
    payload = {
        "models": models,
        "benchmarks": benches,
        "higher": [1 if board.directions.get(b, True) else 0 for b in benches],
        "aggregators": names,
        "aggregates": aggregates,
        "values": [[_num(v) for v in values[:, j]] for j in range(len(benches))],
        "errors": [[_num(v) for v in errors[:, j]] for j in range(len(benches))],
        "layer_names": list(layer_names),
        "layers": layers,
        "missing": [[index[m], column[b], reason] for (m, b), reason in data.missing.items()
                    if m in index and b in column and math.isnan(values[index[m], column[b]])],
        "stale": [[index[m], column[b], reason] for (m, b), reason in data.stale.items()
                  if m in index and b in column],
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # no "<" at all inside the script element: "</script" would end it early and "<!--" would
    # change how the HTML parser reads the rest; \u003c is the same character to JSON.parse
    return text.replace("<", "\\u003c")


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _rows(report: Report, names: list[str], count: int) -> list[str]:
    """HTML of the first ``count`` rows, exactly as the page's script draws rows."""
    data = report.data
    board = data.board
    values, errors = _shown(report)
    layers = board.layers.to_numpy(dtype=object)
    shade = shades(values, [board.directions.get(b, True) for b in board.benchmarks])
    aggs = [data.aggregates[n].reindex(board.values.index).to_numpy(dtype="float64")
            for n in names]
    rows = []
    for i, model in enumerate(board.models[:count]):
        m = _esc(model)
        cells = [f'<tr data-m="{m}"><td class="r">{i + 1}</td><td class="model">{m}</td>']
        for k in range(len(names)):
            v = aggs[k][i]
            cells.append(f'<td class="agg a{k} na" title="no aggregate">–</td>' if math.isnan(v)
                         else f'<td class="agg a{k}">{_fmt(float(f"{v:.6g}"))}</td>')
        cells.append('<td class="cpad"></td>')
        for j, bench in enumerate(board.benchmarks[:FIRST_COLS]):
            v = values[i, j]
            if math.isnan(v):
                reason = data.missing.get((model, bench), "not scored")
                cells.append(f'<td class="na" title="{_esc(reason)}">–</td>')
                continue
            stale = data.stale.get((model, bench))
            klass = f"q{shade[i, j]}" + (" stale" if stale else "")
            title = f' title="{_esc(stale)}"' if stale else ""
            e = errors[i, j]
            err = "" if math.isnan(e) else f"<em>±{_fmt(e)}</em>"
            layer = f"<i>{_esc(str(layers[i, j]))}</i>" if layers[i, j] else ""
            cells.append(f'<td class="{klass}"{title}>{_fmt(v)}{err}{layer}</td>')
        rows.append("".join(cells) + '<td class="cpad"></td></tr>')
    return rows


def leaderboard_html(report: Report, downloads: str) -> str:
    """The leaderboard section: controls, the table head, the first rows, the data block."""
    data = report.data
    board = data.board
    names = aggregator_names(report)
    options = "".join(f'<option value="{i}">{_esc(n)}</option>' for i, n in enumerate(names))
    head = ['<th class="rank" scope="col">#</th>',
            '<th class="model" scope="col" tabindex="0" data-dir="0">model</th>']
    for i, name in enumerate(names):
        head.append(f'<th class="agg a{i}" scope="col" tabindex="0" data-agg="{_esc(name)}" '
                    f'data-dir="1" title="aggregate: {_esc(name)} (higher is better)">'
                    f'{_esc(name)}</th>')
    n_bench = len(board.benchmarks)
    head.append('<th class="cpad" aria-hidden="true" style="width:0px"></th>')
    for bench in board.benchmarks[:FIRST_COLS]:
        higher = board.directions.get(bench, True)
        arrow = "↑" if higher else "↓"
        head.append(f'<th scope="col" tabindex="0" data-b="{_esc(bench)}" '
                    f'data-dir="{1 if higher else 0}" title="{_esc(bench)}: '
                    f'{"higher" if higher else "lower"} is better">{_esc(bench)} {arrow}</th>')
    rest_cols = max(0, n_bench - FIRST_COLS)
    head.append(f'<th class="cpad" aria-hidden="true" style="width:{rest_cols * COL_PX:g}px">'
                "</th>")
    columns = 2 + len(names) + 2 + min(n_bench, FIRST_COLS)
    rules = "".join(f"#lb.s{i} .agg:not(.a{i}){{display:none}}" for i in range(len(names)))
    lower = [b for b in board.benchmarks if not board.directions.get(b, True)]
    legend = ("Cells: ceiled score ± error, the chosen layer below; shade: position within the "
              "benchmark's range, darker is better (direction respected: ↑ higher is better, "
              "↓ lower is better); – not scored (hover for why); † stored for an older "
              "benchmark version. Click a header to sort (again to reverse).")
    if "mean" in names:
        legend += (" The mean is Brain-Score's hierarchical mean; it counts a missing score as 0"
                   + (" and leaves out lower-is-better benchmarks (" + ", ".join(lower) + ")"
                      if lower else "") + ".")
    failed = "".join(f"<li>aggregator {_esc(n)}: {_esc(e)}</li>"
                     for n, e in data.aggregate_errors.items())
    rows = _rows(report, names, FIRST_ROWS)
    rest = len(board.models) - len(rows)
    pad = (f'<tfoot aria-hidden="true"><tr class="pad"><td colspan="{columns}" '
           f'style="height:{rest * ROW_PX}px"></td></tr></tfoot>') if rest > 0 else ""
    return (
        f'<section id="leaderboard"><h2>Leaderboard</h2><style>{rules}</style>'
        '<div class="controls"><label for="agg">aggregate<select id="agg">'
        f'{options}</select></label><label for="fm">filter models<input id="fm" type="search" '
        'placeholder="e.g. resnet"></label><label for="fb">filter benchmarks<input id="fb" '
        'type="search" placeholder="e.g. IT"></label><span id="count" class="muted" '
        f'aria-live="polite"></span>{downloads}</div>'
        f'<p class="caption">{_esc(legend)}</p>'
        + (f'<ul class="notes">{failed}</ul>' if failed else "")
        + '<div class="tablewrap" id="lbwrap"><table id="lb" class="s0" style="width:'
        + f'{(2.6 + 15 + (4.6 if names else 0)) * 16 + COL_PX * n_bench:g}px" '
        + f'aria-rowcount="{len(board.models) + 1}"><caption class="muted">'
        f'{len(board.models)} models × {len(board.benchmarks)} benchmarks'
        + (' (rows and columns are drawn as they scroll into view)'
           if rest > 0 or rest_cols > 0 else "") + '</caption><thead><tr>'
        + "".join(head) + '</tr><tr class="pad" aria-hidden="true"><td colspan="'
        + f'{columns}"></td></tr></thead><tbody>\n' + "\n".join(rows)
        + "\n</tbody>" + pad + "</table></div>"
        + (f'<noscript><p class="caption">Without JavaScript only the first {len(rows)} of '
           f"{len(board.models)} rows and {min(n_bench, FIRST_COLS)} of {n_bench} benchmarks "
           "are shown; every value is in <code>neuroalign results --format csv</code>.</p>"
           "</noscript>" if rest > 0 or rest_cols > 0 else "")
        + f'<script type="application/json" id="na-board">{board_json(report)}</script>'
        + "</section>"
    )
