"""The report in a real browser: headless Chromium through the DevTools protocol.

Needs the system ``chromium`` (``bash dev test`` installs Debian's package when it is missing)
and ``websocket-client`` (the ``dev`` extra).
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from neuroalign.app.report import build_report, write_report
from neuroalign.app.report.synthetic import synthetic_results
from neuroalign.plugins.lookup import use_plugin_manager
from neuroalign.plugins.manager import PluginManager
from neuroalign.scoring.results import ResultsDatabase
from neuroalign.testing.browser import Browser, find_chromium


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The report of a small results database, open in Chromium at 1280 px."""
    assert find_chromium(), "no chromium on PATH: apt-get install -y chromium (bash dev test does)"
    old = use_plugin_manager(PluginManager(autoload=False))  # built-in figures only
    import neuroalign_attacks.plugin

    use_plugin_manager(None)
    manager = PluginManager(autoload=False)
    manager.register(neuroalign_attacks.plugin, name="attacks", distribution="neuroalign-attacks")
    use_plugin_manager(manager)
    tmp = tmp_path_factory.mktemp("report")
    results = synthetic_results(ResultsDatabase(tmp / "r.sqlite"), 7, 6, seed=3, missing=0.1)
    models = [f"synthetic:m{i:03d}" for i in range(7)]
    extras = pd.DataFrame({"imagenet_top1": [55.0 + 3 * i for i in range(7)]}, index=models)
    report = build_report(results, extras=extras)
    path = write_report(tmp / "report.html", report)
    browser = Browser(width=1280, height=900)
    with browser:
        seconds = browser.open(path)
        yield browser, report, path, seconds, tmp
    use_plugin_manager(old)


def rows(browser):
    return browser.evaluate("Array.from(document.querySelectorAll('#lb tbody tr'))"
                            ".filter(r => !r.hidden).map(r => r.dataset.m)")


def test_opens_without_errors_or_network(page):
    browser, report, path, seconds, tmp = page
    assert browser.console_errors == []
    assert browser.requests == [path.resolve().as_uri()]  # the file itself, nothing else
    shot = browser.screenshot(tmp / "report-1280.png")
    assert shot.stat().st_size > 20_000
    shutil.copy(shot, "/tmp/neuroalign-report-1280.png")  # for a person to look at


def test_every_figure_is_a_non_empty_svg_with_its_marks(page):
    browser, report, *_ = page
    found = browser.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('figure')).map(f => "
        "[f.id, [f.querySelectorAll('svg .mark').length, !!f.querySelector('svg title'), "
        "f.querySelector('svg').getBBox().width > 0 || f.closest('details') !== null]]))")
    expected = {c.key: c.n_marks for c in report.charts}
    assert set(found) == set(expected)
    kinds = {c.kind for c in report.charts}
    assert {"bar", "line", "heatmap", "strip", "scatter"} <= kinds
    for key, (count, titled, _) in found.items():
        assert count == expected[key] > 0, key
        assert titled, key
    # the attacks plugin's curves arrived through the hook: one chart per PGD steps value
    curves = [c for p in report.figures if p.spec.id == "robust_accuracy_curves"
              for c in p.charts]
    assert len(curves) == 3 and all(len(c.series) == 7 for c in curves)


def test_sorting_by_a_benchmark_column(page):
    browser, report, *_ = page
    bench = "Synth0.V1-pls"
    browser.evaluate(f"document.querySelector('#lb th[data-b=\"{bench}\"]').click()")
    values = report.data.board.values[bench].round(3)  # sorting reads the shown values
    expected = list(values.dropna().sort_values(ascending=False, kind="stable").index) + list(
        values[values.isna()].index)
    assert rows(browser) == expected
    browser.evaluate(f"document.querySelector('#lb th[data-b=\"{bench}\"]').click()")
    assert rows(browser)[: values.notna().sum()] == expected[: values.notna().sum()][::-1]
    assert browser.evaluate(f"document.querySelector('#lb th[data-b=\"{bench}\"]')"
                            ".getAttribute('aria-sort')") == "ascending"


def test_switching_the_aggregator_reorders(page):
    browser, report, *_ = page
    for name in ("meanrank", "zmean", "mean"):
        index = browser.evaluate(f"Array.from(document.querySelectorAll('#agg option'))"
                                 f".find(o => o.textContent === '{name}').value")
        browser.evaluate(f"(() => {{ const s = document.getElementById('agg'); s.value = "
                         f"'{index}'; s.dispatchEvent(new Event('change')); }})()")
        aggregate = report.data.aggregates[name]
        # models without an aggregate (z-mean and mean-rank rank complete models only) come
        # last, in the order they had before the switch
        ranked = list(aggregate.dropna().sort_values(ascending=False, kind="stable").index)
        shown = rows(browser)
        assert shown[:len(ranked)] == ranked, name
        assert set(shown[len(ranked):]) == set(aggregate[aggregate.isna()].index), name
        assert browser.evaluate("document.querySelector('#lb tbody tr td.r').textContent") == "1"


