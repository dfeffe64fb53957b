"""The PCA reference set: a configured folder (ImageNet-val layouts) or the procedural set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuroalign
from neuroalign.errors import SpecError
from neuroalign.extraction.reduction import Reduction
from neuroalign.extraction.reference import pick_per_class, resolve_reference
from neuroalign.stimuli import StimulusSet


def _png(path: Path, value: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)


def test_brainscores_per_class_rule():
    classes = {f"c{i}": [Path(f"c{i}/{j}.png") for j in range(3)] for i in range(4)}
    # n = C: the first image of every class (Brain-Score's 1,000 of ImageNet's 1,000 classes)
    assert [p.as_posix() for p in pick_per_class(classes, 4)] == [f"c{i}/0.png" for i in range(4)]
    # n = 6: one per class, plus a second for the first two classes
    assert len(pick_per_class(classes, 6)) == 6
    assert [p.as_posix() for p in pick_per_class(classes, 6)][:3] == ["c0/0.png", "c0/1.png", "c1/0.png"]


def test_class_folders_flat_labels_and_hash(tmp_path):
    for c in range(3):
        for j in range(2):
            _png(tmp_path / "val" / f"n{c:08d}" / f"img{j}.png", 10 * c + j)
    folder = resolve_reference(tmp_path / "val", 3)
    assert folder.files == ("n00000000/img0.png", "n00000001/img0.png", "n00000002/img0.png")
    assert "class folders" in folder.rule
    flat = tmp_path / "flat"
    for j in range(4):
        _png(flat / f"f{j}.png", j)
    (flat / "labels.csv").write_text("filename,label\nf0.png,a\nf1.png,a\nf2.png,b\nf3.png,b\n")
    assert resolve_reference(flat, 2).files == ("f0.png", "f2.png")
    (flat / "labels.csv").unlink()
    (flat / "labels.txt").write_text("7\n7\n9\n9\n")  # ILSVRC ground-truth layout
    assert resolve_reference(flat, 2).files == ("f0.png", "f2.png")
    before = resolve_reference(flat, 2).sha256
    _png(flat / "f2.png", 99)  # new content, same name: a new hash
    assert resolve_reference(flat, 2).sha256 != before
    with pytest.raises(SpecError, match="is not a directory"):
        resolve_reference(tmp_path / "nope", 2)


def test_pca_on_a_folder_is_recorded_and_keyed(tmp_path, neuroalign_home, monkeypatch):
    for c in range(6):
        _png(tmp_path / "val" / f"class{c}" / "a.png", c)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    model = neuroalign.Model.from_module(net, identifier="custom:ref", preprocessing={"input_size": 12})
    rng = np.random.default_rng(0)
    stimuli = StimulusSet.from_arrays("s", [f"s{i}" for i in range(5)],
                                      rng.integers(0, 255, (5, 12, 12, 3), dtype=np.uint8), 8.0)
    small = Reduction(method="pca", n_components=4, sketch_dim=8, reference_size=8)
    procedural = model.activations(stimuli, ["1"], reduction=small)
    assert json.loads(procedural.attrs["pca_reference"])["source"] == "procedural"
    monkeypatch.setenv("NEUROALIGN_PCA_IMAGES", str(tmp_path / "val"))
    imagenet = model.activations(stimuli, ["1"], reduction=small)
    described = json.loads(imagenet.attrs["pca_reference"])
    assert described["source"] == "folder" and described["n_images"] == 4
    assert imagenet.attrs["cached_layers"] == []  # another basis: another cache key
    assert imagenet.shape[1] == 3 and procedural.shape[1] == 4  # 4 centred images: rank 3
