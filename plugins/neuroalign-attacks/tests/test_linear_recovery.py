"""On a linear classifier the minimal L2 distance to the boundary is |w.x + b| / ||w||."""

from __future__ import annotations

import torch

from neuroalign_attacks import cw_l2, min_eps


def test_min_eps_recovers_the_distance_to_a_linear_boundary(linear_problem):
    model, images, labels, distance = linear_problem
    result = min_eps(model, images, labels)
    relative = (result.extras["eps"] - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative
    assert float(((result.l2 - distance).abs() / distance).max()) < 0.02
    assert bool(result.success.all())
    assert bool((result.extras["eps"] >= distance * 0.999).all())  # never below the truth


def test_min_eps_converged_images_drop_out(linear_problem):
    model, images, labels, distance = linear_problem
    result = min_eps(model, images, labels, tolerance=0.01)
    bisections = result.extras["bisections"]
    # 1 cached clean gradient per image, then at most 2 gradients per bisection (3-step PGD)
    assert result.gradient_evaluations <= len(images) + 2 * int(bisections.sum())
    assert int(bisections.max()) == 10  # ceil(log2((10 - 0.001) / 0.01))


def test_cw_l2_recovers_the_distance_to_a_linear_boundary(linear_problem):
    model, images, labels, distance = linear_problem
    result = cw_l2(model, images, labels, steps=300, lr=0.01, binary_search_steps=9,
                   initial_const=1.0)
    assert bool(result.success.all())
    relative = (result.l2 - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative


def test_min_eps_linf_recovers_the_linf_distance(linear_problem):
    model, images, labels, _ = linear_problem
    w = model.w.detach()
    with torch.no_grad():
        score = images.flatten(1) @ w + model.b
    distance = (score.abs() / w.abs().sum()).double()  # dual norm of Linf is L1
    result = min_eps(model, images, labels, norm="linf", tolerance=1e-5)
    relative = (result.extras["eps"] - distance).abs() / distance
    assert float(relative.max()) < 0.02, relative
