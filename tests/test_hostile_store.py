"""Hostile stores and damaged caches: verified cache hits, remote indexes that point at local
files, malformed indexes, orphaned temp files (issue 10, items 1, 5, 7, 10).

Every test runs with a fresh ``NEUROALIGN_HOME`` and talks only to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import random

import pytest

from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError
from neuroalign.specs import AssetSpec, DatasetSpec
from neuroalign.store import assets as store
from neuroalign.store import cache
from neuroalign.store.index import INDEX_FORMAT, load_index
from neuroalign.testing.servers import loopback_http_server

ROWS = "".join(f"stim{i:03d},img{i:03d}.png,{i % 8}\n" for i in range(200))
DATA = ("stimulus_id,filename,object\n" + ROWS).encode()
SHA = hashlib.sha256(DATA).hexdigest()
SHA1 = hashlib.sha1(DATA).hexdigest()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    for name in ("NEUROALIGN_MIRROR", "NEUROALIGN_OFFLINE", "NEUROALIGN_STORE",
                 "NEUROALIGN_VERIFY", "NEUROALIGN_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    store._STORE_MEMO.clear()
    store._VERIFIED.clear()


@pytest.fixture
def served(tmp_path):
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "stimuli.csv").write_bytes(DATA)
    return directory


def _shuffled(data: bytes) -> bytes:
    """The same bytes with the CSV rows shuffled: same size, other content."""
    header, *rows = data.decode().splitlines(keepends=True)
    random.Random(0).shuffle(rows)
    out = (header + "".join(rows)).encode()
    assert len(out) == len(data) and out != data
    return out


# ------------------------------------------------------------------------ 1. verified cache hits


def test_a_cached_file_changed_in_place_is_caught_and_moved_aside(served):
    with loopback_http_server(served) as (base, _):
        spec = AssetSpec(name="stimuli_csv", url=f"{base}/stimuli.csv", sha256=SHA,
                         size=len(DATA), format="csv")
        path = store.fetch(spec, progress=False)
    assert json.loads(path.with_name(path.name + ".meta.json").read_text())["verified"]["size"] \
        == len(DATA)
    path.write_bytes(_shuffled(DATA))  # same size: the old size check accepted it
    with pytest.raises(ChecksumMismatchError) as info:
        store.fetch(spec, progress=False)
    message = str(info.value)
    assert str(path) in message and f"expected sha256 {SHA}" in message
    assert "moved aside" in message and "Fix: run the command again" in message
    assert not path.exists()
    asides = [p for p in path.parent.glob("stimuli.csv.corrupt-*") if p.suffix != ".json"]
    assert len(asides) == 1 and asides[0].read_bytes() == _shuffled(DATA)


def test_a_sha1_pinned_asset_accepts_only_the_right_file_copied_into_the_cache(tmp_path,
                                                                              monkeypatch):
    """Brain-Score assets have a sha1 and no size: any file at the cached path was accepted."""
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    spec = AssetSpec(name="assembly", url="s3://brainio-brainscore/x.csv", sha1=SHA1,
                     format="csv")
    with pytest.raises(OfflineError) as info:
        store.fetch(spec)
    target = store.cache_path(spec)
    assert str(target) in str(info.value)  # the offline error says where to copy the file
    target.parent.mkdir(parents=True)
    target.write_bytes(b"a wrong file the user copied")
    with pytest.raises(ChecksumMismatchError, match=f"expected sha1 {SHA1}"):
        store.fetch(spec)
    assert not target.exists()
    target.write_bytes(DATA)  # the right file: verified by sha1, its sha256 recorded
    assert store.fetch(spec) == target
    meta = json.loads(target.with_name(target.name + ".meta.json").read_text())
    assert meta["sha1"] == SHA1 and meta["sha256"] == SHA
    assert store.data_sha256(spec) == SHA


def test_verify_always_rehashes_even_when_the_stat_looks_unchanged(served, monkeypatch):
    with loopback_http_server(served) as (base, _):
        spec = AssetSpec(name="csv", url=f"{base}/stimuli.csv", sha256=SHA, format="csv")
        path = store.fetch(spec, progress=False)
    stat = path.stat()
    with open(path, "r+b") as handle:  # same inode, same size ...
        handle.write(_shuffled(DATA))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ... and the old mtime
    assert store.fetch(spec) == path  # the stat record cannot see this (documented)
    monkeypatch.setenv("NEUROALIGN_VERIFY", "always")
    with pytest.raises(ChecksumMismatchError, match="failed verification"):
        store.fetch(spec)
    monkeypatch.setenv("NEUROALIGN_VERIFY", "sometimes")
    with pytest.raises(AssetError, match="NEUROALIGN_VERIFY='sometimes' is not one of"):
        store.fetch(spec)


def test_an_unchanged_cache_hit_is_not_rehashed(served, monkeypatch):
    with loopback_http_server(served) as (base, _):
        spec = AssetSpec(name="csv", url=f"{base}/stimuli.csv", sha256=SHA, format="csv")
        store.fetch(spec, progress=False)
    calls = []
    original = store._hash_file
    monkeypatch.setattr(store, "_hash_file", lambda *a: calls.append(a) or original(*a))
    store.fetch(spec)
    assert calls == []


def test_a_changed_local_in_place_file_is_rehashed(tmp_path):
    path = tmp_path / "local.csv"
    path.write_bytes(DATA)
    spec = AssetSpec(name="csv", url=f"file://{path}", sha256=SHA, format="csv")
    assert store.fetch(spec) == path
    path.write_bytes(_shuffled(DATA))
    with pytest.raises(ChecksumMismatchError, match="left in place"):
        store.fetch(spec)


# ------------------------------------------------------------------ 5. remote indexes stay remote


def _index(assets, dataset="Demo.set", version=1):
    return {"format": INDEX_FORMAT, "datasets": [
        {"id": dataset, "version": version, "distribution": "demo", "assets": assets}]}


@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd", "memory://secret/x"])
def test_a_remote_index_cannot_point_at_local_files(served, monkeypatch, url):
    (served / "index.json").write_text(json.dumps(_index(
        [{"name": "stimuli_csv", "url": url, "format": "csv"}])))
    spec = DatasetSpec(id="Demo.set", factory="m:f", assets=(
        AssetSpec(name="stimuli_csv", url="https://unreachable.example/x.csv", sha256=SHA,
                  format="csv"),))
    with loopback_http_server(served) as (base, _):
        monkeypatch.setenv("NEUROALIGN_STORE", base)
        with pytest.raises(AssetError) as info:
            store.fetch_dataset(spec, progress=False)
    message = str(info.value)
    assert f"{base}/index.json" in message and "datasets[0].assets[0].url" in message
    assert "never at local files" in message


def test_a_remote_index_may_point_under_itself_and_at_hashed_remote_urls(served):
    (served / "index.json").write_text(json.dumps(_index([
        {"name": "a", "url": "stimuli.csv", "sha256": SHA, "format": "csv"},
        {"name": "b", "url": "https://mirror.example/b.csv", "sha256": SHA, "format": "csv"}])))
    with loopback_http_server(served) as (base, _):
        index = load_index(base)
    assert [a.url for a in index.datasets[0].assets] == [f"{base}/stimuli.csv",
                                                        "https://mirror.example/b.csv"]


def test_a_local_index_may_point_at_local_files(served):
    (served / "index.json").write_text(json.dumps(_index(
        [{"name": "a", "url": str(served / "stimuli.csv"), "format": "csv"}])))
    assert load_index(str(served)).datasets[0].assets[0].url == str(served / "stimuli.csv")


def test_an_index_cannot_add_assets_the_dataset_does_not_declare(served, monkeypatch):
    (served / "index.json").write_text(json.dumps(_index([
        {"name": "stimuli_csv", "url": "stimuli.csv", "sha256": SHA, "format": "csv"},
        {"name": "extra", "url": "stimuli.csv", "sha256": SHA, "format": "csv"}])))
    spec = DatasetSpec(id="Demo.set", factory="m:f", assets=(
        AssetSpec(name="stimuli_csv", url="https://unreachable.example/x.csv", sha256=SHA,
                  format="csv"),))
    monkeypatch.setenv("NEUROALIGN_STORE", str(served))
    with pytest.raises(AssetError, match=r"with asset\(s\) \['extra'\] the dataset does not "
                                         r"declare"):
        store.assets_for(spec)


# ---------------------------------------------------------------------- 7. malformed indexes


MALFORMED = [
    ([1, 2, 3], "(top level) must be a JSON object, found list"),
    ({"format": INDEX_FORMAT, "datasets": [{"id": "A.b", "version": 1, "distribution": "d",
                                            "assets": [{"name": "x", "sha256": SHA}]}]},
     "datasets[0].assets[0].url is missing"),
    (_index([{"name": "x", "url": "x.csv", "sha256": SHA, "size": -1}]),
     "datasets[0].assets[0].size: Input should be greater than or equal to 0"),
    (_index([{"name": "x", "url": 5}]), "datasets[0].assets[0].url must be a string"),
    ({"format": INDEX_FORMAT, "datasets": {"id": "A.b"}}, "datasets must be a list"),
    ({"format": INDEX_FORMAT, "benchmarks": ["MajajHong2015.IT-pls"]},
     "benchmarks[0] must be an object"),
    ({"format": INDEX_FORMAT, "benchmarks": [{"id": "A.b", "version": "one",
                                              "distribution": "d"}]},
     "benchmarks[0].version: Input should be a valid integer"),
    ({"format": INDEX_FORMAT, "plugins": [{"distribution": "d", "version": "1", "evil": 1}]},
     "plugins[0].evil: Extra inputs are not permitted"),
    (_index([{"name": "x", "url": "x.csv", "sha256": "abc"}]),
     "datasets[0].assets[0].sha256: Value error, sha256 'abc' is not 64 lower-case hex"),
    ({"format": "something-else/9"}, "has format 'something-else/9'"),
]


@pytest.mark.parametrize(("data", "field"), MALFORMED)
def test_a_malformed_index_is_one_error_naming_url_and_field(tmp_path, data, field):
    path = tmp_path / "index.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AssetError) as info:
        load_index(str(path))
    message = str(info.value)
    assert str(path) in message and field in message, message
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, OSError)


def test_a_malformed_remote_store_index_names_the_store(served, monkeypatch):
    (served / "index.json").write_text("[]")
    spec = DatasetSpec(id="Demo.set", factory="m:f")
    with loopback_http_server(served) as (base, _):
        monkeypatch.setenv("NEUROALIGN_STORE", base)
        with pytest.raises(AssetError, match=r"NEUROALIGN_STORE=.*must be a JSON object"):
            store.assets_for(spec)


def test_a_store_listing_another_version_says_so(served, monkeypatch):
    (served / "index.json").write_text(json.dumps(_index(
        [{"name": "stimuli_csv", "url": "stimuli.csv", "sha256": SHA, "format": "csv"}],
        version=2)))
    spec = DatasetSpec(id="Demo.set", version=1, factory="m:f", assets=(
        AssetSpec(name="stimuli_csv", url="s3://brainio-brainscore/x.csv", sha1=SHA1,
                  format="csv"),))
    monkeypatch.setenv("NEUROALIGN_STORE", str(served))
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")  # a fall back to S3 must not reach the network
    with pytest.raises(AssetError, match=r"at version\(s\) \[2\], but the installed plugin has "
                                         r"version 1"):
        store.fetch_dataset(spec)


# --------------------------------------------------------------------- 10. orphaned temp files


def test_orphaned_temp_files_are_listed_and_cleared(served):
    with loopback_http_server(served) as (base, _):
        spec = AssetSpec(name="csv", url=f"{base}/stimuli.csv", sha256=SHA, format="csv")
        path = store.fetch(spec, progress=False)
    dead = 2 ** 22 + 12345  # above any pid_max default: no such process
    orphan = path.with_name(f".{path.name}.tmp-{dead}-0a1b2c3d")
    orphan.write_bytes(b"half a download")
    running = path.with_name(f".{path.name}.tmp-{os.getpid()}-deadbeef")
    running.write_bytes(b"a download in progress")
    entries = cache.cache_entries()
    orphans = [e for e in entries if e.meta.get("orphaned")]
    assert [e.path for e in orphans] == [orphan]
    assert f"process {dead} is gone" in orphans[0].description and orphans[0].size == 15
    removed = cache.clear_cache(pattern="*orphaned*")
    assert [e.path for e in removed] == [orphan]
    assert not orphan.exists() and running.exists() and path.exists()
