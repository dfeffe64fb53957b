"""The asset store against loopback servers (HTTP, moto S3), memory:// and file://.

Every test runs with a fresh ``NEUROALIGN_HOME`` and talks only to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
from pathlib import Path

import fsspec
import pytest

from neuroalign.store import assets as store
from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError
from neuroalign.store.index import INDEX_FORMAT
from neuroalign.specs import AssetSpec, DatasetSpec
from neuroalign.testing.servers import fetch_worker, loopback_http_server, moto_s3_server

pytestmark = pytest.mark.network

DATA = b"neuroalign test payload " * 200
SHA = hashlib.sha256(DATA).hexdigest()
SHA1 = hashlib.sha1(DATA).hexdigest()
WRONG_SHA = "0" * 64


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    for name in ("NEUROALIGN_MIRROR", "NEUROALIGN_OFFLINE", "NEUROALIGN_STORE",
                 "NEUROALIGN_S3_ENDPOINT_URL", "NEUROALIGN_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    store._STORE_MEMO.clear()


@pytest.fixture
def served(tmp_path):
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "data.bin").write_bytes(DATA)
    return directory


def asset(url, sha=SHA, size=None, name="data"):
    return AssetSpec(name=name, url=url, sha256=sha, size=size, format="other")


def cached_files():
    root = store.home() / "assets"
    files = root.rglob("*") if root.exists() else []
    return sorted(p.name for p in files if p.is_file() and not p.name.endswith(".lock"))


# ----------------------------------------------------------------------------- happy paths


def test_http_download_is_verified_cached_and_reused(served):
    with loopback_http_server(served) as (base, hits):
        path = store.fetch(asset(f"{base}/data.bin", size=len(DATA)), progress=False)
        assert path == store.home() / "assets" / SHA / "data.bin"
        assert path.read_bytes() == DATA
        assert hits.count == 1
        assert store.fetch(asset(f"{base}/data.bin"), progress=False) == path
        assert hits.count == 1  # the second fetch is a cache hit: no request at all
    meta = json.loads(path.with_name("data.bin.meta.json").read_text())
    assert meta["kind"] == "assets" and meta["sha256"] == SHA and meta["size"] == len(DATA)
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_s3_anonymous_read_from_moto(monkeypatch):
    with moto_s3_server() as s3:
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        bucket = s3.public_bucket("neuroalign-public", {"sets/data.bin": DATA})
        assert store.storage_options("s3") == {"anon": True, "endpoint_url": s3.endpoint_url}
        path = store.fetch(asset(f"{bucket}/sets/data.bin"), progress=False)
        assert path.read_bytes() == DATA


def sha1_asset(url, sha1=SHA1, version_id=None):
    return AssetSpec(name="data", url=url, sha1=sha1, version_id=version_id, format="other")


def test_sha1_only_asset_is_verified_and_its_sha256_recorded(served, monkeypatch):
    with loopback_http_server(served) as (base, hits):
        spec = sha1_asset(f"{base}/data.bin")
        path = store.fetch(spec, progress=False)
        assert path == store.home() / "assets" / f"sha1-{SHA1}" / "data.bin"
        assert path.read_bytes() == DATA and store.cache_path(spec) == path
        assert store.fetch(spec, progress=False) == path and hits.count == 1  # cache hit
        monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
        assert store.fetch(spec) == path  # a cached sha1 asset is fine offline
        with pytest.raises(OfflineError, match=f"sha1 {'1' * 40}"):
            store.fetch(sha1_asset(f"{base}/data.bin", sha1="1" * 40))
        assert hits.count == 1
    meta = json.loads(path.with_name("data.bin.meta.json").read_text())
    assert meta["sha1"] == SHA1 and meta["sha256"] == SHA and "version_id" not in meta


def test_sha1_mismatch_moves_the_download_aside(served):
    wrong = "0" * 40
    with loopback_http_server(served) as (base, _):
        url = f"{base}/data.bin"
        with pytest.raises(ChecksumMismatchError) as info:
            store.fetch(sha1_asset(url, sha1=wrong), progress=False)
    message = str(info.value)
    assert url in message and f"expected sha1 {wrong}, got {SHA1}" in message
    assert "moved aside" in message
    aside = f"data.bin.corrupt-{SHA1[:12]}"
    assert cached_files() == [aside, f"{aside}.meta.json"]
    meta = json.loads((store.home() / "assets" / f"sha1-{wrong}" / f"{aside}.meta.json")
                      .read_text())
    assert meta["expected_sha1"] == wrong and meta["sha1"] == SHA1 and meta["corrupt"]


def test_asset_spec_hash_and_version_rules():
    with pytest.raises(ValueError, match=r"'data' at 'https://a.org/x.nc' is remote and needs "
                                         r"a sha256 \(preferred; compute it with: sha256sum"):
        AssetSpec(name="data", url="https://a.org/x.nc")
    with pytest.raises(ValueError, match="40 lower-case hex"):
        AssetSpec(name="data", url="https://a.org/x.nc", sha1=SHA1.upper())
    with pytest.raises(ValueError, match="version_id is an S3 object version"):
        AssetSpec(name="data", url="https://a.org/x.nc", sha1=SHA1, version_id="v1")
    both = AssetSpec(name="data", url="s3://b/x.nc", sha256=SHA, sha1=SHA1, version_id="v1")
    assert store.cache_path(both).parent.name == SHA  # keyed by the sha256 when known


def test_s3_version_id_reads_the_pinned_object_version(monkeypatch):
    with moto_s3_server() as s3:
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        client = s3.client()
        client.create_bucket(Bucket="versioned", ACL="public-read")
        client.put_bucket_versioning(Bucket="versioned",
                                     VersioningConfiguration={"Status": "Enabled"})
        old = client.put_object(Bucket="versioned", Key="sets/data.bin", Body=DATA,
                                ACL="public-read")["VersionId"]
        client.put_object(Bucket="versioned", Key="sets/data.bin", Body=b"a newer upload",
                          ACL="public-read")
        url = "s3://versioned/sets/data.bin"
        path = store.fetch(sha1_asset(url, version_id=old), progress=False)
        assert path.read_bytes() == DATA
        meta = json.loads(path.with_name("data.bin.meta.json").read_text())
        assert meta["version_id"] == old and meta["sha1"] == SHA1 and meta["sha256"] == SHA
        # without the version the newest object is read, and the sha1 refuses it
        store.clear_cache("assets")
        with pytest.raises(ChecksumMismatchError, match=f"expected sha1 {SHA1}"):
            store.fetch(sha1_asset(url), progress=False)


def test_memory_and_file_assets(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe("/neuroalign-test/data.bin", DATA)
    try:
        path = store.fetch(asset("memory://neuroalign-test/data.bin"))
        assert path.read_bytes() == DATA and store.home() in path.parents
    finally:
        fs.rm("/neuroalign-test", recursive=True)
    local = tmp_path / "local.bin"
    local.write_bytes(DATA)
    # file:// is used in place, with or without a sha256
    assert store.fetch(asset(f"file://{local}")) == local
    assert store.fetch(asset(str(local), sha=None)) == local
    with pytest.raises(ChecksumMismatchError, match=WRONG_SHA) as info:
        store.fetch(asset(f"file://{local}", sha=WRONG_SHA))
    assert SHA in str(info.value) and local.exists()
    assert store.fetch(sha1_asset(f"file://{local}")) == local
    with pytest.raises(ChecksumMismatchError, match=f"expected sha1 {'0' * 40}, got {SHA1}"):
        store.fetch(sha1_asset(f"file://{local}", sha1="0" * 40))


def test_progress_bar_is_drawn_when_forced(served, capsys):
    with loopback_http_server(served) as (base, _):
        store.fetch(asset(f"{base}/data.bin", size=len(DATA)), progress=True)
    assert "fetching data" in capsys.readouterr().err


# ------------------------------------------------------------------------ mirrors and schemes


def test_mirror_rewrites_prefix_from_env_and_config(served, monkeypatch):
    with loopback_http_server(served) as (base, hits):
        monkeypatch.setenv("NEUROALIGN_MIRROR", f"https://unreachable.example/files/={base}/")
        assert store.resolve_url("https://unreachable.example/files/data.bin") == f"{base}/data.bin"
        path = store.fetch(asset("https://unreachable.example/files/data.bin"), progress=False)
        assert path.read_bytes() == DATA and hits.requests == [("GET", "/data.bin")]
    monkeypatch.delenv("NEUROALIGN_MIRROR")
    store.home().mkdir(parents=True, exist_ok=True)
    (store.home() / "config.json").write_text(json.dumps(
        {"mirrors": {"s3://bucket/": f"file://{served}/", "s3://bucket/deeper/": "gs://other/"}}
    ))
    assert store.resolve_url("s3://bucket/data.bin") == f"file://{served}/data.bin"
    assert store.resolve_url("s3://bucket/deeper/x.nc") == "gs://other/x.nc"  # longest prefix wins


def test_unknown_scheme_and_bad_mirror_entries(monkeypatch):
    with pytest.raises(AssetError, match=r"unsupported URL scheme 'ftp' in 'ftp://h/x.nc'.*'s3'"):
        store.resolve_url("ftp://h/x.nc")
    monkeypatch.setenv("NEUROALIGN_MIRROR", "https://a.org/=ftp://b.org/")
    with pytest.raises(AssetError, match=r"'ftp'.*mirror rewrite of 'https://a.org/x.nc'"):
        store.fetch(asset("https://a.org/x.nc"))
    monkeypatch.setenv("NEUROALIGN_MIRROR", "https://a.org/ file:///m/")
    with pytest.raises(AssetError, match=r"'https://a.org/ file:///m/' is not 'prefix=replacemen"):
        store.resolve_url("https://a.org/x.nc")


# ----------------------------------------------------------------------------- failure paths


def test_checksum_mismatch_moves_the_download_aside(served):
    with loopback_http_server(served) as (base, _):
        url = f"{base}/data.bin"
        with pytest.raises(ChecksumMismatchError) as info:
            store.fetch(asset(url, sha=WRONG_SHA), progress=False)
    message = str(info.value)
    assert url in message and WRONG_SHA in message and SHA in message and "moved aside" in message
    aside = f"data.bin.corrupt-{SHA[:12]}"
    assert cached_files() == [aside, f"{aside}.meta.json"]
    assert not (store.cache_path(asset(url, sha=WRONG_SHA))).exists()


def test_truncated_download_leaves_no_complete_looking_file(served):
    with loopback_http_server(served, truncate=True) as (base, _):
        url = f"{base}/data.bin"
        with pytest.raises(AssetError, match=r"truncated|incomplete") as info:
            store.fetch(asset(url, size=len(DATA)), progress=False)
    assert url in str(info.value)
    assert cached_files() == []  # no temp file, no final file


def test_size_mismatch_is_reported_before_the_hash(served):
    with loopback_http_server(served) as (base, _):
        with pytest.raises(AssetError, match=rf"got {len(DATA)} bytes, expected 10") as info:
            store.fetch(asset(f"{base}/data.bin", size=10), progress=False)
    assert not isinstance(info.value, ChecksumMismatchError) and cached_files() == []


@pytest.mark.parametrize("status", [404, 500])
def test_server_errors_name_url_and_status(served, status):
    with loopback_http_server(served, fail_with=status) as (base, hits):
        url = f"{base}/data.bin"
        with pytest.raises(AssetError, match=f"HTTP {status}") as info:
            store.fetch(asset(url), progress=False)
    assert url in str(info.value) and hits.count >= 1 and cached_files() == []


def test_connection_refused_names_the_cause():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.bin"
    with pytest.raises(AssetError, match="connection failed") as info:
        store.fetch(asset(url), progress=False)
    assert url in str(info.value) and cached_files() == []


def test_offline_never_touches_the_network(served, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with loopback_http_server(served) as (base, hits):
        spec = asset(f"{base}/data.bin")
        with pytest.raises(OfflineError) as info:
            store.fetch(spec, dataset="Demo.set")
        message = str(info.value)
        assert "'data'" in message and str(store.cache_path(spec)) in message
        assert "neuroalign fetch Demo.set" in message and "copy the file" in message
        monkeypatch.delenv("NEUROALIGN_OFFLINE")
        store.fetch(spec, progress=False)
        monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
        assert store.fetch(spec).read_bytes() == DATA  # cached copies are fine offline
    assert hits.count == 1  # only the one online fetch reached the server


def test_two_processes_share_one_download(served):
    ctx = multiprocessing.get_context("spawn")
    with loopback_http_server(served, delay=0.5) as (base, hits):
        spec = asset(f"{base}/data.bin", size=len(DATA))
        spec_json = spec.model_dump_json()
        barrier, results = ctx.Barrier(2), ctx.Queue()
        workers = [ctx.Process(target=fetch_worker, args=(spec_json, barrier, results))
                   for _ in range(2)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert {o[1] for o in outcomes} == {str(store.cache_path(spec))}
    assert {o[2] for o in outcomes} == {SHA}
    assert hits.count == 1


# ------------------------------------------------------------------------------------ stores


def _write_store(directory: Path, assets: list[dict]) -> None:
    index = {"format": INDEX_FORMAT, "datasets": [
        {"id": "Demo.set", "version": 1, "distribution": "neuroalign-demo", "assets": assets}]}
    (directory / "index.json").write_text(json.dumps(index))


def test_store_overrides_dataset_assets_with_relative_urls(served, monkeypatch):
    _write_store(served, [{"name": "data", "url": "data.bin", "sha256": SHA, "format": "other"}])
    spec = DatasetSpec(id="Demo.set", factory="demo.module:build",
                       assets=(asset("https://unreachable.example/data.bin"),))
    assert store.assets_for(spec) == {"data": spec.assets[0]}  # no store: the spec's own
    monkeypatch.setenv("NEUROALIGN_STORE", str(served))
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")  # a local store needs no network
    resolved = store.assets_for(spec)
    assert resolved["data"].url == f"{served}/data.bin"
    assert store.fetch_dataset(spec) == {"data": served / "data.bin"}
    other = DatasetSpec(id="Demo.set", version=2, factory="demo.module:build")
    with pytest.raises(AssetError, match=r"at version\(s\) \[1\], but the installed plugin has "
                       r"version 2"):  # never a silent fall back to the dataset's own source
        store.assets_for(other)


def test_store_missing_asset_or_index_is_a_clear_error(served, tmp_path, monkeypatch):
    _write_store(served, [{"name": "other", "url": "data.bin", "sha256": SHA, "format": "other"}])
    spec = DatasetSpec(id="Demo.set", factory="demo.module:build",
                       assets=(asset("https://unreachable.example/data.bin"),))
    monkeypatch.setenv("NEUROALIGN_STORE", f"file://{served}")
    with pytest.raises(AssetError, match=r"without the asset\(s\) \['data'\] .*\(the store has \['other"):
        store.assets_for(spec)
    monkeypatch.setenv("NEUROALIGN_STORE", str(tmp_path / "nowhere"))
    with pytest.raises(AssetError, match=r"NEUROALIGN_STORE=.*nowhere.*no registry index"):
        store.assets_for(spec)


def test_remote_store_index_is_kept_for_offline_use(served, monkeypatch):
    _write_store(served, [{"name": "data", "url": "data.bin", "sha256": SHA, "format": "other"}])
    spec = DatasetSpec(id="Demo.set", factory="demo.module:build",
                       assets=(asset("https://unreachable.example/data.bin"),))
    with loopback_http_server(served) as (base, hits):
        monkeypatch.setenv("NEUROALIGN_STORE", base)
        assert store.fetch_dataset(spec, progress=False)["data"].read_bytes() == DATA
        assert ("GET", "/index.json") in hits.requests and ("GET", "/data.bin") in hits.requests
        before = hits.count
        store._STORE_MEMO.clear()
        monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
        assert store.assets_for(spec)["data"].url == f"{base}/data.bin"
        assert store.fetch_dataset(spec)["data"].read_bytes() == DATA
        assert hits.count == before  # offline: the cached index and asset, no requests
    assert [e.key for e in store.cache_entries("stores")] == [base]


def test_storage_options_and_config_errors(monkeypatch):
    monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    assert store.storage_options("s3") == {"anon": True, "endpoint_url": "http://127.0.0.1:9"}
    assert store.storage_options("gs") == {"token": "anon"}
    config = store.home() / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"storage_options": {"s3": {"anon": False, "profile": "lab"},
                                                      "gcs": {"project": "p"}}}))
    assert store.storage_options("s3") == {"anon": False, "profile": "lab",
                                           "endpoint_url": "http://127.0.0.1:9"}
    assert store.storage_options("gs") == {"token": "anon", "project": "p"}
    config.write_text("{not json")
    with pytest.raises(AssetError, match=r"cannot read config file .*config.json.*fix or delete"):
        store.resolve_url("https://a.org/x.nc")


# ------------------------------------------------------------------------- cache utilities


def test_cache_ls_and_clear(served):
    with loopback_http_server(served) as (base, _):
        path = store.fetch(asset(f"{base}/data.bin", name="alpha"), progress=False)
    activation = store.cache_dir("activations") / "model" / "acts.nc"
    activation.parent.mkdir(parents=True)
    with store.atomic_path(activation) as tmp:
        tmp.write_bytes(b"1234")
    store.write_meta(activation, kind="activations", key="timm:resnet50/abc", description="acts")
    entries = store.cache_entries()
    assert [(e.kind, e.path, e.size) for e in entries] == [
        ("activations", activation, 4), ("assets", path, len(DATA))]
    assert [e.description for e in store.cache_entries("assets")] == ["alpha (other)"]
    assert store.clear_cache(pattern="nothing*") == []
    removed = store.clear_cache("activations", pattern="TIMM:*")  # case-insensitive
    assert [e.path for e in removed] == [activation]
    assert not activation.exists() and not activation.parent.exists()
    assert [e.path for e in store.clear_cache()] == [path]
    assert store.cache_entries() == [] and not path.exists()


def test_atomic_path_removes_temp_on_failure_and_file_lock(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with store.atomic_path(dest) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with store.file_lock(dest):
        assert (tmp_path / "out.txt.lock").exists()
        with pytest.raises(AssetError, match=r"timed out after 0.1 s waiting for the lock"):
            with store.file_lock(dest, timeout=0.1):
                pass


def test_open_netcdf_with_explicit_engine_closes_file(tmp_path):
    import numpy as np
    import xarray as xr

    path = tmp_path / "x.nc"
    xr.Dataset({"v": ("n", np.arange(3.0))}).to_netcdf(path, engine="netcdf4")
    for engine in ("netcdf4", "h5netcdf"):
        loaded = store.open_netcdf(path, engine=engine)
        assert loaded["v"].values.tolist() == [0.0, 1.0, 2.0]
    os.remove(path)  # nothing holds the file open
    with pytest.raises(AssetError, match=r"unknown netCDF engine 'scipy'; use one of"):
        store.open_netcdf(path, engine="scipy")
