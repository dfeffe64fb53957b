"""Adversarial sensitivity of encoding models (paper 002 §2.3): FGSM through f and g at once.

An encoding model is the frozen network ``f`` cut at one layer (:class:`Trunk`) followed by a
fitted read-out ``g`` (:func:`fit_readout`: the five NSD mappings as torch modules; OLS, ridge
and lasso become one linear layer built from their coefficients), seen in pixel space
(:class:`EncodingModel`: ``[0, 1]`` pixels -> the model's normalisation -> ``f`` -> ``g``).
Its outputs are the objectives, one column per (ROI, subject).

:func:`fgsm_sensitivity` attacks every objective of a batch from **one** forward pass through
``f``: the gradients of all K objectives come from that pass's graph (one batched backward,
``torch.autograd.grad(..., is_grads_batched=True)``, or K backwards with ``retain_graph``; the
gradient does not depend on epsilon, so it is computed once for every budget). For image ``x``
and objective ``k``::

    delta_k = -eps * sign(grad_x g_k(f(x)))
    s_k     = g_k(f(x)) - g_k(f(clamp(x + delta_k, 0, 1)))

and the negative control uses the same ``delta_k`` with its pixels shuffled (one seeded random
permutation of the spatial positions per image and objective; a pixel's channel values move
together), clamped the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from neuroalign.errors import NeuroalignError

from .mappings import (LASSO_ALPHAS, MappingError, RIDGE_ALPHAS, cnn_positions, fit_neural,
                       neural_forward)

__all__ = ["SensitivityError", "Trunk", "LinearReadout", "NeuralReadout", "EncodingModel",
           "fit_readout", "fgsm_sensitivity", "check_epsilons", "fold_batchnorm"]


class SensitivityError(NeuroalignError, ValueError):
    """An encoding model or budget that the sensitivity attack cannot use (says why)."""


class _Stop(Exception):
    """Raised by the trunk's hook once the chosen layer has produced its output."""


class Trunk(nn.Module):
    """``module`` run up to ``layer``; returns that layer's output flattened to ``(n, F)``.

    The rest of the network is skipped (a forward hook stops the pass), so attacking a middle
    layer costs only the layers below it.
    """

    def __init__(self, module: nn.Module, layer: str):
        super().__init__()
        modules = dict(module.named_modules())
        if layer not in modules:
            raise SensitivityError(f"layer {layer!r} is not a submodule of "
                                   f"{type(module).__name__}; names look like "
                                   f"{[n for n in modules if n][:6]}")
        self.module, self.layer = module, layer
        self._target = modules[layer]
        #: the layer's output shape per image (before flattening), set by each forward
        self.output_shape: tuple[int, ...] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        captured: list[torch.Tensor] = []

        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            captured.append(output[0] if isinstance(output, (tuple, list)) else output)
            raise _Stop

        handle = self._target.register_forward_hook(hook)
        try:
            self.module(x)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise SensitivityError(f"layer {self.layer!r} did not run in the forward pass")
        self.output_shape = tuple(captured[0].shape[1:])
        return captured[0].flatten(1)


def fold_batchnorm(module: nn.Module, keep: Sequence[str] = ()) -> tuple[nn.Module, list[str]]:
    """A copy of ``module`` with each eval-mode ``BatchNorm2d`` that directly follows a
    ``Conv2d`` folded into that convolution, and the folded batch norms' names.

    The same function up to float rounding (an eval batch norm is an affine map per channel),
    one layer fewer per pair: isolated resnet18 forward and forward+backward passes on CPU ran
    15-25 % faster (in the whole attack the gain was inside the noise; see the benchmark card). Module names are kept
    (a folded batch norm becomes ``nn.Identity``), so hooks on named layers still see the same
    outputs; a convolution named in ``keep`` (a layer whose own output is read) is not folded.
    Pairs are found on the ``torch.fx`` graph: only a convolution whose single use is the
    batch norm, each module called once. A module that ``torch.fx`` cannot trace is returned
    as it is, with no names. ``module`` itself is never changed.
    """
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    try:
        import torch.fx

        graph = torch.fx.symbolic_trace(module).graph
    except Exception:  # noqa: BLE001 - not traceable: the attack runs unfolded
        return module, []
    modules = dict(module.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), nn.BatchNorm2d):
            continue
        source = node.args[0] if node.args else None
        if (isinstance(source, torch.fx.Node) and source.op == "call_module"
                and isinstance(modules.get(source.target), nn.Conv2d)
                and len(source.users) == 1 and source.target not in keep
                and calls[source.target] == 1 and calls[node.target] == 1
                and modules[node.target].track_running_stats):
            pairs.append((str(source.target), str(node.target)))
    if not pairs:
        return module, []
    folded = copy.deepcopy(module).eval()
    named = dict(folded.named_modules())

    def replace(name: str, new: nn.Module) -> None:
        parent, _, child = name.rpartition(".")
        setattr(named[parent] if parent else folded, child, new)

    for conv, norm in pairs:
        replace(conv, fuse_conv_bn_eval(named[conv], named[norm]))
        replace(norm, nn.Identity())
    return folded, [norm for _, norm in pairs]


