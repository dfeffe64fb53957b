"""Leaderboards from results tables: pivot, aggregate, rich table, self-contained HTML."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from neuroalign.plugins.manager import PluginManager
from neuroalign.plugins.lookup import use_plugin_manager
from neuroalign.app.report import leaderboard, print_leaderboard, render_html, write_html
from neuroalign.scoring.results import ResultsDatabase
from neuroalign.scores import Provenance, Score


@pytest.fixture(autouse=True)
def fresh_manager():
    old = use_plugin_manager(PluginManager(autoload=False))  # built-in aggregators only
    yield
    use_plugin_manager(old)


def tidy() -> pd.DataFrame:
    rows = [
        ("timm:good", "X.V4-pls", 0.8, 0.01, "layer2"),
        ("timm:good", "X.IT-pls", 0.7, 0.02, "layer4"),
        ("timm:mid", "X.V4-pls", 0.5, 0.01, "layer1"),
        ("timm:mid", "X.IT-pls", 0.5, 0.03, "layer4"),
        ("timm:<b>bad</b>", "X.V4-pls", 0.1, float("nan"), None),
        ("timm:good", "X.V1-pls", 0.5, 0.01, "layer1"),
        ("timm:good", "X.V2-pls", 0.6, 0.01, "layer1"),
    ]
    return pd.DataFrame(rows, columns=["model", "benchmark", "value", "error", "layer"])


def test_leaderboard_pivots_and_ranks():
    board = leaderboard(tidy(), aggregator="mean")
    assert board.models == ["timm:good", "timm:mid", "timm:<b>bad</b>"]
    assert board.benchmarks == ["X.IT-pls", "X.V1-pls", "X.V2-pls", "X.V4-pls"]
    assert board.values.at["timm:good", "X.IT-pls"] == 0.7
    assert board.errors.at["timm:mid", "X.IT-pls"] == 0.03
    assert board.layers.at["timm:good", "X.V4-pls"] == "layer2"
    assert math.isnan(board.values.at["timm:<b>bad</b>", "X.IT-pls"])
    # Brain-Score's mean: a missing benchmark counts as 0; each region is its own group
    assert board.aggregate["timm:good"] == pytest.approx(0.65)
    assert board.aggregate["timm:<b>bad</b>"] == pytest.approx(0.025)
    frame = board.to_frame()
    assert list(frame.columns) == ["mean", "rho_hierarchy", "X.IT-pls", "X.V1-pls", "X.V2-pls",
                                   "X.V4-pls"]
    # paper 000's rho-hierarchy from the region means V1 .5, V2 .6, V4 .8, IT .7: rho = 0.8;
    # a model without all four regions gets NaN (two regions would always give +-1)
    assert board.rho_hierarchy["timm:good"] == pytest.approx(0.8)
    assert math.isnan(board.rho_hierarchy["timm:mid"])
    assert math.isnan(board.rho_hierarchy["timm:<b>bad</b>"])
    assert board.to_dict()["rows"][0]["rho_hierarchy"] == pytest.approx(0.8)


def test_rho_hierarchy_column_needs_all_four_hierarchy_regions():
    table = tidy()
    board = leaderboard(table[~table["benchmark"].isin(["X.V1-pls"])], aggregator="mean")
    assert board.rho_hierarchy is None
    board = leaderboard(table[table["benchmark"] == "X.V4-pls"], aggregator="mean")
    assert board.rho_hierarchy is None
    assert "rho_hierarchy" not in board.to_frame().columns


@pytest.mark.parametrize("aggregator", ["zmean", "meanrank"])
def test_other_aggregators_keep_the_best_first(aggregator):
    board = leaderboard(tidy().iloc[:4], aggregator=aggregator)
    assert board.models == ["timm:good", "timm:mid"]
    assert board.aggregator == aggregator


def test_unknown_aggregator_suggests():
    from neuroalign.errors import UnknownIdError

    with pytest.raises(UnknownIdError, match="did you mean 'mean'"):
        leaderboard(tidy(), aggregator="meen")


def test_no_aggregator_sorts_by_row_mean():
    board = leaderboard(tidy(), aggregator=None)
    assert board.aggregate is None
    assert board.models[0] == "timm:good"


def test_duplicate_records_keep_latest_version_and_split_weights():
    table = pd.DataFrame([
        ("timm:a", "h1", "X.IT-pls", 1, 0.2, "2024-01-01"),
        ("timm:a", "h1", "X.IT-pls", 2, 0.4, "2024-01-02"),
        ("timm:b", "h2", "X.IT-pls", 1, 0.9, "2024-01-01"),
        ("timm:b", "h3", "X.IT-pls", 1, 0.1, "2024-01-01"),
    ], columns=["model", "weights_hash", "benchmark", "version", "value", "updated"])
    board = leaderboard(table, aggregator=None)
    assert board.values["X.IT-pls"].to_dict() == {"timm:b [h2]": 0.9, "timm:a": 0.4,
                                                  "timm:b [h3]": 0.1}


def test_missing_columns_is_a_clear_error():
    from neuroalign.errors import NeuroalignError

    with pytest.raises(NeuroalignError, match=r"missing \['value'\]"):
        leaderboard(pd.DataFrame({"model": ["a"], "benchmark": ["b"]}))


def test_from_results_registry(tmp_path):
    results = ResultsDatabase(tmp_path / "r.sqlite")
    for model, value in (("timm:a", 0.3), ("timm:b", 0.6)):
        results.put(Score(value=value, error=0.01, layer="l", provenance=Provenance(
            model_id=model, benchmark_id="X.IT-pls", benchmark_version=1)))
    board = leaderboard(results)
    assert board.models == ["timm:b", "timm:a"]
    assert board.to_dict()["rows"][0] == {
        "rank": 1, "model": "timm:b", "weights": "unknown", "data": "unknown",
        "aggregate": pytest.approx(0.6), "rho_hierarchy": None,
        "scores": {"X.IT-pls": {"value": 0.6, "error": 0.01, "layer": "l"}}}


def test_to_dict_is_strict_json():
    data = leaderboard(tidy()).to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN became None / missing cells are absent
    assert json.loads(text)["rows"][2]["scores"] == {
        "X.V4-pls": {"value": 0.1, "error": None, "layer": None}}


def test_rich_table(capsys):
    from rich.console import Console

    console = Console(width=200, force_terminal=False)
    print_leaderboard(leaderboard(tidy()), console)
    out = capsys.readouterr().out
    assert "timm:good" in out and "0.700 ±0.020" in out and "layer4" in out
    assert out.index("timm:good") < out.index("timm:mid")


def test_a_table_too_wide_for_the_console_is_printed_one_row_per_benchmark(capsys):
    from rich.console import Console

    board = leaderboard(tidy())
    print_leaderboard(board, Console(width=200, force_terminal=False))
    wide = capsys.readouterr().out
    print_leaderboard(board, Console(width=60, force_terminal=False))
    narrow = capsys.readouterr().out
    assert wide != narrow
    rows = {line.split()[0]: line for line in narrow.splitlines() if line.strip()}
    for benchmark in board.benchmarks:  # every benchmark is a row with every model's cell
        assert benchmark in rows
    assert "0.700 ±0.020" in narrow and "(layer4)" in narrow
    assert narrow.index("#1 timm:good") < narrow.index("#2 timm:mid")
    assert "chosen layer in brackets" in narrow


def test_html_report_is_self_contained(tmp_path):
    path = write_html(leaderboard(tidy()), tmp_path / "out" / "report.html", title="Demo")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<title>Demo</title>" in text
    for model in ("timm:good", "timm:mid", "timm:&lt;b&gt;bad&lt;/b&gt;"):
        assert model in text
    assert "<b>bad</b>" not in text  # escaped
    assert "0.700" in text and "±0.020" in text and "layer4" in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no network assets
    assert "<link" not in text
    assert text.index("timm:good") < text.index("timm:mid")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]


def test_empty_board(capsys):
    from rich.console import Console

    board = leaderboard(pd.DataFrame(columns=["model", "benchmark", "value"]))
    assert board.models == [] and board.aggregate is None
    print_leaderboard(board, Console(width=120))
    assert "no results" in capsys.readouterr().out
    assert "<tbody>\n\n</tbody>" in render_html(board)
