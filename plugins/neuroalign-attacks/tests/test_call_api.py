"""One call signature: ``attack(model, images, labels=None, *, objective=None, **parameters)``.

The same for the functions and the registered attacks, parameters overridable at call time,
``spec.parameters`` listing every default, per-image budgets, and the registered fast CW.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import neuroalign
from neuroalign_attacks import (
    CW_PRESETS,
    AttackInputError,
    cw_l2,
    fgsm,
    min_eps,
    pgd,
    pgd_l2,
    pgd_linf,
)
from neuroalign_attacks.attacks import ATTACK_CLASSES
from neuroalign_attacks.specs import ATTACK_SPECS, CW_FAST

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
FUNCTIONS = {"fgsm": fgsm, "pgd_linf": pgd_linf, "pgd_l2": pgd_l2, "cw_l2": cw_l2,
             "min_eps": min_eps, "pgd": pgd}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_the_common_leading_signature(name):
    parameters = list(inspect.signature(FUNCTIONS[name]).parameters.values())
    assert [p.name for p in parameters[:5]] == ["model", "images", "labels", "objective",
                                                "targeted"]
    assert parameters[2].default is None
    assert parameters[2].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[3:])
    assert parameters[3].default is None and parameters[4].default is False
    names = {p.name for p in parameters}
    assert {"mean", "std", "normalized", "memory_format"} <= names


def test_spec_parameters_list_every_default_the_attack_uses():
    by_id = {cls.attack_id: cls for cls in ATTACK_CLASSES}
    for spec in ATTACK_SPECS:
        cls = by_id[spec.id.removesuffix("_fast")]
        defaults = cls.valid_parameters()
        assert set(spec.parameters) == set(defaults), spec.id
        expected = {**defaults, **(CW_FAST if spec.id == "cw_l2_fast" else {})}
        assert spec.parameters == expected, spec.id
        assert {"mean", "std", "normalized", "memory_format", "targeted"} <= set(spec.parameters)


def test_registered_attack_takes_labels_positionally_like_the_function(manager, tiny_cnn,
                                                                      images, labels):
    attack = neuroalign.get_attack("pgd_linf", parameters={"steps": 3})
    via_registry = attack(tiny_cnn, images, labels, mean=MEAN, std=STD)
    via_function = pgd_linf(tiny_cnn, images, labels, steps=3, mean=MEAN, std=STD)
    assert torch.equal(via_registry.adversarial, via_function.adversarial)
    keyword = attack(tiny_cnn, images, labels=labels, mean=MEAN, std=STD)
    assert torch.equal(keyword.adversarial, via_function.adversarial)


def test_parameters_are_overridable_at_call_time_only_for_that_call(manager, tiny_cnn, images,
                                                                   labels):
    attack = neuroalign.get_attack("pgd_l2", parameters={"normalized": False})
    before = dict(attack.parameters)
    result = attack(tiny_cnn, images, labels, eps=0.2, steps=2)
    assert result.extras["eps"] == 0.2 and result.extras["steps"] == 2
    assert result.gradient_evaluations == 12
    assert attack.parameters == before
    # a call-time override of a bound value (normalized=False -> mean/std) is a full override
    normalised = attack(tiny_cnn, images, labels, eps=0.2, steps=2, normalized=None, mean=MEAN,
                        std=STD)
    expected = pgd_l2(tiny_cnn, images, labels, eps=0.2, steps=2, mean=MEAN, std=STD)
    assert torch.equal(normalised.adversarial, expected.adversarial)
    targeted = attack(tiny_cnn, images, (labels + 1) % 4, eps=0.5, steps=5, targeted=True)
    assert targeted.success.dtype == torch.bool


def test_unknown_call_time_parameter_lists_the_valid_ones(manager, tiny_cnn, images, labels):
    attack = neuroalign.get_attack("fgsm")
    with pytest.raises(AttackInputError, match=r"no parameter\(s\) \['epsilon'\]; valid .*'eps'"):
        attack(tiny_cnn, images, labels, epsilon=0.1)


def test_call_arguments_are_not_parameters(manager):
    with pytest.raises(AttackInputError, match=r"\['objective'\] are given per call"):
        neuroalign.get_attack("pgd_linf", parameters={"objective": None})


def test_registered_attacks_take_an_objective_like_the_functions(manager, images):
    weights = torch.linspace(-1, 1, 3 * 12 * 12).view(1, 3, 12, 12)

    def objective(x):
        return (x * weights).flatten(1).sum(1)

    attack = neuroalign.get_attack("fgsm", parameters={"eps": 2 / 255})
    ours = attack(None, images, objective=objective)
    assert torch.equal(ours.adversarial, fgsm(None, images, objective=objective,
                                              eps=2 / 255).adversarial)
    with pytest.raises(AttackInputError, match="cw_l2 attacks classifiers only"):
        cw_l2(None, images, objective=objective)


def test_cw_l2_fast_is_the_documented_fast_setting(manager, tiny_cnn, images, labels):
    assert CW_PRESETS["fast"] == {"steps": 2, "binary_search_steps": 3, "initial_const": 1.0,
                                  "lr": 0.01, "stop_at_first_success": True, "refine_steps": 1}
    attack = neuroalign.get_attack("cw_l2_fast")
    assert {k: attack.parameters[k] for k in CW_PRESETS["fast"]} == CW_PRESETS["fast"]
    fast = attack(tiny_cnn, images, labels, normalized=False)
    by_hand = cw_l2(tiny_cnn, images, labels, normalized=False, **CW_PRESETS["fast"])
    assert torch.equal(fast.adversarial, by_hand.adversarial)
    assert torch.equal(fast.success, by_hand.success)
    # one Adam update per image at c = 1, then only the images not yet flipped go on
    assert fast.gradient_evaluations <= len(images) * CW_PRESETS["fast"]["binary_search_steps"]
    override = attack(tiny_cnn, images, labels, normalized=False, steps=4)
    assert override.gradient_evaluations >= fast.gradient_evaluations


# ------------------------------------------------------------------ per-image budgets
EPS_LINF = torch.tensor([1, 2, 4, 8, 16, 32]) / 255
EPS_L2 = torch.tensor([0.05, 0.1, 0.2, 0.4, 0.8, 1.6])


@pytest.mark.parametrize("name, attack, eps, norm", [
    ("fgsm", lambda m, x, y, e: fgsm(m, x, y, eps=e, normalized=False), EPS_LINF, "linf"),
    ("pgd_linf", lambda m, x, y, e: pgd_linf(m, x, y, eps=e, steps=4, normalized=False),
     EPS_LINF, "linf"),
    ("pgd_l2", lambda m, x, y, e: pgd_l2(m, x, y, eps=e, steps=4, normalized=False), EPS_L2,
     "l2"),
])
def test_per_image_eps_equals_one_attack_per_image(tiny_cnn, images, labels, name, attack, eps,
                                                   norm):
    inner = 0.25 + 0.5 * images  # away from the box, so the projection alone sets the norm
    batched = attack(tiny_cnn, inner, labels, eps)
    for i in range(len(images)):
        single = attack(tiny_cnn, inner[i:i + 1], labels[i:i + 1], float(eps[i]))
        torch.testing.assert_close(batched.adversarial[i:i + 1], single.adversarial,
                                   rtol=0, atol=1e-6)
        assert bool(batched.success[i] == single.success[0])
    measured = batched.linf if norm == "linf" else batched.l2
    assert bool((measured <= eps.double() + 1e-6).all())
    assert torch.equal(batched.extras["eps"], eps.double())


def test_per_image_eps_with_random_start_keeps_each_budget(tiny_cnn, images, labels):
    result = pgd_l2(tiny_cnn, images, labels, eps=EPS_L2, steps=3, random_start=True,
                    normalized=False)
    assert bool((result.l2 <= EPS_L2.double() + 1e-6).all())
    step = torch.tensor([0.01] * 6)
    explicit = pgd_linf(tiny_cnn, images, labels, eps=EPS_LINF, step_size=step, steps=3,
                        normalized=False)
    assert bool((explicit.linf <= EPS_LINF.double() + 1e-6).all())
    assert torch.equal(explicit.extras["step_size"], step.double())


@pytest.mark.parametrize("eps, message", [
    (torch.tensor([0.1, 0.2]), r"per-image eps must have shape \(6,\).*found shape \(2,\)"),
    (torch.tensor([0.1, 0.2, 0.0, 0.1, 0.1, 0.1]), r"eps\[2\]=0\.0"),
    (torch.tensor([0.1, 0.2, 0.1, float("nan"), 0.1, 0.1]), r"eps\[3\]=nan"),
    (torch.ones(6, 1), r"shape \(6,\).*found shape \(6, 1\)"),
])
def test_bad_per_image_eps(tiny_cnn, images, labels, eps, message):
    with pytest.raises(AttackInputError, match=message):
        pgd_linf(tiny_cnn, images, labels, eps=eps, normalized=False)
