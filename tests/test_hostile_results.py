"""Results are keyed by the data they were computed on (issue 10, item 2)."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

import neuroalign
from neuroalign import AssetSpec, Benchmark, BenchmarkSpec, DatasetSpec, Score
from neuroalign.errors import NeuroalignError
from neuroalign.scoring.engine import data_fingerprint, score
from neuroalign.scoring.results import ResultsDatabase, data_digest
from neuroalign.store import assets as store
from neuroalign.store.index import INDEX_FORMAT

REAL = b"1,2,3,4\n"
OTHER = b"9,9,9,9\n"


class _ReadsTheData(Benchmark):
    """Scores the mean of the numbers in its dataset's one file (read through the store)."""

    def __init__(self, dataset="Hostile.data", identifier="Hostile.IT-mean"):
        self.spec = BenchmarkSpec(id=identifier, factory="m:f", dataset=dataset)
        self.calls = 0

    def __call__(self, model, *, layers=None, progress=None):
        self.calls += 1
        from neuroalign.plugins.lookup import get_registry

        spec = get_registry().spec("dataset", self.spec.dataset)
        (asset,) = store.assets_for(spec).values()
        numbers = [float(x) for x in store.fetch(asset).read_text().split(",")]
        sha = hashlib.sha256(store.fetch(asset).read_bytes()).hexdigest()
        return Score(value=sum(numbers) / len(numbers), provenance=neuroalign.Provenance(
            dataset_sha256={f"{self.spec.dataset}/numbers": sha}))


def _store(directory, data):
    directory.mkdir()
    (directory / "numbers.csv").write_bytes(data)
    (directory / "index.json").write_text(json.dumps({"format": INDEX_FORMAT, "datasets": [{
        "id": "Hostile.data", "version": 1, "distribution": "hostile", "assets": [{
            "name": "numbers", "url": "numbers.csv", "format": "csv",
            "sha256": hashlib.sha256(data).hexdigest()}]}]}))
    return directory


@pytest.fixture
def setup(neuroalign_plugin_manager, tmp_path, monkeypatch):
    class Plugin:
        @neuroalign.hookimpl
        def register_datasets(self, register):
            register(DatasetSpec(id="Hostile.data", factory="m:f", assets=(AssetSpec(
                name="numbers", url="https://unreachable.example/numbers.csv",
                sha256=hashlib.sha256(REAL).hexdigest(), format="csv"),)))

    neuroalign_plugin_manager.register(Plugin(), name="hostile", distribution="hostile")
    store._STORE_MEMO.clear()
    model = neuroalign.Model.from_module(_module(), identifier="toy:net", layers=("0",))
    return model, _store(tmp_path / "demo", OTHER), _store(tmp_path / "real", REAL)


def _module():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3))


def test_a_result_computed_on_other_data_is_never_served(setup, tmp_path, monkeypatch):
    model, demo, real = setup
    results = ResultsDatabase(tmp_path / "results.sqlite")
    benchmark = _ReadsTheData()
    monkeypatch.setenv("NEUROALIGN_STORE", str(demo))  # the demo store first ...
    first = score(model, benchmark, results=results)
    assert first.value == 9.0 and benchmark.calls == 1
    assert score(model, benchmark, results=results).value == 9.0 and benchmark.calls == 1
    monkeypatch.setenv("NEUROALIGN_STORE", str(real))  # ... then the real data
    second = score(model, benchmark, results=results)
    assert second.value == 2.5 and benchmark.calls == 2  # recomputed, not the demo's score
    real_sha = hashlib.sha256(REAL).hexdigest()
    assert second.provenance.dataset_sha256 == {"Hostile.data/numbers": real_sha}
    assert second.provenance.data_sha256 == data_digest({"Hostile.data/numbers": real_sha})
    # both records are kept, each with the data it came from
    table = results.query().sort_values("value")
    assert list(table["value"]) == [2.5, 9.0]
    assert list(table["data_files"]) == [{"Hostile.data/numbers": real_sha}, {
        "Hostile.data/numbers": hashlib.sha256(OTHER).hexdigest()}]
    monkeypatch.setenv("NEUROALIGN_STORE", str(demo))  # back to the demo: its own record
    assert score(model, benchmark, results=results).value == 9.0 and benchmark.calls == 2


