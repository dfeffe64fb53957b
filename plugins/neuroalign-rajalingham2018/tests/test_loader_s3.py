"""The real loader against a moto S3 server on 127.0.0.1 holding Brain-Score's bucket layout.

The fake bucket is ``brainscore-storage`` with the real keys under ``brainio-brainscore/``
(``assy_dicarlo_Rajalingham2018_private.nc``, ``stimulus_objectome_private.csv``/``.zip``),
uploaded before versioning was switched on, so they are S3's ``"null"`` version that
Brain-Score pins; a later upload under the same key must not be read. The files are tiny but in
the real formats; only the sha1s are the fake's.
"""

from __future__ import annotations

import hashlib

import pytest

from neuroalign.errors import ChecksumMismatchError, OfflineError
from neuroalign.testing.servers import moto_s3_server
from neuroalign_rajalingham2018.data import (BRAINSCORE_FILES, BUCKET, FOLDER,
                                             Rajalingham2018Dataset, brainscore_assets,
                                             dataset_specs)

pytestmark = pytest.mark.network  # loopback only


@pytest.fixture
def fake_bucket(tiny_brainio, monkeypatch, neuroalign_home):
    files = tiny_brainio(access="private")
    with moto_s3_server() as s3:
        client = s3.client()
        client.create_bucket(Bucket=BUCKET, ACL="public-read")
        sources = {}
        for name, entry in BRAINSCORE_FILES["private"].items():
            client.put_object(Bucket=BUCKET, Key=f"{FOLDER}/{entry['key']}",
                              Body=files[name].read_bytes(), ACL="public-read")
            sources[name] = {**entry, "sha1": hashlib.sha1(files[name].read_bytes()).hexdigest()}
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for entry in BRAINSCORE_FILES["private"].values():
            client.put_object(Bucket=BUCKET, Key=f"{FOLDER}/{entry['key']}",
                              Body=b"newer, different bytes", ACL="public-read")
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        spec = next(s for s in dataset_specs() if s.id == "Rajalingham2018.private")
        yield spec.model_copy(update={"assets": brainscore_assets(sources)}), files


def test_loads_brainscores_files_from_s3_as_trials(fake_bucket):
    spec, files = fake_bucket
    dataset = Rajalingham2018Dataset(spec)
    trials = dataset.load()
    assert trials.dims == ("presentation",) and trials.sizes["presentation"] == 8 * 3 * 2
    assert {"stimulus_id", "truth", "sample_obj", "dist_obj", "choice"} <= set(trials.coords)
    chosen = trials.values.astype(str)
    assert ((chosen == trials["sample_obj"].values) | (chosen == trials["dist_obj"].values)).all()
    stimuli = dataset.stimuli()
    assert len(stimuli) == 8 and set(stimuli.metadata["image_label"]) == {
        "zebra", "calc01", "breed_pug", "MB30758"}
    assert set(trials["stimulus_id"].values) == set(stimuli.ids)
    sha256 = hashlib.sha256(files["assembly"].read_bytes()).hexdigest()
    assert dataset.sha256["Rajalingham2018.private/assembly"] == sha256


def test_the_metric_accepts_the_loaded_trials(fake_bucket):
    from neuroalign_behavior import encode_trials

    encoded = encode_trials(Rajalingham2018Dataset(fake_bucket[0]).load())
    assert len(encoded) == 48 and len(encoded.stimulus_ids) == 8 and len(encoded.objects) == 4
    assert (encoded.image_truth >= 0).all()


def test_offline_names_the_object_and_the_fix(fake_bucket, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="s3://brainscore-storage/brainio-brainscore/assy_"
                                           "dicarlo_Rajalingham2018_private.nc"):
        Rajalingham2018Dataset(fake_bucket[0]).load()


def test_a_sha1_mismatch_is_refused(fake_bucket):
    spec, _ = fake_bucket
    assets = tuple(a.model_copy(update={"sha1": "0" * 40}) if a.name == "assembly" else a
                   for a in spec.assets)
    with pytest.raises(ChecksumMismatchError, match="expected sha1 0{40}"):
        Rajalingham2018Dataset(spec.model_copy(update={"assets": assets})).load()


def test_registered_sources_are_brainscores():
    specs = {s.id: s for s in dataset_specs()}
    private = specs["Rajalingham2018.private"]
    assert private.asset("assembly").model_dump() == {
        "name": "assembly", "sha256": None, "size": None, "format": "netcdf",
        "url": "s3://brainscore-storage/brainio-brainscore/assy_dicarlo_Rajalingham2018_private.nc",
        "sha1": "516f13793d1c5b72bb445bb4008448ce97a02d23", "version_id": "null"}
    public = specs["Rajalingham2018.public"]
    assert public.asset("assembly").sha1 == "34c6a8b6f7c523589c1861e4123232e5f7c7df4c"
    assert public.asset("stimuli_csv").url.endswith("/stimulus_objectome_public.csv")
    assert public.asset("stimuli_csv").sha1 == "47884e17106a3be471d6481279cab33889b80850"
    assert public.asset("stimuli_zip").sha1 == "064f2955f98e63867755fee2e3ead8cddf6bfab8"
    assert private.asset("stimuli_csv").sha1 == "ac38e8f7c08fa8294ed25a3bf84a6adb108bf3fc"
    assert private.asset("stimuli_zip").sha1 == "ccd39f7f9b8b4a92da06e3960d06225e46208593"
