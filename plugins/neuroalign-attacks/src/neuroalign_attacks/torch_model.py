"""A minimal :class:`neuroalign.Model` around a torch module, and the synthetic shapes classifier.

Benchmarks of this package need only ``module()`` and ``preprocessing``; this wrapper lets them
(and their tests) run on any ``nn.Module`` without the models plugin.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from neuroalign.interfaces import Model, ModelSpec, Preprocessing

from .synthetic import LABEL_SPACE, ShapesCNN, load_classifier, state_dict_sha256

__all__ = ["TorchModel", "shapes_classifier_model", "SHAPES_MODEL_ID"]

SHAPES_MODEL_ID = "attacks:shapes_cnn"


class TorchModel(Model):
    """A ``neuroalign.Model`` exposing ``module()`` and ``preprocessing`` of a torch module.

    Parameters
    ----------
    module : torch.nn.Module
    preprocessing : neuroalign.Preprocessing
    identifier : str
        Model id (``source:name``).
    metadata : dict, optional
        Goes into the spec; ``{"label_space": ...}`` tells benchmarks which labels it predicts.
    """

    def __init__(self, module: nn.Module, preprocessing: Preprocessing,
                 identifier: str = "torch:module", metadata: dict[str, Any] | None = None):
        self._module = module
        self._preprocessing = preprocessing
        self.spec = ModelSpec(id=identifier, factory="neuroalign_attacks.torch_model:TorchModel",
                              preprocessing=preprocessing, metadata=dict(metadata or {}))

    @property
    def preprocessing(self) -> Preprocessing:
        return self._preprocessing

    def module(self) -> nn.Module:
        return self._module

    def weights_hash(self) -> str:
        return state_dict_sha256(self._module)

    def activations(self, stimuli: Any, layers: Any, *, visual_degrees: float | None = None,
                    reduction: str | None = "pca") -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} only serves attacks (module() and preprocessing); use the "
            "models plugin (neuroalign-timm) for activations"
        )

    def logits(self, stimuli: Any, *, visual_degrees: float | None = None) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} only serves attacks; call module() on pixel tensors instead"
        )


def shapes_classifier_model(seed: int = 0) -> TorchModel:
    """The synthetic shapes classifier as a ``neuroalign.Model`` (trained, cached on first use)."""
    module = load_classifier(seed)
    preprocessing = Preprocessing(input_size=32, mean=ShapesCNN.mean, std=ShapesCNN.std)
    return TorchModel(module, preprocessing, SHAPES_MODEL_ID,
                      metadata={"label_space": LABEL_SPACE, "seed": seed})
