"""Torch models at run time: :class:`TorchModel` wraps any ``torch.nn.Module``.

Plugins (``neuroalign-timm``, model packages) build a :class:`TorchModel` in their factory;
users wrap their own module with :meth:`neuroalign.Model.from_module`. torch is imported lazily
(inside functions), so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from ..specs import ModelSpec, Preprocessing
from ..interfaces import Model

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch
    import xarray as xr

    from .reduction import Reduction
    from ..stimuli import StimulusSet

__all__ = ["TorchModel", "in_memory_factory", "model_from_module", "state_dict_sha256"]


def state_dict_sha256(module: Any) -> str:
    """sha256 of ``module.state_dict()``: sorted keys, then each key, dtype, shape and bytes."""
    import torch

    digest = hashlib.sha256(b"neuroalign-state-dict-v1\n")
    state = module.state_dict()
    for key in sorted(state):
        value = state[key]
        if torch.is_tensor(value):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
            # a uint8 view hashes any dtype (bfloat16, float8, ...) without a conversion
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
        else:  # extra state (rare): its repr
            digest.update(f"{key}\0{type(value).__name__}\0{value!r}\0".encode())
    return digest.hexdigest()


def in_memory_factory(spec: ModelSpec) -> Model:
    """Factory of specs made by :meth:`Model.from_module`: they cannot be rebuilt from the spec."""
    raise SpecError(
        f"model {spec.id!r} was built from an in-memory torch module with "
        "neuroalign.Model.from_module; its spec cannot rebuild it. Pass the Model object itself "
        "(or register a ModelSpec whose factory builds the module, see docs/extraction.md)"
    )


class TorchModel(Model):
    """A :class:`~neuroalign.Model` backed by a ``torch.nn.Module``.

    Parameters
    ----------
    spec : ModelSpec
        Id, visual degrees, candidate layers and region commitments.
    module : torch.nn.Module
        The network. It is moved to ``device`` and put in eval mode during extraction (its
        previous train/eval mode is restored afterwards).
    preprocessing : Preprocessing, optional
        Overrides ``spec.preprocessing``; default ``Preprocessing()`` (224 px, ImageNet stats).
    device : str or torch.device, optional
        Default CUDA when available, else CPU; settable later through :attr:`device`.
    batch_size : int, optional
        Stimuli per forward pass; default (None): chosen from the memory available on the
        device (:func:`neuroalign.extraction.pipeline.auto_batch_size`).
    layout : {"auto", "channels_last", "contiguous"}
        Memory layout of forward passes (``"auto"``: channels-last for convolutional networks on
        CPU, see :mod:`neuroalign.extraction.pipeline`); part of the activation cache key.
    amp : {None, "bfloat16", "float16"}
        Autocast dtype of forward passes; None (default) runs float32. AMP changes scores, so it
        is opt-in and part of the activation cache key.
    """

    #: activations go through the on-disk activation cache (extract / extract_gram): a pass made
    #: ahead for several benchmarks is read back, not recomputed
    #: (:mod:`neuroalign.scoring.shared_passes`)
    caches_activations = True

    def __init__(
        self,
        spec: ModelSpec,
        module: torch.nn.Module,
        *,
        preprocessing: Preprocessing | None = None,
        device: Any = None,
        batch_size: int | None = None,
        layout: str = "auto",
        amp: str | None = None,
    ):
        import torch

        if not isinstance(module, torch.nn.Module):
            raise SpecError(
                f"model {spec.id!r}: expected a torch.nn.Module, got {type(module).__name__}"
            )
        from .pipeline import AMP_DTYPES, LAYOUTS

        if batch_size is not None and int(batch_size) < 1:
            raise SpecError(f"batch_size={batch_size!r} must be a positive integer")
        if layout not in LAYOUTS:
            raise SpecError(f"layout={layout!r}: use one of {list(LAYOUTS)}")
        if amp is not None and amp not in AMP_DTYPES:
            raise SpecError(f"amp={amp!r}: use None (float32) or one of {list(AMP_DTYPES)}")
        self.spec = spec
        self._module = module
        self._preprocessing = preprocessing or spec.preprocessing or Preprocessing()
        self._device = device
        self.batch_size = None if batch_size is None else int(batch_size)
        self.layout = layout
        self.amp = amp
        self._weights: tuple[tuple[Any, ...], str] | None = None
        self._architecture: str | None = None
        committed = list(spec.layers) + [spec.region_layers[r] for r in sorted(spec.region_layers)]
        if committed:
            self.check_layers(committed)

    def __repr__(self) -> str:
        return f"<TorchModel {self.identifier!r} ({type(self._module).__name__})>"

    # ------------------------------------------------------------------ basics

    @property
    def preprocessing(self) -> Preprocessing:
        return self._preprocessing

    def module(self) -> torch.nn.Module:
        return self._module

    def with_preprocessing(self, preprocessing: Preprocessing) -> TorchModel:
        """A view of this model (same module, device, batch size) with other preprocessing."""
        if preprocessing == self._preprocessing:
            return self
        view = TorchModel.__new__(TorchModel)
        view.__dict__.update(self.__dict__)
        view._preprocessing = preprocessing
        return view

    @property
    def device(self) -> torch.device:
        """Where forward passes run (CUDA when available, else CPU, unless set)."""
        from .extract import resolve_device

        return resolve_device(self._device)

    @device.setter
    def device(self, value: Any) -> None:
        self._device = value

    def check_layers(self, layers: Sequence[str]) -> list[str]:
        """Validate layer names; an unknown one raises an error listing the closest names."""
        from .extract import check_layers

        return check_layers(self._module, layers)

    def weights_hash(self) -> str:
        """sha256 of the state dict (sorted keys, dtype, shape, bytes).

        Cached, and recomputed when any tensor changed: the cache is tagged with each tensor's
        storage pointer and in-place version counter, which ``load_state_dict``, optimiser steps
        and ``tensor.add_()`` all bump.
        """
        state = self._module.state_dict(keep_vars=True)
        try:
            tag: tuple[Any, ...] | None = tuple(
                (key, value.data_ptr(), value._version, tuple(value.shape), str(value.dtype))
                if hasattr(value, "data_ptr") else (key, repr(value))
                for key, value in state.items()
            )
        except RuntimeError:  # inference tensors have no version counter: never trust a cache
            tag = None
        if tag is None or self._weights is None or self._weights[0] != tag:
            self._weights = (tag, state_dict_sha256(self._module))
        return self._weights[1]

    def architecture_hash(self) -> str:
        """sha256 of the module tree (``repr``) and the source of each module class's forward.

        Part of the activation cache key, so two parameter-free or same-weight modules with
        different code never share cache entries.
        """
        if self._architecture is None:
            digest = hashlib.sha256(repr(self._module).encode())
            classes = {type(m) for m in self._module.modules()}
            for cls in sorted(classes, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
                digest.update(f"\n{cls.__module__}.{cls.__qualname__}\n".encode())
                try:
                    digest.update(inspect.getsource(cls.forward).encode())
                except (OSError, TypeError):
                    pass  # built-in or generated: the class name has to do
            self._architecture = digest.hexdigest()
        return self._architecture

    # ------------------------------------------------------------------ running

    def preprocess(self, images: np.ndarray, *, image_degrees: float | None = None) -> torch.Tensor:
        """uint8 ``(n, y, x, c)`` pixels -> normalised input on :attr:`device`.

        ``image_degrees`` (default: the model's own) is the visual angle the images span; see
        :func:`neuroalign.extract.place` for the placement rule.
        """
        from .extract import place

        return place(images, image_degrees=image_degrees or self.visual_degrees,
                     model_degrees=self.visual_degrees, preprocessing=self.preprocessing,
                     device=self.device)

    def activations(
        self,
        stimuli: StimulusSet,
        layers: list[str] | tuple[str, ...],
        *,
        visual_degrees: float | None = None,
        reduction: str | Reduction | None = "pca",
        cache: bool = True,
        progress: bool | None = None,
    ) -> xr.DataArray:
        """Activations ``presentation x neuroid`` of ``layers``; see
        :func:`neuroalign.extraction.extract.extract` (and, for ``reduction="gram"``, the full
        activations' Gram embedding :func:`neuroalign.extraction.gram.extract_gram`)."""
        from .extract import extract
        from .reduction import Reduction

        coerced = Reduction.coerce(reduction)
        if coerced is not None and coerced.method == "gram":
            from .gram import extract_gram

            return extract_gram(self, stimuli, layers, visual_degrees=visual_degrees,
                                batch_size=self.batch_size, device=self.device, cache=cache,
                                progress=progress, layout=self.layout, amp=self.amp)
        return extract(self, stimuli, layers, visual_degrees=visual_degrees,
                       reduction=reduction, batch_size=self.batch_size, device=self.device,
                       cache=cache, progress=progress, layout=self.layout, amp=self.amp)

    def logits(self, stimuli: StimulusSet, *, visual_degrees: float | None = None,
               progress: bool | None = None) -> xr.DataArray:
        """Model output ``presentation x choice``; see :func:`neuroalign.extract.logits`."""
        from .extract import logits

        return logits(self, stimuli, visual_degrees=visual_degrees, batch_size=self.batch_size,
                      device=self.device, progress=progress, layout=self.layout, amp=self.amp)


def model_from_module(
    module: Any,
    *,
    identifier: str = "custom:model",
    preprocessing: Preprocessing | Mapping[str, Any] | None = None,
    layers: Sequence[str] = (),
    region_layers: Mapping[str, str] | None = None,
    visual_degrees: float = 8.0,
    metadata: Mapping[str, Any] | None = None,
) -> TorchModel:
    """Implementation of :meth:`neuroalign.Model.from_module`."""
    if isinstance(preprocessing, Mapping):
        preprocessing = Preprocessing.model_validate(dict(preprocessing))
    spec = ModelSpec(
        id=identifier,
        factory="neuroalign.extraction.torch_model:in_memory_factory",
        preprocessing=preprocessing,
        visual_degrees=visual_degrees,
        layers=tuple(layers),
        region_layers=dict(region_layers or {}),
        metadata={"source": "from_module",
                  "class": f"{type(module).__module__}.{type(module).__qualname__}",
                  **dict(metadata or {})},
    )
    return TorchModel(spec, module, preprocessing=preprocessing)