class LinearReadout(nn.Module):
    """``features @ weight + bias``: OLS, ridge and lasso with their standardisation folded in.

    Parameters
    ----------
    weight : array (F, K)
    bias : array (K,)
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.register_buffer("weight", torch.as_tensor(np.asarray(weight), dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor(np.asarray(bias), dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.weight + self.bias


class NeuralReadout(nn.Module):
    """The MLP / CNN read-out of :func:`~neuroalign_nsd.mappings.fit_neural` as a module."""

    def __init__(self, fit: dict[str, Any]):
        super().__init__()
        self.fit = {k: v for k, v in fit.items() if k != "details"}
        for key in ("mean", "ym", "ysd"):
            self.register_buffer(key, torch.as_tensor(np.asarray(fit[key]), dtype=torch.float32))
        vt = fit.get("vt")
        self.register_buffer("vt", None if vt is None else
                             torch.as_tensor(np.asarray(vt).T, dtype=torch.float32))
        self.scale = float(fit["scale"])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        xs = (features - self.mean) / self.scale
        if self.fit["kind"] == "cnn":
            inputs = cnn_positions(xs, self.fit["shape"], self.fit["side"])
        else:
            inputs = xs @ self.vt if self.vt is not None else xs
        return neural_forward(self.fit, inputs) * self.ysd + self.ym


def _linear_from(coef: np.ndarray, intercept: np.ndarray, mean: np.ndarray,
                 scale: float) -> LinearReadout:
    # y = ((x - mean) / scale) @ coef + intercept  ==  x @ (coef / scale) + (intercept - ...)
    weight = coef / scale
    return LinearReadout(weight, intercept - mean @ weight)


def fit_readout(mapping: str, x: np.ndarray, y: np.ndarray, *, lasso_alpha: float | None = None,
                hidden_units: int = 128, seed: int = 0,
                feature_shape: tuple[int, ...] | None = None,
                ridge_alphas: Sequence[float] = RIDGE_ALPHAS) -> tuple[nn.Module, dict[str, Any]]:
    """Fit ``mapping`` on features ``x (n, F)`` and targets ``y (n, K)``; return it as a module.

    The fits are those of :func:`neuroalign_nsd.mappings.fit_predict` (same standardisation,
    solvers and seeds); the module maps raw features ``(m, F)`` to predictions ``(m, K)``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise MappingError("features or targets hold NaN or infinite values")
    if mapping == "ols":
        mx, my = x.mean(axis=0), y.mean(axis=0)
        coef, *_ = np.linalg.lstsq(x - mx, y - my, rcond=None)
        return _linear_from(coef, my, mx, 1.0), {}
    mean = x.mean(axis=0)
    scale = float(np.sqrt(((x - mean) ** 2).mean()))
    scale = scale if scale > 0 else 1.0
    xs = (x - mean) / scale
    if mapping == "ridge":
        from sklearn.linear_model import RidgeCV

        model = RidgeCV(alphas=list(ridge_alphas), alpha_per_target=True).fit(xs, y)
        coef = np.asarray(model.coef_).reshape(y.shape[1], -1).T
        intercept = np.atleast_1d(model.intercept_).astype(np.float64)
        return _linear_from(coef, intercept, mean, scale), {
            "ridge_alphas": np.atleast_1d(model.alpha_).astype(float).tolist()}
    if mapping == "lasso":
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import Lasso

        if lasso_alpha is None:
            raise MappingError("lasso needs lasso_alpha (choose it with choose_lasso_alpha)")
        coefs, intercepts, kept, unconverged = [], [], [], 0
        for column in range(y.shape[1]):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model = Lasso(alpha=float(lasso_alpha), max_iter=3000, tol=1e-4).fit(
                    xs, y[:, column])
            unconverged += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
            coefs.append(model.coef_)
            intercepts.append(float(model.intercept_))
            kept.append(int(np.count_nonzero(model.coef_)))
        details: dict[str, Any] = {"lasso_alpha": float(lasso_alpha), "lasso_nonzero": kept}
        if unconverged:
            details["lasso_not_converged"] = unconverged
        return _linear_from(np.stack(coefs, 1), np.array(intercepts), mean, scale), details
    if mapping in ("mlp", "cnn"):
        fit = fit_neural(mapping, x, y, int(hidden_units), int(seed), feature_shape)
        return NeuralReadout(fit), dict(fit["details"])
    raise MappingError(f"unknown mapping {mapping!r}; choose one of ols, ridge, lasso, mlp, cnn"
                       f" (lasso alphas by default: {LASSO_ALPHAS})")


