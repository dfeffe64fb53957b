"""Size and opening time of the HTML report for a large synthetic results database.

    .venv/bin/python benchmarks/bench_report.py [--models 600] [--benchmarks 100] [--repeat 5]
        [--keep report.html] [--compare other.html]

Writes N models x M benchmarks of synthetic Scores (per-layer profiles, provenance, PGD curves;
5% of cells missing) to a temporary database, builds the report, and opens it in headless
Chromium several times (a fresh browser per load), printing: build time, file size, and per
load

- the wall time from navigation until the load event and two more frames, measured from
  outside the page;
- from the page's own clock (ms since navigation): first contentful paint, the end of the load
  event, and the moment the leaderboard is drawn and answers sorting and filtering
  (``neuroalignReport.readyAt``);
- the time a click on a benchmark header takes to re-sort every row and redraw;
- the renderer's main-thread work until painted (Chromium's Performance.getMetrics: CPU
  seconds, less sensitive to a busy machine than the wall time).

``--compare other.html`` opens another report (e.g. one written by an older version) in
alternation with this one, so both see the same machine load, and prints the ratios.
The 1-minute load average is printed before and after. Targets (issue 17): < 10 MB and
< 3 s to open for 600 x 100.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

_WAIT_READY = ("new Promise(r => { const t = () => (window.neuroalignReport && "
               "(neuroalignReport.ready || neuroalignReport.complete)) ? r() : setTimeout(t, 20);"
               " t(); })")
_MARKS = ("[performance.getEntriesByName('first-contentful-paint')[0].startTime, "
          "performance.getEntriesByType('navigation')[0].loadEventEnd, "
          "neuroalignReport.readyAt || neuroalignReport.completedAt || 0]")
_SORT = ("(() => { const th = document.querySelectorAll('#lb th[data-b]')[3]; "
         "const t0 = performance.now(); th.click(); "
         "return new Promise(r => requestAnimationFrame(() => setTimeout(() => "
         "r(performance.now() - t0), 0))); })()")


def _load(path: Path) -> dict[str, float | int | list[str]]:
    from neuroalign.testing.browser import Browser

    with Browser() as browser:  # a fresh browser per load: counters start at zero
        wall = browser.open(path)
        counters = browser.metrics()
        browser.evaluate(_WAIT_READY)
        fcp, load_end, ready = browser.evaluate(_MARKS)
        sort_ms = browser.evaluate(_SORT)
        return {
            "wall": wall, "fcp": fcp / 1000, "load": load_end / 1000, "ready": ready / 1000,
            "sort": sort_ms / 1000,
            **{k: counters.get(k, 0.0) for k in ("TaskDuration", "ScriptDuration",
                                                 "LayoutDuration", "RecalcStyleDuration")},
            "nodes": int(counters.get("Nodes", 0)),
            "rows": browser.evaluate("document.querySelectorAll('#lb tbody tr').length"),
            "marks": browser.evaluate("document.querySelectorAll('svg .mark').length"),
            "errors": list(browser.console_errors),
            "requests": [r for r in browser.requests if r != path.resolve().as_uri()],
        }


def _summary(name: str, loads: list[dict]) -> dict[str, float]:
    medians = {}
    print(f"{name}:")
    for key, label in (("wall", "navigate -> load event + 2 frames (outside)"),
                       ("fcp", "first contentful paint"), ("load", "load event end"),
                       ("ready", "leaderboard drawn and interactive"),
                       ("sort", "click a header: re-sort all rows + redraw")):
        values = sorted(float(x[key]) for x in loads)
        medians[key] = statistics.median(values)
        print(f"  {label}: median {medians[key]:.2f} s, max {values[-1]:.2f} s "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    middle = sorted(loads, key=lambda w: w["TaskDuration"])[len(loads) // 2]
    print("  renderer main-thread work until painted (median load): " + ", ".join(
        f"{k.removesuffix('Duration').lower()} {middle[k]:.2f} s" for k in (
            "TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"))
          + f"; DOM nodes {middle['nodes']}; table rows drawn {middle['rows']}; "
          f"SVG marks in the DOM {middle['marks']}")
    print(f"  console errors: {sum(len(x['errors']) for x in loads)}; other requests: "
          f"{sum(len(x['requests']) for x in loads)}")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=600)
    parser.add_argument("--benchmarks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="Copy the report here.")
    parser.add_argument("--compare", help="Another report HTML to open in alternation.")
    args = parser.parse_args()

    from neuroalign.app.report import build_report, write_report
    from neuroalign.app.report.synthetic import synthetic_results
    from neuroalign.scoring.results import ResultsDatabase

    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        db = synthetic_results(ResultsDatabase(tmp / "r.sqlite"), args.models,
                               args.benchmarks - 1, layers=8, missing=0.05)  # + 1 PGD column
        written = time.perf_counter() - started
        started = time.perf_counter()
        report = build_report(db)
        built = time.perf_counter() - started
        started = time.perf_counter()
        path = write_report(tmp / "report.html", report)
        rendered = time.perf_counter() - started
        size = path.stat().st_size
        board = report.data.board
        print(f"results: {len(board.models)} models x {len(board.benchmarks)} benchmarks "
              f"(database written in {written:.1f} s)")
        print(f"build (data + figures): {built:.1f} s; render + write: {rendered:.1f} s; "
              f"{len(report.charts)} charts")
        print(f"size: {size / 1e6:.2f} MB (target < 10 MB)")
        ours, theirs = [], []
        other = Path(args.compare) if args.compare else None
        for _ in range(args.repeat):
            ours.append(_load(path))
            if other is not None:
                theirs.append(_load(other))
        if args.keep:
            Path(args.keep).write_bytes(path.read_bytes())
    mine = _summary(f"this report, {len(ours)} loads (target < 3 s)", ours)
    if other is not None:
        print(f"compare: {other} ({other.stat().st_size / 1e6:.2f} MB), loads alternated")
        base = _summary(f"{other.name}, {len(theirs)} loads", theirs)
        print("ratio this/compare of the medians: " + ", ".join(
            f"{k} {mine[k] / base[k]:.2f}" for k in ("wall", "load", "ready") if base[k]))
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
