"""Carlini & Wagner (2017) L2 attack.

Change of variables ``x = (tanh(w) + 1) / 2`` keeps every iterate in the pixel box; Adam
minimises ``||x - x0||^2 + c * max(z_y - max_{j != y} z_j + kappa, 0)`` (targeted:
``max(max_{j != t} z_j - z_t + kappa, 0)``); a per-image binary search over ``c`` finds the
smallest constant that still succeeds, and the smallest successful perturbation seen at any
iterate of any search step is returned.

Batching: each image runs its own Adam state and its own ``c``. An image whose loss has stopped
improving (checked every ``steps // 10`` iterations, as in the original early abort) leaves the
batch for the rest of that search step, and an image whose bracket on ``c`` is already tight
(``upper / lower < 1 + const_tolerance``) skips the remaining search steps, so the batch shrinks
as images converge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from neuroalign.interfaces import AttackResult

from .objectives import AttackProblem, margin
from .pixel_space import AttackInputError, check_budget
from .projected_gradient import make_result

__all__ = ["cw_l2"]

_BOX = 1 - 1e-6  # keeps atanh finite at pixels exactly 0 or 1


def _to_pixels(w: torch.Tensor) -> torch.Tensor:
    return (torch.tanh(w) + 1) / 2


def cw_l2(model: Any, images: torch.Tensor, labels: Any, *, confidence: float = 0.0,
          steps: int = 100, lr: float = 0.01, binary_search_steps: int = 9,
          initial_const: float = 1e-3, abort_early: bool = True, warm_start: bool = False,
          const_tolerance: float = 0.0, refine_steps: int = 0, targeted: bool = False,
          mean: Sequence[float] | None = None,
          std: Sequence[float] | None = None) -> AttackResult:
    """Carlini-Wagner L2 attack with a per-image binary search over the constant ``c``.

    Parameters
    ----------
    model : torch.nn.Module or neuroalign.Model
        The classifier.
    images : torch.Tensor
        ``(N, C, H, W)`` floats in [0, 1].
    labels : tensor-like of int
        True classes (or target classes when ``targeted``). CW needs labels: its loss is a
        logit margin.
    confidence : float
        kappa: how far past the decision boundary a perturbation must go to count as success.
    steps : int
        Adam iterations per binary-search step.
    lr : float
        Adam learning rate (in tanh space).
    binary_search_steps : int
        Search steps over ``c``: success halves the bracket downwards, failure upwards (x10
        while no success has been seen).
    initial_const : float
        Starting ``c`` for every image.
    abort_early : bool
        Drop an image from the current search step when its loss has not decreased by 0.01 %
        over the last ``steps // 10`` iterations.
    warm_start : bool
        Start each search step from the best perturbation found so far instead of the clean
        image (faster convergence; off by default, as in the original attack).
    const_tolerance : float
        Skip further search steps for an image once ``upper_c / lower_c <= 1 +
        const_tolerance`` (0 disables).
    refine_steps : int
        After the search, bisect the scale ``s`` in [0, 1] of each best perturbation (``x0 + s *
        delta`` stays in the box) for this many forward passes, keeping the smallest scale that
        still succeeds: a line search back to the decision boundary that never increases the L2
        norm (0 disables, as in the original attack).
    targeted : bool
    mean, std : sequence of float, optional
        The model's input normalisation.

    Returns
    -------
    AttackResult
        Images where no search step succeeded are returned unchanged with ``success=False``.
        ``extras["const"]``: the smallest successful ``c`` per image (``inf`` if none).
    """
    if labels is None:
        raise AttackInputError("cw_l2 needs labels: its loss is a logit margin (found labels=None)")
    if confidence < 0:
        raise AttackInputError(f"confidence (kappa) must be >= 0; found confidence={confidence!r}")
    if int(refine_steps) != refine_steps or refine_steps < 0:
        raise AttackInputError(f"refine_steps must be an integer >= 0; found {refine_steps!r}")
    for name, value in (("steps", steps), ("binary_search_steps", binary_search_steps)):
        if int(value) != value or value < 1:
            raise AttackInputError(f"{name} must be an integer >= 1; found {name}={value!r}")
    lr = check_budget("lr", lr)
    initial_const = check_budget("initial_const", initial_const)
    with AttackProblem(model, images, labels, targeted=targeted, loss="margin",
                       mean=mean, std=std) as problem:
        return _search(problem, float(confidence), int(steps), lr, int(binary_search_steps),
                       initial_const, abort_early, warm_start, float(const_tolerance),
                       int(refine_steps))


def _adversarial(out: torch.Tensor, labels: torch.Tensor, targeted: bool,
                 kappa: float) -> torch.Tensor:
    gap = margin(out, labels)  # > 0: label is not the top class
    score = -gap if targeted else gap  # > kappa: past the boundary by the required confidence
    return torch.isfinite(out).all(dim=1) & (score > kappa)


def _search(problem: AttackProblem, kappa: float, steps: int, lr: float, search_steps: int,
            initial_const: float, abort_early: bool, warm_start: bool,
            const_tolerance: float, refine_steps: int) -> AttackResult:
    x0 = problem.images
    n, device = len(x0), x0.device
    w_clean = torch.atanh((2 * x0 - 1) * _BOX)
    const = torch.full((n,), initial_const, dtype=x0.dtype, device=device)
    c_low = torch.zeros(n, dtype=x0.dtype, device=device)
    c_high = torch.full((n,), float("inf"), dtype=x0.dtype, device=device)
    best_l2sq = torch.full((n,), float("inf"), dtype=x0.dtype, device=device)
    best_adv = x0.clone()
    best_w = w_clean.clone()
    nonfinite = torch.zeros(n, dtype=torch.bool, device=device)
    check_every = max(steps // 10, 1)
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8

    for _ in range(search_steps):
        todo = torch.ones(n, dtype=torch.bool, device=device)
        if const_tolerance > 0:
            todo &= ~(c_high <= c_low * (1 + const_tolerance))
        active = todo.nonzero()[:, 0]
        if len(active) == 0:
            break
        w = (best_w if warm_start else w_clean)[active].clone()
        m_t, v_t = torch.zeros_like(w), torch.zeros_like(w)
        succeeded = torch.zeros(n, dtype=torch.bool, device=device)
        previous = torch.full((n,), float("inf"), dtype=x0.dtype, device=device)
        live = torch.arange(len(active), device=device)  # rows of w still optimised
        for step in range(1, steps + 1):
            ids = active[live]
            wl = w[live].detach().requires_grad_(True)
            with torch.enable_grad():
                x = _to_pixels(wl)
                out = problem.forward(x)
                l2sq = (x - x0[ids]).flatten(1).pow(2).sum(dim=1)
                gap = margin(out, problem.labels[ids])  # > 0: misclassified
                hinge = (gap if problem.targeted else -gap) + kappa
                loss = l2sq + const[ids] * hinge.clamp_min(0)
                (grad,) = torch.autograd.grad(loss.sum(), wl)
            problem.gradient_evaluations += len(ids)
            out, l2sq, loss = out.detach(), l2sq.detach(), loss.detach()
            ok = _adversarial(out, problem.labels[ids], problem.targeted, kappa)
            bad = ~torch.isfinite(loss) | ~torch.isfinite(grad).flatten(1).all(dim=1)
            nonfinite[ids] |= bad
            ok &= ~bad
            succeeded[ids] |= ok
            better = ok & (l2sq < best_l2sq[ids])
            if better.any():
                rows = ids[better]
                best_l2sq[rows] = l2sq[better]
                best_adv[rows] = x.detach()[better]
                best_w[rows] = wl.detach()[better]
            grad = torch.where(bad.view(-1, 1, 1, 1), torch.zeros_like(grad), grad)
            # Adam, one state per image row (elementwise, so rows are independent)
            m_t[live] = beta1 * m_t[live] + (1 - beta1) * grad
            v_t[live] = beta2 * v_t[live] + (1 - beta2) * grad * grad
            m_hat = m_t[live] / (1 - beta1 ** step)
            v_hat = v_t[live] / (1 - beta2 ** step)
            w[live] = wl.detach() - lr * m_hat / (v_hat.sqrt() + adam_eps)
            if abort_early and step % check_every == 0:
                stalled = loss > previous[ids] * 0.9999
                previous[ids] = loss
                live = live[~stalled]
                if len(live) == 0:
                    break
        # binary search on c, per image
        won, lost = succeeded & todo, ~succeeded & todo
        c_high[won] = torch.minimum(c_high[won], const[won])
        c_low[lost] = torch.maximum(c_low[lost], const[lost])
        bounded = torch.isfinite(c_high)
        const = torch.where(bounded, (c_low + c_high) / 2, torch.where(lost, const * 10, const))

    success = torch.isfinite(best_l2sq)
    forward_passes = _refine(problem, best_adv, success, kappa, refine_steps)
    return make_result(problem, best_adv, success, problem.gradient_evaluations,
                       const=torch.where(success, c_high, torch.full_like(c_high, float("inf"))),
                       nonfinite=nonfinite, confidence=kappa, refine_forward_passes=forward_passes)


def _refine(problem: AttackProblem, best_adv: torch.Tensor, success: torch.Tensor, kappa: float,
            refine_steps: int) -> int:
    """Shrink each successful perturbation along its own direction (in place); forward passes."""
    rows = success.nonzero()[:, 0]
    if refine_steps == 0 or len(rows) == 0:
        return 0
    x0, delta = problem.images[rows], best_adv[rows] - problem.images[rows]
    low = torch.zeros(len(rows), dtype=x0.dtype, device=x0.device)
    high = torch.ones_like(low)
    for _ in range(refine_steps):
        mid = (low + high) / 2
        candidate = x0 + mid.view(-1, 1, 1, 1) * delta
        with torch.no_grad():
            ok = _adversarial(problem.forward(candidate), problem.labels[rows],
                              problem.targeted, kappa)
        high = torch.where(ok, mid, high)
        low = torch.where(ok, low, mid)
    best_adv[rows] = x0 + high.view(-1, 1, 1, 1) * delta
    return refine_steps * len(rows)
