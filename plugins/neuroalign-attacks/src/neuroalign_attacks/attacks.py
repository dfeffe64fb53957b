"""Registered attacks: :class:`neuroalign.Attack` objects built from an :class:`AttackSpec`.

Each class binds one attack function to parameters taken from ``spec.parameters`` (overridable
with ``neuroalign.get_attack(id, parameters={...})``). Unknown parameter names are errors that list
the valid ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from neuroalign import Attack, AttackResult, AttackSpec

from .carlini_wagner import cw_l2
from .minimal_epsilon import min_eps
from .pixel_space import AttackInputError
from .projected_gradient import fgsm, pgd_l2, pgd_linf
from .specs import attack_spec

__all__ = ["FunctionAttack", "FGSM", "PGDLinf", "PGDL2", "CarliniWagnerL2", "MinimalEpsilon",
           "ATTACK_CLASSES"]

#: arguments supplied per call, never through parameters
_CALL_ARGUMENTS = {"model", "images", "labels", "objective", "targeted"}


class FunctionAttack(Attack):
    """An attack function with bound parameters.

    Parameters
    ----------
    spec : AttackSpec, optional
        Its ``parameters`` become the attack's keyword arguments.
    parameters : mapping, optional
        Overrides on top of the spec's parameters.
    """

    function: ClassVar[Callable[..., AttackResult]]
    attack_id: ClassVar[str]
    norm: ClassVar[str | None]

    def __init__(self, spec: AttackSpec | None = None,
                 parameters: Mapping[str, Any] | None = None):
        if spec is None:
            spec = self.default_spec()
        self.spec = spec
        self.parameters = {**dict(spec.parameters), **dict(parameters or {})}
        valid = self.valid_parameters()
        unknown = sorted(set(self.parameters) - set(valid))
        if unknown:
            raise AttackInputError(
                f"attack {self.attack_id!r} has no parameter(s) {unknown}; valid parameters are "
                f"{sorted(valid)}"
            )

    @classmethod
    def valid_parameters(cls) -> dict[str, Any]:
        """Parameter name -> default of the underlying function."""
        signature = inspect.signature(cls.function)
        return {name: p.default for name, p in signature.parameters.items()
                if name not in _CALL_ARGUMENTS and p.kind is inspect.Parameter.KEYWORD_ONLY}

    @classmethod
    def default_spec(cls) -> AttackSpec:
        """The spec this package registers for the attack."""
        return attack_spec(cls.attack_id)

    def __call__(self, module: Any, images: Any, *, labels: Any | None = None,
                 objective: Callable[[Any], Any] | None = None,
                 targeted: bool = False) -> AttackResult:
        """Attack ``images`` (pixels in [0, 1]) of ``module`` (torch module or neuroalign.Model)."""
        call = dict(self.parameters)
        if objective is not None:
            call["objective"] = objective
        return type(self).function(module, images, labels, targeted=targeted, **call)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.parameters!r})"


class FGSM(FunctionAttack):
    """Fast gradient sign method: one Linf step of size eps."""

    function = staticmethod(fgsm)
    attack_id = "fgsm"
    norm = "linf"
    citation = ("Goodfellow, Shlens & Szegedy (2015). Explaining and harnessing adversarial "
                "examples.")


class PGDLinf(FunctionAttack):
    """Projected gradient descent in the Linf ball."""

    function = staticmethod(pgd_linf)
    attack_id = "pgd_linf"
    norm = "linf"
    citation = "Madry et al. (2018). Towards deep learning models resistant to adversarial attacks."


class PGDL2(FunctionAttack):
    """Projected gradient descent in the L2 ball."""

    function = staticmethod(pgd_l2)
    attack_id = "pgd_l2"
    norm = "l2"
    citation = PGDLinf.citation


class CarliniWagnerL2(FunctionAttack):
    """Carlini-Wagner L2 attack with a binary search over the constant c."""

    function = staticmethod(cw_l2)
    attack_id = "cw_l2"
    norm = "l2"
    citation = ("Carlini & Wagner (2017). Towards evaluating the robustness of neural networks. "
                "IEEE S&P.")

    def __call__(self, module: Any, images: Any, *, labels: Any | None = None,
                 objective: Callable[[Any], Any] | None = None,
                 targeted: bool = False) -> AttackResult:
        if objective is not None:
            raise AttackInputError(
                "cw_l2 attacks classifiers only (its loss is a logit margin); for an objective "
                "use pgd_l2 or min_eps"
            )
        return super().__call__(module, images, labels=labels, targeted=targeted)


class MinimalEpsilon(FunctionAttack):
    """Minimal-epsilon search: per-image bisection over the PGD budget (paper 003)."""

    function = staticmethod(min_eps)
    attack_id = "min_eps"
    norm = "l2"
    citation = "Linsley et al. (2023). Adversarial alignment: breaking the trade-off ..."


ATTACK_CLASSES: tuple[type[FunctionAttack], ...] = (FGSM, PGDLinf, PGDL2, CarliniWagnerL2,
                                                      MinimalEpsilon)
