"""The results registry: upserts, lossless round trips, queries, crash safety, concurrency."""

from __future__ import annotations

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
from neuroalign.results import ResultsRegistry, default_results_path
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
    registry = ResultsRegistry(tmp_path / "results.sqlite")
    yield registry
    registry.close()


def test_default_path_follows_neuroalign_home(tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROALIGN_RESULTS", raising=False)
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    assert default_results_path() == tmp_path / "home" / "results.sqlite"
    assert ResultsRegistry().path == tmp_path / "home" / "results.sqlite"
    monkeypatch.setenv("NEUROALIGN_RESULTS", str(tmp_path / "other.sqlite"))
    assert ResultsRegistry().path == tmp_path / "other.sqlite"


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
        ResultsRegistry(path).query()


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
        from neuroalign.results import ResultsRegistry
        results = ResultsRegistry({str(path)!r})
        for i in range(20):
            results.put(make_score(f"timm:m{{i}}", "X.IT-pls", i / 100))
        sys.stdout.write("written\\n"); sys.stdout.flush()
        os._exit(9)  # like a crash / kill: no atexit, no connection close
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 9, run.stderr
    assert run.stdout == "written\n"
    frame = ResultsRegistry(path).query()
    assert len(frame) == 20
    assert sorted(frame["value"]) == [i / 100 for i in range(20)]


def _writer(path: str, worker: int, count: int) -> None:
    results = ResultsRegistry(path)
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
    results = ResultsRegistry(path)
    frame = results.query()
    assert len(frame) == 3 * 25 + 1
    for worker in range(3):
        mine = frame[frame["model"] == f"timm:w{worker}"]
        assert sorted(mine["value"]) == [worker + i / 1000 for i in range(25)]
    assert results.get("timm:shared", "X.IT-pls").value in (0.0, 1.0, 2.0)
    (check,) = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"
