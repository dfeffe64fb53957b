"""Registered attacks: :class:`neuroalign.Attack` objects built from an :class:`AttackSpec`.

Each class binds one attack function to parameters taken from ``spec.parameters`` (overridable
with ``neuroalign.get_attack(id, parameters={...})`` and again at call time). A registered attack
is called exactly like its function::

    attack(model, images, labels=None, *, objective=None, **parameters)

Unknown parameter names are errors that list the valid ones.
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
           "ATTACK_CLASSES", "CALL_ARGUMENTS"]

#: arguments of every attack that are per call, never parameters (an objective is a callable)
CALL_ARGUMENTS = ("model", "images", "labels", "objective")


class FunctionAttack(Attack):
    """An attack function with bound parameters.

    Parameters
    ----------
    spec : AttackSpec, optional
        Its ``parameters`` become the attack's keyword arguments (default: the spec this
        package registers for the attack).
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
        self._check_names(self.parameters, "parameter(s)")

    def _check_names(self, names: Mapping[str, Any], what: str) -> None:
        valid = self.valid_parameters()
        call = sorted(set(names) & {"model", "images", "labels", "objective"})
        if call and what == "parameter(s)":
            raise AttackInputError(
                f"attack {self.spec.id!r}: {call} are given per call (attack(model, images, "
                "labels, objective=...)), not as parameters"
            )
        unknown = sorted(set(names) - set(valid) - set(CALL_ARGUMENTS))
        if unknown:
            raise AttackInputError(
                f"attack {self.spec.id!r} has no {what} {unknown}; valid parameters are "
                f"{sorted(valid)}"
            )

    @classmethod
    def valid_parameters(cls) -> dict[str, Any]:
        """Parameter name -> default of the underlying function (every keyword but objective)."""
        signature = inspect.signature(cls.function)
        return {name: p.default for name, p in signature.parameters.items()
                if name not in CALL_ARGUMENTS and p.kind is inspect.Parameter.KEYWORD_ONLY}

    @classmethod
    def default_spec(cls) -> AttackSpec:
        """The spec this package registers for the attack."""
        return attack_spec(cls.attack_id)

    def __call__(self, model: Any, images: Any, labels: Any | None = None, *,
                 objective: Callable[[Any], Any] | None = None,
                 **parameters: Any) -> AttackResult:
        """Attack ``images`` (pixels in [0, 1]) of ``model``.

        The call signature of the attack's function (``neuroalign_attacks.<id>``): ``labels``
        positional or keyword, ``objective`` keyword, and any parameter (``eps=``, ``mean=``,
        ``targeted=``, ...) overriding :attr:`parameters` for this call only.
        """
        self._check_names(parameters, "parameter(s)")
        call = {**self.parameters, **parameters}
        return type(self).function(model, images, labels, objective=objective, **call)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.id!r}, {self.parameters!r})"


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
    """Carlini-Wagner L2 attack with a binary search over the constant c (also ``cw_l2_fast``)."""

    function = staticmethod(cw_l2)
    attack_id = "cw_l2"
    norm = "l2"
    citation = ("Carlini & Wagner (2017). Towards evaluating the robustness of neural networks. "
                "IEEE S&P.")


class MinimalEpsilon(FunctionAttack):
    """Minimal-epsilon search: per-image bisection over the PGD budget (paper 003)."""

    function = staticmethod(min_eps)
    attack_id = "min_eps"
    norm = "l2"
    citation = "Linsley et al. (2023). Adversarial alignment: breaking the trade-off ..."


ATTACK_CLASSES: tuple[type[FunctionAttack], ...] = (FGSM, PGDLinf, PGDL2, CarliniWagnerL2,
                                                      MinimalEpsilon)
