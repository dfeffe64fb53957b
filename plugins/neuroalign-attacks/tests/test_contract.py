"""The common contract: budgets, pixel box, determinism, the model left untouched, objectives."""

from __future__ import annotations

import pytest
import torch

from neuroalign_attacks import cw_l2, fgsm, min_eps, pgd_l2, pgd_linf

BUDGET_CASES = [
    ("fgsm", lambda m, x, y: fgsm(m, x, y, eps=8 / 255, normalized=False), "linf", 8 / 255),
    ("pgd_linf", lambda m, x, y: pgd_linf(m, x, y, eps=4 / 255, steps=5, normalized=False),
     "linf", 4 / 255),
    ("pgd_linf_rs", lambda m, x, y: pgd_linf(m, x, y, eps=4 / 255, steps=5, random_start=True,
                                             normalized=False),
     "linf", 4 / 255),
    ("pgd_l2", lambda m, x, y: pgd_l2(m, x, y, eps=0.3, steps=5, normalized=False), "l2", 0.3),
    ("pgd_l2_rs", lambda m, x, y: pgd_l2(m, x, y, eps=0.3, steps=5, random_start=True,
                                         normalized=False), "l2", 0.3),
    ("pgd_l2_big", lambda m, x, y: pgd_l2(m, x, y, eps=10.0, steps=3, normalized=False), "l2",
     10.0),
]


@pytest.mark.parametrize("name, attack, norm, eps", BUDGET_CASES, ids=[c[0] for c in BUDGET_CASES])
def test_budget_and_pixel_box_hold(tiny_cnn, images, labels, name, attack, norm, eps):
    result = attack(tiny_cnn, images, labels)
    measured = (result.adversarial - images).flatten(1)
    norms = measured.double().norm(dim=1) if norm == "l2" else measured.abs().amax(1).double()
    assert float(norms.max()) <= eps + 1e-6
    assert float(result.adversarial.min()) >= 0.0 and float(result.adversarial.max()) <= 1.0
    assert torch.allclose(result.perturbation, result.adversarial - images)
    assert torch.allclose(result.l2, result.perturbation.flatten(1).double().norm(dim=1))
    assert result.success.dtype == torch.bool and result.success.shape == (6,)


def test_budget_is_reached_and_attack_works(tiny_cnn, images, labels):
    inner = 0.25 + 0.5 * images  # away from the pixel box, so projection alone sets the norm
    result = pgd_l2(tiny_cnn, inner, labels, eps=0.5, steps=10, normalized=False)
    assert torch.allclose(result.l2, torch.full((6,), 0.5, dtype=torch.float64), atol=1e-5)
    assert result.gradient_evaluations == 60
    strong = pgd_linf(tiny_cnn, images, labels, eps=0.3, steps=10, normalized=False)
    assert bool(strong.success.all())


def test_min_eps_perturbation_respects_its_eps(tiny_cnn, images, labels):
    result = min_eps(tiny_cnn, images, labels, tolerance=0.01, normalized=False)
    eps = result.extras["eps"]
    assert bool(result.success.all())
    assert bool((result.l2 <= eps + 1e-6).all())
    assert bool((result.extras["eps_lower"] <= eps).all())
    assert bool((eps - result.extras["eps_lower"] < 0.01).all())
    linf = min_eps(tiny_cnn, images, labels, norm="linf", tolerance=1e-3, normalized=False)
    assert bool((linf.linf <= linf.extras["eps"] + 1e-6).all())


def test_cw_returns_successful_perturbations_in_the_box(tiny_cnn, images, labels):
    result = cw_l2(tiny_cnn, images, labels, steps=30, binary_search_steps=3, lr=0.05,
                   initial_const=1.0, normalized=False)
    assert bool(result.success.all())
    tiny_cnn.eval()
    with torch.no_grad():
        assert bool((tiny_cnn(result.adversarial).argmax(1) != labels).all())
    assert float(result.adversarial.min()) >= 0 and float(result.adversarial.max()) <= 1


@pytest.mark.parametrize("attack", [
    lambda m, x, y: pgd_linf(m, x, y, eps=4 / 255, random_start=True, seed=5, normalized=False),
    lambda m, x, y: pgd_l2(m, x, y, eps=0.3, random_start=True, seed=5, normalized=False),
    lambda m, x, y: min_eps(m, x, y, tolerance=0.01, normalized=False),
    lambda m, x, y: cw_l2(m, x, y, steps=10, binary_search_steps=2, normalized=False),
])
def test_deterministic_for_a_seed(tiny_cnn, images, labels, attack):
    first, second = attack(tiny_cnn, images, labels), attack(tiny_cnn, images, labels)
    assert torch.equal(first.adversarial, second.adversarial)
    assert torch.equal(first.success, second.success)


def test_seed_changes_the_random_start(tiny_cnn, images, labels):
    a = pgd_l2(tiny_cnn, images, labels, eps=0.3, steps=1, random_start=True, seed=1,
               normalized=False)
    b = pgd_l2(tiny_cnn, images, labels, eps=0.3, steps=1, random_start=True, seed=2,
               normalized=False)
    assert not torch.equal(a.adversarial, b.adversarial)


