"""What an attack maximises, and when it has succeeded.

An :class:`AttackProblem` turns the caller's request (labels + loss, targeted or not, or an
arbitrary objective with a direction) into one per-image scalar to *maximise*, and a per-image
success test. Every attack in this package runs on an :class:`AttackProblem`, on any subset of
the batch (``index``), which is how converged images drop out of a batch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
from torch import nn

from .pixel_space import (
    AttackInputError,
    ChannelsLast,
    MemoryFormat,
    MemoryFormatWarning,
    as_pixel_model,
    check_dtypes,
    check_images,
    check_labels,
    choose_memory_format,
    frozen,
    underlying_module,
)

__all__ = ["AttackProblem", "LOSSES", "margin"]

LOSSES = ("ce", "margin")


def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max_{j != y} z_j - z_y`` per image: > 0 exactly when the label is not the top class."""
    true = logits.gather(1, labels[:, None])[:, 0]
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return others.amax(dim=1) - true


class AttackProblem:
    """A validated attack request.

    Parameters
    ----------
    model : torch.nn.Module, neuroalign.Model or None
        The classifier (labels mode), or the module the objective runs through (objective mode;
        may be ``None``). It is frozen (eval mode, no parameter gradients) while the attack runs.
    images : torch.Tensor
        ``(N, C, H, W)`` floats in [0, 1].
    labels : tensor-like of int, optional
        True classes (untargeted) or target classes (``targeted=True``).
    objective : callable, optional
        ``objective(images) -> (N,)`` tensor, differentiable in the pixel-space ``images``.
    targeted : bool
        Labels are targets to reach rather than classes to leave.
    loss : {"ce", "margin"}
        Classification loss: cross-entropy, or the logit margin of Carlini & Wagner.
    direction : {"maximize", "minimize"}
        Objective mode only: whether to push the objective up or down.
    mean, std : sequence of float, optional
        The network's input normalisation, applied inside the differentiable wrapper.
    normalized : bool, optional
        ``False``: the model takes pixels in [0, 1] as they are. With ``mean``/``std`` and the
        model itself, one of the three ways to state the model's input convention (see
        :func:`~neuroalign_attacks.pixel_space.as_pixel_model`); classification attacks need
        one. An objective receives pixels, so mean/std are an error with an objective.
    clean_gradient : bool
        Keep the set-up forward pass's graph and take the gradient at the clean images
        (:attr:`clean_step`).
    memory_format : {"auto", "channels_last", "contiguous"}
        Layout the model runs in (see :func:`~neuroalign_attacks.pixel_space.choose_memory_format`);
        values are the same in every layout, only the speed differs.
    """

    def __init__(self, model: Any, images: Any, labels: Any = None, *,
                 objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 targeted: bool = False, loss: Literal["ce", "margin"] = "ce",
                 direction: Literal["maximize", "minimize"] = "maximize",
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 normalized: bool | None = None, clean_gradient: bool = False,
                 memory_format: MemoryFormat = "auto"):
        self.images = check_images(images)
        if (labels is None) == (objective is None):
            raise AttackInputError(
                "give exactly one of labels (classification attack) or objective "
                f"(objective attack); found labels={'set' if labels is not None else None}, "
                f"objective={'set' if objective is not None else None}"
            )
        if loss not in LOSSES:
            raise AttackInputError(f"unknown loss {loss!r}; valid losses are {list(LOSSES)}")
        if direction not in ("maximize", "minimize"):
            raise AttackInputError(
                f"unknown direction {direction!r}; use 'maximize' or 'minimize'"
            )
        if objective is not None and not callable(objective):
            raise AttackInputError(f"objective must be callable; found {type(objective).__name__}")
        self.objective = objective
        self.targeted = bool(targeted)
        self.loss = loss
        self.sign = 1.0 if direction == "maximize" else -1.0
        self.module: nn.Module | None = None
        self.forward: nn.Module | None = None
        if objective is not None:
            if mean is not None or std is not None or normalized is True:
                raise AttackInputError(
                    "mean/std (or normalized=True) have no effect with an objective: the "
                    "objective receives the pixel images in [0, 1] and applies any "
                    "normalisation itself; drop them"
                )
            # the model (optional) is only frozen while the objective runs through it
            self.module = underlying_module(model)
        elif model is None:
            raise AttackInputError("a classification attack needs a model; found model=None")
        else:
            self.forward, self.module = as_pixel_model(model, mean, std, normalized)
        #: the layout the model runs in; the images (hence every iterate) are kept in it, and
        #: results are handed back in the standard layout
        self._requested_format = memory_format
        self.memory_format = choose_memory_format(
            memory_format, self.module if objective is None else None, self.images)
        if self.memory_format is torch.channels_last:
            self.forward = ChannelsLast(self.forward)
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        #: gradients of single images computed so far (every attack reports it)
        self.gradient_evaluations = 0
        #: gradient-free forward passes of single images through :meth:`evaluate` so far
        self.forward_evaluations = 0
        #: ``(value, outputs, gradient)`` at the clean images when ``clean_gradient=True``: the
        #: set-up forward pass keeps its graph so an attack starting there (PGD without random
        #: start) spends no second forward pass on its first step
        self.clean_step: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._want_clean_gradient = bool(clean_gradient)
        self._frozen = frozen(self.module)
        self._frozen.__enter__()
        try:
            self._prepare(labels)
        except BaseException:
            self.close()
            raise

    def _use_standard_layout(self) -> None:
        if isinstance(self.forward, ChannelsLast):
            self.forward = self.forward.model
        self.images = self.images.contiguous()
        self.memory_format = torch.contiguous_format

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Restore the model's training mode and ``requires_grad`` flags."""
        if self._frozen is not None:
            self._frozen.__exit__(None, None, None)
            self._frozen = None

    def __enter__(self) -> AttackProblem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self, labels: Any) -> None:
        if self.forward is not None:
            self.forward.to(self.images.device)
        x = self.images.detach().requires_grad_(self._want_clean_gradient)
        with torch.set_grad_enabled(self._want_clean_gradient):
            try:
                graph = self._outputs(x)
            except RuntimeError as error:
                check_dtypes(self.module, self.images, error)
                if self.memory_format is not torch.channels_last:
                    raise
                # Was the layout the cause? Run the standard layout once: if the model fails
                # there too, that (its own) error propagates unchanged.
                self._use_standard_layout()
                x = self.images.detach().requires_grad_(self._want_clean_gradient)
                graph = self._outputs(x)
                if self._requested_format == "channels_last":
                    raise AttackInputError(
                        "the model fails on channels-last input (memory_format='channels_last') "
                        f"but not in the standard layout; use memory_format='contiguous' or "
                        f"'auto'. The model's error: {error}"
                    ) from error
                warnings.warn(
                    f"{type(self.module).__name__} cannot take channels-last input ({error}); "
                    "attacking it in the standard layout, which is slower on CPU. Pass "
                    "memory_format='contiguous' to say so and silence this warning",
                    MemoryFormatWarning, stacklevel=2,
                )
        out = graph.detach()
        bad = ~torch.isfinite(out.flatten(1)).all(dim=1) if out.ndim > 1 else ~torch.isfinite(out)
        if bad.any():
            raise AttackInputError(
                f"the {'objective' if self.objective is not None else 'model'} returned NaN or "
                f"infinite values on the clean images (indices "
                f"{bad.nonzero()[:, 0].tolist()[:10]}); "
                "fix the model (or its normalisation) before attacking it"
            )
        if self.objective is None:
            if out.ndim != 2:
                raise AttackInputError(
                    f"a classifier must return logits of shape (N, classes); found shape "
                    f"{tuple(out.shape)}"
                )
            self.n_classes = out.shape[1]
            self.labels = check_labels(labels, len(self.images), self.n_classes,
                                       self.images.device)
            self.clean_success = self._success_from(out, torch.arange(len(self.images)))
            #: logits of the clean images (one forward pass at set-up; reused by attacks)
            self.clean_outputs = out.detach()
        else:
            if out.shape != (len(self.images),):
                raise AttackInputError(
                    f"objective must return one scalar per image, shape ({len(self.images)},); "
                    f"found shape {tuple(out.shape)}"
                )
            self.labels = None
            self.clean_value = out.detach()
            self.clean_success = torch.zeros(len(self.images), dtype=torch.bool,
                                             device=self.images.device)
        if self._want_clean_gradient:
            index = torch.arange(len(self.images), device=self.images.device)
            self.clean_step = self._gradient(x, graph, index, None)

    # ------------------------------------------------------------------ evaluation
    def _outputs(self, x: torch.Tensor) -> torch.Tensor:
        if self.objective is not None:
            return self.objective(x)
        return self.forward(x)

    def value(self, x: torch.Tensor, index: torch.Tensor,
              loss: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(per-image value to maximise, raw outputs)`` for images ``x`` of batch ``index``."""
        return self._value_from(self._outputs(x), index, loss)

    def _value_from(self, out: torch.Tensor, index: torch.Tensor,
                    loss: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.objective is not None:
            return self.sign * out, out
        labels = self.labels[index]
        loss = loss or self.loss
        if loss == "ce":
            value = nn.functional.cross_entropy(out, labels, reduction="none")
            return (-value if self.targeted else value), out
        m = margin(out, labels)  # > 0: label is not the top class
        return (-m if self.targeted else m), out

    def value_and_grad(self, x: torch.Tensor, index: torch.Tensor, loss: str | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(value, outputs, d value / d x)``; images' gradients are independent (eval mode)."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            return self._gradient(x, self._outputs(x), index, loss)

    def _gradient(self, x: torch.Tensor, out: torch.Tensor, index: torch.Tensor,
                  loss: str | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Value and gradient from outputs ``out`` already computed (with a graph) from ``x``."""
        with torch.enable_grad():
            value, out = self._value_from(out, index, loss)
            grad = None
            if value.requires_grad:
                (grad,) = torch.autograd.grad(value.sum(), x, allow_unused=True)
        if grad is None:
            raise AttackInputError(
                "the attack objective does not depend on the input images (its output has no "
                "gradient path to them); an attack cannot change it. Check that the objective "
                "uses its argument and does not detach it"
            )
        self.gradient_evaluations += len(x)
        grad = grad.detach()
        if self.objective is None and (loss or self.loss) == "ce":
            # Cross-entropy saturates in float32 on very confident images (softmax rounds to
            # one-hot, the gradient to exactly 0); the logit margin's gradient does not vanish,
            # so those images take their ascent direction from it instead.
            flat = grad.flatten(1)
            saturated = (flat.abs().amax(dim=1) == 0) & torch.isfinite(value)
            if saturated.any():
                _, _, fallback = self.value_and_grad(x[saturated], index[saturated], "margin")
                grad[saturated] = fallback
        return value.detach(), out.detach(), grad

    def success(self, out: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Per-image success from the raw outputs of the images ``index``."""
        return self._success_from(out, index)

    def _success_from(self, out: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if self.objective is not None:
            gain = self.sign * (out - self.clean_value[index])
            return torch.isfinite(out) & (gain > 0)
        finite = torch.isfinite(out).all(dim=1)
        predicted = out.argmax(dim=1)
        labels = self.labels[index]
        hit = predicted == labels if self.targeted else predicted != labels
        return hit & finite

    @torch.inference_mode()
    def evaluate(self, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Success of images ``x`` (one forward pass, no gradient)."""
        self.forward_evaluations += len(x)
        return self.success(self._outputs(x), index)