class EncodingModel(nn.Module):
    """Pixels in [0, 1] -> ``(x - mean) / std`` -> ``trunk`` -> ``readout``: ``(n, K)``."""

    def __init__(self, trunk: nn.Module, readout: nn.Module,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None):
        super().__init__()
        self.trunk, self.readout = trunk, readout
        self.register_buffer("mean", None if mean is None else
                             torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", None if std is None else
                             torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.mean is not None:
            pixels = (pixels - self.mean) / self.std
        return self.trunk(pixels)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(pixels))


def check_epsilons(epsilons: Sequence[float]) -> list[float]:
    """Budgets as floats, each finite and > 0, or a :class:`SensitivityError`."""
    values = []
    for eps in epsilons:
        try:
            value = float(eps)
        except (TypeError, ValueError):
            raise SensitivityError(f"epsilon must be a number; found {eps!r}") from None
        if not (value > 0 and np.isfinite(value)):
            raise SensitivityError(f"epsilon must be a finite number > 0 (e.g. 3/255); found "
                                   f"{eps!r}")
        values.append(value)
    if not values:
        raise SensitivityError("give at least one epsilon, e.g. (1/255, 2/255, 3/255)")
    return values


def _gradients(outputs: torch.Tensor, pixels: torch.Tensor, method: str) -> torch.Tensor:
    """``(K, b, C, H, W)`` gradients of every output column w.r.t. the pixels, one graph."""
    k = outputs.shape[1]
    if method == "batched":
        basis = torch.eye(k, dtype=outputs.dtype)[:, None, :].expand(k, outputs.shape[0], k)
        (grads,) = torch.autograd.grad(outputs, pixels, grad_outputs=basis,
                                       is_grads_batched=True)
        return grads
    if method == "loop":
        return torch.stack([torch.autograd.grad(outputs[:, j].sum(), pixels,
                                                retain_graph=j < k - 1)[0] for j in range(k)])
    raise SensitivityError(f"unknown gradient method {method!r}; use 'batched' or 'loop'")


