"""On a linear classifier the minimal L2 distance to the boundary is |w.x + b| / ||w||."""

from __future__ import annotations

import torch

from neuroalign_attacks import cw_l2, min_eps
from neuroalign_attacks.objectives import margin


def test_min_eps_recovers_the_distance_to_a_linear_boundary(linear_problem):
    model, images, labels, distance = linear_problem
    result = min_eps(model, images, labels, normalized=False)
    relative = (result.extras["eps"] - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative
    assert float(((result.l2 - distance).abs() / distance).max()) < 0.02
    assert bool(result.success.all())
    assert bool((result.extras["eps"] >= distance * 0.999).all())  # never below the truth


def test_min_eps_converged_images_drop_out(linear_problem):
    model, images, labels, distance = linear_problem
    result = min_eps(model, images, labels, tolerance=0.01, normalized=False)
    bisections = result.extras["bisections"]
    # 1 cached clean gradient per image, then at most 2 gradients per bisection (3-step PGD)
    assert result.gradient_evaluations <= len(images) + 2 * int(bisections.sum())
    assert int(bisections.max()) == 10  # ceil(log2((10 - 0.001) / 0.01))


def test_cw_l2_recovers_the_distance_to_a_linear_boundary(linear_problem):
    model, images, labels, distance = linear_problem
    result = cw_l2(model, images, labels, steps=300, lr=0.01, binary_search_steps=9,
                   initial_const=1.0, normalized=False)
    assert bool(result.success.all())
    relative = (result.l2 - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative


def test_min_eps_linf_recovers_the_linf_distance(linear_problem):
    model, images, labels, _ = linear_problem
    w = model.w.detach()
    with torch.no_grad():
        score = images.flatten(1) @ w + model.b
    distance = (score.abs() / w.abs().sum()).double()  # dual norm of Linf is L1
    result = min_eps(model, images, labels, norm="linf", tolerance=1e-5, normalized=False)
    relative = (result.extras["eps"] - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative


def test_cw_l2_leaves_pixels_without_margin_gradient_alone():
    """The distance term is anchored at the tanh image of x0, so its gradient starts at exactly
    0: a pixel the logits ignore must not move (Adam would otherwise turn the ~1e-7 box offset
    into a full lr-sized step on it)."""
    torch.manual_seed(0)
    images = torch.rand(4, 1, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # the classifier only looks at the top half
    weight = torch.randn(1, 1, 4, 4) * mask

    class Half(torch.nn.Module):
        def forward(self, x):
            score = (x * weight).flatten(1).sum(1)
            return torch.stack([score, -score], 1)

    model = Half()
    with torch.no_grad():
        labels = model(images).argmax(1)
    result = cw_l2(model, images, labels, steps=50, lr=0.1, binary_search_steps=2,
                   initial_const=100.0, normalized=False)
    assert bool(result.success.all())
    assert float(result.perturbation[..., 2:, :].abs().max()) < 1e-5


def test_cw_l2_fast_setting_on_a_linear_boundary(linear_problem):
    """The benchmark's fast setting: few Adam steps, c escalation, line search to the boundary."""
    model, images, labels, distance = linear_problem
    result = cw_l2(model, images, labels, steps=2, binary_search_steps=3, initial_const=1.0,
                   lr=0.5, stop_at_first_success=True, refine_steps=3, normalized=False)
    assert bool(result.success.all())
    assert result.gradient_evaluations == len(images)  # one Adam update, no further search
    assert bool((result.l2 >= distance * 0.999).all())  # never inside the true boundary
    # the margin is linear along the ray, so false position lands on the boundary at once
    with torch.no_grad():
        clean, adv = model(images), model(result.adversarial)
    assert bool((margin(adv, labels).abs() <= 1e-3 * margin(clean, labels).abs()).all())
