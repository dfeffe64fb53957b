"""A procedural labelled image set and a small classifier trained on it, for offline benchmarks.

Images are rendered analytically (signed distance functions on a continuous [-1, 1]^2 plane), so
the same seed gives the same scene at any resolution. Six classes of shapes with random position,
size, rotation, colours, background gradient and pixel noise:

    0 disk, 1 square, 2 triangle, 3 ring, 4 cross, 5 striped disk

The classifier (:func:`train_classifier`) is a 3-layer CNN trained deterministically in a few
seconds on CPU and cached under ``$NEUROALIGN_HOME/attacks/`` as a plain state dict (written
atomically, loaded with ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "CLASSES",
    "LABEL_SPACE",
    "SHAPES_VERSION",
    "render_shapes",
    "ShapesCNN",
    "train_classifier",
    "load_classifier",
    "cache_dir",
]

CLASSES: tuple[str, ...] = ("disk", "square", "triangle", "ring", "cross", "striped_disk")
#: models whose ``spec.metadata["label_space"]`` equals this are scored on their own logits
LABEL_SPACE = "neuroalign_attacks.shapes-v1"
#: bump when rendering or training changes, so stale cached weights are never reused
SHAPES_VERSION = 1
TRAIN_SEED = 1234
TRAIN_SIZE = 32


def cache_dir() -> Path:
    """``$NEUROALIGN_HOME/attacks`` (default ``~/.cache/neuroalign/attacks``)."""
    home = os.environ.get("NEUROALIGN_HOME") or os.path.join("~", ".cache", "neuroalign")
    return Path(home).expanduser() / "attacks"


def _sdf(kind: int, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """Signed distance (negative inside) of shape ``kind`` centred at the origin."""
    if kind in (0, 5):
        return np.hypot(u, v) - radius
    if kind == 1:
        return np.maximum(np.abs(u), np.abs(v)) - 0.8 * radius
    if kind == 2:
        d = -np.inf
        for k in range(3):
            angle = math.pi / 2 + 2 * math.pi * k / 3
            d = np.maximum(d, u * math.cos(angle) + v * math.sin(angle))
        return d - 0.5 * radius
    if kind == 3:
        return np.abs(np.hypot(u, v) - 0.8 * radius) - 0.22 * radius
    if kind == 4:
        arm, half = radius, 0.3 * radius
        bar1 = np.maximum(np.abs(u) - arm, np.abs(v) - half)
        bar2 = np.maximum(np.abs(u) - half, np.abs(v) - arm)
        return np.minimum(bar1, bar2)
    raise ValueError(f"unknown shape class {kind}; valid classes are 0..{len(CLASSES) - 1}")


def render_shapes(n: int, size: int = TRAIN_SIZE, seed: int = 0,
                  balanced: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)``: ``n`` images ``(n, 3, size, size)`` in [0, 1] and int64 labels.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Side in pixels; the scene is resolution independent.
    seed : int
        Image ``i``'s scene is drawn from ``default_rng([seed, i, 0])`` and its pixel noise from
        ``default_rng([seed, i, 1])``.
    balanced : bool
        Labels cycle through the classes (``i % 6``) instead of being drawn at random.
    """
    if n < 1 or size < 8:
        raise ValueError(f"need n >= 1 and size >= 8; found n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % len(CLASSES)) if balanced else rng.integers(0, len(CLASSES), n)
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    pixel = 2.0 / size
    images = np.empty((n, 3, size, size), dtype=np.float32)
    for i, kind in enumerate(labels):
        # one stream per image for the scene and another for the noise: the same seed gives the
        # same scenes at every resolution
        rng, noise = np.random.default_rng([seed, i, 0]), np.random.default_rng([seed, i, 1])
        cx, cy = rng.uniform(-0.3, 0.3, 2)
        radius = rng.uniform(0.35, 0.6)
        theta = rng.uniform(0, 2 * math.pi)
        u = (xx - cx) * math.cos(theta) + (yy - cy) * math.sin(theta)
        v = -(xx - cx) * math.sin(theta) + (yy - cy) * math.cos(theta)
        inside = 1 / (1 + np.exp(np.clip(_sdf(int(kind), u, v, radius) / pixel * 2, -30, 30)))
        if kind == 5:  # stripes inside the disk
            inside = inside * (0.5 + 0.5 * np.sign(np.sin(u * math.pi * 4 / radius)))
        background = rng.uniform(0.15, 0.85, 3)
        gradient = rng.normal(0, 0.1, (3, 2))
        bg = background[:, None, None] + gradient[:, :1, None] * xx + gradient[:, 1:, None] * yy
        contrast = rng.uniform(0.3, 0.6) * rng.choice([-1.0, 1.0])
        tint = rng.uniform(-0.15, 0.15, 3)
        fg = np.clip(background + contrast + tint, 0.0, 1.0)
        image = bg * (1 - inside) + fg[:, None, None] * inside
        image += noise.normal(0, 0.03, image.shape)
        images[i] = np.clip(image, 0.0, 1.0)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


class ShapesCNN(nn.Module):
    """Three conv blocks, global average pooling and a linear head over the six classes.

    Takes normalised input (mean 0.5, std 0.25 per channel); any size >= 8 px works.
    """

    mean = (0.5, 0.5, 0.5)
    std = (0.25, 0.25, 0.25)

    def __init__(self, width: int = 16, n_classes: int = len(CLASSES)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, n_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _normalize(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(ShapesCNN.mean).view(1, 3, 1, 1)
    std = torch.tensor(ShapesCNN.std).view(1, 3, 1, 1)
    return (images - mean) / std


def train_classifier(seed: int = 0, n_train: int = 1800, epochs: int = 12) -> ShapesCNN:
    """Train :class:`ShapesCNN` on rendered shapes, deterministically for a seed (seconds, CPU)."""
    images, labels = render_shapes(n_train, TRAIN_SIZE, seed=TRAIN_SEED + seed)
    torch.manual_seed(seed)
    model = ShapesCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    inputs = _normalize(images)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n_train, generator=generator)
        for start in range(0, n_train, 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs[batch]), labels[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    for p in model.parameters():
        p.grad = None
    return model


def load_classifier(seed: int = 0) -> ShapesCNN:
    """The trained classifier for ``seed``: from the cache, or trained now and cached atomically."""
    path = cache_dir() / f"shapes_cnn-v{SHAPES_VERSION}-seed{seed}.pt"
    model = ShapesCNN()
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    with _threads(1):  # one thread: identical floating-point order on every machine
        trained = train_classifier(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(trained.state_dict(), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    model.load_state_dict(trained.state_dict())
    return model.eval()


class _threads:
    def __init__(self, n: int):
        self.n = n

    def __enter__(self) -> None:
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)
