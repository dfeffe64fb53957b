"""The real loader against a moto S3 server on 127.0.0.1 holding Brain-Score's bucket layout.

The fake bucket is ``brainio-brainscore`` with the real object keys
(``assy_dicarlo_MajajHong2015_public.nc``, ``image_dicarlo_hvm-public.csv``/``.zip``), versioned
like the real one; the files are tiny but in the real formats. Only the sha1s and version ids
differ from the registered ones (the fake's own), so the code path is the production one: the
declared ``s3://brainio-brainscore/<key>`` assets fetched by the core store.
"""

from __future__ import annotations

import hashlib

import pytest

from neuroalign import store
from neuroalign.errors import ChecksumMismatchError, OfflineError
from neuroalign.testing.servers import moto_s3_server
from neuroalign_majaj2015.data import (
    BRAINSCORE_FILES,
    BUCKET,
    MajajHong2015Dataset,
    brainscore_assets,
    dataset_specs,
)

pytestmark = pytest.mark.network  # loopback only


def _sha1(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_bucket(tiny_brainio, monkeypatch, neuroalign_home):
    """Brain-Score's bucket on moto: ``(spec, requests)`` with the fake's sha1s and versions."""
    files = tiny_brainio(access="public", repetitions=3)
    with moto_s3_server() as s3:
        client = s3.client()
        client.create_bucket(Bucket=BUCKET, ACL="public-read")
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sources = {}
        for name, entry in BRAINSCORE_FILES["public"].items():
            body = files[name].read_bytes()
            version = client.put_object(Bucket=BUCKET, Key=entry["key"], Body=body,
                                        ACL="public-read")["VersionId"]
            # a later upload under the same key: the pinned version must still be read
            client.put_object(Bucket=BUCKET, Key=entry["key"], Body=b"newer, different bytes",
                              ACL="public-read")
            sources[name] = {**entry, "sha1": _sha1(files[name]), "version_id": version}
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        spec = next(s for s in dataset_specs() if s.id == "MajajHong2015.public")
        yield with_sources(spec, sources), files


def with_sources(spec, sources):
    """``spec`` declaring the Brain-Score objects ``sources`` (asset name -> key/sha1/...)."""
    return spec.model_copy(update={"assets": brainscore_assets(sources)})


def test_loads_brainscore_files_from_s3_and_converts_them(fake_bucket):
    spec, files = fake_bucket
    dataset = MajajHong2015Dataset(spec)
    data = dataset.load()
    assert data.dims == ("presentation", "neuroid") and data.shape == (24, 5)
    assert {"stimulus_id", "object_name", "category_name", "variation", "repetition"} <= set(
        data.coords)
    assert sorted(set(data["region"].values)) == ["IT", "V4"]
    assert len(dataset.stimuli()) == 8
    # provenance: the sha256 of what was downloaded, computed on arrival
    expected = hashlib.sha256(files["assembly"].read_bytes()).hexdigest()
    assert dataset.sha256["MajajHong2015.public/assembly"] == expected
    # the core store's cache, keyed by Brain-Score's sha1, with both hashes and the version
    sha1 = spec.asset("assembly").sha1
    path = dataset.files()["assembly"]
    assert path == store.home() / "assets" / f"sha1-{sha1}" / "assy_dicarlo_MajajHong2015_public.nc"
    (entry,) = [e for e in store.cache_entries("assets") if e.path == path]
    assert entry.meta["sha256"] == expected and entry.meta["sha1"] == sha1
    assert entry.meta["version_id"] == spec.asset("assembly").version_id


def test_second_load_is_served_from_the_cache_offline(fake_bucket, monkeypatch):
    spec, _ = fake_bucket
    MajajHong2015Dataset(spec).files()
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    again = MajajHong2015Dataset(spec)
    assert again.load().shape == (24, 5)


def test_offline_without_cache_names_the_object_and_the_fix(fake_bucket, monkeypatch):
    spec, _ = fake_bucket
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="'assembly' \\(s3://brainio-brainscore/assy_dicarlo_"
                                           "MajajHong2015_public.nc\\).*neuroalign fetch "
                                           "MajajHong2015.public.*NEUROALIGN_STORE"):
        MajajHong2015Dataset(spec).load()


def test_a_sha1_mismatch_is_refused(fake_bucket):
    spec, _ = fake_bucket
    sources = {a.name: {"key": a.url.rsplit("/", 1)[-1], "format": a.format, "sha1": a.sha1,
                        "version_id": a.version_id} for a in spec.assets}
    sources["assembly"]["sha1"] = "0" * 40
    with pytest.raises(ChecksumMismatchError, match="expected sha1 0{40}, got [0-9a-f]{40}"):
        MajajHong2015Dataset(with_sources(spec, sources)).load()


def test_registered_sources_are_brainscores():
    spec = next(s for s in dataset_specs() if s.id == "MajajHong2015.private")
    assert spec.asset("assembly").model_dump() == {
        "name": "assembly", "url": "s3://brainio-brainscore/assy_dicarlo_MajajHong2015_private.nc",
        "sha256": None, "sha1": "7a40d16148d6f82939155f0bd976d310857fb156",
        "version_id": "te22BOyPgmV_MOnV5l0J3EqjqTIkX3s4", "size": None, "format": "netcdf"}
    assert spec.asset("stimuli_zip").sha1 == "d7b1ca1876dad87e15b0242b4c82c0203ff3cbd3"
    assert [a.url for a in spec.assets] == [f"s3://{BUCKET}/{entry['key']}"
                                            for entry in BRAINSCORE_FILES["private"].values()]
    # no sha256 is claimed for Brain-Score's files: the declared assets carry none
    assert all(asset.sha256 is None for asset in spec.assets)


def test_neuroalign_fetch_offline_is_the_normal_store_error(neuroalign_home, monkeypatch):
    from click.testing import CliRunner

    from neuroalign.app.cli import cli

    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    monkeypatch.delenv("NEUROALIGN_STORE", raising=False)
    result = CliRunner().invoke(cli, ["fetch", "MajajHong2015.public"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.split())
    assert text.startswith("error: asset 'assembly' (s3://brainio-brainscore/assy_dicarlo_")
    assert "not in the cache and NEUROALIGN_OFFLINE=1" in text
    assert "s3://brainio-brainscore/" in text and "neuroalign fetch MajajHong2015.public" in text
