"""The results registry: upserts, lossless round trips, queries, crash safety, concurrency."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from neuroalign.errors import NeuroalignError
from neuroalign.scoring.results import ResultsDatabase, default_results_path
from neuroalign.scores import Provenance, Score


def make_score(model="timm:resnet18", bench="MajajHong2015.IT-pls", value=0.5, *,
               weights="a" * 64, version=1, layer="layer3", error=0.01) -> Score:
    return Score(
        value=value, raw=value * 0.8, ceiling=0.8, error=error, splits=[value, value],
        layer=layer, layers={"layer2": value / 2, layer: value},
        attrs={"ceiling_mode": "ratio"},
        provenance=Provenance.here(model_id=model, model_weights_sha256=weights,
                                   benchmark_id=bench, benchmark_version=version, seed=0,
                                   dataset_sha256={"private": "b" * 64},
                                   plugins={"neuroalign-neural": "0.1.0"}),
    )


@pytest.fixture
def results(tmp_path):
    registry = ResultsDatabase(tmp_path / "results.sqlite")
    yield registry
    registry.close()


def test_default_path_follows_neuroalign_home(tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROALIGN_RESULTS", raising=False)
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    assert default_results_path() == tmp_path / "home" / "results.sqlite"
    assert ResultsDatabase().path == tmp_path / "home" / "results.sqlite"
    monkeypatch.setenv("NEUROALIGN_RESULTS", str(tmp_path / "other.sqlite"))
    assert ResultsDatabase().path == tmp_path / "other.sqlite"


def test_wal_mode(results):
    results.put(make_score())
    (mode,) = sqlite3.connect(results.path).execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_round_trip_is_lossless(results):
    score = make_score()
    score.neuroids = {"n1": float("nan"), "n2": 0.3}
    results.put(score)
    back = results.get("timm:resnet18", "MajajHong2015.IT-pls")
    assert back is not None
    assert back.to_json() == score.to_json()
    assert math.isnan(back.neuroids["n1"])


def test_upsert_is_idempotent(results):
    results.put(make_score(value=0.5))
    results.put(make_score(value=0.5))
    results.put(make_score(value=0.7))  # rerun with a new value overwrites the same key
    assert len(results) == 1
    assert results.get("timm:resnet18", "MajajHong2015.IT-pls").value == 0.7
    frame = results.query()
    assert len(frame) == 1 and frame.loc[0, "value"] == 0.7


def test_key_separates_weights_and_versions(results):
    results.put(make_score(value=0.5))
    results.put(make_score(value=0.1, weights="c" * 64))  # random weights
    results.put(make_score(value=0.6, version=2))
    assert len(results) == 3
    assert results.get("timm:resnet18", "MajajHong2015.IT-pls", weights_hash="c" * 64).value == 0.1
    assert results.get("timm:resnet18", "MajajHong2015.IT-pls", version=1,
                       weights_hash="a" * 64).value == 0.5
    # without a version the highest one wins
    assert results.get("timm:resnet18", "MajajHong2015.IT-pls").value == 0.6
    assert results.has("timm:resnet18", "MajajHong2015.IT-pls", version=2)
    assert not results.has("timm:resnet18", "MajajHong2015.IT-pls", version=3)
    assert not results.has("timm:resnet50", "MajajHong2015.IT-pls")
    assert results.get("timm:resnet50", "MajajHong2015.IT-pls") is None


def _forced(score: Score, request: str) -> Score:
    return score.model_copy(update={"provenance": score.provenance.model_copy(
        update={"request": request})})


def _legacy_json(score: Score) -> str:
    """The Score JSON of schema-1 databases: the request lived in ``attrs``."""
    data = json.loads(score.to_json())
    data["attrs"]["request"] = data["provenance"].pop("request")
    data["provenance"].pop("member_versions")
    return json.dumps(data)


def test_key_separates_layer_requests(results):
    results.put(make_score(value=0.5))
    results.put(_forced(make_score(value=0.9, layer="layer1"), "layers=layer1"))
    results.put(_forced(make_score(value=0.8, layer="layer1"), "layers=layer1"))  # upsert
    assert len(results) == 2
    assert results.get("timm:resnet18", "MajajHong2015.IT-pls").value == 0.5
    forced = results.get("timm:resnet18", "MajajHong2015.IT-pls", request="layers=layer1")
    assert forced.value == 0.8 and forced.layer == "layer1"
    assert not results.has("timm:resnet18", "MajajHong2015.IT-pls", request="layers=layer2")
    # reads see the default records unless asked: a forced layer never reaches a leaderboard
    assert list(results.query()["value"]) == [0.5]
    assert results.to_xarray().item() == 0.5
    assert [s.value for s in results.scores()] == [0.5]
    assert sorted(results.query(request="*")["request"]) == ["default", "layers=layer1"]
    assert [s.value for s in results.scores(request="layers=*")] == [0.8]
    assert results.delete(request="layers=*") == 1 and len(results) == 1


def test_request_is_a_typed_provenance_field():
    with pytest.raises(ValueError, match=r"request"):
        Provenance(request="")
    with pytest.raises(ValueError, match=r"request"):
        Provenance(request=3)
    # a Score written while the request lived in attrs reads back with the typed field
    legacy = _legacy_json(_forced(make_score(), "layers=layer1"))
    score = Score.from_json(legacy)
    assert score.provenance.request == "layers=layer1" and "request" not in score.attrs


def test_schema_1_database_is_migrated_in_place(tmp_path):
    """A results file written before the request joined the key keeps every record."""
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE scores (
            model_id TEXT NOT NULL, weights_hash TEXT NOT NULL DEFAULT '',
            benchmark_id TEXT NOT NULL, benchmark_version INTEGER NOT NULL DEFAULT 0,
            value REAL, raw REAL, ceiling REAL, error REAL, layer TEXT, created TEXT,
            updated TEXT NOT NULL, neuroalign_version TEXT, seed INTEGER, wall_time_s REAL,
            host TEXT, score_json TEXT NOT NULL,
            PRIMARY KEY (model_id, weights_hash, benchmark_id, benchmark_version));
        CREATE INDEX scores_benchmark ON scores (benchmark_id);
        PRAGMA user_version=1;
    """)
    rows = [(make_score("timm:a", value=0.5), "2026-01-01"),
            (_forced(make_score("timm:b", value=0.7), "layers=layer3"), "2026-01-02")]
    for score, updated in rows:
        prov = score.provenance
        old.execute(
            "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (prov.model_id, prov.model_weights_sha256, prov.benchmark_id,
             prov.benchmark_version, score.value, score.raw, score.ceiling, score.error,
             score.layer, prov.created, updated, prov.neuroalign_version, prov.seed,
             prov.wall_time_s, prov.host, _legacy_json(score)))
    old.commit()
    old.close()

    registry = ResultsDatabase(path)
    table = registry.query(request="*").sort_values("model")
    assert list(table["model"]) == ["timm:a", "timm:b"]
    assert list(table["request"]) == ["default", "layers=layer3"]
    assert list(table["updated"]) == ["2026-01-01", "2026-01-02"]
    assert registry.get("timm:a", "MajajHong2015.IT-pls").to_json() == rows[0][0].to_json()
    registry.put(_forced(make_score("timm:a", value=0.1), "layers=layer1"))  # new key works
    assert len(registry) == 3
    registry.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone() == (3,)
    names = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    assert "scores_v1" not in names and "scores_benchmark" in names
    check.close()


