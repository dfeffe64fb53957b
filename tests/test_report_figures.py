"""The report's parts without a browser: figures, SVG marks, directions, exports."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from neuroalign import BenchmarkSpec, FigureSpec, hookimpl
from neuroalign.app.report import build_report, write_report
from neuroalign.app.report.charts import BarChart, Heatmap, Point, ScatterChart, pareto_front
from neuroalign.app.report.data import read_models_csv
from neuroalign.app.report.figures import discriminability
from neuroalign.app.report.svg import render
from neuroalign.app.report.synthetic import synthetic_results
from neuroalign.errors import NeuroalignError
from neuroalign.plugins.lookup import use_plugin_manager
from neuroalign.plugins.manager import PluginManager
from neuroalign.scores import Provenance, Score
from neuroalign.scoring.export import to_pandas, to_xarray
from neuroalign.scoring.results import ResultsDatabase


class _Lower:
    """A plugin with one lower-is-better benchmark (a sensitivity)."""

    @hookimpl
    def register_benchmarks(self, register):
        register(BenchmarkSpec(id="Sens.IT-fgsm", factory="neuroalign_example.benchmark:X",
                               higher_is_better=False, region="IT"))


@pytest.fixture
def manager():
    manager = PluginManager(autoload=False)  # built-in aggregators and figures only
    old = use_plugin_manager(manager)
    yield manager
    use_plugin_manager(old)


@pytest.fixture
def db(tmp_path, manager):
    results = ResultsDatabase(tmp_path / "r.sqlite")
    synthetic_results(results, 6, 5, seed=1, missing=0.1)
    return results


def marks(svg: str) -> int:
    return len(re.findall(r'class="mark[" ]', svg))


def test_charts_draw_one_mark_per_datum():
    bars = BarChart("b", bars=[], ceiling=1.0)
    assert marks(render(bars)) == 0
    from neuroalign.app.report.charts import Bar

    bars.bars = [Bar("a", 0.5, 0.1), Bar("b", float("nan")), Bar("c", 0.2)]
    svg = render(bars)
    assert marks(svg) == bars.n_marks == 2
    assert 'class="ref"' in svg and "<title" in svg and 'role="img"' in svg
    heat = Heatmap("h", rows=["a", "b"], columns=["a", "b"], values=[[1, 0.2], [0.2, 1]],
                   marked=[[False, True], [True, False]])
    svg = render(heat)
    assert marks(svg) == 4 and svg.count('class="sig"') == 2


def test_pareto_front_maximises_both_axes():
    points = [Point("a", 1, 5), Point("b", 2, 4), Point("c", 1.5, 3), Point("d", 3, 1)]
    assert pareto_front(points) == [0, 1, 3]
    chart = ScatterChart("s", points=points, front=True)
    assert [row[-1] for row in chart.table()[1]] == [True, True, False, True]


def test_discriminability_matches_its_definition():
    s, v = discriminability([1.0, 1.0, 1.0])
    assert s == pytest.approx(0.0) and v == pytest.approx(0.0)
    s, v = discriminability([0.0, 0.0, 2.0])
    assert s == pytest.approx(1 - (2 / 3) ** 2 / (4 / 3))  # 1 - E[r]^2/E[r^2] = 2/3
    assert v == pytest.approx(pd.Series([0, 0, 1.0]).var(ddof=0))


def test_report_places_every_figure_or_says_why(db):
    report = build_report(db)
    data = report.data
    assert len(data.board.models) == 6 and "PGD.robust_accuracy-linf" in data.board.benchmarks
    bench = "Synth0.IT-pls"
    (bars,) = [p for p in report.placed("benchmark", bench) if p.spec.id == "benchmark_bars"]
    chart = bars.charts[0]
    expected = data.board.values[bench].dropna().sort_values(ascending=False)
    assert [b.label for b in chart.bars] == list(expected.index)
    assert chart.ceiling == 1.0
    (profile,) = [p for p in report.placed("benchmark", bench) if p.spec.id == "layer_profile"]
    first = profile.charts[0].series[0]
    stored = data.score(first.name, bench)
    assert first.y == list(stored.layers.values())
    assert first.labels[first.highlight] == stored.layer
    # no layers on the attack benchmark: the reason is given instead
    (none,) = [p for p in report.placed("benchmark", "PGD.robust_accuracy-linf")
               if p.spec.id == "layer_profile"]
    assert none.charts == [] and "Score.layers" in none.reason
    # every model's region bars are drawn; with fewer than the four regions V1..IT the caption
    # carries no rho-hierarchy (it is undefined there) rather than the figure failing
    for model in data.board.models:
        (regions,) = [p for p in report.placed("model", model) if p.spec.id == "region_scores"]
        assert regions.reason is None and regions.charts, (model, regions.reason)
        chart = regions.charts[0]
        four = {"V1", "V2", "V4", "IT"} <= {bar.label for bar in chart.bars}
        assert ("ρ-hierarchy" in chart.caption) == four, (model, chart.caption)
    # paper figures without their data say what is missing
    reasons = {p.spec.id: p.reason for p in report.placed("global")}
    assert "--models-csv" in reasons["score_vs_imagenet"]
    assert "NSD.*" in reasons["predictivity_vs_sensitivity"]
    assert reasons["metric_agreement"] is None and reasons["ranking_comparison"] is None
    # every cell without a score says why
    missing = data.board.values.isna()
    assert sum(missing.to_numpy().ravel()) == len(data.missing) > 0
    assert all(r.startswith("not scored (run: neuroalign score") for r in data.missing.values())


def test_agreement_heatmap_matches_the_stats_function(db):
    from neuroalign.scoring.stats import agreement

    report = build_report(db, figures="metric_agreement")
    chart = report.placed("global")[0].charts[0]
    values = report.data.board.values
    keep = [b for b in values.columns if values[b].notna().sum() >= 3]
    expected = agreement(values[keep])
    assert chart.rows == keep
    assert chart.values == expected.rho.to_numpy().tolist()
    assert chart.marked == expected.significant.to_numpy().tolist()


def test_models_csv_feeds_the_accuracy_figure(db, tmp_path):
    path = tmp_path / "acc.csv"
    models = [f"synthetic:m{i:03d}" for i in range(6)]
    path.write_text("model,imagenet_top1\n" + "".join(f"{m},{60 + i}\n"
                                                      for i, m in enumerate(models)))
    report = build_report(db, extras=read_models_csv(path), figures="score_vs_imagenet")
    chart = report.placed("global")[0].charts[0]
    assert sorted(p.x for p in chart.points) == [60, 61, 62, 63, 64, 65]
    assert {p.y for p in chart.points} == {float(report.data.aggregates["mean"][p.label])
                                           for p in chart.points}
    path.write_text("model,imagenet_top1\na:b,high\n")
    with pytest.raises(NeuroalignError, match="must be numeric; model 'a:b' has 'high'"):
        read_models_csv(path)


def test_lower_is_better_is_respected(tmp_path, manager):
    manager.register(_Lower(), name="lower")
    results = ResultsDatabase(tmp_path / "r.sqlite")
    for model, sens, it in (("t:robust", 0.1, 0.5), ("t:fragile", 0.9, 0.6)):
        for bench, value in (("Sens.IT-fgsm", sens), ("X.IT-pls", it)):
            results.put(Score(value=value, provenance=Provenance(
                model_id=model, benchmark_id=bench, benchmark_version=1)))
    report = build_report(results, aggregator="meanrank")
    board = report.data.board
    assert board.directions == {"Sens.IT-fgsm": False, "X.IT-pls": True}
    # meanrank: robust is best on sensitivity (rank 2) and worst on IT (rank 1)
    assert report.data.aggregates["meanrank"].to_dict() == {"t:robust": 1.5, "t:fragile": 1.5}
    assert report.data.aggregates["zmean"]["t:robust"] == pytest.approx(0.0)
    # the mean leaves the lower-is-better benchmark out
    assert report.data.aggregates["mean"].to_dict() == {"t:robust": 0.5, "t:fragile": 0.6}
    (bars,) = [p for p in report.placed("benchmark", "Sens.IT-fgsm")
               if p.spec.id == "benchmark_bars"]
    assert [b.label for b in bars.charts[0].bars] == ["t:robust", "t:fragile"]
    html = write_report(tmp_path / "r.html", report).read_text()
    assert 'data-b="Sens.IT-fgsm" data-dir="0"' in html and "Sens.IT-fgsm ↓" in html


def test_a_failing_plugin_figure_leaves_a_note(db, manager, tmp_path):
    class Broken:
        @hookimpl
        def register_figures(self, register):
            register(FigureSpec(id="broken", factory="neuroalign.app.report.figures:_float"))

    manager.register(Broken(), name="broken")
    with pytest.warns(RuntimeWarning, match="report figure 'broken' failed"):
        report = build_report(db, figures=["broken"])
    (placed,) = report.figures
    assert placed.failed and "failed" in placed.reason
    assert "broken: failed" in write_report(tmp_path / "x.html", report).read_text()


def test_page_is_self_contained(db, tmp_path):
    text = write_report(tmp_path / "r.html", db).read_text()
    assert "default-src 'none'" in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    from neuroalign.app.report.page import read_store

    store = read_store(text)
    assert store["data"]["fig0"]["columns"] == ["label", "value", "error"]
    # every deferred fragment is referenced by exactly one placeholder, and vice versa
    keys = re.findall(r'data-lazy="([a-z0-9]+)"', text)
    assert sorted(keys) == sorted(store["fragments"]) and len(keys) == len(set(keys)) > 0
    assert all("<svg" in store["fragments"][k] for k in keys if k.startswith("f"))


def test_to_pandas_and_to_xarray(db):
    frame = to_pandas(db, benchmark="Synth0.*")
    assert set(frame["benchmark"]) <= {f"Synth0.{r}-pls" for r in ("V1", "V2", "V4", "IT",
                                                                     "behavior")}
    data = to_xarray(db)
    assert set(data.data_vars) == {"value", "error", "raw", "ceiling", "layer"}
    row = frame.iloc[0]
    cell = data.sel(model=row["model"], benchmark=row["benchmark"])
    assert float(cell["value"]) == row["value"] and str(cell["layer"].values) == row["layer"]


def test_results_formats(db, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from neuroalign.app.cli import cli

    runner = CliRunner()
    base = ["results", "--db", str(db.path)]
    out = runner.invoke(cli, [*base, "--format", "csv"])
    assert out.exit_code == 0 and out.output.startswith("model,weights_hash,benchmark")
    records = json.loads(runner.invoke(cli, [*base, "--format", "json"]).output)
    assert len(records) == len(to_pandas(db))
    target = tmp_path / "r.parquet"
    out = runner.invoke(cli, [*base, "--format", "parquet", "-o", str(target)])
    assert out.exit_code == 0, out.output
    assert pd.read_parquet(target)["value"].tolist() == to_pandas(db)["value"].tolist()
    assert "give --output" in runner.invoke(cli, [*base, "--format", "parquet"]).output
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # as if not installed
    out = runner.invoke(cli, [*base, "--format", "parquet", "-o", str(target)])
    assert out.exit_code == 2 and "pip install 'neuroalign[parquet]'" in out.output
