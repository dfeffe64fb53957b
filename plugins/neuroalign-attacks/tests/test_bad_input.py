"""Bad input: each case is a clear error naming the bad value, or a documented failure flag."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from neuroalign_attacks import AttackInputError, cw_l2, fgsm, min_eps, pgd, pgd_l2, pgd_linf


def test_images_outside_pixel_range(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match=r"pixel space \[0, 1\]; found values in \[-0\.49"):
        pgd_linf(tiny_cnn, images - 0.5, labels, normalized=False)


@pytest.mark.parametrize("shape", [(3, 12, 12), (2, 6, 3, 12, 12)])
def test_images_with_wrong_shape(tiny_cnn, shape):
    with pytest.raises(AttackInputError, match=r"shape \(N, C, H, W\); found shape"):
        fgsm(tiny_cnn, torch.rand(shape), torch.zeros(2, dtype=torch.long), normalized=False)


def test_integer_images(tiny_cnn):
    with pytest.raises(AttackInputError, match="found dtype torch.uint8.*/ 255"):
        fgsm(tiny_cnn, torch.zeros(1, 3, 12, 12, dtype=torch.uint8), torch.zeros(1).long(),
             normalized=False)


def test_non_tensor_images(tiny_cnn):
    with pytest.raises(AttackInputError, match="must be a torch.Tensor.*found list"):
        fgsm(tiny_cnn, [[0.5]], torch.zeros(1).long(), normalized=False)


@pytest.mark.parametrize("bad, message", [
    (torch.tensor([0, 1, 4, 0, 0, 0]), r"labels must lie in \[0, 4\).*found label 4 at index 2"),
    (torch.tensor([0, 1, -1, 0, 0, 0]), r"found label -1 at index 2"),
    (torch.tensor([0, 1]), r"labels must have shape \(6,\).*found shape \(2,\)"),
    (torch.zeros(6), r"integer class indices; found dtype torch.float32"),
])
def test_bad_labels(tiny_cnn, images, bad, message):
    with pytest.raises(AttackInputError, match=message):
        pgd_l2(tiny_cnn, images, bad, normalized=False)


@pytest.mark.parametrize("eps", [0.0, -0.1, float("nan"), float("inf")])
def test_non_positive_eps(tiny_cnn, images, labels, eps):
    with pytest.raises(AttackInputError, match=r"eps must be a finite number > 0; found eps="):
        pgd(tiny_cnn, images, labels, eps=eps, normalized=False)


def test_bad_steps_norm_and_bracket(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match="steps must be an integer >= 1; found steps=0"):
        pgd_linf(tiny_cnn, images, labels, steps=0, normalized=False)
    with pytest.raises(AttackInputError, match=r"unknown norm 'l1'; valid norms are \['linf'"):
        pgd(tiny_cnn, images, labels, eps=0.1, norm="l1", normalized=False)
    with pytest.raises(AttackInputError, match="need lower < upper; found lower=2.0, upper=1.0"):
        min_eps(tiny_cnn, images, labels, lower=2.0, upper=1.0, normalized=False)
    with pytest.raises(AttackInputError, match=r"unknown loss 'hinge'; valid losses are"):
        fgsm(tiny_cnn, images, labels, loss="hinge", normalized=False)


def test_model_returning_nan(images, labels):
    class NaNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3 * 12 * 12, 4)

        def forward(self, x):
            out = self.linear(x.flatten(1))
            return out.masked_fill(torch.arange(len(x))[:, None] == 3, float("nan"))

    with pytest.raises(AttackInputError, match=r"returned NaN or infinite values on the clean "
                                               r"images \(indices \[3\]\)"):
        pgd_linf(NaNModel(), images, labels, normalized=False)


def test_model_turning_nan_during_the_attack_is_a_flagged_failure(images):
    class Fragile(nn.Module):  # finite on clean images, NaN once any pixel is pushed above 0.999
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3 * 12 * 12, 2)

        def forward(self, x):
            out = self.linear(x.flatten(1))
            return torch.where((x.flatten(1).amax(1) > 0.999)[:, None], out * float("nan"), out)

    torch.manual_seed(0)
    clean = images * 0.9
    model = Fragile()
    with torch.no_grad():
        labels = model(clean).argmax(1)
    result = pgd_linf(model, clean, labels, eps=0.5, steps=3, normalized=False)
    assert bool(result.extras["nonfinite"].all())
    assert not bool(result.success.any())


def test_objective_that_ignores_its_input(images):
    constant = torch.ones(6, requires_grad=True)
    with pytest.raises(AttackInputError, match="does not depend on the input images"):
        pgd_linf(None, images, objective=lambda x: constant * 2)


def test_objective_with_wrong_shape(images):
    with pytest.raises(AttackInputError, match=r"one scalar per image, shape \(6,\); found shape"):
        fgsm(None, images, objective=lambda x: x.sum())


def test_labels_and_objective_are_exclusive(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match="exactly one of labels .* or objective"):
        fgsm(tiny_cnn, images, labels, objective=lambda x: x.flatten(1).sum(1), normalized=False)
    with pytest.raises(AttackInputError, match="exactly one of labels"):
        fgsm(tiny_cnn, images, normalized=False)


def test_cw_needs_labels_and_non_negative_confidence(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match="cw_l2 needs labels"):
        cw_l2(tiny_cnn, images, None, normalized=False)
    with pytest.raises(AttackInputError, match="confidence=-1"):
        cw_l2(tiny_cnn, images, labels, confidence=-1, normalized=False)


def test_model_that_is_not_a_module(images, labels):
    with pytest.raises(AttackInputError, match="nn.Module or a neuroalign.Model; found function"):
        fgsm(lambda x: x, images, labels, normalized=False)


def test_bad_normalisation(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match=r"std must be positive.*\(0\.2, 0\.0, 0\.2\)"):
        fgsm(tiny_cnn, images, labels, mean=(0.5,) * 3, std=(0.2, 0.0, 0.2))
    with pytest.raises(AttackInputError, match="both mean and std or neither"):
        fgsm(tiny_cnn, images, labels, mean=(0.5,) * 3)


def test_errors_leave_the_model_untouched(tiny_cnn, images):
    tiny_cnn.train()
    with pytest.raises(AttackInputError):
        pgd_linf(tiny_cnn, images, torch.full((6,), 9), normalized=False)
    assert tiny_cnn.training and all(p.requires_grad for p in tiny_cnn.parameters())
