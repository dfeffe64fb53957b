"""FGSM and projected gradient descent (Madry et al. 2018) in the Linf and L2 balls.

Every iterate is projected onto the eps-ball around the clean image and then clamped to the pixel
box [0, 1] (clamping towards a point inside the box can only shorten the perturbation, so the
budget still holds). The step size defaults to ``2.5 * eps / steps``, as in the robustness library
paper 000 follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from neuroalign import AttackResult

from .objectives import AttackProblem
from .pixel_space import (
    AttackInputError,
    MemoryFormat,
    check_images,
    l2_norm,
    linf_norm,
    per_image_budget,
)

__all__ = ["fgsm", "pgd", "pgd_linf", "pgd_l2", "Budget", "NORMS", "PGDState", "SuccessProbe",
           "run_pgd", "make_result", "project", "ascent_direction", "random_point_in_ball"]

NORMS = ("linf", "l2")
#: shrink factor applied when projecting onto the L2 sphere, so float32 rounding never pushes a
#: perturbation past the budget (relative 1e-6 is far below any attack's resolution)
_L2_SAFETY = 1.0 - 1e-6


def _per_image(eps: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return eps.view(-1, *([1] * (x.ndim - 1))).to(x)


def project(delta: torch.Tensor, eps: torch.Tensor, norm: str) -> torch.Tensor:
    """Project each perturbation onto its own eps-ball (``eps`` has one entry per image)."""
    if norm == "linf":
        bound = _per_image(eps, delta)
        return torch.maximum(torch.minimum(delta, bound), -bound)
    norms = l2_norm(delta)
    factor = torch.where(norms > eps.double(), eps.double() / norms.clamp_min(1e-30) * _L2_SAFETY,
                         torch.ones_like(norms))
    return delta * _per_image(factor, delta)


def ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """Steepest-ascent direction of unit norm: sign (Linf) or normalised gradient (L2)."""
    if norm == "linf":
        return grad.sign()
    norms = grad.flatten(1).norm(dim=1).clamp_min(1e-30)
    return grad / _per_image(norms, grad)


def random_point_in_ball(x0: torch.Tensor, eps: torch.Tensor, norm: str,
                 generator: torch.Generator) -> torch.Tensor:
    """A uniformly random point of each image's eps-ball, clamped to the pixel box."""
    shape = x0.shape
    if norm == "linf":
        noise = torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1
        delta = noise.to(x0) * _per_image(eps, x0)
    else:
        direction = torch.randn(shape, generator=generator, dtype=torch.float32).to(x0)
        direction = direction / _per_image(direction.flatten(1).norm(dim=1), x0)
        dims = x0[0].numel()
        radius = torch.rand(shape[0], generator=generator, dtype=torch.float64) ** (1.0 / dims)
        delta = direction * _per_image(radius.to(x0.device) * eps.double(), x0)
        delta = project(delta, eps, "l2")
    return (x0 + delta).clamp_(0, 1)


@dataclass
class PGDState:
    """Per-image bookkeeping of one PGD run (all tensors share the batch dimension)."""

    adversarial: torch.Tensor
    success: torch.Tensor
    zero_gradient: torch.Tensor
    nonfinite: torch.Tensor
    gradient_evaluations: int = 0


@dataclass
class SuccessProbe:
    """When an early-stopping PGD checks success with a forward pass before taking a gradient.

    With ``early_stop``, each iterate's success must be known before stepping on. Taking the
    gradient of every image and reading success from the same forward pass costs one forward +
    backward per image; checking success first with a gradient-free forward and then taking
    gradients of the unsuccessful images only costs ``forward_cost + (1 - p) * 1`` for a success
    rate ``p``, which is cheaper when ``p > forward_cost``. The rate at each step is predicted
    by the rate last seen at that step (runs repeated over shrinking budgets, as in
    :func:`~neuroalign_attacks.min_eps`'s bisection, change slowly); an unseen step is probed.
    Either way every image gets the same iterates and the same success: only the cost differs.
    """

    #: a forward pass's cost relative to forward + backward to the input (0.37 measured for a
    #: ResNet-18 at 224 px on CPU, 32 images)
    forward_cost: float = 0.4
    #: step -> fraction of the images reaching it that had already succeeded there, last run
    rates: dict[int, float] = field(default_factory=dict)

    def wanted(self, step: int) -> bool:
        return self.rates.get(step, 1.0) > self.forward_cost

    def record(self, step: int, succeeded: int, total: int) -> None:
        self.rates[step] = succeeded / total