def test_query_is_tidy_and_filters(results):
    for model, value in (("timm:resnet18", 0.5), ("timm:resnet50", 0.6), ("mylab:net", 0.2)):
        results.put(make_score(model, "MajajHong2015.IT-pls", value))
        results.put(make_score(model, "MajajHong2015.V4-pls", value / 2, layer="layer2"))
    frame = results.query()
    assert len(frame) == 6
    for column in ("model", "weights_hash", "benchmark", "version", "value", "raw", "ceiling",
                   "error", "layer", "created"):
        assert column in frame.columns
    timm_it = results.query(model="timm:*", benchmark="*.IT-*")
    assert sorted(timm_it["model"]) == ["timm:resnet18", "timm:resnet50"]
    assert sorted(timm_it["value"]) == [0.5, 0.6]
    assert set(results.query(benchmark="*V4*")["layer"]) == {"layer2"}
    assert results.query(model="nothing*").empty


def test_to_xarray(results):
    results.put(make_score("timm:a", "X.IT-pls", 0.5))
    results.put(make_score("timm:a", "X.V4-pls", 0.4))
    results.put(make_score("timm:b", "X.IT-pls", 0.3))
    array = results.to_xarray()
    assert array.dims == ("model", "benchmark")
    assert array.sel(model="timm:a", benchmark="X.V4-pls").item() == 0.4
    assert math.isnan(array.sel(model="timm:b", benchmark="X.V4-pls").item())
    assert array.coords["error"].sel(model="timm:b", benchmark="X.IT-pls").item() == 0.01


