"""The common contract of every attack: pixel space [0, 1], a frozen model, validated inputs.

Attacks optimise images in pixel space; the model's normalisation lives inside
:class:`NormalizedModel`, a small differentiable wrapper. Which normalisation is never assumed:
:func:`as_pixel_model` takes it from a ``neuroalign.Model``, a ``NormalizedModel``, explicit
``mean``/``std`` or ``normalized=False``, and refuses a bare module without one and sources
that disagree. :func:`frozen` puts a module in eval
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
    "underlying_module",
    "explicit_normalisation",
    "check_dtypes",
    "per_image_budget",
    "frozen",
    "check_images",
    "check_budget",
    "LOW_PRECISION",
    "check_labels",
    "l2_norm",
    "linf_norm",
]


class AttackInputError(NeuroalignError, ValueError):
    """The images, labels, budget, model or objective handed to an attack break its contract."""


class NormalizedModel(nn.Module):
    """``model((x - mean) / std)``: a network that expects normalised input, seen in pixel space.

    Attacks optimise pixels in [0, 1]; wrapping a network in a ``NormalizedModel`` states its
    input convention once, so the wrapper can be attacked without further arguments.

    Parameters
    ----------
    model : torch.nn.Module
        The network, expecting normalised input.
    mean, std : sequence of floats, or None
        Per-channel normalisation. Both are required; pass ``None, None`` explicitly for a
        network that takes pixels in [0, 1] as they are (the same as ``normalized=False``).
    """

    def __init__(self, model: nn.Module, mean: Sequence[float] | None,
                 std: Sequence[float] | None):
        super().__init__()
        self.model = model
        normalisation = explicit_normalisation(mean, std)
        mean, std = normalisation if normalisation is not None else (None, None)
        self.register_buffer("mean", None if mean is None else
                             torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", None if std is None else
                             torch.tensor(std).view(1, -1, 1, 1))

    @property
    def normalisation(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """``(mean, std)`` applied before the network, or ``None`` (pixels as they are)."""
        if self.mean is None:
            return None
        return (tuple(float(m) for m in self.mean.flatten()),
                tuple(float(s) for s in self.std.flatten()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.mean is not None:
            images = (images - self.mean.to(images)) / self.std.to(images)
        return self.model(images)


Normalisation = tuple[tuple[float, ...], tuple[float, ...]]


def explicit_normalisation(mean: Sequence[float] | None,
                           std: Sequence[float] | None) -> Normalisation | None:
    """``(mean, std)`` as float tuples, ``None`` when neither is given, or a clear error."""
    if (mean is None) != (std is None):
        raise AttackInputError(
            f"give both mean and std or neither; found mean={mean!r}, std={std!r}"
        )
    if mean is None:
        return None
    try:
        mean_t = tuple(float(m) for m in mean)
        std_t = tuple(float(s) for s in std)
    except (TypeError, ValueError):
        raise AttackInputError(
            f"mean and std must be sequences of numbers (one per channel); found "
            f"mean={mean!r}, std={std!r}"
        ) from None
    if len(mean_t) != len(std_t) or not mean_t:
        raise AttackInputError(
            f"mean and std need one value per channel each; found {len(mean_t)} means and "
            f"{len(std_t)} stds"
        )
    if any(not s > 0 for s in std_t):
        raise AttackInputError(f"std must be positive per channel; found std={std_t!r}")
    return mean_t, std_t


def _is_identity(normalisation: Normalisation | None) -> bool:
    return normalisation is None or (all(m == 0 for m in normalisation[0])
                                     and all(s == 1 for s in normalisation[1]))


def _same(a: Normalisation | None, b: Normalisation | None) -> bool:
    if _is_identity(a) or _is_identity(b):
        return _is_identity(a) and _is_identity(b)
    return all(len(x) == len(y) and all(abs(p - q) <= 1e-6 * max(1.0, abs(q))
                                        for p, q in zip(x, y)) for x, y in zip(a, b))


def _describe(normalisation: Normalisation | None) -> str:
    if _is_identity(normalisation):
        return "no normalisation (pixels in [0, 1])"
    mean, std = (", ".join(f"{v:.6g}" for v in values) for values in normalisation)
    return f"mean=({mean}), std=({std})"


def _is_neuroalign_model(model: Any) -> bool:
    return not isinstance(model, nn.Module) and callable(getattr(model, "module", None))


def _bare_module_error(module: nn.Module) -> AttackInputError:
    name = type(module).__name__
    hint = ""
    cfg = getattr(module, "pretrained_cfg", None)
    if isinstance(cfg, dict) and "mean" in cfg and "std" in cfg:
        hint = (f" This looks like a timm model: its pretrained_cfg says mean={tuple(cfg['mean'])}"
                f", std={tuple(cfg['std'])}; pass mean=model.pretrained_cfg['mean'], "
                "std=model.pretrained_cfg['std'].")
    return AttackInputError(
        f"the attack does not know how {name} normalises its input: attacks optimise pixels in "
        "[0, 1], and a bare torch.nn.Module does not say which mean/std it expects. Pass "
        "mean=(...), std=(...) (per channel), or normalized=False if it takes pixels in [0, 1] "
        "as they are, or pass a neuroalign.Model (its preprocessing brings mean/std, e.g. "
        "neuroalign.Model.from_module(module, preprocessing={'mean': ..., 'std': ...})) or "
        f"NormalizedModel(module, mean, std).{hint}"
    )


def underlying_module(model: Any) -> nn.Module | None:
    """The torch module behind ``model`` (a module, a ``neuroalign.Model``, or ``None``)."""
    if model is None:
        return None
    if _is_neuroalign_model(model):
        model = model.module()
    if not isinstance(model, nn.Module):
        raise AttackInputError(
            f"the model must be a torch.nn.Module or a neuroalign.Model; found "
            f"{type(model).__name__}. Wrap plain functions with an objective instead "
            "(attack(None, images, objective=f))"
        )
    return model


def as_pixel_model(model: Any, mean: Sequence[float] | None = None,
                   std: Sequence[float] | None = None,
                   normalized: bool | None = None) -> tuple[nn.Module, nn.Module]:
    """``(pixel-space wrapper, underlying module)``, knowing the model's input convention.

    The convention comes from exactly one place: a ``neuroalign.Model``'s preprocessing, a
    :class:`NormalizedModel`, explicit ``mean``/``std``, or ``normalized=False`` (the model takes
    pixels in [0, 1] as they are). Several sources that agree are accepted; sources that
    disagree are an error, and so is a bare ``torch.nn.Module`` with none of them.

    Parameters
    ----------
    model : torch.nn.Module, NormalizedModel or neuroalign.Model
    mean, std : sequence of float, optional
        The network's per-channel input normalisation.
    normalized : bool, optional
        ``False``: the model (as passed) takes pixels in [0, 1]; nothing is normalised.
        ``True``: the network expects normalised input (mean/std must then come from the
        model or the arguments). ``None``: say nothing (a bare module then needs mean/std).
    """
    if normalized not in (None, True, False):
        raise AttackInputError(f"normalized must be True, False or None; found {normalized!r}")
    explicit = explicit_normalisation(mean, std)
    if normalized is False and explicit is not None:
        raise AttackInputError(
            f"conflicting normalisation: normalized=False says the model takes pixels in [0, 1] "
            f"as they are, but {_describe(explicit)} was passed; pass one of them"
        )
    if isinstance(model, NormalizedModel) or _is_neuroalign_model(model):
        if isinstance(model, NormalizedModel):
            source, own, module = "the NormalizedModel", model.normalisation, model.model
        else:
            pre = model.preprocessing
            own = explicit_normalisation(pre.mean, pre.std)
            source, module = "the neuroalign.Model's preprocessing", underlying_module(model)
        if explicit is not None and not _same(own, explicit):
            raise AttackInputError(
                f"conflicting normalisation: {source} applies {_describe(own)}, but "
                f"{_describe(explicit)} was passed; drop mean/std to use {source}, or pass "
                "the bare module with mean/std"
            )
        if isinstance(model, NormalizedModel):
            if normalized is True and own is None:
                raise AttackInputError(
                    "normalized=True but the NormalizedModel applies no normalisation "
                    "(mean=None, std=None); build it with the network's mean and std"
                )
            return model, module
        if normalized is False and not _is_identity(own):
            raise AttackInputError(
                f"conflicting normalisation: normalized=False says the model takes pixels in "
                f"[0, 1] as they are, but {source} applies {_describe(own)}; drop "
                "normalized=False, or give the model a preprocessing with mean (0, 0, 0) and "
                "std (1, 1, 1)"
            )
        return NormalizedModel(module, *(own or (None, None))), module
    module = underlying_module(model)
    if explicit is not None:
        return NormalizedModel(module, *explicit), module
    if normalized is False:
        return NormalizedModel(module, None, None), module
    if normalized is True:
        raise AttackInputError(
            f"normalized=True but no mean/std was given for {type(module).__name__}; pass "
            "mean=(...), std=(...)"
        )
    raise _bare_module_error(module)


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
    if images.dtype in LOW_PRECISION:
        spacing = float(torch.finfo(images.dtype).eps) / 2  # spacing of values in [0.5, 1)
        raise AttackInputError(
            f"images of dtype {images.dtype} are not supported: attacks compute in the images' "
            f"dtype, and {images.dtype} spaces pixel values near 1 by {spacing:.2g} (a budget "
            "of 1/255 is ~0.0039), too coarse to take gradient steps or hold a budget to 1e-6. "
            "Pass images.float() (or .double()); to run the model in half precision, call the "
            f"attack inside torch.autocast(device_type=images.device.type, dtype={images.dtype})"
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


#: image dtypes attacks refuse (see :func:`check_images`)
LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_dtypes(module: nn.Module | None, images: torch.Tensor,
                 error: RuntimeError) -> None:
    """Raise an :class:`AttackInputError` for ``error`` if the images' dtype is not the model's.

    Called when the model's first forward pass failed: attacks compute in the images' dtype, so
    a float32 model given float64 images (or the reverse) fails inside torch; this names both
    dtypes and the fix instead. Other errors are left to propagate unchanged.
    """
    if module is None:
        return
    dtypes = {t.dtype for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()}
    if not dtypes or dtypes == {images.dtype}:
        return
    model_dtype = sorted(str(d) for d in dtypes)
    model_dtype = model_dtype[0] if len(model_dtype) == 1 else model_dtype
    wanted = str(next(iter(dtypes))).replace("torch.", "")
    raise AttackInputError(
        f"the images are {images.dtype} but the model's weights are {model_dtype}: attacks "
        f"compute in the images' dtype. Pass images.to(torch.{wanted}), or convert the model "
        f"with model.to({images.dtype}) to attack in {images.dtype}. The model's error: {error}"
    ) from error


def per_image_budget(name: str, value: Any, n_images: int,
                     device: torch.device) -> tuple[torch.Tensor, float | None]:
    """``(per-image float64 tensor (N,), the scalar or None)`` for a budget, or a clear error.

    ``value`` is a number (the same for every image) or a tensor-like of shape ``(N,)`` (one per
    image, e.g. from a user's own minimal-eps search); every entry must be finite and > 0.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = check_budget(name, value)
        return torch.full((n_images,), number, dtype=torch.float64, device=device), number
    try:
        tensor = torch.as_tensor(value).detach()
    except (TypeError, ValueError, RuntimeError):
        raise AttackInputError(
            f"{name} must be a positive number or a tensor of shape ({n_images},), one per "
            f"image; found {type(value).__name__}"
        ) from None
    if tensor.ndim == 0:
        number = check_budget(name, tensor.item())
        return torch.full((n_images,), number, dtype=torch.float64, device=device), number
    if tensor.shape != (n_images,):
        raise AttackInputError(
            f"a per-image {name} must have shape ({n_images},), one value per image; found "
            f"shape {tuple(tensor.shape)}"
        )
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise AttackInputError(f"{name} must hold real numbers; found dtype {tensor.dtype}")
    tensor = tensor.to(device=device, dtype=torch.float64)
    bad = ~(torch.isfinite(tensor) & (tensor > 0))
    if bad.any():
        index = int(bad.nonzero()[0])
        raise AttackInputError(
            f"{name} must be a finite number > 0 for every image; found {name}[{index}]="
            f"{float(tensor[index])!r}"
        )
    return tensor, None


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
