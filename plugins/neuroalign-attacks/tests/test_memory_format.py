"""The memory layout attacks run a model in: channels-last for conv nets on CPU, same values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import neuroalign
from neuroalign_attacks import cw_l2, fgsm, min_eps, pgd_l2, pgd_linf
from neuroalign_attacks.objectives import AttackProblem
from neuroalign_attacks.pixel_space import AttackInputError, MemoryFormatWarning

ATTACKS = {
    "fgsm": lambda m, x, y, f: fgsm(m, x, y, eps=4 / 255, memory_format=f, normalized=False),
    "pgd_linf": lambda m, x, y, f: pgd_linf(m, x, y, eps=4 / 255, steps=5, memory_format=f,
                                            normalized=False),
    "pgd_l2": lambda m, x, y, f: pgd_l2(m, x, y, eps=0.3, steps=5, random_start=True,
                                        memory_format=f, normalized=False),
    "cw_l2": lambda m, x, y, f: cw_l2(m, x, y, steps=10, binary_search_steps=3,
                                      initial_const=1.0, memory_format=f, normalized=False),
    "min_eps": lambda m, x, y, f: min_eps(m, x, y, tolerance=0.01, memory_format=f,
                                          normalized=False),
}


class Flattening(nn.Module):
    """A classifier whose forward ``view``s its input, which a channels-last tensor refuses."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.linear = nn.Linear(3 * 12 * 12, 4)

    def forward(self, x):
        return self.linear(x.view(len(x), -1) + self.conv(x).sum() * 0)


def test_auto_uses_channels_last_for_conv_nets_on_cpu(tiny_cnn, images, labels):
    with AttackProblem(tiny_cnn, images, labels, normalized=False) as problem:
        assert problem.memory_format is torch.channels_last
        assert problem.images.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(problem.images, images)


def test_auto_keeps_the_standard_layout_without_convolutions(images):
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 4))
    with AttackProblem(linear, images, torch.zeros(6, dtype=torch.long),
                       normalized=False) as problem:
        assert problem.memory_format is torch.contiguous_format
    with AttackProblem(None, images, objective=lambda x: x.sum((1, 2, 3))) as problem:
        assert problem.memory_format is torch.contiguous_format


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_layouts_give_the_same_attack(tiny_cnn, images, labels, name):
    fast = ATTACKS[name](tiny_cnn, images, labels, "auto")
    plain = ATTACKS[name](tiny_cnn, images, labels, "contiguous")
    assert torch.equal(fast.success, plain.success)
    assert fast.gradient_evaluations == plain.gradient_evaluations
    # the layouts sum in different orders: only a pixel whose gradient is ~0 may step otherwise
    differ = (fast.adversarial - plain.adversarial).abs() > 1e-5
    assert float(differ.float().mean()) < 0.01
    torch.testing.assert_close(fast.l2, plain.l2, rtol=0.02, atol=1e-4)
    for tensor in (fast.adversarial, fast.perturbation):
        assert tensor.is_contiguous()  # handed back in the standard layout


def test_weights_keep_their_layout(tiny_cnn, images, labels):
    strides = [p.stride() for p in tiny_cnn.parameters()]
    pgd_linf(tiny_cnn, images, labels, eps=4 / 255, steps=2, normalized=False)
    assert [p.stride() for p in tiny_cnn.parameters()] == strides


def test_auto_falls_back_to_the_standard_layout_with_a_warning(images):
    torch.manual_seed(0)
    model = Flattening()
    labels = torch.zeros(6, dtype=torch.long)
    with pytest.warns(MemoryFormatWarning, match="cannot take channels-last input.*view size"):
        result = pgd_linf(model, images, labels, eps=4 / 255, steps=2, normalized=False)
    plain = pgd_linf(model, images, labels, eps=4 / 255, steps=2, memory_format="contiguous",
                     normalized=False)
    assert torch.equal(result.adversarial, plain.adversarial)
    assert result.gradient_evaluations == plain.gradient_evaluations == 12


def test_forced_channels_last_on_a_model_that_cannot_take_it_is_an_error(images):
    torch.manual_seed(0)
    with pytest.raises(AttackInputError, match="memory_format='contiguous'") as info:
        pgd_linf(Flattening(), images, torch.zeros(6, dtype=torch.long), eps=4 / 255,
                 memory_format="channels_last", normalized=False)
    assert "view size is not compatible" in str(info.value)


def test_a_model_failing_in_every_layout_raises_its_own_error(images):
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x) @ torch.ones(7, 2)  # wrong shapes whatever the layout

    with pytest.raises(RuntimeError) as info:
        pgd_linf(Broken(), images, torch.zeros(6, dtype=torch.long), eps=4 / 255, normalized=False)
    assert not isinstance(info.value, AttackInputError)
    assert "cannot be multiplied" in str(info.value)


def test_unknown_memory_format_lists_the_valid_ones(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match=r"unknown memory_format 'nhwc'.*'channels_last'"):
        pgd_linf(tiny_cnn, images, labels, memory_format="nhwc", normalized=False)


def test_registered_attacks_take_memory_format(manager, tiny_cnn, images, labels):
    attack = neuroalign.get_attack("pgd_linf", parameters={"memory_format": "contiguous",
                                                           "eps": 4 / 255, "steps": 2,
                                                           "normalized": False})
    result = attack(tiny_cnn, images, labels=labels)
    expected = pgd_linf(tiny_cnn, images, labels, eps=4 / 255, steps=2,
                        memory_format="contiguous", normalized=False)
    assert torch.equal(result.adversarial, expected.adversarial)
