"""Paper 003's minimal-epsilon search for L2 PGD, batched across images.

The reference (Adversarial-Alignment's public PyTorch notebook, ``execute_attack`` and its main
loop) does, per image the model classifies correctly:

1. PGD at eps = 10; not fooled -> the image is a *failure* (skipped there; counted here);
2. PGD at eps = 1; fooled -> bisect [0.001, 1] until ``r - l < 0.01``, else bisect [1, 10]
   until ``r - l < 0.1``; midpoint ``m = l + (r - l) / 2``, fooled -> ``r = m`` else ``l = m``;
3. the minimal eps is ``r`` and the perturbation kept is the one found at ``r``.

Each PGD run is 3 iterations of ``x <- clamp(x0 + P(x + alpha g / ||g|| - x0), 0, 1)`` from the
clean image (no random start, alpha = 0.5, g the cross-entropy gradient), and only the last
iterate is checked. ``P`` is the projection:

* ``"sphere"`` (default): ``delta <- eps delta / ||delta||``, every iterate *on* the eps-sphere, as
  the paper describes it (Appendix C: "the closest point on the circle of radius eps",
  ``||delta||_2 = eps``), before clamping to [0, 1];
* ``"ball"``: Madry et al.'s projection ``delta <- delta min(1, eps / ||delta||)``;
* ``"notebook"``: what the public code literally computes, ``delta <- delta + eps delta/||delta||``
  (``x_next = x_next + (delta / sigma) * eps``): the perturbation *grows* by eps at every step, so
  its L2 is about ``3 (alpha + eps)`` before clamping. Offered to reproduce the published numbers
  (the notebook's vgg11 row: mean eps 0.011, mean L2 1.317), not as a projection.

:func:`tolerance_search` runs every image at once: the gradient at the clean image does not depend
on eps, so it is computed once per image and reused by every PGD run (exact); each PGD run is
batched over the images still searching, each at its own eps; images leave the batch as their
bracket closes. :func:`per_image_search` is the reference loop, image by image, as the notebook
runs it (the benchmark script compares the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroalign import AttackResult
from neuroalign_attacks.objectives import AttackProblem
from neuroalign_attacks.pixel_space import AttackInputError, MemoryFormat, as_pixel_model, frozen
from neuroalign_attacks.projected_gradient import ascent_direction, make_result

__all__ = ["PROJECTIONS", "SearchSchedule", "REFERENCE_SCHEDULE", "project_l2", "pgd_l2_run",
           "tolerance_search", "per_image_search", "MISCLASSIFIED", "FAILURE", "SUCCESS"]

PROJECTIONS = ("sphere", "ball", "notebook")
#: per-image outcome codes (``extras["outcome"]``)
MISCLASSIFIED, FAILURE, SUCCESS = 0, 1, 2


@dataclass(frozen=True)
class SearchSchedule:
    """The eps schedule of the reference search and its PGD settings."""

    first: float = 10.0         # tried first; not fooled there -> failure
    split: float = 1.0          # tried second; decides which bracket is bisected
    lower: float = 0.001
    upper: float = 10.0
    low_width: float = 0.01     # stop bisecting [lower, split] when r - l < this
    high_width: float = 0.1     # stop bisecting [split, upper] when r - l < this
    steps: int = 3
    step_size: float = 0.5

    def check(self) -> SearchSchedule:
        for name in ("first", "split", "lower", "upper", "low_width", "high_width", "step_size"):
            value = getattr(self, name)
            if not value > 0 or value != value or value == float("inf"):
                raise AttackInputError(f"search schedule: {name} must be a positive finite "
                                       f"number; found {value!r}")
        if not self.lower < self.split < self.upper:
            raise AttackInputError(f"search schedule: need lower < split < upper; found "
                                   f"{self.lower}, {self.split}, {self.upper}")
        if int(self.steps) != self.steps or self.steps < 1:
            raise AttackInputError(f"search schedule: steps must be an integer >= 1; found "
                                   f"{self.steps!r}")
        return self


REFERENCE_SCHEDULE = SearchSchedule()


def project_l2(delta: torch.Tensor, eps: torch.Tensor, projection: str) -> torch.Tensor:
    """Apply ``projection`` (see the module docstring) to each image's ``delta`` with its eps."""
    norms = delta.flatten(1).double().norm(dim=1).clamp_min(1e-30)
    eps = eps.to(device=norms.device, dtype=torch.float64)
    if projection == "sphere":
        factor = eps / norms
    elif projection == "ball":
        factor = torch.clamp(eps / norms, max=1.0)
    elif projection == "notebook":
        factor = 1.0 + eps / norms
    else:
        raise AttackInputError(f"unknown projection {projection!r}; valid projections are "
                               f"{list(PROJECTIONS)}")
    return delta * factor.view(-1, *([1] * (delta.ndim - 1))).to(delta)


