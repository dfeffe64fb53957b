"""ClickMe shards through the core store: a loopback fake of the public bucket, CRC failures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import neuroalign
from neuroalign.errors import AssetError, OfflineError
from neuroalign.testing.servers import loopback_http_server
from neuroalign_clickme.data import build_release_store
from neuroalign_clickme.specs import GCS_BASE, SHARDS
from neuroalign_clickme.tfrecord import TFRecordError, serialize_example, write_records


def _jpeg(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture
def bucket(tmp_path):
    """The release layout ``val/val-{i}.tfrecords``: 2 records per shard, labels repeat."""
    rng = np.random.default_rng(0)
    root = tmp_path / "bucket"
    (root / "val").mkdir(parents=True)
    written = {}
    for shard in range(SHARDS["val"]):
        records = []
        for k in range(2):
            image = _jpeg(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")
            heat = _jpeg(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L")
            label = (shard * 2 + k) % 20  # 34 records, 20 classes: some labels twice
            records.append(serialize_example({"image": image, "heatmap": heat, "label": label}))
            written[f"val-{shard}/{k}"] = (image, heat, label)
        write_records(root / "val" / f"val-{shard}.tfrecords", records)
    return root, written


@pytest.fixture
def isolated(monkeypatch, tmp_path, neuroalign_plugin_manager):
    import neuroalign_clickme.plugin

    neuroalign_plugin_manager.register(neuroalign_clickme.plugin, name="clickme")
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    for name in ("NEUROALIGN_STORE", "NEUROALIGN_MIRROR", "NEUROALIGN_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_release_through_a_loopback_bucket(bucket, isolated, tmp_path):
    root, written = bucket
    with loopback_http_server(root) as (url, hits):
        isolated.setenv("NEUROALIGN_MIRROR", f"{GCS_BASE}/={url}/")
        store = build_release_store(tmp_path / "store", ["val"])
    assert hits.count >= SHARDS["val"]
    assert all(path.startswith("/val/val-") for _, path in hits.requests)
    isolated.setenv("NEUROALIGN_STORE", str(store))
    data = neuroalign.get_dataset("ClickMe.eval1000").load()
    # one image per class, first in shard order: 20 classes
    assert data.sizes["presentation"] == 20 and data.attrs["classes"] == 20
    assert data.attrs["records_read"] == 34 and data.attrs["synthetic"] == 0
    for i, sid in enumerate(data["stimulus_id"].values):
        image, heat, label = written[str(sid)]
        assert int(data["label"][i]) == label
        np.testing.assert_array_equal(data["image"].values[i], _decoded(image))
        np.testing.assert_array_equal(data["heatmap"].values[i], _decoded(heat))
    full = neuroalign.get_dataset("ClickMe.val").load()
    assert full.sizes["presentation"] == 34
    # every later read is verified by the store: a changed shard is refused
    shard = store / "val" / "val-3.tfrecords"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")
    with pytest.raises(Exception, match="checksum mismatch|sha256"):
        neuroalign.get_dataset("ClickMe.val").load()


def test_corrupted_crc_in_the_bucket_is_refused(bucket, isolated, tmp_path):
    root, _ = bucket
    shard = root / "val" / "val-5.tfrecords"
    raw = bytearray(shard.read_bytes())
    raw[40] ^= 0xFF  # inside record 0's data
    shard.write_bytes(bytes(raw))
    with loopback_http_server(root) as (url, _):
        isolated.setenv("NEUROALIGN_MIRROR", f"{GCS_BASE}/={url}/")
        with pytest.raises(TFRecordError, match="val-5.*record 0 at byte 0: data CRC mismatch"):
            build_release_store(tmp_path / "store", ["val"])
    assert not (tmp_path / "store" / "index.json").exists()
    assert not (tmp_path / "store" / "val" / "val-5.tfrecords").exists()


def test_offline_and_missing_store_errors(isolated, tmp_path):
    isolated.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="NEUROALIGN_OFFLINE"):
        build_release_store(tmp_path / "store", ["val"])
    with pytest.raises(AssetError, match="build_release_store"):
        neuroalign.get_dataset("ClickMe.eval1000").load()
    with pytest.raises(AssetError, match="unknown ClickMe split"):
        isolated.delenv("NEUROALIGN_OFFLINE")
        build_release_store(tmp_path / "store", ["test"])


def test_missing_feature_names_the_record(tmp_path):
    from neuroalign_clickme.data import read_shard

    write_records(tmp_path / "s.tfrecords", [serialize_example({"image": b"x", "label": 1})])
    with pytest.raises(TFRecordError, match=r"s record 0 .*'heatmap'"):
        read_shard(tmp_path / "s.tfrecords", "s")
