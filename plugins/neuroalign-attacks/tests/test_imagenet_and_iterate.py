"""PGD.robust_accuracy: the iterate it scores (paper 000's robustness library) and ImageNet data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import neuroalign
from neuroalign.interfaces import Model
from neuroalign.specs import Preprocessing
from neuroalign_attacks import pgd
from neuroalign_attacks.robust_accuracy import SHAPES_SOURCE, RobustAccuracy

EPS = 0.04


class Oscillating(nn.Module):
    """Two classes on the mean pixel ``s``: class 1 wins only within 0.2 eps of ``s0 + 0.9 eps``.

    From the mid-grey image ``s0 = 0.5``, 2-step Linf PGD (step 1.25 eps) first lands on the
    ball's edge ``s0 + eps``, inside the misclassified band (highest loss), then steps back to
    ``s0 - 0.25 eps``, correct again: the last iterate is correct, the best-loss one is not.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(1, 2, 3))
        margin = ((s - (0.5 + 0.9 * EPS)).abs() - 0.2 * EPS) * 200
        return torch.stack([margin, torch.zeros_like(margin)], dim=1)


def _grey(n: int = 3) -> torch.Tensor:
    return torch.full((n, 3, 4, 4), 0.5)


def test_best_loss_iterate_keeps_the_strongest_point_of_the_path():
    model, images, labels = Oscillating(), _grey(), torch.zeros(3, dtype=torch.long)
    last = pgd(model, images, labels, eps=EPS, steps=2, normalized=False)
    best = pgd(model, images, labels, eps=EPS, steps=2, normalized=False, iterate="best_loss")
    assert not last.success.any()  # stepped back out of the band
    assert best.success.all() and best.extras["iterate"] == "best_loss"
    assert float(best.adversarial.mean()) == pytest.approx(0.5 + EPS, abs=1e-6)
    assert float(last.adversarial.mean()) == pytest.approx(0.5 - 0.25 * EPS, abs=1e-6)
    assert float(best.linf.max()) <= EPS + 1e-6
    with pytest.raises(neuroalign.errors.NeuroalignError, match="iterate must be 'last' or"):
        pgd(model, images, labels, eps=EPS, normalized=False, iterate="first")


def test_robust_accuracy_scores_the_best_loss_iterate_by_default(manager):
    """Paper 000 used the robustness library, whose PGD returns the highest-loss iterate
    (``use_best=True``); torchattacks and neuroalign <= 0.1 scored the last one."""
    spec = neuroalign.get_spec("benchmark", "PGD.robust_accuracy-linf")
    assert spec.parameters["iterate"] == "best_loss" and spec.version == 2
    benchmark = RobustAccuracy(spec)
    images, labels = _grey(), torch.zeros(3, dtype=torch.long)
    robust = benchmark._robust(Oscillating(), images, labels, EPS, 2)
    assert not robust.any()  # the band was reached on the way: not robust
    last = RobustAccuracy(spec.model_copy(update={"parameters": {**spec.parameters,
                                                                 "iterate": "last"}}))
    assert last._robust(Oscillating(), images, labels, EPS, 2).all()


class GreyLevel(nn.Module):
    """A 1000-way head reading the mean pixel: class k wins when the mean is near k / 1000."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(1, 2, 3))[:, None]
        centres = torch.arange(1000, dtype=x.dtype, device=x.device)[None] / 1000
        return -((s - centres) * 1000) ** 2


def _write(path, level: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 28, 3), level, dtype=np.uint8)).save(path)


def _model() -> Model:
    return Model.from_module(GreyLevel(), identifier="torch:greylevel", preprocessing=Preprocessing(
        input_size=8, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))


QUICK = {"n_images": 4, "steps": [1, 3], "eps": [1 / 255, 4 / 255], "batch_size": 2}


def _level(label: int) -> int:
    return round(label / 1000 * 255)


@pytest.mark.parametrize("layout", ["index_folders", "synset_folders", "flat_labels"])
def test_imagenet_folder_is_attacked_through_the_models_own_head(manager, tmp_path, layout,
                                                                 monkeypatch):
    # grey levels whose class (nearest k/1000) is the label: the model is right on every image
    labels = [0, 251, 502, 749]
    root = tmp_path / "val"
    if layout == "index_folders":
        for label in labels:
            _write(root / str(label) / f"img{label}.png", _level(label))
    elif layout == "synset_folders":
        for k in range(1000):
            (root / f"n{k:08d}").mkdir(parents=True)
        for label in labels:
            _write(root / f"n{label:08d}" / "a.JPEG", _level(label))
    else:
        for i, label in enumerate(labels):
            _write(root / f"ILSVRC2012_val_{i:08d}.png", _level(label))
        (root / "labels.csv").write_text("filename,label\n" + "".join(
            f"ILSVRC2012_val_{i:08d}.png,{label}\n" for i, label in enumerate(labels)))
    monkeypatch.setenv("NEUROALIGN_IMAGENET_VAL", str(root))
    score = neuroalign.get_benchmark("PGD.robust_accuracy-linf", parameters=QUICK)(_model())
    assert score.attrs["data"] == "imagenet" and score.attrs["comparable_with_paper"] is True
    assert score.attrs["readout"] == "native" and score.attrs["iterate"] == "best_loss"
    info = score.attrs["data_info"]
    assert info["n_images"] == 4 and info["n_classes"] == 1000 and len(info["sha256"]) == 64
    assert score.attrs["clean_accuracy"] == 1.0
    # 1/255 moves the mean by 1/255 ~ 3.9 classes' width: every image is flipped
    assert score.children["steps=1"].attrs["accuracy"] == [0.0, 0.0]
    assert score.children["steps=1"].provenance.data_source.startswith("real ImageNet folder ")


def test_imagenet_folder_errors_name_the_fix(manager, tmp_path, monkeypatch):
    root = tmp_path / "val"
    for name in ("n01", "n02"):
        _write(root / name / "a.png", 10)
    benchmark = neuroalign.get_benchmark("PGD.robust_accuracy-linf",
                                         parameters={**QUICK, "imagenet": str(root)})
    with pytest.raises(neuroalign.errors.NeuroalignError,
                       match="has 2 class folders but the model's head has 1000 classes"):
        benchmark(_model())
    monkeypatch.delenv("NEUROALIGN_IMAGENET_VAL", raising=False)
    strict = neuroalign.get_benchmark("PGD.robust_accuracy-linf",
                                      parameters={**QUICK, "data": "imagenet"})
    with pytest.raises(neuroalign.errors.NeuroalignError, match="NEUROALIGN_IMAGENET_VAL"):
        strict(_model())


def test_shapes_fallback_says_it_is_not_comparable(manager, monkeypatch):
    from neuroalign_attacks.synthetic import LABEL_SPACE

    monkeypatch.delenv("NEUROALIGN_IMAGENET_VAL", raising=False)
    torch.manual_seed(0)
    six_way = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(4, 6))
    model = Model.from_module(six_way, identifier="torch:six", metadata={"label_space": LABEL_SPACE},
                              preprocessing=Preprocessing(input_size=16))
    params = {"n_images": 12, "steps": [1], "eps": [4 / 255]}
    score = neuroalign.get_benchmark("PGD.robust_accuracy-linf", parameters=params)(model)
    assert score.attrs["readout"] == "native"
    assert score.attrs["data"] == "shapes" and score.attrs["comparable_with_paper"] is False
    assert score.provenance.data_source == SHAPES_SOURCE
    assert score.children["steps=1"].provenance.data_source == SHAPES_SOURCE