def _shuffle(delta: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image's perturbation with its spatial positions permuted (channels move together)."""
    n, c, h, w = delta.shape
    flat = delta.reshape(n, c, h * w)
    order = torch.stack([torch.randperm(h * w, generator=generator) for _ in range(n)])
    return torch.gather(flat, 2, order[:, None, :].expand(n, c, h * w)).reshape(n, c, h, w)


@contextlib.contextmanager
def _in_layout(module: nn.Module, fmt: torch.memory_format):
    """``module``'s 4-D weights in ``fmt`` for the duration (values unchanged), then back."""
    if fmt is not torch.channels_last:
        yield
        return
    moved = [p for p in list(module.parameters()) + list(module.buffers())
             if p.ndim == 4 and not p.is_contiguous(memory_format=fmt)]
    for p in moved:
        p.data = p.data.contiguous(memory_format=fmt)
    try:
        yield
    finally:
        for p in moved:
            p.data = p.data.contiguous()


def fgsm_sensitivity(encoder: nn.Module, pixels: torch.Tensor, epsilons: Sequence[float], *,
                     seed: int = 0, batch_size: int = 16, gradient: str = "loop",
                     eval_batch: int = 64, memory_format: str = "auto") -> dict[str, Any]:
    """FGSM sensitivity of every output (objective) of ``encoder`` on every image.

    Parameters
    ----------
    encoder : torch.nn.Module
        Pixels ``(n, C, H, W)`` in [0, 1] -> ``(n, K)`` predicted responses (e.g.
        :class:`EncodingModel`); frozen here (eval mode, no parameter gradients).
    pixels : torch.Tensor
        The images, float in [0, 1].
    epsilons : sequence of float
        L-infinity budgets (pixel units, e.g. ``3/255``); each > 0.
    seed : int
        Seed of the shuffled control's permutations.
    batch_size : int
        Images per forward pass through ``f``.
    gradient : {"batched", "loop"}
        How the K gradients come from one graph (see the module docstring).
    eval_batch : int
        Images per forward pass when evaluating the perturbed images (``K * batch_size`` per
        budget and kind).
    memory_format : {"auto", "channels_last", "contiguous"}
        Layout the encoder runs in (its 4-D weights are moved for the call and moved back).
        ``"auto"``: channels-last for a convolutional network on CPU, where oneDNN runs its
        forward and backward passes 1.5-1.7x faster (resnet18, 2 cores); the standard layout
        elsewhere. Values change only by float rounding (see ``docs/benchmarks/NSD.fgsm_sensitivity.md``).

    Returns
    -------
    dict
        ``targeted`` and ``shuffled``: arrays ``(len(epsilons), n, K)`` of sensitivities;
        ``clean``: ``(n, K)`` predictions; ``grad_l1``: ``(n, K)`` L1 norms of the gradients;
        ``epsilons``; ``passes``: forward/backward pass counts through the encoder;
        ``memory_format``: the layout it ran in.

    Raises
    ------
    SensitivityError
        Budgets <= 0, pixels outside [0, 1], an output that does not depend differentiably on
        the pixels, or an objective whose gradient is zero on an image.
    """
    from neuroalign_attacks.pixel_space import check_images, choose_memory_format, frozen

    eps = check_epsilons(epsilons)
    try:
        pixels = check_images(pixels)
        fmt = choose_memory_format(memory_format, encoder, pixels)
    except ValueError as error:
        raise SensitivityError(str(error)) from error
    generator = torch.Generator().manual_seed(int(seed))
    n = pixels.shape[0]
    targeted, shuffled, clean, grad_l1 = [], [], [], []
    passes = {"forward_images": 0, "gradient_images": 0, "perturbed_forward_images": 0}
    with frozen(encoder), _in_layout(encoder, fmt):
        for start in range(0, n, batch_size):
            x = pixels[start:start + batch_size].contiguous(memory_format=fmt)
            x = x.clone(memory_format=fmt).requires_grad_(True)
            outputs = encoder(x)
            if outputs.ndim != 2:
                raise SensitivityError(f"the encoder must return (n, K) predictions; found "
                                       f"shape {tuple(outputs.shape)}")
            if not outputs.requires_grad:
                raise SensitivityError(
                    "the encoding model's output does not depend differentiably on the pixels "
                    "(no autograd graph: a mapping computed outside torch, e.g. numpy or "
                    "torch.no_grad). Build the read-out as a torch module (fit_readout)")
            k = outputs.shape[1]
            grads = _gradients(outputs, x, gradient).detach()  # (K, b, C, H, W)
            b = x.shape[0]
            passes["forward_images"] += b
            passes["gradient_images"] += b * k
            l1 = grads.flatten(2).abs().sum(-1).T  # (b, K)
            zero = (l1 == 0).nonzero()
            if len(zero):
                image, objective = (int(v) for v in zero[0])
                raise SensitivityError(
                    f"objective {objective} has a zero gradient on image {start + image}: FGSM "
                    "has no direction to move in (a constant read-out, a layer the objective "
                    "does not depend on, or saturated units); check the fitted mapping")
            base = outputs.detach()
            x0 = x.detach()
            sign = grads.sign()
            batch_targeted, batch_shuffled = [], []
            for value in eps:
                delta = -value * sign  # (K, b, C, H, W)
                control = torch.stack([_shuffle(delta[j], generator) for j in range(k)])
                for store, step in ((batch_targeted, delta), (batch_shuffled, control)):
                    moved = (x0[None] + step).clamp_(0.0, 1.0).flatten(0, 1)  # (K*b, C, H, W)
                    with torch.inference_mode():
                        out = torch.cat([
                            encoder(moved[i:i + eval_batch].contiguous(memory_format=fmt))
                            for i in range(0, len(moved), eval_batch)])
                    own = out.reshape(k, b, k).diagonal(dim1=0, dim2=2)  # (b, K): out[j, :, j]
                    store.append(base - own)
                    passes["perturbed_forward_images"] += k * b
            targeted.append(torch.stack(batch_targeted))
            shuffled.append(torch.stack(batch_shuffled))
            clean.append(base)
            grad_l1.append(l1)
    return {"targeted": torch.cat(targeted, 1).double().numpy(),
            "shuffled": torch.cat(shuffled, 1).double().numpy(),
            "clean": torch.cat(clean).double().numpy(),
            "grad_l1": torch.cat(grad_l1).double().numpy(), "epsilons": eps, "passes": passes,
            "memory_format": "channels_last" if fmt is torch.channels_last else "contiguous"}
