"""Minimal-epsilon search (paper 003, Linsley et al., "Adversarial Alignment", Alg. 1).

For every image, bisection over eps in ``[lower, upper]``: run a short PGD (3 iterations by
default) at the midpoint; success moves the upper end down, failure moves the lower end up,
until the bracket is narrower than ``tolerance``. All images of a batch bisect together, each at
its own eps, and converged images drop out of the batch.

Three savings over running the paper's loop image by image: PGD without random start takes its
first step from the clean image, whose gradient does not depend on eps, so it is computed once
per image and reused by every bisection step; (``early_stop=True``, default) an image whose PGD
iterate is already misclassified stops iterating, because a successful perturbation inside the
eps-ball has been found; and while most midpoints are easy (the first bisections, far above an
image's minimal eps), success is checked with a gradient-free forward pass before gradients are
taken, only for the images still unflipped (:class:`~neuroalign_attacks.SuccessProbe`; this
changes the cost, never the result).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch

from neuroalign import AttackResult

from .objectives import AttackProblem
from .pixel_space import AttackInputError, MemoryFormat, check_budget
from .projected_gradient import NORMS, SuccessProbe, make_result, run_pgd

__all__ = ["min_eps", "DEFAULT_BRACKETS"]

#: norm -> (lower, upper, tolerance); L2 from paper 003, Linf scaled to the pixel range
DEFAULT_BRACKETS: dict[str, tuple[float, float, float]] = {
    "l2": (0.001, 10.0, 0.001),
    "linf": (0.0001, 1.0, 0.0001),
}


def min_eps(model: Any, images: torch.Tensor, labels: Any = None, *,
            objective: Callable[[torch.Tensor], torch.Tensor] | None = None,
            targeted: bool = False, norm: Literal["l2", "linf"] = "l2",
            lower: float | None = None, upper: float | None = None,
            tolerance: float | None = None, steps: int = 3, step_size_factor: float = 2.5,
            early_stop: bool = True, loss: Literal["ce", "margin"] = "ce",
            direction: Literal["maximize", "minimize"] = "maximize",
            mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
            normalized: bool | None = None,
            memory_format: MemoryFormat = "auto") -> AttackResult:
    """Per-image minimal PGD budget that changes the model's decision (paper 003).

    Parameters
    ----------
    model, images, labels, objective, targeted, loss, direction, mean, std, normalized,
    memory_format
        As in :func:`neuroalign_attacks.pgd`.
    norm : {"l2", "linf"}
    lower, upper : float, optional
        Initial bracket; defaults ``[0.001, 10]`` (L2, paper 003) and ``[0.0001, 1]`` (Linf).
    tolerance : float, optional
        Stop bisecting an image when ``upper - lower < tolerance``; defaults 0.001 (L2) and
        0.0001 (Linf).
    steps : int
        PGD iterations at each eps (paper 003: 3).
    step_size_factor : float
        PGD step size is ``step_size_factor * eps / steps`` (2.5 as in the robustness library).
    early_stop : bool
        Stop a PGD run for an image as soon as one of its iterates succeeds.

    Returns
    -------
    AttackResult
        ``adversarial``/``perturbation``/``l2``/``linf``: the successful perturbation found at
        the smallest eps. ``success``: a successful perturbation was found within ``upper``.
        ``extras["eps"]``: per-image minimal eps (upper end of the final bracket; 0 for images
        the model already gets wrong; ``inf`` where even ``upper`` fails).
        ``extras["eps_lower"]``: lower end of the final bracket. ``extras["bisections"]``:
        PGD runs per image. ``extras["forward_evaluations"]``: gradient-free forward passes of
        single images (success checks), besides ``gradient_evaluations``.
        ``extras["zero_gradient"]``: the clean gradient was exactly zero,
        so PGD cannot move (eps ``inf``, failure). ``extras["nonfinite"]``: NaN/inf seen.
    """
    if norm not in NORMS:
        raise AttackInputError(f"unknown norm {norm!r}; valid norms are {list(NORMS)}")
    default_lower, default_upper, default_tol = DEFAULT_BRACKETS[norm]
    lower = check_budget("lower", default_lower if lower is None else lower)
    upper = check_budget("upper", default_upper if upper is None else upper)
    tolerance = check_budget("tolerance", default_tol if tolerance is None else tolerance)
    if upper <= lower:
        raise AttackInputError(f"need lower < upper; found lower={lower}, upper={upper}")
    if int(steps) != steps or steps < 1:
        raise AttackInputError(f"steps must be an integer >= 1; found steps={steps!r}")
    factor = check_budget("step_size_factor", step_size_factor)
    with AttackProblem(model, images, labels, objective=objective, targeted=targeted, loss=loss,
                       direction=direction, mean=mean, std=std, normalized=normalized,
                       memory_format=memory_format) as problem:
        return _bisect(problem, norm, lower, upper, tolerance, int(steps), factor, early_stop)


def _bisect(problem: AttackProblem, norm: str, lower: float, upper: float, tolerance: float,
            steps: int, factor: float, early_stop: bool) -> AttackResult:
    x0 = problem.images
    n, device = len(x0), x0.device
    lo = torch.full((n,), lower, dtype=torch.float64, device=device)
    hi = torch.full((n,), upper, dtype=torch.float64, device=device)
    found = problem.clean_success.clone()
    adversarial = x0.clone()
    bisections = torch.zeros(n, dtype=torch.long, device=device)
    nonfinite = torch.zeros(n, dtype=torch.bool, device=device)
    zero_gradient = torch.zeros(n, dtype=torch.bool, device=device)

    active = (~found).nonzero()[:, 0]
    first_grad = torch.zeros_like(x0)
    if len(active):
        value, _, grad = problem.value_and_grad(x0[active], active)
        first_grad[active] = grad
        flat = grad.flatten(1)
        finite = torch.isfinite(value) & torch.isfinite(flat).all(dim=1)
        zero = finite & (flat.abs().amax(1) == 0)
        zero_gradient[active[zero]] = True
        nonfinite[active[~finite]] = True
        active = active[finite & ~zero]
    stuck = zero_gradient | nonfinite  # PGD cannot move these: no bisection, eps inf
    probe = SuccessProbe()  # cheap success checks while most midpoints are easy

    while len(active):
        mid = (lo[active] + hi[active]) / 2
        eps = torch.zeros(n, dtype=torch.float64, device=device)
        eps[active] = mid
        state = run_pgd(problem, active, eps[active], norm=norm, steps=steps,
                        step_size=factor * eps[active] / steps, first_grad=first_grad[active],
                        early_stop=early_stop, probe=probe)
        bisections[active] += 1
        nonfinite[active] |= state.nonfinite
        ok = state.success
        hi[active[ok]] = mid[ok]
        lo[active[~ok]] = mid[~ok]
        adversarial[active[ok]] = state.adversarial[ok]
        found[active[ok]] = True
        active = active[(hi[active] - lo[active]) >= tolerance]

    # the bracket's upper end was never tried for images that failed every midpoint
    untried = (~found & ~stuck).nonzero()[:, 0]
    if len(untried):
        eps_up = torch.full((len(untried),), upper, dtype=torch.float64, device=device)
        state = run_pgd(problem, untried, eps_up, norm=norm, steps=steps,
                        step_size=factor * eps_up / steps, first_grad=first_grad[untried],
                        early_stop=early_stop, probe=probe)
        bisections[untried] += 1
        ok = state.success
        adversarial[untried[ok]] = state.adversarial[ok]
        found[untried[ok]] = True

    eps_found = torch.where(found, hi, torch.full_like(hi, float("inf")))
    eps_found[problem.clean_success] = 0.0
    lo[problem.clean_success] = 0.0
    return make_result(problem, adversarial, found, problem.gradient_evaluations,
                       eps=eps_found, eps_lower=lo,
                       bisections=bisections, zero_gradient=zero_gradient, nonfinite=nonfinite,
                       forward_evaluations=problem.forward_evaluations,
                       norm=norm, steps=steps, tolerance=tolerance, bracket=(lower, upper))
