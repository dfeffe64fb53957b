"""The ground-truth network ``synthetic:groundtruth``: a small fixed-seed CNN.

Four convolutional stages stand for V1, V2, V4 and IT, and a linear read-out for behaviour. The
weights are drawn from numpy's PCG64 generator (stable across numpy and torch versions), He
scaled, so the network, its weights hash and everything generated from it are reproducible
bit for bit on CPU. It is untrained: it is a *known* network, not a good one; synthetic neural
data are read out of its layers, so scoring it recovers the ground truth.

Input: 96 x 96 pixels (3 channels; grayscale stimuli are replicated), seeing 8 degrees of visual
angle, so the extractor places and resizes every stimulus exactly as for any other model. The
committed layers are small (V4: 768 features, IT: 384) so the core extractor passes them through
unreduced and the features scored are exactly the features the data were generated from.

========  =========  =================================================  ===========
region    layer      operation                                          output
========  =========  =================================================  ===========
V1        ``v1``     conv 7x7/2 (16) + ReLU                             16 x 48 x 48
V2        ``v2``     conv 3x3 (32) + ReLU + max-pool 2                  32 x 24 x 24
V4        ``v4``     conv 3x3 (48) + ReLU + avg-pool 6                  48 x 4 x 4
IT        ``it``     conv 3x3 (96) + ReLU + avg-pool 2                  96 x 2 x 2
behavior  ``readout`` flatten + linear (8 categories)                   8
========  =========  =================================================  ===========
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neuroalign import ModelSpec, Preprocessing

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from neuroalign import Model

__all__ = [
    "MODEL_ID",
    "LAYERS",
    "REGION_LAYERS",
    "INPUT_SIZE",
    "PREPROCESSING",
    "DEFAULT_SEED",
    "model_spec",
    "build_module",
    "build_model",
]

MODEL_ID = "synthetic:groundtruth"
LAYERS: tuple[str, ...] = ("v1", "v2", "v4", "it", "readout")
REGION_LAYERS: dict[str, str] = {"V1": "v1", "V2": "v2", "V4": "v4", "IT": "it",
                                 "behavior": "readout"}
INPUT_SIZE = 96
#: grayscale stimuli: one mean and std for every channel
PREPROCESSING = Preprocessing(
    input_size=INPUT_SIZE, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
    interpolation="bilinear", crop_pct=1.0,
)
DEFAULT_SEED = 2015
_CHANNELS = (3, 16, 32, 48, 96)


def model_spec() -> ModelSpec:
    """The registered spec of ``synthetic:groundtruth`` (cheap: no torch import)."""
    return ModelSpec(
        id=MODEL_ID,
        factory="neuroalign_synthetic.network:build_model",
        parameters={"seed": DEFAULT_SEED},
        preprocessing=PREPROCESSING,
        visual_degrees=8.0,
        layers=LAYERS[:-1],
        region_layers=dict(REGION_LAYERS),
        description="Fixed-seed 4-stage CNN (V1, V2, V4, IT + read-out) that generates every "
        "synthetic dataset; scoring it recovers the ground truth. Input 96 px, 8 degrees.",
        metadata={"family": "synthetic", "input_size": INPUT_SIZE, "trained": False,
                  "params": 65_528, "demo": "quick", "ground_truth": True},
    )


def build_module(seed: int = DEFAULT_SEED) -> torch.nn.Module:
    """The ground-truth network with its fixed weights, in eval mode.

    Parameters
    ----------
    seed : int
        Weight seed (the registered model uses :data:`DEFAULT_SEED`).
    """
    import torch
    from torch import nn

    import numpy as np  # here, not at module level: registration must stay cheap

    rng = np.random.Generator(np.random.PCG64(seed))
    c = _CHANNELS
    module = nn.Sequential()
    module.add_module("v1", nn.Sequential(nn.Conv2d(c[0], c[1], 7, stride=2, padding=3),
                                          nn.ReLU()))
    module.add_module("v2", nn.Sequential(nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2)))
    module.add_module("v4", nn.Sequential(nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
                                          nn.AvgPool2d(6)))
    module.add_module("it", nn.Sequential(nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(),
                                          nn.AvgPool2d(2)))
    module.add_module("readout", nn.Sequential(nn.Flatten(), nn.Linear(c[4] * 4, 8)))
    with torch.no_grad():
        for name, layer in module.named_modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fan_in = int(np.prod(layer.weight.shape[1:]))
                weight = rng.standard_normal(layer.weight.shape) * np.sqrt(2.0 / fan_in)
                layer.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
                # a small negative bias keeps the ReLU maps sparse, as in trained networks
                bias = -0.1 * np.abs(rng.standard_normal(layer.bias.shape)) if name != "readout.1" \
                    else np.zeros(layer.bias.shape)
                layer.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return module.eval()


def build_model(spec: ModelSpec) -> Model:
    """Factory of ``synthetic:groundtruth``: a core :class:`~neuroalign.extraction.torch_model.TorchModel`.

    ``spec.parameters["pretrained"]`` is accepted and ignored: the fixed weights *are* this
    model's weights.
    """
    from neuroalign.extraction.torch_model import TorchModel

    seed = int(spec.parameters.get("seed", DEFAULT_SEED))
    return TorchModel(spec, build_module(seed), preprocessing=spec.preprocessing or PREPROCESSING)

