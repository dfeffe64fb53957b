"""The reference minimal-eps search: exact on a linear classifier, equal to the per-image loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neuroalign_attacks import AttackInputError
from neuroalign_clickme.search import (
    FAILURE,
    MISCLASSIFIED,
    SUCCESS,
    SearchSchedule,
    per_image_search,
    project_l2,
    tolerance_search,
)

ZERO, ONE = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)


def _linear(side: int, seed: int = 0) -> tuple[nn.Module, torch.Tensor]:
    """Two-class linear model ``z = (0, w.x + b)`` on 3 x side x side and a unit direction."""
    gen = torch.Generator().manual_seed(seed)
    dims = 3 * side * side
    w = torch.where(torch.rand(dims, generator=gen) < 0.5, -1.0, 1.0) / dims ** 0.5  # ||w|| = 1
    model = nn.Sequential(nn.Flatten(), nn.Linear(dims, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.stack([torch.zeros(dims), w]))
        model[1].bias.copy_(torch.tensor([0.0, -float(w @ torch.full((dims,), 0.5))]))
    return model, w.view(3, side, side)


def _at_distances(w: torch.Tensor, distances: list[float]) -> torch.Tensor:
    """Images on the class-0 side at the given L2 distances from the boundary w.x + b = 0."""
    return torch.stack([0.5 - d * w for d in distances]).float()


@pytest.mark.parametrize("projection", ["sphere", "ball"])
def test_linear_boundary_recovered_within_tolerance(projection):
    model, w = _linear(16)
    # ball: 3 steps of 0.5 reach 1.5 at most, so its distances stay below that
    distances = [0.05, 0.2, 0.61, 0.93, 1.3] + ([2.5, 4.7, 8.9] if projection == "sphere" else [])
    images = _at_distances(w, distances)
    assert float(images.min()) > 0 and float(images.max()) < 1  # no clamping in play
    labels = torch.zeros(len(images), dtype=torch.long)
    result = tolerance_search(model, images, labels, projection=projection, mean=ZERO, std=ONE)
    eps = result.extras["eps"].numpy()
    for d, e in zip(distances, eps):
        width = 0.01 if d < 1 else 0.1
        assert d <= e < d + width, (d, e)
    assert result.success.all()
    # the kept perturbation is the one found at the minimal eps: on the boundary's far side
    np.testing.assert_allclose(result.l2.numpy(), eps if projection == "sphere" else
                               np.minimum(eps, 1.5), rtol=1e-4)


def test_failures_and_misclassified_are_reported_apart():
    model, w = _linear(32)
    images = torch.cat([_at_distances(w, [0.3, 12.0]), (0.5 + 0.4 * w)[None]])
    labels = torch.zeros(3, dtype=torch.long)
    result = tolerance_search(model, images, labels, mean=ZERO, std=ONE)
    assert result.extras["outcome"].tolist() == [SUCCESS, FAILURE, MISCLASSIFIED]
    eps = result.extras["eps"]
    assert 0.3 <= float(eps[0]) < 0.31 and eps[1:].isnan().all()
    assert result.success.tolist() == [True, False, False]
    assert float(result.l2[1]) == 0 and float(result.l2[2]) == 0  # clean images handed back
    assert result.extras["pgd_runs"].tolist()[1:] == [1, 0]


def test_batched_search_equals_the_per_image_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                          nn.Flatten(), nn.Linear(32, 5)).eval()
    images = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        labels = model(images).argmax(1)
    labels[0] = (labels[0] + 1) % 5  # one image starts misclassified
    mean, std = (0.4, 0.4, 0.4), (0.2, 0.2, 0.2)
    for projection in ("sphere", "ball", "notebook"):
        batched = tolerance_search(model, images, labels, projection=projection, mean=mean,
                                   std=std)
        loop = per_image_search(model, images, labels, projection=projection, mean=mean, std=std)
        assert batched.extras["outcome"].tolist() == loop["outcome"].tolist()
        np.testing.assert_allclose(batched.extras["eps"].numpy(), loop["eps"].numpy(),
                                   equal_nan=True)
        assert batched.extras["pgd_runs"].tolist() == loop["pgd_runs"].tolist()
        torch.testing.assert_close(batched.adversarial, loop["adversarial"], atol=1e-5, rtol=0)
        # the shared clean gradient: (steps - 1) gradients per run, plus one per image at set-up
        runs = int(batched.extras["pgd_runs"].sum())
        assert batched.gradient_evaluations == 2 * runs + len(images)


def test_projections():
    delta = torch.tensor([[3.0, 4.0]])
    eps = torch.tensor([2.0])
    assert torch.allclose(project_l2(delta, eps, "sphere"), torch.tensor([[1.2, 1.6]]))
    assert torch.allclose(project_l2(delta, eps, "ball"), torch.tensor([[1.2, 1.6]]))
    assert torch.allclose(project_l2(delta, torch.tensor([9.0]), "ball"), delta)
    assert torch.allclose(project_l2(delta, torch.tensor([9.0]), "sphere"),
                          torch.tensor([[5.4, 7.2]]))
    # the public code's update: x_next + eps * delta / ||delta||
    assert torch.allclose(project_l2(delta, eps, "notebook"), torch.tensor([[4.2, 5.6]]))
    with pytest.raises(AttackInputError, match="unknown projection 'cube'"):
        project_l2(delta, eps, "cube")


def test_bad_schedule_is_refused():
    model, w = _linear(4)
    with pytest.raises(AttackInputError, match="lower < split < upper"):
        tolerance_search(model, _at_distances(w, [0.1]), [0], mean=ZERO, std=ONE,
                         schedule=SearchSchedule(split=20.0))
    with pytest.raises(AttackInputError, match="unknown projection"):
        tolerance_search(model, _at_distances(w, [0.1]), [0], projection="cube")