def _leave(done: torch.Tensor, success: torch.Tensor, active: torch.Tensor,
           *rows: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Images ``done`` (a mask over ``active``) succeeded: mark them, drop them from the batch.

    Returns the remaining ``active`` indices and ``rows`` restricted to them.
    """
    success[active[done]] = True
    keep = ~done
    return active[keep], tuple(row[keep] for row in rows)


def run_pgd(problem: AttackProblem, index: torch.Tensor, eps: torch.Tensor, *, norm: str,
            steps: int, step_size: torch.Tensor, start: torch.Tensor | None = None,
            first_grad: torch.Tensor | None = None, early_stop: bool = False,
            probe: SuccessProbe | None = None, keep_best: bool = False,
            first_value: torch.Tensor | None = None) -> PGDState:
    """PGD on the images ``index`` of ``problem`` with per-image ``eps`` and ``step_size``.

    ``start``: the first iterate (clean images when None). ``first_grad``: a gradient already
    known at ``start`` (saves one evaluation). ``early_stop``: an image whose iterate is already
    successful leaves the batch (its successful iterate is kept); otherwise the last iterate is
    returned, as in Madry et al. ``probe`` (with ``early_stop``): when to check success with a
    gradient-free forward pass first (see :class:`SuccessProbe`; never, when None).
    ``keep_best``: return, per image, the iterate with the highest attack objective among all
    iterates (the start, each step, and the last, which costs one more forward pass), as the
    robustness library's ``use_best=True`` does; a later iterate replaces an earlier one only
    when its objective is strictly higher. Not with ``early_stop``. ``first_value``: the
    objective at ``start`` that goes with ``first_grad``.
    """
    if keep_best and early_stop:
        raise AttackInputError("keep_best and early_stop cannot be combined: an early-stopped "
                               "image keeps its first successful iterate")
    if keep_best and first_grad is not None and first_value is None:
        raise AttackInputError("keep_best with first_grad needs first_value (the objective at "
                               "the start)")
    x0 = problem.images[index]
    x = x0.clone() if start is None else start.clone()
    n = len(index)
    device = x0.device
    success = torch.zeros(n, dtype=torch.bool, device=device)
    zero_grad = torch.ones(n, dtype=torch.bool, device=device)
    nonfinite = torch.zeros(n, dtype=torch.bool, device=device)
    active = torch.arange(n, device=device)
    everyone = True  # while no image has left, skip the gather/scatter copies
    evaluations_before = problem.gradient_evaluations
    best_value: torch.Tensor | None = None
    best_x: torch.Tensor | None = None

    def remember(value: torch.Tensor, xa: torch.Tensor) -> None:
        nonlocal best_value, best_x
        value = torch.where(torch.isfinite(value), value, torch.full_like(value, -torch.inf))
        if best_value is None:
            best_value, best_x = value.clone(), xa.detach().clone()
            return
        better = value > best_value
        best_value = torch.where(better, value, best_value)
        best_x[better] = xa[better].detach()
    for step in range(steps):
        xa = x if everyone else x[active]
        given = step == 0 and first_grad is not None
        probed = early_stop and not given and probe is not None and probe.wanted(step)
        if probed:  # success first, then gradients of the images still to attack only
            done = problem.evaluate(xa, index[active])
            probe.record(step, int(done.sum()), len(active))
            if done.any():
                active, (xa,) = _leave(done, success, active, xa)
                everyone = False
                if len(active) == 0:
                    break
        if given:
            grad = first_grad if everyone else first_grad[active]
            bad = ~torch.isfinite(grad).flatten(1).all(dim=1)
            if keep_best:
                remember(first_value, xa)
        else:
            value, out, grad = problem.value_and_grad(xa, index[active])
            bad = ~torch.isfinite(value) | ~torch.isfinite(grad).flatten(1).all(dim=1)
            if keep_best:
                remember(value, xa)
        if bad.any():
            nonfinite[active[bad]] = True
            grad = torch.where(_per_image(bad, grad).bool(), torch.zeros_like(grad), grad)
        if early_stop and not given and not probed:
            done = problem.success(out, index[active]) & ~bad
            if probe is not None:
                probe.record(step, int(done.sum()), len(active))
            if done.any():
                active, (xa, grad) = _leave(done, success, active, xa, grad)
                everyone = False
                if len(active) == 0:
                    break
        zero_grad[active] &= grad.flatten(1).abs().amax(dim=1) == 0
        base = x0 if everyone else x0[active]
        moved = xa + _per_image(step_size[active], xa) * ascent_direction(grad, norm)
        updated = (base + project(moved - base, eps[active], norm)).clamp_(0, 1)
        if everyone:
            x = updated
        else:
            x[active] = updated
    if keep_best:
        with torch.no_grad():
            value, _ = problem.value(x, index)
        problem.forward_evaluations += len(x)
        remember(value.detach(), x)
        x = best_x
    if len(active):
        success[active] = problem.evaluate(x if everyone else x[active], index[active])
    success &= ~nonfinite
    return PGDState(x, success, zero_grad, nonfinite,
                    problem.gradient_evaluations - evaluations_before)


def make_result(problem: AttackProblem, adversarial: torch.Tensor, success: torch.Tensor,
                evaluations: int, **extras: Any) -> AttackResult:
    """An :class:`AttackResult` with norms measured on the returned images."""
    # handed back in the standard layout, whatever layout the attack ran in
    adversarial = adversarial.contiguous()
    perturbation = adversarial - problem.images
    return AttackResult(
        adversarial=adversarial.detach(),
        perturbation=perturbation.detach(),
        l2=l2_norm(perturbation),
        linf=linf_norm(perturbation),
        success=success.detach(),
        gradient_evaluations=int(evaluations),
        extras=extras,
    )


#: how a budget may be given: one number for every image, or a tensor of shape (N,)
Budget = float | torch.Tensor | Sequence[float]


def pgd(model: Any, images: torch.Tensor, labels: Any = None, *,
        objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
        targeted: bool = False, eps: Budget, norm: Literal["linf", "l2"] = "linf",
        steps: int = 10, step_size: Budget | None = None, random_start: bool = False,
        seed: int = 0, loss: Literal["ce", "margin"] = "ce",
        direction: Literal["maximize", "minimize"] = "maximize",
        mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
        normalized: bool | None = None,
        memory_format: MemoryFormat = "auto",
        iterate: Literal["last", "best_loss"] = "last") -> AttackResult:
    """Projected gradient descent within an Linf or L2 ball of radius ``eps``, in pixel space.

    Parameters
    ----------
    model : torch.nn.Module, NormalizedModel, neuroalign.Model or None
        The classifier (or the module an ``objective`` runs through; may then be None). Its
        input convention must be known: a ``neuroalign.Model`` or a ``NormalizedModel`` brings
        it; a bare module needs ``mean``/``std`` or ``normalized=False``.
    images : torch.Tensor
        ``(N, C, H, W)`` floats in [0, 1], float32 or float64 (the attack computes in the
        images' dtype; the model must take it).
    labels : tensor-like of int, optional
        True classes, or target classes when ``targeted``. Exclusive with ``objective``.
    objective : callable, optional
        ``objective(images) -> (N,)``, maximised (or minimised with ``direction="minimize"``).
        Success means the objective moved in the requested direction.
    targeted : bool
        Push towards ``labels`` instead of away from them.
    eps : float or tensor of shape (N,)
        Radius of the ball, in pixel units of [0, 1] (Linf) or their Euclidean norm (L2); a
        tensor gives each image its own radius.
    norm : {"linf", "l2"}
    steps : int
        Gradient steps (>= 1).
    step_size : float or tensor of shape (N,), optional
        Default ``2.5 * eps / steps`` (per image when ``eps`` is per image).
    random_start : bool
        Start from a uniform random point of the ball (seeded by ``seed``).
    seed : int
        Seed of the random start; results are deterministic for a seed.
    loss : {"ce", "margin"}
    direction : {"maximize", "minimize"}
    mean, std : sequence of float, optional
        The network's input normalisation, for a bare module. Must agree with a
        ``neuroalign.Model``'s preprocessing or a ``NormalizedModel`` when given with one.
    normalized : bool, optional
        ``False``: the model takes pixels in [0, 1] as they are (no mean/std).
    memory_format : {"auto", "channels_last", "contiguous"}
        Memory layout the model runs in. ``"auto"``: channels-last for convolutional networks
        on CPU (about 20 % faster there), the standard layout otherwise. Values do not depend
        on it; use ``"contiguous"`` for a model that cannot take channels-last input.
    iterate : {"last", "best_loss"}
        Which iterate is returned: the last (Madry et al.; torchattacks), or per image the one
        with the highest loss among the start, every step and the last (the robustness
        library's default ``use_best=True``, which paper 000's evaluation used).

    Returns
    -------
    AttackResult
        ``extras``: ``zero_gradient`` (per image: the gradient was exactly zero at every step,
        so the attack could not move; never counted as success unless the clean image already
        was), ``nonfinite`` (the model produced NaN/inf during the attack; counted as failure),
        ``eps``, ``step_size`` (floats, or float64 tensors when given per image), ``steps``.
    """
    if norm not in NORMS:
        raise AttackInputError(f"unknown norm {norm!r}; valid norms are {list(NORMS)}")
    images = check_images(images)
    n, device = len(images), images.device
    eps_t, eps_number = per_image_budget("eps", eps, n, device)
    if iterate not in ("last", "best_loss"):
        raise AttackInputError(f"iterate must be 'last' or 'best_loss'; found {iterate!r}")
    if int(steps) != steps or steps < 1:
        raise AttackInputError(f"steps must be an integer >= 1; found steps={steps!r}")
    steps = int(steps)
    if step_size is None:
        step_t, size_number = 2.5 * eps_t / steps, (
            None if eps_number is None else 2.5 * eps_number / steps)
    else:
        step_t, size_number = per_image_budget("step_size", step_size, n, device)
    # Without a random start the first step is taken at the clean images: the set-up forward
    # pass (which validates the model's outputs) also gives that first gradient.
    with AttackProblem(model, images, labels, objective=objective, targeted=targeted, loss=loss,
                       direction=direction, mean=mean, std=std, normalized=normalized,
                       clean_gradient=not random_start, memory_format=memory_format) as problem:
        x0 = problem.images
        index = torch.arange(n, device=x0.device)
        start = None
        if random_start:
            generator = torch.Generator().manual_seed(int(seed))
            start = random_point_in_ball(x0, eps_t, norm, generator)
        first = problem.clean_step
        state = run_pgd(problem, index, eps_t, norm=norm, steps=steps, step_size=step_t,
                        start=start, first_grad=None if first is None else first[2],
                        first_value=None if first is None else first[0],
                        keep_best=iterate == "best_loss")
        # problem.gradient_evaluations also counts the first gradient, taken at set-up
        return make_result(problem, state.adversarial, state.success,
                           problem.gradient_evaluations, zero_gradient=state.zero_gradient,
                           nonfinite=state.nonfinite,
                           eps=eps_t if eps_number is None else eps_number, steps=steps,
                           step_size=step_t if size_number is None else size_number, norm=norm,
                           iterate=iterate)


def pgd_linf(model: Any, images: torch.Tensor, labels: Any = None, *,
             objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
             targeted: bool = False, eps: Budget = 8 / 255, steps: int = 10,
             step_size: Budget | None = None, random_start: bool = False, seed: int = 0,
             loss: Literal["ce", "margin"] = "ce",
             direction: Literal["maximize", "minimize"] = "maximize",
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
             normalized: bool | None = None,
             memory_format: MemoryFormat = "auto",
             iterate: Literal["last", "best_loss"] = "last") -> AttackResult:
    """:func:`pgd` with ``norm="linf"`` (default eps 8/255)."""
    return pgd(model, images, labels, objective=objective, targeted=targeted, eps=eps,
               norm="linf", steps=steps, step_size=step_size, random_start=random_start,
               seed=seed, loss=loss, direction=direction, mean=mean, std=std,
               normalized=normalized, memory_format=memory_format, iterate=iterate)


def pgd_l2(model: Any, images: torch.Tensor, labels: Any = None, *,
           objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
           targeted: bool = False, eps: Budget = 0.5, steps: int = 10,
           step_size: Budget | None = None, random_start: bool = False, seed: int = 0,
           loss: Literal["ce", "margin"] = "ce",
           direction: Literal["maximize", "minimize"] = "maximize",
           mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
           normalized: bool | None = None,
           memory_format: MemoryFormat = "auto",
           iterate: Literal["last", "best_loss"] = "last") -> AttackResult:
    """:func:`pgd` with ``norm="l2"`` (default eps 0.5)."""
    return pgd(model, images, labels, objective=objective, targeted=targeted, eps=eps,
               norm="l2", steps=steps, step_size=step_size, random_start=random_start,
               seed=seed, loss=loss, direction=direction, mean=mean, std=std,
               normalized=normalized, memory_format=memory_format, iterate=iterate)


def fgsm(model: Any, images: torch.Tensor, labels: Any = None, *,
         objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
         targeted: bool = False, eps: Budget = 8 / 255, loss: Literal["ce", "margin"] = "ce",
         direction: Literal["maximize", "minimize"] = "maximize",
         mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
         normalized: bool | None = None,
         memory_format: MemoryFormat = "auto") -> AttackResult:
    """Fast gradient sign method (Goodfellow et al. 2015): one Linf step of size ``eps``.

    Same parameters and result as :func:`pgd` (it is PGD-Linf with one step of size ``eps``
    and no random start); ``eps`` may be a tensor of shape (N,), one per image.
    """
    return pgd(model, images, labels, objective=objective, targeted=targeted, eps=eps,
               norm="linf", steps=1, step_size=eps, loss=loss, direction=direction, mean=mean,
               std=std, normalized=normalized, memory_format=memory_format)
