"""The real loader against a moto S3 server on 127.0.0.1 holding Brain-Score's bucket layout.

The fake bucket is ``brainio-brainscore`` with the real object keys
(``assy_dicarlo_MajajHong2015_public.nc``, ``image_dicarlo_hvm-public.csv``/``.zip``), versioned
like the real one; the files are tiny but in the real formats. Only the sha1s and version ids
differ from the registered ones (the fake's own), so the code path is the production one.
"""

from __future__ import annotations

import hashlib

import pytest

from neuroalign.errors import ChecksumMismatchError, OfflineError
from neuroalign.testing.servers import moto_s3_server
from neuroalign_majaj2015.data import BUCKET, BRAINSCORE_FILES, MajajHong2015Dataset, dataset_specs

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
        yield spec.with_parameters({"brainscore": sources}), files


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


def test_second_load_is_served_from_the_cache_offline(fake_bucket, monkeypatch):
    spec, _ = fake_bucket
    MajajHong2015Dataset(spec).files()
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    again = MajajHong2015Dataset(spec)
    assert again.load().shape == (24, 5)


def test_offline_without_cache_names_the_object_and_the_fix(fake_bucket, monkeypatch):
    spec, _ = fake_bucket
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError,
                       match="assy_dicarlo_MajajHong2015_public.nc.*NEUROALIGN_STORE"):
        MajajHong2015Dataset(spec).load()


def test_a_sha1_mismatch_is_refused(fake_bucket):
    spec, _ = fake_bucket
    sources = {name: dict(entry) for name, entry in spec.parameters["brainscore"].items()}
    sources["assembly"]["sha1"] = "0" * 40
    with pytest.raises(ChecksumMismatchError, match="Brain-Score publishes sha1 0000"):
        MajajHong2015Dataset(spec.with_parameters({"brainscore": sources})).load()


def test_registered_sources_are_brainscores():
    spec = next(s for s in dataset_specs() if s.id == "MajajHong2015.private")
    sources = spec.parameters["brainscore"]
    assert spec.parameters["bucket"] == "brainio-brainscore"
    assert sources["assembly"] == {"key": "assy_dicarlo_MajajHong2015_private.nc",
                                   "format": "netcdf",
                                   "sha1": "7a40d16148d6f82939155f0bd976d310857fb156",
                                   "version_id": "te22BOyPgmV_MOnV5l0J3EqjqTIkX3s4"}
    assert sources["stimuli_zip"]["sha1"] == "d7b1ca1876dad87e15b0242b4c82c0203ff3cbd3"
    # no sha256 is claimed for Brain-Score's files: the declared assets carry none
    assert all(asset.sha256 is None for asset in spec.assets)
