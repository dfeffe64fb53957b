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
    """Model of each leaderboard row in the DOM, in order."""
    return browser.evaluate("Array.from(document.querySelectorAll('#lb tbody tr'))"
                            ".filter(r => !r.hidden).map(r => r.dataset.m)")


def test_opens_without_errors_or_network(page):
    browser, report, path, seconds, tmp = page
    assert browser.console_errors == []
    assert browser.requests == [path.resolve().as_uri()]  # the file itself, nothing else
    shot = browser.screenshot(tmp / "report-1280.png")
    assert shot.stat().st_size > 20_000
    shutil.copy(shot, "/tmp/neuroalign-report-1280.png")  # for a person to look at


def _scroll_through(browser):
    """Scroll every deferred figure into view, as a reader would, until each is drawn."""
    return browser.evaluate(
        "(async () => { const frame = () => new Promise(r => requestAnimationFrame(r)); "
        "const waiting = Array.from(document.querySelectorAll('figure.deferred')); "
        "for (const f of waiting) { f.scrollIntoView(); "
        "for (let i = 0; i < 200 && f.classList.contains('deferred'); i++) await frame(); } "
        "window.scrollTo(0, 0); return waiting.length; })()")


def test_every_figure_is_a_non_empty_svg_with_its_marks(page):
    browser, report, *_ = page
    # figures across benchmarks are drawn as they near the viewport (none are, at the top)
    deferred = browser.evaluate("Array.from(document.querySelectorAll('figure.deferred'))"
                                ".map(f => [f.id, f.querySelectorAll('svg').length])")
    assert len(deferred) == len([p for p in report.figures if p.spec.scope == "global"
                                 for _ in p.charts]) > 0
    assert all(count == 0 for _, count in deferred)
    assert _scroll_through(browser) == len(deferred)
    assert browser.evaluate("document.querySelectorAll('figure.deferred').length") == 0
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
    # from the keyboard: Enter on a focused header sorts, and the focus stays on it
    browser.evaluate(f"(() => {{ const th = document.querySelector('#lb th[data-b=\"{bench}\"]'); "
                     "th.focus(); th.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', "
                     "bubbles: true})); })()")
    assert rows(browser) == expected
    assert browser.evaluate("document.activeElement.dataset.b") == bench


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
    cells = browser.evaluate("document.querySelector('#lb tbody tr').querySelectorAll("
                             "'td:not(.r):not(.model):not(.agg):not(.cpad)').length")
    assert cells == len(visible)  # the other benchmarks' cells are not drawn
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
    href, name = browser.evaluate(f"new Promise(r => {{ const a = document.querySelector("
                                  f"'a[data-download=\"{chart.key}\"]'); const t = () => "
                                  f"a.download ? r([a.href, a.download]) : setTimeout(t, 20); "
                                  f"t(); }})")
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


