"""The common contract of every attack: pixel space [0, 1], a frozen model, validated inputs.

Attacks optimise images in pixel space; the model's normalisation lives inside
:class:`NormalizedModel`, a small differentiable wrapper. :func:`frozen` puts a module in eval
mode and switches off its parameters' ``requires_grad`` for the duration of an attack, then
restores both, so an attack never changes a model nor leaves gradients on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal, get_args

import torch
from torch import nn

from neuroalign.errors import NeuroalignError

__all__ = [
    "AttackInputError",
    "NormalizedModel",
    "ChannelsLast",
    "MemoryFormatWarning",
    "MEMORY_FORMATS",
    "MemoryFormat",
    "choose_memory_format",
    "as_pixel_model",
    "frozen",
    "check_images",
    "check_budget",
    "check_labels",
    "l2_norm",
    "linf_norm",
]


class AttackInputError(NeuroalignError, ValueError):
    """The images, labels, budget, model or objective handed to an attack break its contract."""


class NormalizedModel(nn.Module):
    """``model((x - mean) / std)``: lets attacks work on pixels in [0, 1].

    Parameters
    ----------
    model : torch.nn.Module
        The network, expecting normalised input.
    mean, std : sequence of 3 floats or None
        Per-channel normalisation; ``None`` means the model takes pixels as they are.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None):
        super().__init__()
        self.model = model
        if (mean is None) != (std is None):
            raise AttackInputError(
                f"give both mean and std or neither; found mean={mean!r}, std={std!r}"
            )
        if std is not None and any(float(s) <= 0 for s in std):
            raise AttackInputError(f"std must be positive per channel; found std={tuple(std)!r}")
        self.register_buffer("mean", None if mean is None else
                             torch.tensor([float(m) for m in mean]).view(1, -1, 1, 1))
        self.register_buffer("std", None if std is None else
                             torch.tensor([float(s) for s in std]).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.mean is not None:
            images = (images - self.mean.to(images)) / self.std.to(images)
        return self.model(images)


def as_pixel_model(model: Any, mean: Sequence[float] | None = None,
                   std: Sequence[float] | None = None) -> tuple[nn.Module, nn.Module]:
    """``(pixel-space wrapper, underlying module)`` for a torch module or a ``neuroalign.Model``.

    A ``neuroalign.Model`` (anything with ``.module()`` and ``.preprocessing``) brings its own
    mean and std; explicit ``mean``/``std`` override them.
    """
    if isinstance(model, NormalizedModel):
        return model, model.model
    if not isinstance(model, nn.Module) and callable(getattr(model, "module", None)):
        preprocessing = getattr(model, "preprocessing", None)
        if mean is None and std is None and preprocessing is not None:
            mean, std = preprocessing.mean, preprocessing.std
        model = model.module()
    if not isinstance(model, nn.Module):
        raise AttackInputError(
            f"the model must be a torch.nn.Module or a neuroalign.Model; found "
            f"{type(model).__name__}. Wrap plain functions with an objective instead "
            "(attack(None, images, objective=f))"
        )
    return NormalizedModel(model, mean, std), model


#: the ``memory_format`` argument of every attack
MemoryFormat = Literal["auto", "channels_last", "contiguous"]
MEMORY_FORMATS: tuple[str, ...] = get_args(MemoryFormat)


class MemoryFormatWarning(UserWarning):
    """``memory_format="auto"`` chose channels-last but the model cannot take it (e.g. it calls
    ``x.view(...)`` on its input); the attack runs in the standard layout instead."""


class ChannelsLast(nn.Module):
    """Runs ``model`` on its input in channels-last (NHWC) memory layout.

    Only the layout of the images changes, never their values nor the model's weights: oneDNN's
    convolutions then skip the reorders the NCHW layout costs them (about 20 % per forward and
    backward pass of a ResNet on CPU; see ``docs/attacks.md``).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.contiguous(memory_format=torch.channels_last))


def choose_memory_format(memory_format: MemoryFormat, module: nn.Module | None,
                         images: torch.Tensor) -> torch.memory_format:
    """The memory layout an attack runs the model in.

    ``"auto"`` picks channels-last for a convolutional network (any ``nn.Conv2d``) attacked on
    CPU, where oneDNN runs it faster, and the standard layout everywhere else (GPUs, models
    without convolutions, objectives). ``"channels_last"`` / ``"contiguous"`` force one. A model
    that fails on channels-last input but not in the standard layout gets the standard layout
    with a :class:`MemoryFormatWarning` under ``"auto"``, an error under ``"channels_last"``.
    """
    if memory_format not in MEMORY_FORMATS:
        raise AttackInputError(
            f"unknown memory_format {memory_format!r}; valid values are {list(MEMORY_FORMATS)}"
        )
    if memory_format == "contiguous" or module is None:
        return torch.contiguous_format
    if memory_format == "channels_last":
        return torch.channels_last
    convolutional = any(isinstance(m, nn.Conv2d) for m in module.modules())
    on_cpu = images.device.type == "cpu" and torch.backends.mkldnn.is_available()
    return torch.channels_last if convolutional and on_cpu else torch.contiguous_format


@contextlib.contextmanager
def frozen(module: nn.Module | None) -> Iterator[None]:
    """Eval mode and ``requires_grad=False`` on every parameter; both restored on exit."""
    if module is None:
        yield
        return
    modes = [(m, m.training) for m in module.modules()]
    params = list(module.parameters())
    requires = [p.requires_grad for p in params]
    grads_before = [p.grad for p in params]
    module.eval()
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
        for p, flag, grad in zip(params, requires, grads_before):
            p.requires_grad_(flag)
            p.grad = grad


def check_images(images: Any) -> torch.Tensor:
    """A float tensor ``(N, C, H, W)`` with every pixel in [0, 1], or a clear error."""
    if not isinstance(images, torch.Tensor):
        raise AttackInputError(
            f"images must be a torch.Tensor of shape (N, C, H, W); found {type(images).__name__}"
        )
    if images.ndim != 4:
        raise AttackInputError(
            f"images must have shape (N, C, H, W); found shape {tuple(images.shape)}. "
            "Add a batch dimension with images.unsqueeze(0) for a single image"
        )
    if images.shape[0] == 0:
        raise AttackInputError("images is an empty batch (N=0); pass at least one image")
    if not images.is_floating_point():
        raise AttackInputError(
            f"images must be floating point in [0, 1]; found dtype {images.dtype}. "
            "Convert uint8 images with images.float() / 255"
        )
    if not torch.isfinite(images).all():
        raise AttackInputError("images contain NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0.0 or high > 1.0:
        raise AttackInputError(
            f"images must lie in pixel space [0, 1]; found values in [{low:.4g}, {high:.4g}]. "
            "Pass un-normalised pixels and give the model's mean/std to the attack instead"
        )
    return images.detach()


def check_budget(name: str, value: float) -> float:
    """A finite, strictly positive float, or a clear error."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AttackInputError(f"{name} must be a positive number; found {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise AttackInputError(
            f"{name} must be a finite number > 0; found {name}={value!r}"
        )
    return number


def check_labels(labels: Any, n_images: int, n_classes: int, device: torch.device) -> torch.Tensor:
    """Integer labels ``(N,)`` in ``[0, n_classes)``, or a clear error."""
    labels = torch.as_tensor(labels, device=device)
    if labels.ndim != 1 or labels.shape[0] != n_images:
        raise AttackInputError(
            f"labels must have shape ({n_images},), one class index per image; "
            f"found shape {tuple(labels.shape)}"
        )
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise AttackInputError(f"labels must be integer class indices; found dtype {labels.dtype}")
    labels = labels.long()
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        index = int(bad.nonzero()[0])
        raise AttackInputError(
            f"labels must lie in [0, {n_classes}) for a model with {n_classes} outputs; "
            f"found label {int(labels[index])} at index {index}"
        )
    return labels


def l2_norm(delta: torch.Tensor) -> torch.Tensor:
    """Per-image L2 norm, accumulated in float64 so budgets can be checked to 1e-6."""
    return delta.detach().flatten(1).double().norm(dim=1)


def linf_norm(delta: torch.Tensor) -> torch.Tensor:
    """Per-image Linf norm."""
    return delta.detach().flatten(1).abs().amax(dim=1).double()
