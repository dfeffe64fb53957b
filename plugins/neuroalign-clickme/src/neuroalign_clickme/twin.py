"""``clickme:groundtruth-harmonized``: the synthetic ground-truth network behind a colour gate.

A harmonized network uses the features people use; on the synthetic twin those are the coloured
objects (the backgrounds are gray). The gate keeps a pixel where its squared chroma
``(r-g)^2 + (g-b)^2 + (b-r)^2`` exceeds 0.1 and replaces it by mid-gray elsewhere, smoothly
(``sigmoid(60 (chroma - 0.1))``), then the ground-truth network of ``neuroalign-synthetic``
(same fixed weights) sees the result. Gray background pixels reach the network only through the
gate's tiny slope there, so the network's gradients, and the perturbations attacks find, sit on
the objects. No training: the construction is exact and deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from neuroalign import Model, ModelSpec

__all__ = ["ColourGate", "build_module", "build_model", "GATE_THRESHOLD", "GATE_SLOPE"]

GATE_THRESHOLD = 0.1
GATE_SLOPE = 60.0


class ColourGate(nn.Module):
    """Normalised input -> gated normalised input (see the module docstring)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32)[None, :, None, None])
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32)[None, :, None, None])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * self.std + self.mean
        r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        chroma = (r - g) ** 2 + (g - b) ** 2 + (b - r) ** 2
        gate = torch.sigmoid(GATE_SLOPE * (chroma - GATE_THRESHOLD))
        return (gate * x + (1 - gate) * 0.5 - self.mean) / self.std


def build_module(seed: int = 2015, mean: Sequence[float] = (0.5,) * 3,
                 std: Sequence[float] = (0.25,) * 3) -> torch.nn.Module:
    """``gate -> v1 -> v2 -> v4 -> it -> readout`` with the ground-truth weights of ``seed``."""
    from neuroalign_synthetic.network import build_module as groundtruth

    network = groundtruth(seed)
    module = nn.Sequential()
    module.add_module("gate", ColourGate(mean, std))
    for name, child in network.named_children():
        module.add_module(name, child)
    return module.eval()


def build_model(spec: ModelSpec) -> Model:
    """Factory of ``clickme:groundtruth-harmonized`` (a core torch model)."""
    from neuroalign import Model as _Model

    pre = spec.preprocessing
    module = build_module(int(spec.parameters.get("seed", 2015)), pre.mean, pre.std)
    return _Model.from_module(module, identifier=spec.id, preprocessing=pre,
                              layers=spec.layers, region_layers=spec.region_layers,
                              visual_degrees=spec.visual_degrees, metadata=spec.metadata)
