"""``example:linear``: a fixed, seeded two-layer network in numpy.

Images are turned grey, block-averaged to 8x8 and normalised; layer ``linear`` is a random
projection to 32 units, ``relu`` its rectification, and the 4 logits a random read-out of
``relu``. The synthetic dataset reads its V4 sites out of ``linear`` and its IT sites out of
``relu``, so this model is the ground truth of ``Example.toy``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import xarray as xr

from neuroalign import Model, ModelSpec, Preprocessing

SIDE = 8
UNITS = 32
CLASSES = ("apple", "boat", "car", "dog")


def _pixels(stimuli: Any) -> tuple[np.ndarray, list[str]]:
    """``(n, y, x, c)`` uint8 or float pixels and stimulus ids of a StimulusSet or an array."""
    if hasattr(stimuli, "images") and hasattr(stimuli, "ids"):
        return stimuli.images(), list(stimuli.ids)
    array = np.asarray(stimuli)
    return array, [f"image{i}" for i in range(len(array))]


class LinearModel(Model):
    """A seeded random ``linear -> relu -> logits`` network (numpy; torch only in module()).

    Parameters
    ----------
    spec : ModelSpec
        ``parameters["seed"]`` (int) fixes the weights; a tag ``seedN`` overrides it.
    """

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        tag = spec.parameters.get("tag")
        seed = int(tag[4:]) if isinstance(tag, str) and tag.startswith("seed") else spec.parameters.get("seed", 0)
        rng = np.random.default_rng(seed)
        # scaled so that unit activations have about unit variance on normalised pixels
        self.w1 = rng.standard_normal((SIDE * SIDE, UNITS)) / SIDE
        self.w2 = rng.standard_normal((UNITS, len(CLASSES))) / np.sqrt(UNITS)

    @property
    def preprocessing(self) -> Preprocessing:
        """8x8 input, mean 0.5 / std 0.25 per channel."""
        return self.spec.preprocessing or Preprocessing(input_size=SIDE)

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """``(n, y, x, c)`` pixels -> ``(n, 64)`` normalised grey 8x8 vectors."""
        images = np.asarray(images, dtype=float)
        if images.max(initial=0.0) > 1.0:
            images = images / 255.0
        grey = images.mean(axis=-1)
        n, y, x = grey.shape
        grey = grey[:, : y - y % SIDE, : x - x % SIDE]  # crop to a multiple of 8
        blocks = grey.reshape(n, SIDE, grey.shape[1] // SIDE, SIDE, grey.shape[2] // SIDE)
        small = blocks.mean(axis=(2, 4))
        pre = self.preprocessing
        return ((small - pre.mean[0]) / pre.std[0]).reshape(n, SIDE * SIDE)

    def forward(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's activations, ``(n, units)`` each."""
        linear = self.preprocess(images) @ self.w1
        relu = np.maximum(linear, 0.0)
        return {"linear": linear, "relu": relu, "logits": relu @ self.w2}

    def activations(self, stimuli, layers, *, visual_degrees=None, reduction="pca",
                    progress=None) -> xr.DataArray:
        """``presentation x neuroid`` activations of ``layers`` (tiny: no reduction is applied)."""
        images, ids = _pixels(stimuli)
        outputs = self.forward(images)
        unknown = [layer for layer in layers if layer not in outputs]
        if unknown:
            raise ValueError(f"model {self.identifier!r} has no layer(s) {unknown}; it has {list(outputs)}")
        values = np.concatenate([outputs[layer] for layer in layers], axis=1)
        layer_of = [layer for layer in layers for _ in range(outputs[layer].shape[1])]
        return xr.DataArray(
            values, dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", ids),
                    "neuroid_id": ("neuroid", [f"{l}.{i}" for i, l in enumerate(layer_of)]),
                    "layer": ("neuroid", layer_of)},
        )

    def logits(self, stimuli, *, visual_degrees=None) -> xr.DataArray:
        """``presentation x choice`` logits over :data:`CLASSES`."""
        images, ids = _pixels(stimuli)
        return xr.DataArray(self.forward(images)["logits"], dims=("presentation", "choice"),
                            coords={"stimulus_id": ("presentation", ids), "choice": list(CLASSES)})

    def __call__(self, images: Any) -> np.ndarray:
        """Logits of an ``(n, y, x, c)`` array in [0, 1] (what attacks call)."""
        return self.forward(np.asarray(images))["logits"]

    def module(self) -> Any:
        """The same network as a ``torch.nn.Module`` on ``(n, 64)`` inputs (imports torch)."""
        import torch  # lazily: importing the plugin must never import torch

        net = torch.nn.Sequential(torch.nn.Linear(SIDE * SIDE, UNITS, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(UNITS, len(CLASSES), bias=False))
        with torch.no_grad():
            net[0].weight.copy_(torch.as_tensor(self.w1.T))
            net[2].weight.copy_(torch.as_tensor(self.w2.T))
        return net.eval()

    def weights_hash(self) -> str:
        """sha256 of the weights (float64 bytes, in layer order)."""
        return hashlib.sha256(self.w1.tobytes() + self.w2.tobytes()).hexdigest()