def pgd_l2_run(problem: AttackProblem, index: torch.Tensor, eps: torch.Tensor, *,
               first_grad: torch.Tensor, projection: str, steps: int,
               step_size: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One reference PGD run on images ``index`` (each at its own eps): ``(last iterate, fooled)``.

    ``first_grad``: the gradient at the clean images (reused, it does not depend on eps).
    """
    x0 = problem.images[index]
    x = x0
    for step in range(steps):
        grad = first_grad if step == 0 else problem.value_and_grad(x, index)[2]
        moved = x + step_size * ascent_direction(grad, "l2")
        x = (x0 + project_l2(moved - x0, eps, projection)).clamp_(0, 1)
    return x, problem.evaluate(x, index)


def tolerance_search(model: Any, images: torch.Tensor, labels: Any, *,
                     projection: Literal["sphere", "ball", "notebook"] = "sphere",
                     schedule: SearchSchedule = REFERENCE_SCHEDULE,
                     mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                     memory_format: MemoryFormat = "auto") -> AttackResult:
    """The reference minimal-eps search (module docstring) for every image at once.

    Parameters
    ----------
    model : torch.nn.Module or neuroalign.Model
        The classifier, taking normalised input (``mean``/``std`` applied inside the attack).
    images : torch.Tensor
        ``(N, C, H, W)`` in [0, 1].
    labels : tensor-like of int
        The class each image must leave.
    projection : {"sphere", "ball", "notebook"}
    schedule : SearchSchedule
        Default: the reference's (10, 1, [0.001, 1] to 0.01, [1, 10] to 0.1, 3 steps, alpha 0.5).
    mean, std, memory_format
        As in :mod:`neuroalign_attacks`.

    Returns
    -------
    AttackResult
        ``adversarial``/``perturbation``/``l2``/``linf``: the perturbation found at the minimal
        eps (the clean image where there is none). ``success``: found. ``extras["eps"]``:
        minimal eps (NaN for failures and misclassified images); ``extras["outcome"]``:
        :data:`MISCLASSIFIED`, :data:`FAILURE` or :data:`SUCCESS` per image;
        ``extras["pgd_runs"]``: PGD runs per image.
    """
    if projection not in PROJECTIONS:
        raise AttackInputError(f"unknown projection {projection!r}; valid projections are "
                               f"{list(PROJECTIONS)}")
    s = schedule.check()
    with AttackProblem(model, images, labels, mean=mean, std=std, clean_gradient=True,
                       memory_format=memory_format) as problem:
        x0 = problem.images
        n, device = len(x0), x0.device
        first_grad = problem.clean_step[2]
        outcome = torch.full((n,), SUCCESS, dtype=torch.long, device=device)
        outcome[problem.clean_success] = MISCLASSIFIED
        best = x0.clone()
        lo = torch.full((n,), float("nan"), dtype=torch.float64, device=device)
        hi = lo.clone()
        width = lo.clone()
        runs = torch.zeros(n, dtype=torch.long, device=device)

        def run(index: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
            adv, fooled = pgd_l2_run(problem, index, eps, first_grad=first_grad[index],
                                     projection=projection, steps=int(s.steps),
                                     step_size=s.step_size)
            runs[index] += 1
            best[index[fooled]] = adv[fooled]
            return fooled

        active = (~problem.clean_success).nonzero()[:, 0]
        if len(active):
            fooled = run(active, torch.full((len(active),), s.first, dtype=torch.float64,
                                            device=device))
            outcome[active[~fooled]] = FAILURE
            hi[active[fooled]] = s.first
            active = active[fooled]
        if len(active):
            low = run(active, torch.full((len(active),), s.split, dtype=torch.float64,
                                         device=device))
            lo[active] = torch.where(low, torch.tensor(s.lower, dtype=torch.float64),
                                     torch.tensor(s.split, dtype=torch.float64)).to(device)
            hi[active] = torch.where(low, torch.tensor(s.split, dtype=torch.float64),
                                     torch.tensor(s.upper, dtype=torch.float64)).to(device)
            width[active] = torch.where(low, torch.tensor(s.low_width, dtype=torch.float64),
                                        torch.tensor(s.high_width, dtype=torch.float64)).to(device)
        while len(active):
            active = active[(hi[active] - lo[active]) >= width[active]]
            if not len(active):
                break
            mid = lo[active] + (hi[active] - lo[active]) / 2
            fooled = run(active, mid)
            hi[active[fooled]] = mid[fooled]
            lo[active[~fooled]] = mid[~fooled]
        found = outcome == SUCCESS
        eps = torch.where(found, hi, torch.full_like(hi, float("nan")))
        return make_result(problem, torch.where(found.view(-1, 1, 1, 1), best, x0), found,
                           problem.gradient_evaluations, eps=eps, eps_lower=lo, outcome=outcome,
                           pgd_runs=runs, forward_evaluations=problem.forward_evaluations,
                           projection=projection, schedule=s)


def per_image_search(model: Any, images: torch.Tensor, labels: Any, *,
                     projection: Literal["sphere", "ball", "notebook"] = "sphere",
                     schedule: SearchSchedule = REFERENCE_SCHEDULE,
                     mean: Sequence[float] | None = None,
                     std: Sequence[float] | None = None) -> dict[str, Any]:
    """The reference loop, image by image, as the public notebook runs it (batch of one).

    Every PGD run takes all its gradients (including the one at the clean image) and a final
    forward pass, in the standard memory layout. Returns ``{"eps", "outcome", "adversarial",
    "pgd_runs"}`` (eps NaN where not found), comparable to :func:`tolerance_search`.
    """
    s = schedule.check()
    forward, module = as_pixel_model(model, mean, std)
    labels = torch.as_tensor(labels, dtype=torch.long)
    eps_out, outcome, runs, adversarial = [], [], [], images.clone()
    loss = torch.nn.CrossEntropyLoss()

    def attack(x0: torch.Tensor, y: torch.Tensor, eps: float) -> tuple[torch.Tensor, bool]:
        x = x0.clone()
        for _ in range(int(s.steps)):
            x.requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(loss(forward(x), y), x)
            moved = x.detach() + s.step_size * grad / grad.flatten().norm().clamp_min(1e-30)
            delta = project_l2(moved - x0, torch.tensor([eps]), projection)
            x = (x0 + delta).clamp(0, 1).detach()
        with torch.no_grad():
            return x, bool(forward(x).argmax(1) != y)

    with frozen(module):
        for i in range(len(images)):
            x0, y = images[i:i + 1], labels[i:i + 1]
            count = 0
            with torch.no_grad():
                if forward(x0).argmax(1) != y:
                    eps_out.append(float("nan")), outcome.append(MISCLASSIFIED), runs.append(0)
                    continue
            x, fooled = attack(x0, y, s.first)
            count += 1
            if not fooled:
                eps_out.append(float("nan")), outcome.append(FAILURE), runs.append(count)
                continue
            kept = x
            x, fooled = attack(x0, y, s.split)
            count += 1
            if fooled:
                kept, (l, r, width) = x, (s.lower, s.split, s.low_width)
            else:
                l, r, width = s.split, s.upper, s.high_width
            while r - l >= width:
                m = l + (r - l) / 2
                x, fooled = attack(x0, y, m)
                count += 1
                if fooled:
                    r, kept = m, x
                else:
                    l = m
            adversarial[i] = kept[0]
            eps_out.append(r), outcome.append(SUCCESS), runs.append(count)
    return {"eps": torch.tensor(eps_out, dtype=torch.float64),
            "outcome": torch.tensor(outcome, dtype=torch.long),
            "adversarial": adversarial, "pgd_runs": torch.tensor(runs)}
