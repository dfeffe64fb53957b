"""The real loader against a moto S3 server on 127.0.0.1 holding Brain-Score's layout.

Bucket ``brainscore-storage``, folder ``brainio-brainscore/``, the real object keys; the public
stimulus set is written before versioning is enabled, so its version id is ``"null"`` as in
Brain-Score's bucket. Only the sha1s and the assembly's version id are the fake's own.
"""

from __future__ import annotations

import hashlib

import pytest

from neuroalign.errors import ChecksumMismatchError
from neuroalign.testing.servers import moto_s3_server
from neuroalign_freemanziemba2013.data import (BRAINSCORE_FILES, BUCKET,
                                               FreemanZiemba2013Dataset, dataset_specs)
from neuroalign_majaj2015.data import brainscore_assets

pytestmark = pytest.mark.network  # loopback only


def _sha1(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_bucket(tiny_brainio, monkeypatch, neuroalign_home):
    files = tiny_brainio(access="public", repetitions=4)
    with moto_s3_server() as s3:
        client = s3.client()
        client.create_bucket(Bucket=BUCKET, ACL="public-read")
        sources = {}
        entries = BRAINSCORE_FILES["public"]
        for name in ("stimuli_csv", "stimuli_zip"):  # before versioning: version "null"
            client.put_object(Bucket=BUCKET, Key=entries[name]["key"],
                              Body=files[name].read_bytes(), ACL="public-read")
            sources[name] = {**entries[name], "sha1": _sha1(files[name])}
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        version = client.put_object(Bucket=BUCKET, Key=entries["assembly"]["key"],
                                    Body=files["assembly"].read_bytes(),
                                    ACL="public-read")["VersionId"]
        client.put_object(Bucket=BUCKET, Key=entries["assembly"]["key"], Body=b"newer bytes")
        sources["assembly"] = {**entries["assembly"], "sha1": _sha1(files["assembly"]),
                               "version_id": version}
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        spec = next(s for s in dataset_specs() if s.id == "FreemanZiemba2013.public")
        spec = spec.model_copy(update={"assets": brainscore_assets(sources, bucket=BUCKET)})
        yield spec, files


def test_loads_brainscores_objects_from_s3(fake_bucket):
    spec, files = fake_bucket
    dataset = FreemanZiemba2013Dataset(spec)
    data = dataset.load()
    assert data.dims == ("presentation", "neuroid") and data.shape == (24, 5)
    assert sorted(set(data["region"].values)) == ["V1", "V2"]
    assert {"texture_type", "texture_family", "sample", "repetition"} <= set(data.coords)
    stimuli = dataset.stimuli()
    assert len(stimuli) == 6 and stimuli.degrees == 4.0
    assert set(stimuli.metadata["texture_type"]) == {"noise", "texture"}
    expected = hashlib.sha256(files["assembly"].read_bytes()).hexdigest()
    assert dataset.sha256["FreemanZiemba2013.public/assembly"] == expected


def test_a_sha1_mismatch_is_refused(fake_bucket):
    spec, _ = fake_bucket
    assets = [a.model_copy(update={"sha1": "0" * 40}) if a.name == "assembly" else a
              for a in spec.assets]
    with pytest.raises(ChecksumMismatchError, match="expected sha1 0{40}"):
        FreemanZiemba2013Dataset(spec.model_copy(update={"assets": tuple(assets)})).load()


def test_registered_sources_are_brainscores():
    specs = {s.id: s for s in dataset_specs()}
    private = specs["FreemanZiemba2013.private"]
    assert private.asset("assembly").url == (
        "s3://brainscore-storage/brainio-brainscore/assy_movshon_FreemanZiemba2013_private.nc")
    assert private.asset("assembly").sha1 == "63f636fa2e2b51b47a676768a69b06ce95efdd8f"
    assert private.asset("stimuli_csv").sha1 == "65bee31483dd743ae2a19c6af03b9abe5f4d5a41"
    assert private.asset("stimuli_zip").sha1 == "daa724a4797b23929df59c18744923790edf71cb"
    public = specs["FreemanZiemba2013.public"]
    assert public.asset("assembly").sha1 == "761c08f796db4e342555cdb60eef23a4f19ead43"
    assert public.asset("stimuli_csv").url.endswith(
        "brainio-brainscore/stimulus_FreemanZiemba2013_aperture-public.csv")
    assert public.asset("stimuli_csv").sha1 == "194c9b301a4e3e9cff02481d4c19b39331d52660"
    assert public.asset("stimuli_zip").sha1 == "3a6fec1fc28c212882d6833e267ea8654d289611"
    assert public.asset("stimuli_zip").version_id == "null"
    assert all(asset.sha256 is None for spec in specs.values() for asset in spec.assets)
