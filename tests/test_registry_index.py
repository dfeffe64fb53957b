"""Registry index: build from plugins, write atomically, read from fsspec URLs, search."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from neuroalign import hookimpl
from neuroalign.errors import AssetError
from neuroalign.store.index import INDEX_FORMAT, load_index
from neuroalign.specs import AssetSpec, BenchmarkSpec, DatasetSpec, ModelSpec
from neuroalign.plugins.manager import PluginManager
from neuroalign.plugins.registry import Registry
from neuroalign.app.index_tools import (
    build_index,
    default_index_url,
    normalize_distribution,
    read_index,
    search_index,
    write_index,
)

SHA = "0" * 63 + "1"


class FakeNeural:
    """A plugin with one neural dataset and two benchmarks."""

    @hookimpl
    def register_datasets(self, register):
        register(DatasetSpec(
            id="Fake2020.public", factory="fake.data:Data", version=2,
            description="macaque V4 and IT multi-unit recordings",
            assets=(AssetSpec(name="assembly", url="s3://bucket/fake.nc", sha256=SHA, size=123),
                    AssetSpec(name="stimuli", url="https://example.org/stim.zip", sha256=SHA,
                              format="zip")),
        ))

    @hookimpl
    def register_benchmarks(self, register):
        register(BenchmarkSpec(id="Fake2020.IT-pls", factory="fake.b:B", dataset="Fake2020.public",
                               metric="pls", region="IT", description="IT predictivity"))
        register(BenchmarkSpec(id="Fake2020.V4-pls", factory="fake.b:B", dataset="Fake2020.public",
                               metric="pls", region="V4", description="V4 predictivity"))

    @hookimpl
    def register_models(self, register):
        register(ModelSpec(id="fake:net", factory="fake.m:M"))


class FakeFmri:
    @hookimpl
    def register_benchmarks(self, register):
        register(BenchmarkSpec(id="Fmri2022.FFA-ridge", factory="fake.b:B", metric="ridge",
                               region="FFA", description="human fMRI, fusiform face area"))


@pytest.fixture
def manager():
    pm = PluginManager(autoload=False)
    pm.register(FakeNeural(), name="fakeneural", distribution="neuroalign-fakeneural",
                version="1.2.0")
    pm.register(FakeFmri(), name="fmri", distribution="neuroalign-fakefmri", version="0.3")
    return pm


def test_build_index_lists_plugins_benchmarks_datasets(manager):
    index = build_index(manager, generated="2024-01-01T00:00:00+00:00", description="test")
    assert index.format == INDEX_FORMAT
    assert index.generated == "2024-01-01T00:00:00+00:00"
    assert [p.distribution for p in index.plugins] == ["neuroalign-fakefmri", "neuroalign-fakeneural"]
    neural = index.plugins[1]
    assert neural.version == "1.2.0"
    assert neural.pip == "pip install neuroalign-fakeneural"
    assert neural.entry_point == "fakeneural = FakeNeural"
    assert neural.benchmarks == ["Fake2020.IT-pls", "Fake2020.V4-pls"]
    assert neural.datasets == ["Fake2020.public"]
    assert neural.models == ["fake:net"]
    assert [b.id for b in index.benchmarks] == ["Fake2020.IT-pls", "Fake2020.V4-pls",
                                                "Fmri2022.FFA-ridge"]
    assert index.benchmarks[0].region == "IT" and index.benchmarks[0].distribution == "neuroalign-fakeneural"
    dataset = index.dataset("Fake2020.public")
    assert dataset.version == 2
    assert [(a.url, a.sha256, a.size) for a in dataset.assets] == [
        ("s3://bucket/fake.nc", SHA, 123), ("https://example.org/stim.zip", SHA, None)]
    # the core's built-in aggregators are not a plugin distribution
    assert "neuroalign" not in [p.distribution for p in index.plugins]
    assert "neuroalign" in [p.distribution for p in build_index(manager, include_core=True).plugins]


def test_build_index_from_bare_registry():
    registry = Registry()
    registry.add("benchmark", BenchmarkSpec(id="A.IT-pls", factory="a.b:C"),
                 distribution="neuroalign-a", version="1.0")
    index = build_index(registry)
    assert [(p.distribution, p.version, p.benchmarks) for p in index.plugins] == [
        ("neuroalign-a", "1.0", ["A.IT-pls"])]
    with pytest.raises(TypeError, match="PluginManager or a Registry; found str"):
        build_index("nope")


def test_round_trip_through_memory_url(manager):
    index = build_index(manager)
    url = f"memory://registry-{uuid.uuid4().hex}/index.json"
    assert write_index(index, url) == url
    back = load_index(url)
    assert back == index
    assert read_index(url) == index


def test_directory_url_and_relative_assets(tmp_path):
    from neuroalign.store.index import DatasetEntry, Index

    index = Index(datasets=[DatasetEntry(id="D.x", version=1, distribution="d", assets=[
        AssetSpec(name="a", url="data/a.nc")])])
    written = write_index(index, tmp_path / "store")
    assert written == str(tmp_path / "store" / "index.json")
    back = load_index(str(tmp_path / "store"))
    assert back.datasets[0].assets[0].url == str(tmp_path / "store" / "data" / "a.nc")


def test_local_write_is_atomic_and_leaves_no_temp(tmp_path, manager, monkeypatch):
    path = tmp_path / "index.json"
    path.write_text("previous")
    index = build_index(manager)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("neuroalign.app.index_tools.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_index(index, path)
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]
    monkeypatch.undo()
    path.chmod(0o640)
    write_index(index, path)
    assert json.loads(path.read_text())["format"] == INDEX_FORMAT
    assert path.stat().st_mode & 0o777 == 0o640  # the replaced file's mode is kept
    fresh = write_index(index, tmp_path / "fresh.json")
    assert os.stat(fresh).st_mode & 0o077 != 0  # readable by others (mkstemp alone gives 0600)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["Fake2020.IT-pls", "Fake2020.V4-pls", "Fmri2022.FFA-ridge"]),
    ("fmri", ["Fmri2022.FFA-ridge"]),               # id and description
    ("FMRI", ["Fmri2022.FFA-ridge"]),               # case-insensitive
    ("it", ["Fake2020.IT-pls"]),                    # region / id
    ("predictivity", ["Fake2020.IT-pls", "Fake2020.V4-pls"]),  # description
    ("fakeneural", ["Fake2020.IT-pls", "Fake2020.V4-pls"]),  # plugin name
    ("Fake2020.public", ["Fake2020.IT-pls", "Fake2020.V4-pls"]),  # dataset id
    ("pls v4", ["Fake2020.V4-pls"]),                # every word must match
    ("ake", []),                                    # word starts only...
    ("fake", ["Fake2020.IT-pls", "Fake2020.V4-pls", "Fmri2022.FFA-ridge"]),  # plugin names
    ("2020.v4-", ["Fake2020.V4-pls"]),              # ...unless the word has punctuation
    ("ridge face", ["Fmri2022.FFA-ridge"]),
    ("nothing-like-this", []),
])
def test_search(manager, query, expected):
    hits = search_index(build_index(manager), query, installed=set())
    assert [h.benchmark for h in hits] == expected


def test_search_reports_pip_and_installed(manager):
    index = build_index(manager)
    hits = search_index(index, "fmri", installed={"Neuroalign_FakeFmri"})
    assert hits[0].pip == "pip install neuroalign-fakefmri"
    assert hits[0].installed is True
    assert hits[0].distribution_version == "0.3"
    assert "description" in hits[0].matched
    hits = search_index(index, "predictivity", installed={"neuroalign-fakefmri"})
    assert [h.installed for h in hits] == [False, False]
    # default: asks importlib.metadata; these fake distributions are not installed
    assert [h.installed for h in search_index(index, "")] == [False, False, False]
    assert hits[0].as_dict()["pip"] == "pip install neuroalign-fakeneural"


def test_id_matches_rank_first(manager):
    hits = search_index(build_index(manager), "ffa", installed=set())
    assert hits[0].benchmark == "Fmri2022.FFA-ridge" and hits[0].matched[0] == "id"


def test_normalize_distribution():
    assert normalize_distribution("Neuroalign_Majaj.2015") == "neuroalign-majaj-2015"


def test_default_index_url(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROALIGN_REGISTRY", "memory://somewhere/index.json")
    assert default_index_url() == "memory://somewhere/index.json"
    monkeypatch.delenv("NEUROALIGN_REGISTRY")
    try:
        url = default_index_url()
    except AssetError as error:  # an installed core without a shipped copy
        assert "NEUROALIGN_REGISTRY" in str(error) and "--index" in str(error)
    else:
        assert url.endswith("index.json")


def test_missing_and_bad_index_errors(tmp_path):
    with pytest.raises(AssetError, match="no registry index at .*neuroalign registry build"):
        read_index(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(AssetError, match="format 'other/9'; expected 'neuroalign-index/1'"):
        read_index(str(bad))


def test_search_prefers_benchmarks_whose_own_fields_match(manager):
    index = build_index(manager)
    # a plugin description mentioning both regions must not pull the V4 benchmark into "IT pls"
    plugins = [p.model_copy(update={"description": "V4 and IT recordings scored with PLS"})
               for p in index.plugins]
    index = index.model_copy(update={"plugins": plugins})
    assert [h.benchmark for h in search_index(index, "IT pls", installed=set())] == ["Fake2020.IT-pls"]
