"""Activations from torch models: the Model implementation, hooks, placement, reduction, cache.

- :mod:`.torch_model`: :class:`TorchModel` (any ``torch.nn.Module`` as a neuroalign Model);
- :mod:`.extract`: one streamed forward pass with hooks, visual-degree placement, the
  activation cache;
- :mod:`.reduction`: streaming PCA / sparse random projection of wide layers.

torch is imported only when a model is built or activations are extracted.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "TorchModel": "torch_model", "model_from_module": "torch_model",
    "state_dict_sha256": "torch_model",
    "extract": "extract", "place": "extract", "logits": "extract", "check_layers": "extract",
    "ExtractionError": "extract", "UnknownLayerError": "extract",
    "Reduction": "reduction", "PCAFitter": "reduction", "PCAReducer": "reduction",
    "ProjectionReducer": "reduction",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
