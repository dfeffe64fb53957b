"""Size and opening time of the HTML report for a large synthetic results database.

    .venv/bin/python benchmarks/bench_report.py [--models 600] [--benchmarks 100] [--repeat 3]

Writes N models x M benchmarks of synthetic Scores (per-layer profiles, provenance, PGD curves;
5% of cells missing) to a temporary database, builds the report, and opens it in headless
Chromium several times (fresh page load each time), printing: build time, file size, and the
time from navigation until loaded and painted (median and max) and the renderer's main-thread work until then (Chromium's
Performance.getMetrics TaskDuration: CPU seconds, less sensitive to a busy machine than the
wall time). Targets (issue 17): < 10 MB and
< 3 s to open for 600 x 100.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=600)
    parser.add_argument("--benchmarks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="Copy the report here.")
    args = parser.parse_args()

    from neuroalign.app.report import build_report, write_report
    from neuroalign.app.report.synthetic import synthetic_results
    from neuroalign.scoring.results import ResultsDatabase
    from neuroalign.testing.browser import Browser

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
        times, work, marks_ms = [], [], []
        for _ in range(args.repeat):
            with Browser() as browser:  # a fresh browser per load: counters start at zero
                times.append(browser.open(path))
                counters = browser.metrics()
                work.append({k: counters.get(k, 0.0) for k in (
                    "TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")})
                browser.evaluate("new Promise(r => { const t = () => neuroalignReport.complete ? "
                                 "r() : setTimeout(t, 50); t(); })")
                marks_ms.append(browser.evaluate(
                    "[performance.getEntriesByName('first-contentful-paint')[0].startTime, "
                    "performance.getEntriesByType('navigation')[0].loadEventEnd, "
                    "neuroalignReport.completedAt || 0]"))
                errors = list(browser.console_errors)
                rows = browser.evaluate("document.querySelectorAll('#lb tbody tr').length")
                marks = browser.evaluate("document.querySelectorAll('svg .mark').length")
                requests = [r for r in browser.requests if r != path.resolve().as_uri()]
        if args.keep:
            Path(args.keep).write_bytes(path.read_bytes())
    board = report.data.board
    print(f"results: {len(board.models)} models x {len(board.benchmarks)} benchmarks "
          f"(database written in {written:.1f} s)")
    print(f"build (data + figures): {built:.1f} s; render + write: {rendered:.1f} s; "
          f"{len(report.charts)} charts, {marks} SVG marks, {rows} table rows")
    print(f"size: {size / 1e6:.2f} MB (target < 10 MB)")
    print(f"open in headless Chromium (navigate -> load event -> two frames, measured from "
          f"outside): median {statistics.median(times):.2f} s, max {max(times):.2f} s over "
          f"{len(times)} loads (target < 3 s)")
    for name, i in (("first contentful paint", 0), ("load event end", 1),
                    ("every leaderboard row in", 2)):
        values = sorted(m[i] / 1000 for m in marks_ms)
        print(f"  {name}: median {statistics.median(values):.2f} s, max {values[-1]:.2f} s "
              "(from navigation start, the page's own clock)")
    middle = sorted(work, key=lambda w: w["TaskDuration"])[len(work) // 2]
    print("renderer main-thread work until painted (median load): " + ", ".join(
        f"{k.removesuffix('Duration').lower()} {v:.2f} s" for k, v in middle.items()))
    print(f"console errors: {len(errors)}; other requests: {len(requests)}")


if __name__ == "__main__":
    main()
