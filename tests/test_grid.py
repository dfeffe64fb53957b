"""``neuroalign.grid``: local and dask executors, resume, failures, and fault tests.

The dask tests share one ``LocalCluster`` (2 worker processes x 1 thread, 127.0.0.1 only) whose
workers load only the installed ``neuroalign-example`` plugin and read the synthetic
``Example.toy`` store over a loopback HTTP server into one shared ``NEUROALIGN_HOME``: the asset
store's lock is exercised by workers fetching the same files at once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import distributed  # the dev extra installs dask[distributed]: a missing one is a failure
import neuroalign
import pytest
from neuroalign.errors import NeuroalignError
from neuroalign.scoring import griddask, gridworker
from neuroalign.scoring.grid import GridResult, grid, plan
from neuroalign.scoring.results import ResultsDatabase
from neuroalign.testing.fixtures import write_synthetic_store
from neuroalign.testing.servers import loopback_http_server

BENCHMARKS = ["Example.V4-corr", "Example.IT-corr"]


def _models(n: int) -> list[str]:
    return ["example:linear"] + [f"example:linear.seed{i}" for i in range(1, n)]


def _records(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT model_id, benchmark_id FROM scores").fetchall()
        except sqlite3.OperationalError:  # the writer has not created the table yet
            return []


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """(store URL, home, hits, scheduler address, client) of the module's cluster."""
    root = tmp_path_factory.mktemp("grid")
    home = root / "home"
    with mock.patch.dict(os.environ, {"NEUROALIGN_LOAD_PLUGINS": "example",
                                      "NEUROALIGN_HOME": str(home)}):
        neuroalign.use_plugin_manager(None)
        store = write_synthetic_store([neuroalign.get_spec("dataset", "Example.toy")],
                                      root / "store")
        neuroalign.use_plugin_manager(None)
    with loopback_http_server(store, delay=0.2) as (url, hits):
        env = {"NEUROALIGN_LOAD_PLUGINS": "example", "NEUROALIGN_HOME": str(home),
               "NEUROALIGN_STORE": url, "NEUROALIGN_PROGRESS": "0"}
        with mock.patch.dict(os.environ, env):
            cluster = griddask.make_cluster(workers=2, threads_per_worker=1, resources=None,
                                            devices=[])
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield {"url": url, "home": home, "hits": hits, "env": env,
                   "address": cluster.scheduler_address, "client": client, "store": store}


@pytest.fixture
def example_env(monkeypatch, shared):
    for name, value in shared["env"].items():
        monkeypatch.setenv(name, value)
    neuroalign.use_plugin_manager(None)
    yield shared
    neuroalign.use_plugin_manager(None)


# ------------------------------------------------------------------------------ local executor


def test_local_grid_scores_stores_skips_and_reports_failures(example_env, tmp_path):
    db = tmp_path / "results.sqlite"
    models = ["example:linear", "example:linear.seed1", "example:linear.seedX"]
    first = grid(models, ["Example.*-corr"], executor="local", results=db, progress=False)
    assert isinstance(first, GridResult) and not first.ok
    assert {o.pair for o in first.failed} == {("example:linear.seedX", b) for b in BENCHMARKS}
    assert all("ValueError" in o.error for o in first.failed)
    assert len(first.computed) == 4
    assert "example:linear.seedX" in first.failure_table()
    # the same values as score(), and stored once each
    direct = neuroalign.score("example:linear", "Example.IT-corr", results=False)
    assert first.outcomes[("example:linear", "Example.IT-corr")].score.value == direct.value
    assert sorted(_records(db)) == sorted((m, b) for m in models[:2] for b in BENCHMARKS)
    # a rerun reuses the stored, current records and computes nothing
    second = grid(models[:2], BENCHMARKS, executor="local", results=db, progress=False)
    assert second.ok and len(second.stored) == 4 and not second.computed
    assert {o.pair: o.score.value for o in second.stored} == \
        {o.pair: o.score.value for o in first.computed}


