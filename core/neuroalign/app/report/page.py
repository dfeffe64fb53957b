"""The report page: one self-contained HTML document (inline CSS, JS, SVG and data).

Nothing is fetched: a Content-Security-Policy of ``default-src 'none'`` forbids every network
request, styles and the script (``assets/``, written for this page) are inline, and figures are
inline SVG. What a reader does not see at load waits in one gzip'd, base64 JSON store
(:func:`_store`): the bodies of collapsed sections (past :data:`OPEN_LIMIT` subjects), the SVG
of the figures across benchmarks (drawn as they near the viewport) and every figure's numbers
(for the CSV/JSON links); the script inflates it once, on first need. The leaderboard is
drawn from columnar data, only the rows and columns in view (:mod:`.board_html`).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import os
import re
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from ...errors import NeuroalignError
from . import board_html
from .build import Placed, Report, build_report
from .charts import Chart
from .svg import render

__all__ = ["read_store", "render_page", "write_report"]

_esc = html.escape
#: sections with more subjects than this start collapsed
OPEN_LIMIT = 12


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _downloads(key: str) -> str:
    return (f'<span class="downloads">download: <a href="#" data-download="{key}" '
            f'data-format="csv">CSV</a><a href="#" data-download="{key}" data-format="json">'
            f'JSON</a></span>')


_VIEWBOX = re.compile(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"')


def _figure(chart: Chart, lazy: dict[str, str] | None = None) -> str:
    """One figure: its SVG, title, caption and download links.

    With ``lazy`` (the page's store of deferred fragments, see :func:`_store`) the SVG goes
    into the store and the figure holds a placeholder of the same aspect ratio; the page's
    script draws the SVG when the figure comes near the viewport (or on
    ``neuroalignReport.expandAll()``), so a figure of thousands of marks costs nothing at
    load. The title and description stay in the page (the placeholder's ``aria-label``).
    """
    caption = f" — {_esc(chart.caption)}" if chart.caption else ""
    classes = (["wide"] if chart.kind == "heatmap" else []) + (["deferred"] if lazy is not None
                                                                else [])
    klass = f' class="{" ".join(classes)}"' if classes else ""
    svg = render(chart)
    if lazy is not None:
        size = _VIEWBOX.search(svg)
        ratio = f"{size.group(1)}/{size.group(2)}" if size else "2/1"
        key = f"f{len(lazy)}"
        lazy[key] = svg
        svg = (f'<div class="chart-slot" data-lazy="{key}" role="img" aria-label="'
               f'{_esc(chart.title)}: {_esc(chart.description or "")}" '
               f'style="aspect-ratio:{ratio}"></div>')
    return (f'<figure id="{chart.key}"{klass} data-kind="{chart.kind}">{svg}'
            f'<figcaption><b>{_esc(chart.title)}</b>{caption}<br>{_downloads(chart.key)}'
            f'</figcaption></figure>')


def _placed(items: list[Placed], lazy: dict[str, str] | None = None) -> str:
    figures = "".join(_figure(c, lazy) for p in items for c in p.charts)
    notes = [f"<li>{_esc(p.spec.id)}: {'failed: ' if p.failed else ''}{_esc(p.reason or '')}</li>"
             for p in items if p.reason]
    out = f'<div class="figs">{figures}</div>' if figures else ""
    if notes:
        out += f'<ul class="notes" aria-label="figures not shown">{"".join(notes)}</ul>'
    return out


# ------------------------------------------------------------------------------ sections
def _spec_line(report: Report, bench: str) -> str:
    spec = report.data.benchmarks.get(bench)
    if spec is None:
        return '<p class="muted">No installed plugin registers this benchmark.</p>'
    parts = [f"version {spec.version}", f"kind {spec.kind}"]
    if spec.region:
        parts.append(f"region {spec.region}")
    parts.append("higher is better" if spec.higher_is_better else "lower is better")
    if spec.paper_section:
        parts.append(f"paper section {spec.paper_section}")
    text = f'<p class="muted">{_esc(" · ".join(parts))}</p>'
    if spec.description:
        text += f"<p>{_esc(spec.description)}</p>"
    hashes: dict[str, set[str]] = {}
    for model in report.data.board.models:
        score = report.data.score(model, bench)
        if score is not None:
            for asset, digest in score.provenance.dataset_sha256.items():
                hashes.setdefault(asset, set()).add(digest)
    if hashes:
        items = "".join(f"<dt>{_esc(a)}</dt><dd>{_esc(', '.join(sorted(d)))}</dd>"
                        for a, d in sorted(hashes.items()))
        text += f'<dl class="card" aria-label="data sha256">{items}</dl>'
    return text


def _details(attribute: str, name: str, body: str, lazy: dict[str, str] | None) -> str:
    """A collapsible section, open when ``lazy`` is None. A collapsed one keeps its body in
    the page's store of deferred fragments (:func:`_store`) and the page's script turns it
    into DOM when the section is first opened: a 600-model page then parses only what is
    shown."""
    n = _esc(name)
    if lazy is None:
        return (f'<details class="section" {attribute}="{n}" open><summary>{n}</summary>'
                f'<div class="section-body">{body}</div></details>')
    key = f"s{len(lazy)}"
    lazy[key] = body
    return (f'<details class="section lazy" {attribute}="{n}"><summary>{n}</summary>'
            f'<div class="section-body" data-lazy="{key}"></div></details>')


def _benchmarks(report: Report, lazy: dict[str, str]) -> str:
    benches = report.data.board.benchmarks
    store = None if len(benches) <= OPEN_LIMIT else lazy
    parts = ['<section id="benchmarks"><h2>Benchmarks</h2>']
    for bench in benches:
        body = _spec_line(report, bench) + _placed(report.placed("benchmark", bench))
        parts.append(_details("data-benchmark-section", bench, body, store))
    return "".join(parts) + "</section>"


def _card(report: Report, model: str, rank: int, lazy: dict[str, str] | None) -> str:
    data = report.data
    scores = [s for b in data.board.benchmarks if (s := data.score(model, b)) is not None]
    weights = sorted({s.provenance.model_weights_sha256 for s in scores
                      if s.provenance.model_weights_sha256})
    versions = sorted({s.provenance.neuroalign_version for s in scores
                       if s.provenance.neuroalign_version})
    plugins: dict[str, set[str]] = {}
    for s in scores:
        for name, version in s.provenance.plugins.items():
            plugins.setdefault(name, set()).add(version)
    wall = [s.provenance.wall_time_s for s in scores if s.provenance.wall_time_s is not None]
    created = sorted(s.provenance.created for s in scores if s.provenance.created)
    rows = [("rank", f"{rank} under {data.board.aggregator or 'row mean'}"),
            ("benchmarks scored", f"{len(scores)} of {len(data.board.benchmarks)}"),
            ("weights sha256", ", ".join(weights) or "not recorded"),
            ("neuroalign", ", ".join(versions) or "not recorded"),
            ("plugins", ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(plugins.items()))
             or "not recorded"),
            ("wall time", f"{sum(wall):.1f} s over {len(wall)} scores" if wall else "not recorded"),
            ("computed", f"{created[0]} … {created[-1]}" if created else "not recorded"),
            ("data sha256", "per benchmark, in its section")]
    rho = None if data.board.rho_hierarchy is None else data.board.rho_hierarchy.get(model)
    if rho is not None and not math.isnan(rho):
        rows.insert(1, ("ρ-hierarchy", (f"{rho:+.2f} (Spearman of the V1, V2, V4, IT region "
                                        "means with depth; paper 000)")))
    for name in data.aggregates:
        value = data.aggregates[name].get(model)
        if value is not None and not math.isnan(value):
            rows.insert(1, (f"{name} aggregate", f"{value:.3f}"))
    card = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    body = f'<dl class="card">{card}</dl>{_placed(report.placed("model", model))}'
    return _details("data-model-card", model, body, lazy)


def _models(report: Report, lazy: dict[str, str]) -> str:
    models = report.data.board.models
    store = None if len(models) <= OPEN_LIMIT else lazy
    cards = "".join(_card(report, m, i + 1, store) for i, m in enumerate(models))
    return f'<section id="models"><h2>Models</h2>{cards}</section>'


def _globals(report: Report, lazy: dict[str, str]) -> tuple[str, list[str]]:
    sections: dict[str, list[Placed]] = {}
    for placed in report.figures:
        if placed.spec.scope == "global":
            sections.setdefault(placed.spec.section, []).append(placed)
    ordered = sorted(sections, key=lambda s: (s != "Across benchmarks", s != "Paper figures", s))
    out, anchors = [], []
    for i, name in enumerate(ordered):
        anchor = f"g{i}"
        anchors.append(f'<a href="#{anchor}">{_esc(name)}</a>')
        out.append(f'<section id="{anchor}"><h2>{_esc(name)}</h2>{_placed(sections[name], lazy)}'
                   "</section>")
    return "".join(out), anchors


def _chart_data(report: Report) -> dict[str, Any]:
    payload = {}
    for chart in report.charts:
        columns, rows = chart.table()
        payload[chart.key] = {"title": chart.title, "columns": columns,
                              "rows": [[_clean(v) for v in row] for row in rows]}
    return payload


def _store(lazy: dict[str, str], charts: dict[str, Any]) -> str:
    """The deferred fragments and every figure's numbers as one gzip'd, base64 JSON object
    ``{"fragments": {key: html}, "data": {figure key: {"title", "columns", "rows"}}}``.

    SVG markup compresses about tenfold, and the browser then scans a short text at load
    instead of megabytes; the page's script inflates it (``DecompressionStream``) once, when
    a section is opened, a deferred figure nears the viewport or a download is asked for.
    """
    text = json.dumps({"fragments": lazy, "data": charts}, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    packed = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def read_store(page: str) -> dict[str, Any]:
    """Unpack the store of a rendered page (see :func:`_store`): ``{"fragments": {key: html},
    "data": {figure key: {"title", "columns", "rows"}}}``."""
    found = re.search(r'<script type="text/plain" id="na-store">([A-Za-z0-9+/=\s]*)</script>',
                      page)
    if found is None:
        raise NeuroalignError("no figure store in this page (not a neuroalign report?)")
    return json.loads(gzip.decompress(base64.b64decode(found.group(1))).decode("utf-8"))


def render_page(report: Report, *, title: str = "neuroalign report") -> str:
    """The whole report as one HTML document."""
    from ... import __version__

    data = report.data
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lazy: dict[str, str] = {}
    globals_html, anchors = _globals(report, lazy)
    nav = ['<a href="#leaderboard">Leaderboard</a>', '<a href="#benchmarks">Benchmarks</a>',
           '<a href="#models">Models</a>', *anchors]
    source = f" from {_esc(data.source)}" if data.source else ""
    meta = (f"{len(data.board.models)} models × {len(data.board.benchmarks)} benchmarks{source}"
            f" · generated {generated} by neuroalign {_esc(__version__)} · "
            f"{len(report.charts)} figures")
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data: blob:")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>{_esc(title)}</title><style>{_asset('report.css')}</style></head><body>"
        f'<header><h1>{_esc(title)}</h1><p class="meta">{meta}</p>'
        f'<nav aria-label="sections">{"".join(nav)}</nav></header><main>'
        + board_html.leaderboard_html(report, _downloads("leaderboard")) + _benchmarks(report, lazy) + _models(report, lazy) + globals_html
        + "</main>"
        f'<script type="text/plain" id="na-store">{_store(lazy, _chart_data(report))}</script>'
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )

def write_report(path: str | os.PathLike[str], results: Any = None, *,
                 title: str = "neuroalign report", **options: Any) -> Path:
    """Build (:func:`build_report` with ``options``), render and write the report atomically.

    ``results`` may be a built :class:`Report`. Returns the path written.
    """
    report = results if isinstance(results, Report) else build_report(results, **options)
    if isinstance(results, Report) and options:
        raise NeuroalignError(f"options {sorted(options)} apply when building; "
                              "the report given is already built")
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(render_page(report, title=title), encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