def _frames(browser):
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_large_reports_defer_work_until_needed(page, monkeypatch):
    """Past OPEN_LIMIT sections start collapsed with their figures as inert text; past
    FIRST_ROWS the leaderboard holds only the rows in view (and a margin) as DOM, while
    sorting, filtering and the download still cover every row."""
    from neuroalign.app.report import board_html
    from neuroalign.app.report import page as page_module

    *_, tmp = page  # the fixture's plugin manager (built-in figures + attacks) is active
    results = synthetic_results(ResultsDatabase(tmp / "big.sqlite"), 150, 24, seed=5,
                                missing=0.1, layers=3)
    big = build_report(results, figures=["benchmark_bars", "region_scores"])
    board = big.data.board
    models = board.models
    monkeypatch.setattr(page_module, "OPEN_LIMIT", 2)
    monkeypatch.setattr(board_html, "FIRST_ROWS", 3)
    path = write_report(tmp / "lazy.html", big)
    assert path.read_text().count("<tr data-m=\"synthetic:") == 3  # the rest is data until in view
    with Browser(height=700) as browser:
        browser.open(path)
        assert browser.evaluate("document.querySelectorAll('details.lazy').length") == (
            len(board.benchmarks) + len(models))
        assert browser.evaluate("document.querySelectorAll('details svg').length") == 0
        drawn = rows(browser)
        assert 3 < len(drawn) < len(models) and drawn == models[: len(drawn)]
        assert browser.evaluate("neuroalignReport.order()") == models
        first = "Array.from(document.querySelectorAll('#lb tbody tr')).slice(0, 5).map(r => r.outerHTML)"
        written = browser.evaluate(first)  # 3 rows from the page's HTML, 2 from the script
        # scrolled to the end: the last rows are drawn, the header stays at the top
        browser.evaluate("(() => { const w = document.getElementById('lbwrap'); "
                         "w.scrollTop = w.scrollHeight; w.dispatchEvent(new Event('scroll')); })()")
        _frames(browser)
        drawn = rows(browser)
        assert len(drawn) < len(models) and drawn == models[-len(drawn):]
        gap = browser.evaluate(
            "(() => { const w = document.getElementById('lbwrap').getBoundingClientRect(); "
            "const h = document.querySelector('#lb thead th').getBoundingClientRect(); "
            "const last = document.querySelector('#lb tbody tr:last-child').getBoundingClientRect(); "
            "return [h.top - w.top, w.bottom - last.bottom]; })()")
        assert abs(gap[0]) < 2  # sticky header in view
        assert -2 < gap[1] < 40  # the last row sits at the bottom: the spacers are exact
        browser.evaluate("(() => { const w = document.getElementById('lbwrap'); "
                         "w.scrollTop = 0; w.dispatchEvent(new Event('scroll')); })()")
        _frames(browser)
        assert browser.evaluate(first) == written  # the script draws rows as the page wrote them
        # columns too: only those in view are drawn, each row's cells under their header
        heads = "Array.from(document.querySelectorAll('#lb thead th[data-b]')).map(t => t.dataset.b)"
        benches = board.benchmarks
        assert browser.evaluate(heads) == benches[: len(browser.evaluate(heads))]
        assert 4 < len(browser.evaluate(heads)) < len(benches)
        browser.evaluate("(() => { const w = document.getElementById('lbwrap'); "
                         "w.scrollLeft = w.scrollWidth; w.dispatchEvent(new Event('scroll')); })()")
        _frames(browser)
        drawn_benches = browser.evaluate(heads)
        assert drawn_benches == benches[-len(drawn_benches):] and len(drawn_benches) < len(benches)
        model, bench = rows(browser)[0], drawn_benches[-1]
        cell = browser.evaluate("(() => { const r = document.querySelector('#lb tbody tr'); "
                                "const h = Array.from(document.querySelector('#lb thead tr').cells); "
                                f"const i = h.findIndex(t => t.dataset.b === '{bench}'); "
                                "return [r.cells.length === h.length, r.cells[i].textContent]; })()")
        value = board.values.at[model, bench]
        assert cell[0] and cell[1].startswith("–" if pd.isna(value) else f"{value:.3f}")
        gap = browser.evaluate(
            "(() => { const w = document.getElementById('lbwrap').getBoundingClientRect(); "
            "const h = document.querySelector('#lb thead th:nth-last-child(2)').getBoundingClientRect(); "
            "return w.right - h.right; })()")
        assert 0 <= gap < 40  # the last column ends at the right edge (less the scrollbar)
        browser.evaluate("(() => { const e = document.getElementById('fb'); e.value = 'IT'; "
                         "e.dispatchEvent(new Event('input')); })()")
        assert browser.evaluate(heads) == [b for b in benches if "it" in b.lower()]
        browser.evaluate("(() => { const e = document.getElementById('fb'); e.value = ''; "
                         "e.dispatchEvent(new Event('input')); })()")
        # sorting orders every row, not only the drawn ones
        bench = board.benchmarks[1]
        browser.evaluate(f"document.querySelector('#lb th[data-b=\"{bench}\"]').click()")
        values = board.values[bench].round(3)  # sorting reads the shown values
        expected = list(values.dropna().sort_values(ascending=False, kind="stable").index) + list(
            values[values.isna()].index)
        assert browser.evaluate("neuroalignReport.order()") == expected
        _frames(browser)
        drawn = rows(browser)
        assert drawn == expected[: len(drawn)] and len(drawn) < len(models)  # at the top
        # filtering and the download see every model
        browser.evaluate("(() => { const e = document.getElementById('fm'); e.value = 'm01'; "
                         "e.dispatchEvent(new Event('input')); })()")
        hits = [m for m in expected if "m01" in m]
        assert rows(browser) == hits == browser.evaluate("neuroalignReport.order()")
        assert browser.evaluate("document.getElementById('count').textContent").startswith(
            f"showing {len(hits)} of {len(models)} models")
        records = json.loads(browser.evaluate("neuroalignReport.json('leaderboard')"))
        assert len(records) == len(hits) * len(board.benchmarks)
        assert {r["model"] for r in records} == set(hits)
        # opening a section (a click on its summary) draws its figures
        card = f"document.querySelector('[data-model-card=\"{hits[0]}\"]')"
        browser.evaluate(f"{card}.querySelector('summary').click()")
        marks = browser.evaluate(f"new Promise(r => {{ const t = () => {card}.querySelector("
                                 f"'svg .mark') ? r({card}.querySelectorAll('svg .mark').length) "
                                 f": setTimeout(t, 20); t(); }})")
        assert marks == sum(c.n_marks for p in big.placed("model", hits[0]) for c in p.charts) > 0
        browser.evaluate("neuroalignReport.expandAll()")
        found = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll("
                                 "'figure')).map(f => [f.id, f.querySelectorAll('.mark').length]))")
        assert found == {c.key: c.n_marks for c in big.charts}
        assert browser.console_errors == []


