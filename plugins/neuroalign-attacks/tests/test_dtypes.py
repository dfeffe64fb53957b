"""Image dtypes: float32 and float64 are computed in their own dtype; anything else (or a model
in another dtype) is an AttackInputError naming the dtype and the fix, never a torch error."""

from __future__ import annotations

import copy

import pytest
import torch

from neuroalign_attacks import AttackInputError, cw_l2, fgsm, min_eps, pgd_l2, pgd_linf

ATTACKS = {
    "fgsm": lambda m, x, y: fgsm(m, x, y, eps=4 / 255, normalized=False),
    "pgd_linf": lambda m, x, y: pgd_linf(m, x, y, eps=4 / 255, steps=4, normalized=False),
    "pgd_l2": lambda m, x, y: pgd_l2(m, x, y, eps=0.3, steps=4, random_start=True,
                                     normalized=False),
    "cw_l2": lambda m, x, y: cw_l2(m, x, y, steps=10, binary_search_steps=2, initial_const=1.0,
                                   refine_steps=2, normalized=False),
    "min_eps": lambda m, x, y: min_eps(m, x, y, tolerance=0.01, normalized=False),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_float64_is_computed_in_float64(tiny_cnn, images, labels, name):
    double = copy.deepcopy(tiny_cnn).double()
    result = ATTACKS[name](double, images.double(), labels)
    single = ATTACKS[name](tiny_cnn, images, labels)
    assert result.adversarial.dtype == torch.float64
    assert result.perturbation.dtype == torch.float64
    assert float(result.adversarial.min()) >= 0 and float(result.adversarial.max()) <= 1
    assert torch.equal(result.success, single.success)
    double.eval()
    with torch.no_grad():
        predicted = double(result.adversarial).argmax(1)
    assert torch.equal(result.success, predicted != labels)
    if name in ("fgsm", "pgd_linf"):
        assert float(result.linf.max()) <= 4 / 255 + 1e-12  # the budget, to float64 precision
    torch.testing.assert_close(result.l2, single.l2, rtol=0.05, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_half_precision_images_are_a_clear_error(tiny_cnn, images, labels, dtype, name):
    with pytest.raises(AttackInputError, match=rf"dtype {dtype} are not supported.*"
                                               r"images\.float\(\).*torch\.autocast"):
        ATTACKS[name](tiny_cnn.to(dtype), images.to(dtype), labels)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_images_in_another_dtype_than_the_model_are_a_clear_error(tiny_cnn, images, labels,
                                                                  name):
    with pytest.raises(AttackInputError, match=r"images are torch\.float64 but the model's "
                                               r"weights are torch\.float32.*images\.to\(torch"
                                               r"\.float32\).*model\.to\(torch\.float64\)"):
        ATTACKS[name](tiny_cnn, images.double(), labels)
    with pytest.raises(AttackInputError, match=r"images are torch\.float32 but the model's "
                                               r"weights are torch\.float64"):
        ATTACKS[name](copy.deepcopy(tiny_cnn).double(), images, labels)


def test_half_precision_model_runs_under_autocast(tiny_cnn, images, labels):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = pgd_linf(tiny_cnn, images, labels, eps=8 / 255, steps=3, normalized=False)
    assert result.adversarial.dtype == torch.float32
    assert float(result.linf.max()) <= 8 / 255 + 1e-6
    tiny_cnn.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        predicted = tiny_cnn(result.adversarial).argmax(1)
    assert torch.equal(result.success, predicted != labels)