def test_local_grid_retries_transient_errors_only(example_env, tmp_path, monkeypatch):
    from neuroalign.scoring import grid as grid_module

    calls: list[str] = []
    real = grid_module.run_task

    def flaky(task):
        calls.append(task.benchmark)
        if calls.count(task.benchmark) == 1:
            raise ConnectionResetError(104, "connection reset by peer")
        return real(task)

    monkeypatch.setattr(grid_module, "run_task", flaky)
    monkeypatch.setattr(grid_module.time, "sleep", lambda s: None)
    result = grid(["example:linear"], BENCHMARKS, executor="local", retries=1, results=False,
                  progress=False)
    assert result.ok and len(calls) == 4
    calls.clear()
    result = grid(["example:linear"], BENCHMARKS, executor="local", retries=0, results=False,
                  progress=False)
    assert len(result.failed) == 2 and "transient" in result.failed[0].error


@pytest.mark.parametrize(("env", "expected"), [
    ({"MALLOC_TRIM_THRESHOLD_": "65536"}, "True False"),
    ({"MALLOC_TRIM_THRESHOLD_": "65536", "NEUROALIGN_GRID_MALLOC": "keep"}, "False False"),
    ({}, "False False"),
])
def test_tune_process_undoes_the_nanny_malloc_threshold_once(env, expected):
    code = ("from neuroalign.scoring.gridworker import tune_process; "
            "print(tune_process(), tune_process())")
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_TRIM_THRESHOLD_", "NEUROALIGN_GRID_MALLOC")}
    done = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True,
                          capture_output=True, text=True)
    assert done.stdout.split() == expected.split()


def test_cluster_made_here_has_no_malloc_threshold_nor_profiler(example_env):
    def settings():
        import dask

        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                dask.config.get("distributed.worker.profile.enabled"))

    found = example_env["client"].run(settings)
    assert set(found.values()) == {(None, "1", False)}


def test_is_transient():
    assert gridworker.is_transient(TimeoutError())
    assert gridworker.is_transient(OSError(116, "stale file handle"))  # ESTALE (NFS)
    assert not gridworker.is_transient(FileNotFoundError(2, "missing"))
    assert not gridworker.is_transient(ValueError("bad"))
    try:
        try:
            raise ConnectionError("down")
        except ConnectionError as inner:
            raise NeuroalignError("download failed") from inner
    except NeuroalignError as error:
        assert gridworker.is_transient(error)


def test_plan_unknown_ids_and_patterns(example_env):
    with pytest.raises(NeuroalignError, match="did you mean 'Example.IT-corr'"):
        plan(["example:linear"], ["Example.IT-cor"])
    with pytest.raises(NeuroalignError, match="example:linear"):
        plan(["example:lineer"], BENCHMARKS)
    tasks = plan(["example:linear"], ["Example.*"])
    assert [t.benchmark for t in tasks] == ["Example.IT-corr", "Example.V4-corr",
                                            "Example.neural-mean"]
    assert tasks[0].distributions["neuroalign-example"]


def test_model_queue_keeps_a_worker_on_its_model_then_shares_the_rest():
    task = gridworker.Task
    work = [task(m, b) for m in ("a", "b", "c") for b in ("x", "y", "z")]
    queue = griddask.ModelQueue(work)
    # each worker starts its own model and keeps to it
    assert queue.next_for("w1").pair == ("a", "x") and queue.next_for("w2").pair == ("b", "x")
    assert queue.next_for("w1").pair == ("a", "y") and queue.next_for("w1").pair == ("a", "z")
    # w1 finished model a: it starts c, the model nobody has started
    assert queue.next_for("w1").pair == ("c", "x")
    # everything started and no first pair finished: w3 waits (it would redo the activations)
    assert queue.next_for("w3") is None
    # then it helps with the model that finished a pair
    queue.done(task("c", "x"))
    assert queue.next_for("w3").pair == ("c", "y")
    assert queue.next_for("w3").pair == ("c", "z")
    assert queue.next_for("w3") is None  # b has pairs left, but its first is still running
    queue.done(task("b", "x"))
    assert queue.next_for("w3").pair == ("b", "y")
    assert len(queue) == 1 and queue.next_for("w2").pair == ("b", "z")
    assert queue.next_for("w2") is None and len(queue) == 0


