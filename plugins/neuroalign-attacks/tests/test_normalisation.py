"""The model's input convention: known from exactly one source, never assumed, never overridden.

A ``neuroalign.Model``'s preprocessing, a ``NormalizedModel``, explicit ``mean``/``std`` or
``normalized=False``; a bare module with none of them, and sources that disagree, are errors.
"""

from __future__ import annotations

import pytest
import torch

import neuroalign
from neuroalign.specs import Preprocessing
from neuroalign.interfaces import Model
from neuroalign_attacks import (
    AttackInputError,
    NormalizedModel,
    cw_l2,
    fgsm,
    min_eps,
    pgd_l2,
    pgd_linf,
)

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)

FUNCTIONS = {
    "fgsm": lambda m, x, y, **kw: fgsm(m, x, y, **kw),
    "pgd_linf": lambda m, x, y, **kw: pgd_linf(m, x, y, steps=2, **kw),
    "pgd_l2": lambda m, x, y, **kw: pgd_l2(m, x, y, steps=2, **kw),
    "cw_l2": lambda m, x, y, **kw: cw_l2(m, x, y, steps=3, binary_search_steps=1, **kw),
    "min_eps": lambda m, x, y, **kw: min_eps(m, x, y, tolerance=0.5, **kw),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_bare_module_without_a_convention_is_an_error(tiny_cnn, images, labels, name):
    with pytest.raises(AttackInputError, match=r"does not know how Sequential normalises its "
                                               r"input.*mean=.*std=.*normalized=False"):
        FUNCTIONS[name](tiny_cnn, images, labels)


@pytest.mark.parametrize("identifier", ["fgsm", "pgd_linf", "pgd_l2", "cw_l2", "cw_l2_fast",
                                        "min_eps"])
def test_registered_attacks_refuse_a_bare_module_too(manager, tiny_cnn, images, labels,
                                                     identifier):
    with pytest.raises(AttackInputError, match="does not know how Sequential normalises"):
        neuroalign.get_attack(identifier)(tiny_cnn, images, labels=labels)


def test_a_timm_like_module_is_told_where_its_mean_and_std_are(tiny_cnn, images, labels):
    tiny_cnn.pretrained_cfg = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    with pytest.raises(AttackInputError, match=r"timm model.*mean=\(0\.485, 0\.456, 0\.406\)"
                                               r".*pretrained_cfg\['mean'\]"):
        pgd_linf(tiny_cnn, images, labels)


def test_the_three_ways_to_state_a_convention_give_the_same_attack(tiny_cnn, images, labels):
    model = Model.from_module(tiny_cnn, preprocessing=Preprocessing(input_size=12, mean=MEAN,
                                                                    std=STD))
    explicit = pgd_linf(tiny_cnn, images, labels, eps=2 / 255, steps=3, mean=MEAN, std=STD)
    via_model = pgd_linf(model, images, labels, eps=2 / 255, steps=3)
    via_wrapper = pgd_linf(NormalizedModel(tiny_cnn, MEAN, STD), images, labels, eps=2 / 255,
                           steps=3)
    assert torch.equal(explicit.adversarial, via_model.adversarial)
    assert torch.equal(explicit.adversarial, via_wrapper.adversarial)
    # and it is not the un-normalised attack
    pixels = pgd_linf(tiny_cnn, images, labels, eps=2 / 255, steps=3, normalized=False)
    assert not torch.equal(pixels.adversarial, explicit.adversarial)


def test_normalized_false_means_pixels_as_they_are(tiny_cnn, images, labels):
    ours = pgd_linf(tiny_cnn, images, labels, eps=4 / 255, steps=3, normalized=False)
    tiny_cnn.eval()
    with torch.no_grad():
        predicted = tiny_cnn(ours.adversarial).argmax(1)
    assert torch.equal(ours.success, predicted != labels)


def test_a_normalized_model_with_other_mean_std_is_an_error(tiny_cnn, images, labels):
    wrapped = NormalizedModel(tiny_cnn, MEAN, STD)
    with pytest.raises(AttackInputError, match=r"conflicting normalisation: the NormalizedModel "
                                               r"applies mean=\(0\.4, 0\.5, 0\.6\).*but "
                                               r"mean=\(0\.5, 0\.5, 0\.5\)"):
        fgsm(wrapped, images, labels, mean=(0.5,) * 3, std=(0.25,) * 3)
    same = fgsm(wrapped, images, labels, mean=MEAN, std=STD)  # agreeing sources are fine
    assert torch.equal(same.adversarial, fgsm(wrapped, images, labels).adversarial)
    with pytest.raises(AttackInputError, match="conflicting normalisation"):
        fgsm(NormalizedModel(tiny_cnn, None, None), images, labels, mean=MEAN, std=STD)


def test_a_neuroalign_model_with_other_mean_std_is_an_error(tiny_cnn, images, labels):
    model = Model.from_module(tiny_cnn, preprocessing=Preprocessing(input_size=12, mean=MEAN,
                                                                    std=STD))
    with pytest.raises(AttackInputError, match=r"conflicting normalisation: the neuroalign.Model's "
                                               r"preprocessing applies mean=\(0\.4"):
        min_eps(model, images, labels, mean=(0.5,) * 3, std=(0.25,) * 3)
    with pytest.raises(AttackInputError, match=r"normalized=False says.*preprocessing applies"):
        pgd_l2(model, images, labels, normalized=False)


def test_normalized_false_with_mean_std_is_an_error(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match=r"conflicting normalisation: normalized=False.*"
                                               r"mean=\(0\.4, 0\.5, 0\.6\)"):
        cw_l2(tiny_cnn, images, labels, mean=MEAN, std=STD, normalized=False)


def test_consistent_statements_are_accepted(tiny_cnn, images, labels):
    identity = Model.from_module(tiny_cnn, preprocessing=Preprocessing(
        input_size=12, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))
    pixels = fgsm(tiny_cnn, images, labels, normalized=False)
    assert torch.equal(fgsm(identity, images, labels, normalized=False).adversarial,
                       pixels.adversarial)
    wrapped = NormalizedModel(tiny_cnn, MEAN, STD)  # takes pixels: normalized=False holds
    assert torch.equal(fgsm(wrapped, images, labels, normalized=False).adversarial,
                       fgsm(tiny_cnn, images, labels, mean=MEAN, std=STD,
                            normalized=True).adversarial)


def test_normalized_true_needs_a_mean_and_std(tiny_cnn, images, labels):
    with pytest.raises(AttackInputError, match="normalized=True but no mean/std"):
        fgsm(tiny_cnn, images, labels, normalized=True)


def test_an_objective_takes_pixels_so_mean_std_are_an_error(tiny_cnn, images):
    def objective(x):
        return tiny_cnn(x)[:, 0]

    with pytest.raises(AttackInputError, match="no effect with an objective"):
        pgd_linf(tiny_cnn, images, objective=objective, mean=MEAN, std=STD)
    result = pgd_linf(tiny_cnn, images, objective=objective, eps=4 / 255, steps=2)
    assert result.success.shape == (6,)


def test_normalized_model_states_its_convention_explicitly(tiny_cnn):
    with pytest.raises(TypeError):
        NormalizedModel(tiny_cnn)  # no silent "pixels" default
    assert NormalizedModel(tiny_cnn, None, None).normalisation is None
    mean, std = NormalizedModel(tiny_cnn, MEAN, STD).normalisation
    assert mean == pytest.approx(MEAN) and std == pytest.approx(STD)
