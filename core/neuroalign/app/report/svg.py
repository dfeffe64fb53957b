"""Inline SVG for the report's charts (:mod:`neuroalign.app.report.charts`), written by hand.

Each chart becomes one ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (its alt text),
a ``viewBox`` so it scales to the page width, and one element of class ``mark`` per data mark,
each with a ``<title>`` tooltip (the exact numbers). Colours are the Okabe-Ito palette, which
stays distinguishable for the common colour-vision deficiencies; the heatmap uses a blue-white-
orange diverging scale and the strip chart a light-to-dark blue ramp (both colour-blind safe).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from .charts import BarChart, Chart, Heatmap, LineChart, ScatterChart, StripChart, pareto_front

__all__ = ["OKABE_ITO", "render", "diverging", "sequential"]

#: Okabe & Ito (2008): black first is left out; yellow last (low contrast on white)
OKABE_ITO: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                              "#000000", "#F0E442")
WIDTH, HEIGHT = 640, 300
MARGIN = {"left": 56, "right": 16, "top": 30, "bottom": 44}
_esc = html.escape


def _num(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _fmt(value: Any) -> str:
    """A number for people: 4 significant digits; '–' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return str(value)


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``."""
    if not (_finite(low) and _finite(high)) or high <= low:
        return [low] if _finite(low) else [0.0]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), default=raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-6:
        ticks.append(round(value, 12))
        value += step
    return ticks


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float):
        if not high > low:
            low, high = (low - 0.5, high + 0.5) if _finite(low) else (0.0, 1.0)
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def _open(chart: Chart, width: float, height: float) -> list[str]:
    key = _esc(chart.key or "chart")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{chart.kind}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-labelledby="{key}-t {key}-d" data-marks="{chart.n_marks}">',
        f'<title id="{key}-t">{_esc(chart.title)}</title>',
        f'<desc id="{key}-d">{_esc(chart.description or chart.title)}</desc>',
    ]


def _axes(parts: list[str], x: _Scale, y: _Scale, x_label: str, y_label: str, *,
          x_ticks: Sequence[tuple[float, str]] | None = None, show_x: bool = True) -> None:
    left, bottom = x.start, y.start
    parts.append(f'<g class="axis"><path d="M{_num(left)} {_num(y.end)}V{_num(bottom)}'
                 f'H{_num(x.end)}"/>')
    for tick in nice_ticks(y.low, y.high):
        ty = y(tick)
        parts.append(f'<path class="grid" d="M{_num(left)} {_num(ty)}H{_num(x.end)}"/>'
                     f'<text x="{_num(left - 6)}" y="{_num(ty + 4)}" text-anchor="end">'
                     f'{_fmt(tick)}</text>')
    if show_x:
        ticks = x_ticks if x_ticks is not None else [(t, _fmt(t)) for t in nice_ticks(x.low, x.high)]
        for value, label in ticks:
            tx = x(value)
            parts.append(f'<text x="{_num(tx)}" y="{_num(bottom + 16)}" text-anchor="middle">'
                         f'{_esc(label)}</text>')
    parts.append(f'<text class="label" x="{_num((left + x.end) / 2)}" y="{_num(bottom + 36)}" '
                 f'text-anchor="middle">{_esc(x_label)}</text>')
    middle = (y.start + y.end) / 2
    parts.append(f'<text class="label" transform="translate(14 {_num(middle)}) rotate(-90)" '
                 f'text-anchor="middle">{_esc(y_label)}</text></g>')


def _extent(values: Sequence[float], include: Sequence[float] = ()) -> tuple[float, float]:
    """A domain covering the values, widened to round ticks at both ends."""
    finite = [v for v in list(values) + list(include) if _finite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else (high - low)
    return min(low, math.floor(low / step + 1e-9) * step), max(high, math.ceil(high / step - 1e-9) * step)


def _legend(parts: list[str], names: Sequence[str], x: float, y: float) -> None:
    for i, name in enumerate(names):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        parts.append(f'<g class="legend"><rect x="{_num(x)}" y="{_num(y + 14 * i - 8)}" '
                     f'width="10" height="10" fill="{colour}"/><text x="{_num(x + 14)}" '
                     f'y="{_num(y + 14 * i + 1)}">{_esc(name)}</text></g>')


# ------------------------------------------------------------------------------ charts
def bar_svg(chart: BarChart) -> str:
    """Bars left to right, error bars, the ceiling as a dashed line."""
    n = max(len(chart.bars), 1)
    labels = n <= 30
    bottom_extra = 70 if labels else 0
    height = HEIGHT + bottom_extra
    values = [b.value for b in chart.bars]
    tops = [b.value + (b.error or 0) for b in chart.bars if _finite(b.value)]
    lows = [b.value - (b.error or 0) for b in chart.bars if _finite(b.value)]
    include = [0.0] + ([chart.ceiling] if _finite(chart.ceiling) else [])
    low, high = _extent(tops + lows + values, include)
    low = min(low, 0.0)
    x = _Scale(0, n, MARGIN["left"], WIDTH - MARGIN["right"])
    y = _Scale(low, high, height - MARGIN["bottom"] - bottom_extra, MARGIN["top"])
    parts = _open(chart, WIDTH, height)
    direction = "" if chart.higher_is_better else " (lower is better)"
    _axes(parts, x, y, "", chart.y_label + direction, show_x=False)
    band = (x.end - x.start) / n
    width = max(band * 0.8, 0.5)
    zero = y(0.0)
    for i, bar in enumerate(chart.bars):
        if not _finite(bar.value):
            continue
        cx = x(i + 0.5)
        top = y(bar.value)
        tip = f"{bar.label}: {_fmt(bar.value)}" + (
            f" ± {_fmt(bar.error)}" if _finite(bar.error) else "")
        parts.append(f'<rect class="mark" x="{_num(cx - width / 2)}" y="{_num(min(top, zero))}" '
                     f'width="{_num(width)}" height="{_num(abs(zero - top))}" '
                     f'fill="{OKABE_ITO[0]}"><title>{_esc(tip)}</title></rect>')
        if _finite(bar.error) and bar.error > 0:
            a, b = y(bar.value - bar.error), y(bar.value + bar.error)
            cap = min(width / 2, 4)
            parts.append(f'<path class="err" d="M{_num(cx)} {_num(a)}V{_num(b)}M{_num(cx - cap)} '
                         f'{_num(a)}h{_num(2 * cap)}M{_num(cx - cap)} {_num(b)}h{_num(2 * cap)}"/>')
        if labels:
            ly = y.start + 8
            parts.append(f'<text class="tick" transform="translate({_num(cx + 3)} {_num(ly)}) '
                         f'rotate(-50)" text-anchor="end">{_esc(_short(bar.label))}</text>')
    if _finite(chart.ceiling):
        cy = y(chart.ceiling)
        parts.append(f'<path class="ref" d="M{_num(x.start)} {_num(cy)}H{_num(x.end)}"/>'
                     f'<text class="ref-label" x="{_num(x.end - 4)}" y="{_num(cy - 4)}" '
                     f'text-anchor="end">{_esc(chart.ceiling_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def line_svg(chart: LineChart) -> str:
    """One coloured line per series, a marker per point, the highlighted point ringed."""
    xs = [v for s in chart.series for v in s.x]
    ys = [v for s in chart.series for i, v in enumerate(s.y)]
    errs = [v + (s.error[i] or 0) * sign for s in chart.series if s.error
            for i, v in enumerate(s.y) if _finite(v) and _finite(s.error[i]) for sign in (-1, 1)]
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    legend = len(chart.series) <= 10 and len(chart.series) > 1
    right = 170 if legend else MARGIN["right"]
    x = _Scale(x_low, x_high, MARGIN["left"], WIDTH - right)
    y = _Scale(*_extent(ys, errs), HEIGHT - MARGIN["bottom"], MARGIN["top"])
    parts = _open(chart, WIDTH, HEIGHT)
    _axes(parts, x, y, chart.x_label, chart.y_label, x_ticks=chart.x_ticks)
    for k, series in enumerate(chart.series):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        points = [(x(a), y(b)) for a, b in zip(series.x, series.y) if _finite(b)]
        if len(points) > 1:
            d = "M" + "L".join(f"{_num(px)} {_num(py)}" for px, py in points)
            parts.append(f'<path class="line" d="{d}" stroke="{colour}"/>')
        for i, (a, b) in enumerate(zip(series.x, series.y)):
            if not _finite(b):
                continue
            label = series.labels[i] if series.labels else _fmt(a)
            err = series.error[i] if series.error else None
            tip = f"{series.name} @ {label}: {_fmt(b)}" + (f" ± {_fmt(err)}" if _finite(err) else "")
            if _finite(err) and err > 0:
                parts.append(f'<path class="err" d="M{_num(x(a))} {_num(y(b - err))}'
                             f'V{_num(y(b + err))}" stroke="{colour}"/>')
            chosen = i == series.highlight
            extra = ' stroke="#000" stroke-width="2"' if chosen else ""
            parts.append(f'<circle class="mark{" chosen" if chosen else ""}" cx="{_num(x(a))}" '
                         f'cy="{_num(y(b))}" r="{5 if chosen else 3}" fill="{colour}"{extra}>'
                         f'<title>{_esc(tip + (" (chosen)" if chosen else ""))}</title></circle>')
    if legend:
        _legend(parts, [_short(s.name, 22) for s in chart.series], WIDTH - right + 12,
                MARGIN["top"] + 4)
    parts.append("</svg>")
    return "".join(parts)


def scatter_svg(chart: ScatterChart) -> str:
    """Points coloured by group, error bars, and the Pareto front when asked."""
    finite = [p for p in chart.points if _finite(p.x) and _finite(p.y)]
    groups = list(dict.fromkeys(p.group for p in chart.points))
    legend = len(groups) > 1
    right = 150 if legend else MARGIN["right"]
    x_extra = [p.x + e for p in finite if _finite(p.x_error) for e in (-p.x_error, p.x_error)]
    y_extra = [p.y + e for p in finite if _finite(p.y_error) for e in (-p.y_error, p.y_error)]
    x = _Scale(*_extent([p.x for p in finite], x_extra), MARGIN["left"], WIDTH - right)
    y = _Scale(*_extent([p.y for p in finite], y_extra), HEIGHT - MARGIN["bottom"], MARGIN["top"])
    parts = _open(chart, WIDTH, HEIGHT)
    _axes(parts, x, y, chart.x_label, chart.y_label)
    if chart.front:
        front = pareto_front(chart.points)
        if len(front) > 1:
            d = "M" + "L".join(f"{_num(x(chart.points[i].x))} {_num(y(chart.points[i].y))}"
                               for i in front)
            parts.append(f'<path class="front" d="{d}"><title>Pareto front</title></path>')
    for p in finite:
        colour = OKABE_ITO[groups.index(p.group) % len(OKABE_ITO)]
        px, py = x(p.x), y(p.y)
        if _finite(p.x_error) and p.x_error > 0:
            parts.append(f'<path class="err" d="M{_num(x(p.x - p.x_error))} {_num(py)}'
                         f'H{_num(x(p.x + p.x_error))}"/>')
        if _finite(p.y_error) and p.y_error > 0:
            parts.append(f'<path class="err" d="M{_num(px)} {_num(y(p.y - p.y_error))}'
                         f'V{_num(y(p.y + p.y_error))}"/>')
        tip = f"{p.label}: {chart.x_label} {_fmt(p.x)}, {chart.y_label} {_fmt(p.y)}"
        parts.append(f'<circle class="mark" cx="{_num(px)}" cy="{_num(py)}" r="4" '
                     f'fill="{colour}"><title>{_esc(tip)}</title></circle>')
    if legend:
        _legend(parts, [g or "other" for g in groups], WIDTH - right + 12, MARGIN["top"] + 4)
    parts.append("</svg>")
    return "".join(parts)


def diverging(value: float, vmin: float = -1.0, vmax: float = 1.0) -> str:
    """Blue (vmin) - near white (middle) - orange (vmax); grey for missing."""
    if not _finite(value):
        return "#d9d9d9"
    t = min(max((value - vmin) / (vmax - vmin), 0.0), 1.0) * 2 - 1
    low, mid, high = (0, 114, 178), (247, 247, 247), (230, 97, 1)
    end = high if t > 0 else low
    mix = [round(m + (e - m) * abs(t)) for m, e in zip(mid, end)]
    return "#%02x%02x%02x" % tuple(mix)


def sequential(t: float) -> str:
    """A light (0) to dark (1) blue ramp."""
    t = min(max(t, 0.0), 1.0) if _finite(t) else 0.0
    light, dark = (222, 235, 247), (8, 48, 107)
    return "#%02x%02x%02x" % tuple(round(a + (b - a) * t) for a, b in zip(light, dark))


def heatmap_svg(chart: Heatmap) -> str:
    """Cells coloured on a diverging scale; marked cells get a dot; labels when they fit."""
    n_rows, n_cols = len(chart.rows), len(chart.columns)
    cell = max(min(28.0, 520.0 / max(n_rows, n_cols, 1)), 2.0)
    labels = cell >= 9
    pad = 150 if labels else 10
    width, height = pad + cell * n_cols + 90, pad + cell * n_rows + 10
    parts = _open(chart, width, height)
    if labels:
        for i, row in enumerate(chart.rows):
            parts.append(f'<text class="tick" x="{_num(pad - 4)}" '
                         f'y="{_num(pad + cell * i + cell / 2 + 4)}" text-anchor="end">'
                         f'{_esc(_short(row, 24))}</text>')
    size = _num(cell)
    for i, j in chart.cells():
        row, column = chart.rows[i], chart.columns[j]
        value = chart.values[i][j]
        mark = bool(chart.marked[i][j]) if chart.marked else False
        tip = f"{row} × {column}: {chart.value_label} {_fmt(value)}" + (
            f" ({chart.mark_label})" if mark else "")
        cx, cy = pad + cell * j, pad + cell * i
        parts.append(f'<rect class="mark" x="{_num(cx)}" y="{_num(cy)}" width="{size}" '
                     f'height="{size}" fill="{diverging(value, chart.vmin, chart.vmax)}">'
                     f'<title>{_esc(tip)}</title></rect>')
        if mark:
            parts.append(f'<circle class="sig" cx="{_num(cx + cell / 2)}" '
                         f'cy="{_num(cy + cell / 2)}" r="{_num(max(cell / 7, 0.8))}"/>')
    if labels:
        for j, column in enumerate(chart.columns):
            tx = pad + cell * j + cell / 2 + 4
            parts.append(f'<text class="tick" transform="translate({_num(tx)} {_num(pad - 4)}) '
                         f'rotate(-60)">{_esc(_short(column, 24))}</text>')
    # colour bar
    bx, by, bh = pad + cell * n_cols + 20, pad, max(cell * n_rows, 60)
    for k in range(20):
        value = chart.vmax - (chart.vmax - chart.vmin) * k / 19
        parts.append(f'<rect x="{_num(bx)}" y="{_num(by + bh * k / 20)}" width="12" '
                     f'height="{_num(bh / 20 + 0.5)}" '
                     f'fill="{diverging(value, chart.vmin, chart.vmax)}"/>')
    parts.append(f'<text class="tick" x="{_num(bx + 16)}" y="{_num(by + 8)}">'
                 f'{_fmt(chart.vmax)}</text><text class="tick" x="{_num(bx + 16)}" '
                 f'y="{_num(by + bh)}">{_fmt(chart.vmin)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def strip_svg(chart: StripChart) -> str:
    """One row per category; points shaded by ``shade``; highlighted points ringed in orange."""
    row_height = 46
    height = MARGIN["top"] + row_height * max(len(chart.rows), 1) + MARGIN["bottom"]
    xs = [p.x for p in chart.points if _finite(p.x)]
    left = 110
    x = _Scale(*(min(xs), max(xs)) if xs else (0.0, 1.0), left, WIDTH - MARGIN["right"])
    parts = _open(chart, WIDTH, height)
    bottom = height - MARGIN["bottom"]
    parts.append(f'<g class="axis"><path d="M{left} {_num(bottom)}H{_num(x.end)}"/>')
    for tick in nice_ticks(x.low, x.high):
        parts.append(f'<text x="{_num(x(tick))}" y="{_num(bottom + 16)}" text-anchor="middle">'
                     f'{_fmt(tick)}</text>')
    parts.append(f'<text class="label" x="{_num((left + x.end) / 2)}" y="{_num(bottom + 36)}" '
                 f'text-anchor="middle">{_esc(chart.x_label)}</text></g>')
    for r, row in enumerate(chart.rows):
        cy = MARGIN["top"] + row_height * (r + 0.5)
        parts.append(f'<text class="tick" x="{left - 8}" y="{_num(cy + 4)}" text-anchor="end">'
                     f'{_esc(row)}</text><path class="grid" d="M{left} {_num(cy)}H{_num(x.end)}"/>')
    index = {row: r for r, row in enumerate(chart.rows)}
    for p in chart.points:
        if not _finite(p.x) or p.row not in index:
            continue
        cy = MARGIN["top"] + row_height * (index[p.row] + 0.5)
        ring = ' stroke="#D55E00" stroke-width="2.5"' if p.highlight else ""
        tip = f"{p.label} ({p.row}): {_fmt(p.x)}" + (
            f"; {chart.highlight_label}" if p.highlight and chart.highlight_label else "")
        parts.append(f'<circle class="mark" cx="{_num(x(p.x))}" cy="{_num(cy)}" r="5" '
                     f'fill="{sequential(p.shade)}" fill-opacity="0.85"{ring}>'
                     f'<title>{_esc(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


_RENDERERS = {BarChart: bar_svg, LineChart: line_svg, ScatterChart: scatter_svg,
              Heatmap: heatmap_svg, StripChart: strip_svg}


def render(chart: Chart) -> str:
    """The SVG markup of ``chart``."""
    for kind, renderer in _RENDERERS.items():
        if isinstance(chart, kind):
            return renderer(chart)
    raise TypeError(f"the report cannot draw a {type(chart).__name__}; return one of "
                    f"{[k.__name__ for k in _RENDERERS]}")