def test_model_cards_show_provenance_and_rho_hierarchy(page):
    browser, report, *_ = page
    board = report.data.board
    model = board.models[0]
    card = browser.evaluate(
        f"Object.fromEntries(Array.from(document.querySelectorAll('[data-model-card=\"{model}\"]"
        " dl.card dt')).map(dt => [dt.textContent, dt.nextElementSibling.textContent]))")
    assert card["ρ-hierarchy"].startswith(f"{board.rho_hierarchy[model]:+.2f} ")
    weights = {s.provenance.model_weights_sha256 for (m, _), s in report.data.scores.items()
               if m == model}
    assert card["weights sha256"] == ", ".join(sorted(weights))
    assert card["benchmarks scored"] == (f"{int(board.values.loc[model].notna().sum())} of "
                                         f"{len(board.benchmarks)}")


def test_hostile_names_stay_text(tmp_path):
    """Names from stored results reach the page only as text: markup, a script closer or an
    HTML comment opener in a model or benchmark id neither breaks the page nor runs."""
    from neuroalign.app.report import leaderboard, write_html

    names = ["evil:<!--<script>window.pwned=1</script>", 'evil:"><img src=x onerror=alert(1)>',
             "plain:model"]
    bench = "B.<!--</script>-pls"
    table = pd.DataFrame({"model": names, "benchmark": [bench] * 3, "value": [0.3, 0.2, 0.1],
                          "error": [0.01] * 3, "layer": ["</script>", None, "l2"]})
    path = write_html(leaderboard(table), tmp_path / "hostile.html")
    with Browser() as browser:
        browser.open(path)
        assert rows(browser) == names
        assert browser.evaluate("document.querySelector('#lb th[data-b]').dataset.b") == bench
        assert browser.evaluate("window.pwned === undefined && !document.querySelector('img')")
        assert browser.evaluate("document.querySelector('#lb tbody td i').textContent") == (
            "</script>")
        assert browser.console_errors == []
        assert browser.requests == [path.resolve().as_uri()]