def test_delete(results):
    results.put(make_score("timm:a", "X.IT-pls"))
    results.put(make_score("timm:a", "X.V4-pls"))
    results.put(make_score("timm:b", "X.IT-pls"))
    assert results.delete(model="timm:a", benchmark="*IT*") == 1
    assert sorted(results.query()["benchmark"] + "/" + results.query()["model"]) == [
        "X.IT-pls/timm:b", "X.V4-pls/timm:a"]
    assert results.delete() == 2
    assert len(results) == 0


def test_put_without_key_is_a_clear_error(results):
    with pytest.raises(NeuroalignError, match="provenance.model_id.*timm:resnet18"):
        results.put(Score(value=0.3, provenance=Provenance(benchmark_id="X.IT-pls")))
    with pytest.raises(NeuroalignError, match="needs a neuroalign.Score; found dict"):
        results.put({"value": 1})


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(NeuroalignError, match="cannot open the results database.*NEUROALIGN_RESULTS"):
        ResultsDatabase(path).query()


def test_pickles_without_connection(results):
    results.put(make_score())
    clone = pickle.loads(pickle.dumps(results))
    assert clone.path == results.path
    assert clone.get("timm:resnet18", "MajajHong2015.IT-pls").value == 0.5


def test_crash_loses_nothing_written(tmp_path):
    """A writer killed abruptly (no cleanup, no close) keeps every put it finished."""
    path = tmp_path / "results.sqlite"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_results import make_score
        from neuroalign.scoring.results import ResultsDatabase
        results = ResultsDatabase({str(path)!r})
        for i in range(20):
            results.put(make_score(f"timm:m{{i}}", "X.IT-pls", i / 100))
        sys.stdout.write("written\\n"); sys.stdout.flush()
        os._exit(9)  # like a crash / kill: no atexit, no connection close
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 9, run.stderr
    assert run.stdout == "written\n"
    frame = ResultsDatabase(path).query()
    assert len(frame) == 20
    assert sorted(frame["value"]) == [i / 100 for i in range(20)]


def _writer(path: str, worker: int, count: int) -> None:
    results = ResultsDatabase(path)
    for i in range(count):
        results.put(make_score(f"timm:w{worker}", f"X.B{i}-pls", worker + i / 1000))
        # every worker also rewrites one shared key: upserts must not duplicate it
        results.put(make_score("timm:shared", "X.IT-pls", float(worker)))


def test_concurrent_writers(tmp_path):
    path = str(tmp_path / "results.sqlite")
    # fork: the child needs no import of this test module (pytest imports it by path)
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    workers = [context.Process(target=_writer, args=(path, w, 25)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    results = ResultsDatabase(path)
    frame = results.query()
    assert len(frame) == 3 * 25 + 1
    for worker in range(3):
        mine = frame[frame["model"] == f"timm:w{worker}"]
        assert sorted(mine["value"]) == [worker + i / 1000 for i in range(25)]
    assert results.get("timm:shared", "X.IT-pls").value in (0.0, 1.0, 2.0)
    (check,) = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"