def test_model_queue_helps_only_where_rebuilding_the_model_pays():
    task = gridworker.Task
    work = [task(m, b) for m in ("a", "b") for b in ("w", "x", "y", "z")]
    queue = griddask.ModelQueue(work)
    assert queue.next_for("w1").pair == ("a", "w") and queue.next_for("w2").pair == ("b", "w")
    assert queue.next_for("w1").pair == ("a", "x")  # queued behind a's first pair
    queue.done(task("b", "w"), seconds=1.0)
    assert [queue.next_for("w2").pair for _ in range(3)] == [("b", "x"), ("b", "y"), ("b", "z")]
    # a's first pair (build + activations) took 5 s, its second 0.5 s: with two pairs left
    # (1 s of work for w1) rebuilding a on w2 (~5 s) does not pay, so w2 waits
    queue.done(task("a", "w"), seconds=5.0)
    queue.done(task("a", "x"), seconds=0.5)
    assert queue.next_for("w2") is None
    assert queue.next_for("w1").pair == ("a", "y") and queue.next_for("w1").pair == ("a", "z")
    # a model whose later pairs cost as much as its first: helping with 2 pairs pays
    queue = griddask.ModelQueue([task("c", b) for b in ("w", "x", "y", "z")])
    assert queue.next_for("w1").pair == ("c", "w")
    queue.done(task("c", "w"), seconds=2.0)
    assert queue.next_for("w1").pair == ("c", "x")
    queue.done(task("c", "x"), seconds=2.0)
    assert queue.next_for("w2").pair == ("c", "y")
    # one pair left costs no more than a rebuild: its owner keeps it
    assert queue.next_for("w3") is None and queue.next_for("w1").pair == ("c", "z")


def test_gpu_cluster_has_one_pinned_worker_per_device():
    spec = griddask.gpu_cluster_spec(["0", "3"], threads_per_worker=2)
    options = {name: worker["options"] for name, worker in spec["workers"].items()}
    assert sorted(options) == ["gpu-0", "gpu-3"]
    assert options["gpu-3"]["env"]["CUDA_VISIBLE_DEVICES"] == "3"
    assert all(o["resources"] == {"GPU": 1} and o["nthreads"] == 2 for o in options.values())
    assert all(o["host"] == "127.0.0.1" for o in options.values())


def test_check_workers_names_missing_distributions_per_worker():
    class Fake:
        def scheduler_info(self):
            return {"workers": {"tcp://a": {}, "tcp://b": {}}}

        def run(self, function):
            return {"tcp://a": {"host": "n1", "loaded": {"neuroalign": "0.1.0", "x": "1"},
                                "failed": {}},
                    "tcp://b": {"host": "n2", "loaded": {"neuroalign": "0.1.0"},
                                "failed": {"x": "ImportError: no torch"}}}

    assert griddask.check_workers(Fake(), {"neuroalign": "0.1.0"}) == 2
    with pytest.raises(NeuroalignError) as caught:
        griddask.check_workers(Fake(), {"neuroalign": "0.1.0", "x": "1", "y": "2"})
    text = str(caught.value)
    assert "worker tcp://a (host n1): y is missing (pip install y==2)" in text
    assert "worker tcp://b (host n2): x failed to import (ImportError: no torch)" in text


# ------------------------------------------------------------------------------ dask executor


def test_dask_grid_matches_local_reports_failures_and_shares_one_download(example_env,
                                                                          tmp_path):
    db = tmp_path / "results.sqlite"
    models = _models(3) + ["example:linear.seedX"]
    seen: list[str] = []
    result = grid(models, BENCHMARKS, executor=example_env["client"], results=db,
                  progress=False, on_result=lambda o: seen.append(o.status))
    assert len(seen) == 8 and len(result.computed) == 6 and len(result.failed) == 2
    failed = result.failed[0]
    assert "ValueError" in failed.error and failed.worker.startswith("tcp://127.0.0.1:")
    local = grid(_models(3), BENCHMARKS, executor="local", results=False, progress=False)
    assert {o.pair: o.score.value for o in result.computed} == \
        {o.pair: o.score.value for o in local.computed}
    assert sorted(_records(db)) == sorted((m, b) for m in _models(3) for b in BENCHMARKS)
    # both workers needed Example.toy at once; the asset lock let one of them download it
    gets = [path for method, path in example_env["hits"].requests
            if method == "GET" and path.endswith(".nc")]
    assert gets and len(gets) == len(set(gets))


