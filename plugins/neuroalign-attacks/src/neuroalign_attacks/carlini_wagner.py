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

from collections.abc import Callable, Sequence
from typing import Any

import torch

from neuroalign import AttackResult

from .objectives import AttackProblem, margin
from .pixel_space import AttackInputError, MemoryFormat, check_budget
from .projected_gradient import make_result
from .specs import CW_FAST

__all__ = ["cw_l2", "CW_PRESETS"]

_BOX = 1 - 1e-6  # keeps atanh finite at pixels exactly 0 or 1


def _to_pixels(w: torch.Tensor) -> torch.Tensor:
    return (torch.tanh(w) + 1) / 2


#: named settings of :func:`cw_l2`, each listing every value it sets:
#: ``cw_l2(model, images, labels, **CW_PRESETS["fast"])``
CW_PRESETS: dict[str, dict[str, Any]] = {"fast": dict(CW_FAST)}


def cw_l2(model: Any, images: torch.Tensor, labels: Any = None, *,
          objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
          targeted: bool = False, confidence: float = 0.0, steps: int = 100, lr: float = 0.01,
          binary_search_steps: int = 9, initial_const: float = 1e-3, abort_early: bool = True,
          warm_start: bool = False, const_tolerance: float = 0.0, refine_steps: int = 0,
          stop_at_first_success: bool = False, mean: Sequence[float] | None = None,
          std: Sequence[float] | None = None, normalized: bool | None = None,
          memory_format: MemoryFormat = "auto") -> AttackResult:
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
    objective : None
        Part of the common call signature; CW attacks classifiers only (an objective is an
        error: use ``pgd_l2`` or ``min_eps``).
    targeted : bool
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
    stop_at_first_success : bool
        An image leaves the binary search after the first search step in which it succeeded
        (its smallest successful perturbation so far is kept, and ``refine_steps`` can then
        shorten it); the remaining search steps run only for images not yet flipped, with ``c``
        x10 each time. Off by default (the full search lowers ``c`` to shorten perturbations);
        on, it turns the search into a cheap escalation of ``c`` for the hard images.
    mean, std, normalized, memory_format
        As in :func:`neuroalign_attacks.pgd`.

    Notes
    -----
    The fast setting of ``docs/attacks.md`` is registered as the attack ``cw_l2_fast``
    (``neuroalign.get_attack("cw_l2_fast")``); its values are
    ``neuroalign_attacks.CW_PRESETS["fast"]``, so ``cw_l2(model, x, y, **CW_PRESETS["fast"])``
    is the same attack.

    Returns
    -------
    AttackResult
        Images where no search step succeeded are returned unchanged with ``success=False``.
        ``extras["const"]``: the smallest successful ``c`` per image (``inf`` if none).
    """
    if objective is not None:
        raise AttackInputError(
            "cw_l2 attacks classifiers only (its loss is a logit margin); for an objective "
            "use pgd_l2 or min_eps"
        )
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
                       mean=mean, std=std, normalized=normalized,
                       memory_format=memory_format) as problem:
        return _search(problem, float(confidence), int(steps), lr, int(binary_search_steps),
                       initial_const, abort_early, warm_start, float(const_tolerance),
                       int(refine_steps), bool(stop_at_first_success))


def _adversarial(out: torch.Tensor, labels: torch.Tensor, targeted: bool,
                 kappa: float) -> torch.Tensor:
    gap = margin(out, labels)  # > 0: label is not the top class
    score = -gap if targeted else gap  # > kappa: past the boundary by the required confidence
    return torch.isfinite(out).all(dim=1) & (score > kappa)


def _search(problem: AttackProblem, kappa: float, steps: int, lr: float, search_steps: int,
            initial_const: float, abort_early: bool, warm_start: bool,
            const_tolerance: float, refine_steps: int,
            stop_at_first_success: bool = False) -> AttackResult:
    x0 = problem.images
    n, device = len(x0), x0.device
    w_clean = torch.atanh((2 * x0 - 1) * _BOX)
    # The distance term is measured from the clean image as the tanh variables represent it
    # (as in Carlini & Wagner's code): x0 itself differs from it by the box shrink and rounding,
    # and that ~1e-6 offset would give every pixel a nonzero gradient at the start, which Adam
    # (scale-free) turns into a full lr-sized step on every pixel, zero-margin-gradient ones too.
    anchor = _to_pixels(w_clean)
    const = torch.full((n,), initial_const, dtype=x0.dtype, device=device)
    c_low = torch.zeros(n, dtype=x0.dtype, device=device)
    c_high = torch.full((n,), float("inf"), dtype=x0.dtype, device=device)
    best_l2sq = torch.full((n,), float("inf"), dtype=x0.dtype, device=device)
    best_adv = x0.clone()
    best_w = w_clean.clone()
    best_score = torch.full((n,), float("nan"), dtype=x0.dtype, device=device)
    forward_passes = 0
    nonfinite = torch.zeros(n, dtype=torch.bool, device=device)
    check_every = max(steps // 10, 1)
    beta1, beta2, adam_eps = 0.9, 0.999, 1e-8

    for _ in range(search_steps):
        todo = torch.ones(n, dtype=torch.bool, device=device)
        if const_tolerance > 0:
            todo &= ~(c_high <= c_low * (1 + const_tolerance))
        if stop_at_first_success:
            todo &= ~torch.isfinite(best_l2sq)
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
            last = step == steps  # the gradient at the last iterate is never used: forward only
            if last:
                wl = w[live]
                with torch.inference_mode():
                    x = _to_pixels(wl)
                    out = problem.forward(x)
                forward_passes += len(ids)
            else:
                wl = w[live].detach().requires_grad_(True)
                with torch.enable_grad():
                    x = _to_pixels(wl)
                    out = problem.forward(x)
            gap_t = margin(out, problem.labels[ids])  # > 0: misclassified
            hinge = (gap_t if problem.targeted else -gap_t) + kappa
            loss = (x - anchor[ids]).flatten(1).pow(2).sum(dim=1) + const[ids] * hinge.clamp_min(0)
            if not last:
                (grad,) = torch.autograd.grad(loss.sum(), wl)
                problem.gradient_evaluations += len(ids)
            out, loss = out.detach(), loss.detach()
            # what is reported: the distance from the clean image itself
            l2sq = (x.detach() - x0[ids]).flatten(1).pow(2).sum(dim=1)
            ok = _adversarial(out, problem.labels[ids], problem.targeted, kappa)
            bad = ~torch.isfinite(loss)
            if not last:
                bad |= ~torch.isfinite(grad).flatten(1).all(dim=1)
            nonfinite[ids] |= bad
            ok &= ~bad
            succeeded[ids] |= ok
            better = ok & (l2sq < best_l2sq[ids])
            if better.any():
                rows = ids[better]
                best_l2sq[rows] = l2sq[better]
                best_adv[rows] = x.detach()[better]
                best_w[rows] = wl.detach()[better]
                gap_d = gap_t.detach()[better]
                best_score[rows] = -gap_d if problem.targeted else gap_d
            if last:
                break
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
    refine_passes = _refine(problem, best_adv, best_score, success, kappa, refine_steps)
    return make_result(problem, best_adv, success, problem.gradient_evaluations,
                       const=torch.where(success, c_high, torch.full_like(c_high, float("inf"))),
                       nonfinite=nonfinite, confidence=kappa, refine_forward_passes=refine_passes,
                       forward_passes=forward_passes + refine_passes)


def _refine(problem: AttackProblem, best_adv: torch.Tensor, best_score: torch.Tensor,
            success: torch.Tensor, kappa: float, refine_steps: int) -> int:
    """Shrink each successful perturbation along its own direction (in place); forward passes.

    A line search for the smallest scale ``s`` in [0, 1] at which ``x0 + s * delta`` is still
    adversarial: the bracket ``[low, high]`` starts at [0, 1] (clean image: fails; best
    perturbation: succeeds) and each forward pass tries the false-position estimate of where the
    margin crosses kappa (Illinois variant; plain bisection where the margins are not usable).
    ``high`` only ever moves to a scale that succeeded, so the returned perturbation is
    adversarial and never longer than before. Images whose bracket is tight (relative 1e-4)
    leave the batch.
    """
    rows = success.nonzero()[:, 0]
    if refine_steps == 0 or len(rows) == 0:
        return 0
    x0, delta = problem.images[rows], best_adv[rows] - problem.images[rows]
    labels = problem.labels[rows]
    dtype, device = torch.float64, x0.device
    low = torch.zeros(len(rows), dtype=dtype, device=device)
    high = torch.ones_like(low)
    clean = margin(problem.clean_outputs[rows], labels).to(dtype)
    g_low = (-clean if problem.targeted else clean) - kappa  # <= 0 (the clean image fails)
    g_high = best_score[rows].to(dtype) - kappa  # > 0 (the best perturbation succeeds)
    side = torch.zeros_like(low)  # +1 / -1: which end moved last (Illinois bookkeeping)
    live = torch.arange(len(rows), device=device)
    passes = 0
    for _ in range(refine_steps):
        live = live[(high[live] - low[live]) > 1e-4 * high[live]]
        if len(live) == 0:
            break
        lo, hi, glo, ghi = low[live], high[live], g_low[live], g_high[live]
        usable = torch.isfinite(glo) & torch.isfinite(ghi) & (glo <= 0) & (ghi > 0)
        guess = hi - ghi * (hi - lo) / (ghi - glo).clamp_min(1e-30)
        # stay strictly inside the bracket so every pass shrinks it
        width = hi - lo
        guess = guess.clamp(lo + 0.01 * width, hi - 0.01 * width)
        mid = torch.where(usable, guess, (lo + hi) / 2)
        candidate = x0[live] + mid.to(x0.dtype).view(-1, 1, 1, 1) * delta[live]
        with torch.inference_mode():
            out = problem.forward(candidate)
        passes += len(live)
        gap = margin(out, labels[live]).to(dtype)
        g = (-gap if problem.targeted else gap) - kappa
        ok = _adversarial(out, labels[live], problem.targeted, kappa)
        g = torch.where(torch.isfinite(g), g, torch.full_like(g, float("nan")))
        s_prev = side[live]
        # Illinois: an end kept twice in a row has its margin halved (avoids stagnation)
        high[live] = torch.where(ok, mid, hi)
        g_high[live] = torch.where(ok, g, torch.where(s_prev < 0, ghi / 2, ghi))
        low[live] = torch.where(ok, lo, mid)
        g_low[live] = torch.where(ok, torch.where(s_prev > 0, glo / 2, glo),
                                  torch.where(torch.isnan(g), glo, g.clamp_max(0)))
        side[live] = torch.where(ok, torch.ones_like(mid), -torch.ones_like(mid))
    best_adv[rows] = x0 + high.to(x0.dtype).view(-1, 1, 1, 1) * delta
    return passes
