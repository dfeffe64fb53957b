"""Shared fixtures: tiny models and images so the whole suite runs in seconds on CPU."""

from __future__ import annotations

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_cnn() -> nn.Module:
    """A seeded 4-class CNN on 3x12x12 inputs (random weights, in training mode on purpose)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(32, 4),
    ).train()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(6, 3, 12, 12, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def labels(tiny_cnn, images) -> torch.Tensor:
    tiny_cnn.eval()
    with torch.no_grad():
        predicted = tiny_cnn(images).argmax(1)
    tiny_cnn.train()
    return predicted


class LinearBinary(nn.Module):
    """Logits ``[0, w.x + b]``: the decision boundary is the hyperplane ``w.x + b = 0``."""

    def __init__(self, w: torch.Tensor, b: float):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = x.flatten(1) @ self.w + self.b
        return torch.stack([torch.zeros_like(score), score], dim=1)


@pytest.fixture
def linear_problem():
    """A linear classifier and images at known, diverse L2 distances from its boundary.

    Images sit near mid-grey so the pixel box never binds; the true minimal L2 distance is
    ``|w.x + b| / ||w||``.
    """
    generator = torch.Generator().manual_seed(3)
    d = 3 * 8 * 8
    w = torch.randn(d, generator=generator)
    b = -0.5 * float(w.sum())  # the mid-grey image lies on the boundary
    unit = w / w.norm()
    target = torch.tensor([0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 1.6])
    sign = torch.tensor([1.0, -1.0] * 4)
    noise = 0.05 * torch.rand(len(target), d, generator=generator)
    noise = noise - (noise @ unit)[:, None] * unit  # keep the noise parallel to the boundary
    x = 0.5 + noise + (sign * target)[:, None] * unit
    images = x.view(-1, 3, 8, 8)
    model = LinearBinary(w, b)
    with torch.no_grad():
        score = images.flatten(1) @ w + b
    distance = score.abs() / w.norm()
    labels = (score > 0).long()
    return model, images, labels, distance.double()


@pytest.fixture
def manager():
    """A fresh plugin manager holding only this plugin, installed process-wide for the test."""
    import neuroalign
    from neuroalign.plugins.manager import PluginManager
    from neuroalign_attacks import plugin

    pm = PluginManager(autoload=False, builtin=False)
    pm.register(plugin, name="attacks", distribution="neuroalign-attacks")
    old = neuroalign.use_plugin_manager(pm)
    yield pm
    neuroalign.use_plugin_manager(old)
