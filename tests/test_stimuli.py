"""StimulusSet: construction, validation messages, netCDF round trip, content hash."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from neuroalign.stimuli import StimulusError, StimulusSet


def make_set(n: int = 6, size: int = 8, channels: int = 3, seed: int = 0, **kw) -> StimulusSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)
    meta = {"object_name": [f"obj{i % 3}" for i in range(n)], "variation": np.arange(n) % 2}
    meta.update(kw)
    return StimulusSet.from_arrays("Test.stimuli", [f"s{i}" for i in range(n)], images, 8.0, **meta)


def test_from_arrays_exposes_ids_images_degrees_and_metadata():
    stimuli = make_set()
    assert len(stimuli) == 6
    assert stimuli.ids == [f"s{i}" for i in range(6)]
    assert stimuli.identifier == "Test.stimuli"
    assert stimuli.degrees == 8.0
    assert stimuli.image_shape == (8, 8, 3)
    assert stimuli.images().shape == (6, 8, 8, 3) and stimuli.images().dtype == np.uint8
    assert stimuli.images([4, 1]).tolist() == stimuli.images()[[4, 1]].tolist()
    meta = stimuli.metadata
    assert list(meta.columns) == ["stimulus_id", "object_name", "variation"]
    assert meta["object_name"].tolist() == ["obj0", "obj1", "obj2"] * 2
    # stimulus_id is indexed: select by id
    assert stimuli.dataset.sel(stimulus_id="s3")["variation"].item() == 1


def test_gray_images_are_kept_with_one_channel():
    stimuli = make_set(channels=1)
    assert stimuli.image_shape == (8, 8, 1)


def test_netcdf_round_trip_is_lossless_and_lazy(tmp_path):
    stimuli = make_set()
    path = stimuli.to_netcdf(tmp_path / "sub" / "set.nc")
    assert sorted(p.name for p in path.parent.iterdir()) == ["set.nc"]  # no temp files left
    opened = StimulusSet.open(path)
    assert opened.identifier == "Test.stimuli" and opened.degrees == 8.0
    assert opened.ids == stimuli.ids
    np.testing.assert_array_equal(opened.images(), stimuli.images())
    np.testing.assert_array_equal(opened.images(slice(2, 4)), stimuli.images()[2:4])
    assert opened.metadata.equals(stimuli.metadata)
    assert opened.sha256 == stimuli.sha256


def test_open_missing_file_names_the_path(tmp_path):
    with pytest.raises(StimulusError, match="no stimulus set at .*missing.nc"):
        StimulusSet.open(tmp_path / "missing.nc")


def test_sha256_is_content_hash():
    base = make_set()
    assert base.sha256 == make_set().sha256
    assert len(base.sha256) == 64
    renamed = StimulusSet.from_arrays("Other.name", base.ids, base.images(), 8.0,
                                      **base.metadata.drop(columns="stimulus_id"))
    assert renamed.sha256 == base.sha256  # the identifier is a name, not content
    images = base.images().copy()
    images[3, 0, 0, 0] ^= 1
    meta = base.metadata.drop(columns="stimulus_id")
    changed = {
        "pixel": StimulusSet.from_arrays("Test.stimuli", base.ids, images, 8.0, **meta),
        "degrees": StimulusSet.from_arrays("Test.stimuli", base.ids, base.images(), 10.0, **meta),
        "ids": StimulusSet.from_arrays("Test.stimuli", [f"t{i}" for i in range(6)],
                                       base.images(), 8.0, **meta),
        "metadata": make_set(variation=np.arange(6) % 3),
    }
    hashes = {name: s.sha256 for name, s in changed.items()}
    assert base.sha256 not in hashes.values()
    assert len(set(hashes.values())) == len(hashes)


def test_subset_keeps_order_and_content():
    stimuli = make_set()
    sub = stimuli.subset(["s4", "s1"])
    assert sub.ids == ["s4", "s1"]
    np.testing.assert_array_equal(sub.images(), stimuli.images()[[4, 1]])
    assert sub.metadata["variation"].tolist() == [0, 1]
    with pytest.raises(StimulusError, match=r"\['nope'\].*not in stimulus set 'Test.stimuli'"):
        stimuli.subset(["s1", "nope"])


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 4, 4, 3), dtype=np.float32), r"dtype float32.*uint8.*\* 255\).round\(\)"),
        (np.zeros((2, 4, 4, 3), dtype=np.int64), r"dtype int64.*astype\(np.uint8\)"),
        (np.zeros((2, 4, 4), dtype=np.uint8), r"shape \(2, 4, 4\).*images\[\.\.\., None\]"),
        (np.zeros((2, 4, 4, 4), dtype=np.uint8), r"shape \(2, 4, 4, 4\).*\[\.\.\., :3\]"),
        (np.zeros((2, 3, 4, 4), dtype=np.uint8), r"transpose\(0, 2, 3, 1\)"),
        (np.zeros((3, 4, 4, 3), dtype=np.uint8), r"3 images but 2 stimulus ids"),
    ],
)
def test_bad_images_give_actionable_errors(images, message):
    with pytest.raises(StimulusError, match=message):
        StimulusSet.from_arrays("x", ["a", "b"], images, 8.0)


def test_images_of_different_sizes_name_the_odd_stimulus():
    images = [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8),
              np.zeros((5, 4, 3), np.uint8)]
    with pytest.raises(StimulusError, match=r"'a' is \(4, 4, 3\).*\['c'\].*resize"):
        StimulusSet.from_arrays("x", ["a", "b", "c"], images, 8.0)


def test_duplicate_ids_are_named():
    images = np.zeros((4, 2, 2, 3), dtype=np.uint8)
    with pytest.raises(StimulusError, match=r"duplicate stimulus ids: 'b' x2.*unique id"):
        StimulusSet.from_arrays("x", ["a", "b", "b", "c"], images, 8.0)


@pytest.mark.parametrize("degrees", [0, -1, float("nan"), "wide"])
def test_bad_degrees(degrees):
    with pytest.raises(StimulusError, match="not a positive number"):
        StimulusSet.from_arrays("x", ["a"], np.zeros((1, 2, 2, 3), np.uint8), degrees)


def test_metadata_column_of_wrong_length():
    with pytest.raises(StimulusError, match=r"'object_name' has shape \(1,\).*\(2\)"):
        StimulusSet.from_arrays("x", ["a", "b"], np.zeros((2, 2, 2, 3), np.uint8), 8.0,
                                object_name=["one"])


def test_stimuli_module_does_not_import_torch():
    code = ("import sys, neuroalign, neuroalign.stimuli, neuroalign.extraction.extract, "
            "neuroalign.extraction.torch_model, neuroalign.extraction.reduction; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