def test_filters(page):
    browser, report, *_ = page

    def type_into(element, text):
        browser.evaluate(f"(() => {{ const e = document.getElementById('{element}'); "
                         f"e.value = {json.dumps(text)}; e.dispatchEvent(new Event('input')); }})()")

    type_into("fm", "m00")
    assert rows(browser) == [m for m in report.data.board.models if "m00" in m]
    type_into("fm", "m003")
    assert rows(browser) == ["synthetic:m003"]
    assert browser.evaluate("document.querySelectorAll('[data-model-card]:not([hidden])').length") == 1
    type_into("fm", "")
    type_into("fb", "IT")
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#lb thead th[data-b]'))"
        ".filter(th => getComputedStyle(th).display !== 'none').map(th => th.dataset.b)")
    assert visible == [b for b in report.data.board.benchmarks if "it" in b.lower()]
    hidden_cells = browser.evaluate(
        "(() => { const heads = Array.from(document.querySelectorAll('#lb thead th')); "
        "return Array.from(document.querySelector('#lb tbody tr').cells).filter((td, i) => "
        "heads[i].dataset.b !== undefined && getComputedStyle(td).display === 'none').length; "
        "})()")
    assert hidden_cells == len(report.data.board.benchmarks) - len(visible)
    assert "of 7 models" in browser.evaluate("document.getElementById('count').textContent")
    type_into("fb", "")


def test_missing_cells_say_why(page):
    browser, report, *_ = page
    titles = browser.evaluate("Array.from(document.querySelectorAll('#lb td.na:not(.agg)'))"
                              ".map(td => td.title)")
    assert len(titles) == len(report.data.missing) > 0
    assert all(t.startswith("not scored (run: neuroalign score") for t in titles)


def test_downloads_hold_the_plotted_numbers(page):
    browser, report, *_ = page
    chart = next(c for c in report.charts if c.kind == "bar")
    text = browser.evaluate(f"neuroalignReport.csv('{chart.key}')")
    lines = text.strip().split("\n")
    assert lines[0] == "label,value,error"
    first = chart.bars[0]
    label, value, error = lines[1].split(",")
    assert label == first.label and float(value) == pytest.approx(first.value, abs=1e-6)
    records = json.loads(browser.evaluate(f"neuroalignReport.json('{chart.key}')"))
    assert len(records) == len(chart.bars)
    board = json.loads(browser.evaluate("neuroalignReport.json('leaderboard')"))
    cells = report.data.board.values.notna().to_numpy().sum()
    assert sum(r["value"] is not None for r in board) == cells
    # clicking a link makes a blob: URL (no network) with a file name
    browser.evaluate(f"document.querySelector('a[data-download=\"{chart.key}\"]')"
                     ".dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))")
    href, name = browser.evaluate(f"(() => {{ const a = document.querySelector("
                                  f"'a[data-download=\"{chart.key}\"]'); "
                                  f"return [a.href, a.download]; }})()")
    assert href.startswith("blob:file://") or href.startswith("blob:null")
    assert name == f"{chart.key}.csv"


def test_narrow_window_does_not_overflow(page):
    browser, _, _, _, tmp = page
    browser.resize(390, 844)
    try:
        width = browser.evaluate("document.documentElement.scrollWidth")
        assert width <= 392  # the wide table scrolls inside its own box
        shot = browser.screenshot(tmp / "report-390.png")
        shutil.copy(shot, "/tmp/neuroalign-report-390.png")
    finally:
        browser.resize(1280, 900)
    assert browser.console_errors == []


def test_large_reports_defer_work_until_needed(page, monkeypatch):
    """Past OPEN_LIMIT sections start collapsed with their figures as inert text, and past
    FIRST_ROWS the leaderboard rows arrive after the first paint; both complete on demand."""
    from neuroalign.app.report import page as page_module

    _, report, _, _, tmp = page
    monkeypatch.setattr(page_module, "OPEN_LIMIT", 2)
    monkeypatch.setattr(page_module, "FIRST_ROWS", 3)
    path = write_report(tmp / "lazy.html", report)
    with Browser() as browser:
        browser.open(path)
        assert browser.evaluate("document.querySelectorAll('details.lazy').length") == (
            len(report.data.board.benchmarks) + len(report.data.board.models))
        assert browser.evaluate("document.querySelectorAll('details svg').length") == 0
        browser.evaluate("new Promise(r => { const t = () => neuroalignReport.complete ? r() "
                         ": setTimeout(t, 20); t(); })")
        assert len(rows(browser)) == len(report.data.board.models)
        browser.evaluate("neuroalignReport.expandAll()")
        found = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll("
                                 "'figure')).map(f => [f.id, f.querySelectorAll('.mark').length]))")
        assert found == {c.key: c.n_marks for c in report.charts}
        bench = "Synth0.IT-pls"
        browser.evaluate(f"document.querySelector('#lb th[data-b=\"{bench}\"]').click()")
        # sorting reads the shown values (3 decimals); ties keep the aggregate order
        values = report.data.board.values[bench].dropna().round(3).sort_values(
            ascending=False, kind="stable")
        assert rows(browser)[: len(values)] == list(values.index)
        assert browser.console_errors == []