def test_the_fingerprint_covers_the_declared_files_through_the_store(setup, monkeypatch):
    _, demo, _ = setup
    benchmark = _ReadsTheData()
    assert data_fingerprint(benchmark) == {
        "Hostile.data/numbers": hashlib.sha256(REAL).hexdigest()}  # the spec's pin, no I/O
    monkeypatch.setenv("NEUROALIGN_STORE", str(demo))
    assert data_fingerprint(benchmark) == {
        "Hostile.data/numbers": hashlib.sha256(OTHER).hexdigest()}
    composite = neuroalign.compose({"IT": [benchmark]}, identifier="Hostile.suite")
    assert data_fingerprint(composite) == data_fingerprint(benchmark)


def test_data_read_with_other_bytes_than_declared_is_not_stored(setup, tmp_path, monkeypatch):
    model, demo, _ = setup
    monkeypatch.setenv("NEUROALIGN_STORE", str(demo))

    class Liar(_ReadsTheData):
        def __call__(self, model, *, layers=None, progress=None):
            result = super().__call__(model)
            result.provenance.dataset_sha256["Hostile.data/numbers"] = "f" * 64
            return result

    results = ResultsDatabase(tmp_path / "results.sqlite")
    with pytest.raises(NeuroalignError, match="the data changed during scoring"):
        score(model, Liar(), results=results)
    assert len(results) == 0


def test_cli_results_shows_the_data_of_each_score(setup, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from neuroalign.app.cli import cli

    model, demo, real = setup
    db = tmp_path / "results.sqlite"
    results = ResultsDatabase(db)
    for directory in (demo, real):
        monkeypatch.setenv("NEUROALIGN_STORE", str(directory))
        score(model, _ReadsTheData(), results=results)
    results.close()
    output = CliRunner().invoke(cli, ["results", "--db", str(db)]).output
    digests = {data_digest({"Hostile.data/numbers": hashlib.sha256(d).hexdigest()})[:12]
               for d in (REAL, OTHER)}
    assert all(d in output for d in digests), output
    records = json.loads(CliRunner().invoke(cli, ["results", "--db", str(db), "--json"]).output)
    assert sorted(r["data_files"]["Hostile.data/numbers"][:8] for r in records) == sorted(
        hashlib.sha256(d).hexdigest()[:8] for d in (REAL, OTHER))


def test_schema_2_database_is_migrated_in_place(tmp_path):
    path = tmp_path / "v2.sqlite"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE scores (
            model_id TEXT NOT NULL, weights_hash TEXT NOT NULL DEFAULT '',
            benchmark_id TEXT NOT NULL, benchmark_version INTEGER NOT NULL DEFAULT 0,
            request TEXT NOT NULL DEFAULT 'default', value REAL, raw REAL, ceiling REAL,
            error REAL, layer TEXT, created TEXT, updated TEXT NOT NULL, neuroalign_version TEXT,
            seed INTEGER, wall_time_s REAL, host TEXT, score_json TEXT NOT NULL,
            PRIMARY KEY (model_id, weights_hash, benchmark_id, benchmark_version, request));
        CREATE INDEX scores_benchmark ON scores (benchmark_id);
        PRAGMA user_version=2;
    """)
    stored = Score(value=0.5, provenance=neuroalign.Provenance(
        model_id="timm:a", benchmark_id="MajajHong2015.IT-pls", benchmark_version=1,
        dataset_sha256={"x/assembly": "a" * 64}))
    old.execute("INSERT INTO scores VALUES (?, '', ?, 1, 'default', 0.5, NULL, NULL, NULL, NULL, "
                "NULL, '2026-01-01', NULL, NULL, NULL, NULL, ?)",
                ("timm:a", "MajajHong2015.IT-pls", stored.to_json()))
    old.commit()
    old.close()
    results = ResultsDatabase(path)
    (record,) = results.query().to_dict("records")
    assert record["value"] == 0.5 and record["data_sha256"] is None
    assert record["data_files"] == {"x/assembly": "a" * 64}
    # unknown data: never served to a lookup that knows its data
    assert results.get("timm:a", "MajajHong2015.IT-pls", data_sha256="b" * 64) is None
    assert results.get("timm:a", "MajajHong2015.IT-pls", data_sha256="").value == 0.5
    results.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone() == (3,)
    check.close()
