"""`neuroalign nsd prepare` on a tiny raw NSD tree served by a moto S3 fake (127.0.0.1 only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuroalign.testing.servers import moto_s3_server
from neuroalign_nsd import pipeline as prepare_module
from neuroalign_nsd.cli import nsd
from neuroalign_nsd.outputs import read_assembly, read_stimulus_set
from neuroalign_nsd.source import Source

ROI_NAMES = {"FFA": ("faces", ("FFA-1", "FFA-2")), "EBA": ("bodies", ("EBA",)),
             "PPA": ("places", ("PPA",)), "VWFA": ("words", ("VWFA-1", "VWFA-2"))}


SESSIONS = (4, 4, 3, 3, 4, 3, 4, 3)  # the tiny tree's (conftest.py)
TRIALS = 6


def expected_shared(tree) -> list[int]:
    """Shared images (0-based 73k ids) seen 3 times by all subjects, by plain loops."""
    out = []
    for image in tree.sharedix:
        ok = True
        for s in range(8):
            n = SESSIONS[s] * TRIALS
            shown = [tree.subjectim[s, tree.masterordering[t] - 1] for t in range(n)]
            ok &= shown.count(image) == 3
        if ok:
            out.append(int(image) - 1)
    return sorted(out)


def expected_subject(tree, subject: int, threshold: float = 7.0):
    """Neuroids, presentations and values of one subject, computed independently."""
    neuroids, columns = [], []
    for roi, (category, wanted) in ROI_NAMES.items():
        indices = [k for k, name in tree.ctabs[category].items() if name in wanted]
        labels, tval = tree.labels[subject][category], tree.tvals[subject][category]
        for x in range(labels.shape[0]):
            for y in range(labels.shape[1]):
                for z in range(labels.shape[2]):
                    if labels[x, y, z] in indices and tval[x, y, z] > threshold:
                        neuroids.append(f"subj{subject:02d}-{roi}-{x}-{y}-{z}")
                        columns.append((x, y, z, np.float32(tval[x, y, z])))
    shared = set(expected_shared(tree))
    rows, ids, reps, sessions = [], [], [], []
    seen: dict[int, int] = {}
    for session in range(1, SESSIONS[subject - 1] + 1):
        bold = tree.betas[subject, session].astype(np.float64) / 300.0  # (T, X, Y, Z)
        z = (bold - bold.mean(axis=0)) / bold.std(axis=0)
        for trial in range(TRIALS):
            t = (session - 1) * TRIALS + trial
            image = tree.subjectim[subject - 1, tree.masterordering[t] - 1] - 1
            if image in shared:
                rows.append([z[trial, x, y, zz] for x, y, zz, _ in columns])
                ids.append(f"nsd-{image:05d}")
                reps.append(seen.get(image, 0))
                seen[image] = seen.get(image, 0) + 1
                sessions.append(session)
    return neuroids, columns, np.array(rows), ids, reps, sessions


@pytest.fixture
def s3_tree(tiny_tree, monkeypatch):
    with moto_s3_server() as s3:
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)
        url = s3.public_bucket("natural-scenes-dataset", tiny_tree.files())
        yield tiny_tree, url


def run(url, out, **options):
    return prepare_module.prepare(url, out, sessions=SESSIONS, trials_per_session=TRIALS,
                                  **options)


def test_prepare_from_s3_matches_an_independent_computation(s3_tree, tmp_path, neuroalign_home):
    tree, url = s3_tree
    assert (tree.sessions, tree.trials) == (SESSIONS, TRIALS)
    shared = expected_shared(tree)
    assert len(shared) >= 2  # the tiny design keeps some shared images and drops others
    assert len(shared) < len(tree.sharedix)
    written = run(url, tmp_path / "store", subjects="1,3")
    assert sorted(written) == ["NSD.shared515", "NSD.subj01", "NSD.subj03"]
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    assert sorted(d["id"] for d in index["datasets"]) == sorted(written)
    for subject in (1, 3):
        neuroids, columns, values, ids, reps, sessions = expected_subject(tree, subject)
        assembly = read_assembly(written[f"NSD.subj{subject:02d}"]["assembly"])
        assert assembly.dims == ("presentation", "neuroid")
        assert list(assembly["neuroid_id"].values) == neuroids
        assert list(assembly["voxel_x"].values) == [c[0] for c in columns]
        assert list(assembly["voxel_z"].values) == [c[2] for c in columns]
        np.testing.assert_array_equal(assembly["tval"].values, [c[3] for c in columns])
        assert set(assembly["subject"].values) == {f"subj{subject:02d}"}
        assert list(assembly["stimulus_id"].values) == ids
        assert list(assembly["repetition"].values) == reps
        assert list(assembly["session"].values) == sessions
        assert assembly.sizes["presentation"] == 3 * len(shared)
        assert assembly.dtype == np.float32
        np.testing.assert_allclose(assembly.values, values, rtol=1e-5, atol=1e-5)
    stimuli = read_stimulus_set(*written["NSD.shared515"].values())
    assert stimuli.ids == [f"nsd-{i:05d}" for i in shared]
    np.testing.assert_array_equal(stimuli.images(), tree.images[shared])


def test_threshold_is_a_parameter(s3_tree, tmp_path, neuroalign_home):
    tree, url = s3_tree
    written = run(url, tmp_path / "store", subjects=[2], threshold=3.0)
    assembly = read_assembly(written["NSD.subj02"]["assembly"])
    assert list(assembly["neuroid_id"].values) == expected_subject(tree, 2, 3.0)[0]
    assert (assembly["tval"].values > 3.0).all() and (assembly["tval"].values <= 7).any()


def test_cli_prepares_and_a_killed_run_resumes(s3_tree, tmp_path, monkeypatch, neuroalign_home):
    tree, url = s3_tree
    out = tmp_path / "store"
    downloads, on_disk = [], []
    original = Source.download

    def counting(self, key, dest, progress=None):
        on_disk.append(len(list(dest.parent.glob("*.hdf5"))) if dest.parent.exists() else 0)
        downloads.append(key)
        return original(self, key, dest, progress)

    monkeypatch.setattr(Source, "download", counting)
    calls = {"n": 0}
    real_rows = prepare_module._session_rows

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real_rows(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "_session_rows", dying)
    runner = CliRunner()
    arguments = ["prepare", "--source", url, "--out", str(out), "--subjects", "1",
                 "--sessions", " ".join(map(str, SESSIONS)), "--trials-per-session", str(TRIALS)]
    result = runner.invoke(nsd, arguments)
    assert result.exit_code != 0
    assert not (out / "NSD.subj01").exists()  # never a half-written output
    assert not [p for p in out.rglob(".*tmp-*")]
    assert max(on_disk) <= 1  # the one being processed + the one being fetched
    first = list(downloads)
    monkeypatch.setattr(prepare_module, "_session_rows", real_rows)
    result = runner.invoke(nsd, arguments)
    assert result.exit_code == 0, result.output
    assert "Data Access Agreement" in result.output
    resumed = downloads[len(first):]
    neuroids, _, values, ids, _, sessions = expected_subject(tree, 1)
    assert len(set(sessions)) >= 3
    assert len(resumed) == len(set(sessions)) - 2  # two sessions were saved before the kill
    assembly = read_assembly(out / "NSD.subj01" / "v1" / "NSD.subj01.nc")
    np.testing.assert_allclose(assembly.values, values, rtol=1e-5, atol=1e-5)
    assert not (out / ".nsd-prepare" / "downloads").exists()
    # a third run has nothing left to do
    count = len(downloads)
    result = runner.invoke(nsd, arguments)
    assert result.exit_code == 0 and len(downloads) == count and "done before" in result.output


def test_help_names_the_agreement():
    result = CliRunner().invoke(nsd, ["prepare", "--help"])
    assert result.exit_code == 0 and "Data Access Agreement" in result.output


def test_offline_refuses_the_bucket(tmp_path, monkeypatch, neuroalign_home):
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    result = CliRunner().invoke(nsd, ["prepare", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "NEUROALIGN_OFFLINE=1" in result.output


def test_missing_file_is_named(tmp_path, neuroalign_home):
    result = CliRunner().invoke(nsd, ["prepare", "--source", str(tmp_path), "--out",
                                      str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "nsd_expdesign.mat" in result.output and "not found" in result.output


class CountingFile:
    """A read-only file wrapper that counts the bytes handed out."""

    def __init__(self, handle):
        self.handle, self.bytes = handle, 0

    def read(self, size=-1):
        data = self.handle.read(size)
        self.bytes += len(data)
        return data

    def readinto(self, buffer):
        n = self.handle.readinto(buffer)
        self.bytes += n
        return n

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_only_the_asked_images_are_read(tmp_path):
    from neuroalign_nsd.raw import read_images
    from neuroalign_nsd.rawwrite import write_stimuli

    images = np.random.default_rng(0).integers(0, 256, (300, 32, 32, 3), dtype=np.uint8)
    path = write_stimuli(tmp_path, images)
    with open(path, "rb") as raw:
        counted = CountingFile(raw)
        got = read_images(counted, [250, 7, 120])
    np.testing.assert_array_equal(got, images[[250, 7, 120]])
    assert counted.bytes < 0.05 * path.stat().st_size  # 3 of 300 images, plus metadata
