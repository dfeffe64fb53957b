"""The synthetic shapes classifier as a :class:`neuroalign.Model`.

Any other torch module becomes a Model with the core's :meth:`neuroalign.Model.from_module`.
"""

from __future__ import annotations

from neuroalign import Model, Preprocessing

from .synthetic import LABEL_SPACE, ShapesCNN, load_classifier

__all__ = ["shapes_classifier_model", "SHAPES_MODEL_ID"]

SHAPES_MODEL_ID = "attacks:shapes_cnn"


def shapes_classifier_model(seed: int = 0) -> Model:
    """The synthetic shapes classifier as a ``neuroalign.Model`` (trained, cached on first use)."""
    module = load_classifier(seed)
    preprocessing = Preprocessing(input_size=32, mean=ShapesCNN.mean, std=ShapesCNN.std)
    return Model.from_module(module, identifier=SHAPES_MODEL_ID, preprocessing=preprocessing,
                             metadata={"label_space": LABEL_SPACE, "seed": seed})