def test_cli_grid_exits_nonzero_with_a_failure_table(example_env, tmp_path):
    from click.testing import CliRunner

    from neuroalign.app.cli import cli

    db = tmp_path / "results.sqlite"
    run = CliRunner().invoke(cli, ["grid", "example:linear", "example:linear.seedX",
                                   "-b", "Example.V4-corr,Example.IT-corr",
                                   "--scheduler", example_env["address"], "--results", str(db)])
    assert run.exit_code == 1, run.output
    assert "2 pair(s) failed" in run.output and "invalid literal" in run.output
    assert len(_records(db)) == 2


@pytest.mark.parametrize("group", ["model", "pair"])
def test_sigkill_a_worker_mid_grid(example_env, tmp_path, group):
    client = example_env["client"]
    client.wait_for_workers(2, timeout=60)
    pids = client.run(os.getpid)
    db = tmp_path / "results.sqlite"
    models = _models(6)
    killed: dict[str, str] = {}
    after: list[str] = []

    def kill_one(outcome):
        if not killed:
            address = outcome.worker
            os.kill(pids[address], signal.SIGKILL)
            killed["address"] = address
        else:
            after.append(outcome.worker)

    result = grid(models, BENCHMARKS, executor=client, results=db, progress=False,
                  on_result=kill_one, group=group)
    assert result.ok, result.failure_table()
    assert len(result.computed) == 12 and len(after) == 11
    assert killed["address"] not in after[-1:]  # the last pairs ran on the surviving worker
    records = _records(db)
    assert len(records) == len(set(records)) == 12
    assert set(records) == {(m, b) for m in models for b in BENCHMARKS}
    assert _integrity(db) == "ok"
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


def test_model_grouping_stops_when_no_worker_has_the_resources(example_env):
    tasks = plan(["example:linear"], BENCHMARKS)
    with pytest.raises(NeuroalignError, match=r"needs the resources \{'GPU': 1\}"):
        griddask.run(tasks, client=example_env["client"], group="model", retries=0,
                     resources={"GPU": 1}, on_outcome=lambda o: None, worker_timeout=0.5)


def test_kill_the_client_mid_grid_then_rerun_computes_only_missing_pairs(example_env,
                                                                        tmp_path):
    db = tmp_path / "results.sqlite"
    models = _models(12)
    command = [sys.executable, "-m", "neuroalign.app.cli", "grid", *models, "-b",
               ",".join(BENCHMARKS), "--scheduler", example_env["address"], "--results",
               str(db)]
    process = subprocess.Popen(command, env={**os.environ}, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if db.exists() and len(_records(db)) >= 2:
                break
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = set(_records(db))
    everything = {(m, b) for m in models for b in BENCHMARKS}
    assert 2 <= len(before) < len(everything)
    assert _integrity(db) == "ok"
    result = grid(models, BENCHMARKS, executor=example_env["client"], results=db,
                  progress=False)
    assert result.ok
    assert {o.pair for o in result.computed} == everything - before
    assert {o.pair for o in result.stored} == before
    records = _records(db)
    assert len(records) == len(set(records)) == len(everything)


def test_progress_prints_plain_lines_with_counts_and_eta_when_not_a_terminal(capsys):
    from neuroalign.scoring.grid import _Progress

    bar = _Progress(3, True, interval=0.0)
    bar.update(gridworker.Outcome("m", "a", "computed"))
    bar.update(gridworker.Outcome("m", "b", "failed"))
    bar.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("grid: 1/3 pairs (1 computed, 0 stored, 0 failed)")
    assert "ETA" in lines[0] and lines[-1].startswith("grid: 2/3 pairs")