@pytest.mark.parametrize("attack", [
    lambda m, x, y: fgsm(m, x, y, normalized=False),
    lambda m, x, y: pgd_l2(m, x, y, eps=0.3, random_start=True, normalized=False),
    lambda m, x, y: min_eps(m, x, y, tolerance=0.05, normalized=False),
    lambda m, x, y: cw_l2(m, x, y, steps=5, binary_search_steps=2, normalized=False),
])
def test_model_is_left_untouched(tiny_cnn, images, labels, attack):
    tiny_cnn.train()
    frozen_layer = tiny_cnn[0].bias
    frozen_layer.requires_grad_(False)
    before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
    original_images = images.clone()
    attack(tiny_cnn, images, labels)
    after = tiny_cnn.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats too
    assert all(p.grad is None for p in tiny_cnn.parameters())
    assert [p.requires_grad for p in tiny_cnn.parameters()] == [
        p is not frozen_layer for p in tiny_cnn.parameters()]
    assert tiny_cnn.training and all(m.training for m in tiny_cnn.modules())
    assert torch.equal(images, original_images)


def test_model_with_normalisation_matches_manual_wrapper(tiny_cnn, images, labels):
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    ours = pgd_linf(tiny_cnn, images, labels, eps=2 / 255, mean=mean, std=std)
    tiny_cnn.eval()
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        predicted = tiny_cnn((ours.adversarial - m) / s).argmax(1)
    assert torch.equal(ours.success, predicted != labels)


def test_targeted_attack_reaches_the_target(tiny_cnn, images, labels):
    tiny_cnn.eval()
    with torch.no_grad():
        targets = tiny_cnn(images).argsort(dim=1, descending=True)[:, 1]  # runner-up class
    result = pgd_linf(tiny_cnn, images, targets, eps=0.5, steps=20, targeted=True, normalized=False)
    tiny_cnn.eval()
    with torch.no_grad():
        predicted = tiny_cnn(result.adversarial).argmax(1)
    assert torch.equal(result.success, predicted == targets)
    assert bool(result.success.all())
    margin = pgd_linf(tiny_cnn, images, targets, eps=0.5, steps=20, targeted=True, loss="margin",
                      normalized=False)
    assert bool(margin.success.all())


@pytest.mark.parametrize("direction, sign", [("maximize", 1.0), ("minimize", -1.0)])
def test_objective_moves_in_the_requested_direction(images, direction, sign):
    weights = torch.linspace(-1, 1, 3 * 12 * 12).view(1, 3, 12, 12)

    def objective(x: torch.Tensor) -> torch.Tensor:  # e.g. a predicted voxel response
        return (x * weights).flatten(1).sum(1).tanh()

    result = fgsm(None, images, objective=objective, eps=4 / 255, direction=direction)
    gain = sign * (objective(result.adversarial) - objective(images))
    assert bool((gain > 0).all()) and bool(result.success.all())
    assert float(result.linf.max()) <= 4 / 255 + 1e-6


def test_objective_with_zero_gradient_is_a_flagged_failure(images):
    result = pgd_linf(None, images, objective=lambda x: 0.0 * x.flatten(1).sum(1), eps=0.1)
    assert not bool(result.success.any())
    assert bool(result.extras["zero_gradient"].all())
    assert torch.equal(result.adversarial, images)


def test_cw_refinement_only_shrinks_successful_perturbations(tiny_cnn, images, labels):
    options = dict(steps=30, binary_search_steps=3, lr=0.05, initial_const=1.0)
    plain = cw_l2(tiny_cnn, images, labels, **options, normalized=False)
    refined = cw_l2(tiny_cnn, images, labels, refine_steps=8, **options, normalized=False)
    assert torch.equal(plain.success, refined.success)
    assert bool((refined.l2 <= plain.l2 + 1e-7).all()) and float(refined.l2.sum()) < float(
        plain.l2.sum())
    tiny_cnn.eval()
    with torch.no_grad():
        predicted = tiny_cnn(refined.adversarial).argmax(1)
    assert torch.equal(predicted != labels, refined.success)
    assert 0 < refined.extras["refine_forward_passes"] <= 8 * int(refined.success.sum())


def test_success_probe_changes_the_cost_never_the_result(tiny_cnn, images, labels, monkeypatch):
    from neuroalign_attacks import minimal_epsilon
    from neuroalign_attacks.projected_gradient import SuccessProbe

    probed = min_eps(tiny_cnn, images, labels, tolerance=0.001, normalized=False)
    never = lambda: SuccessProbe(forward_cost=float("inf"))  # noqa: E731
    monkeypatch.setattr(minimal_epsilon, "SuccessProbe", never)
    plain = min_eps(tiny_cnn, images, labels, tolerance=0.001, normalized=False)
    for key in ("eps", "eps_lower", "bisections"):
        assert torch.equal(probed.extras[key], plain.extras[key])
    assert torch.equal(probed.success, plain.success)
    assert torch.equal(probed.adversarial, plain.adversarial)
    # the first bisections (eps 5, 2.5, ...) flip every image at its first iterate: forward
    # passes replace most gradients there
    assert probed.gradient_evaluations < plain.gradient_evaluations
    assert probed.extras["forward_evaluations"] > plain.extras["forward_evaluations"]


def test_success_probe_follows_the_last_rate_seen_at_each_step():
    from neuroalign_attacks.projected_gradient import SuccessProbe

    probe = SuccessProbe(forward_cost=0.4)
    assert probe.wanted(1)  # unseen: probe
    probe.record(1, succeeded=1, total=4)
    assert not probe.wanted(1) and probe.wanted(2)
    probe.record(1, succeeded=3, total=4)
    assert probe.wanted(1)
