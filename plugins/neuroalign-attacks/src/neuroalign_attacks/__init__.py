"""neuroalign-attacks: gradient attacks in pixel space and PGD robustness benchmarks.

Plain Python API (torch is imported lazily, on first attribute access)::

    from neuroalign_attacks import pgd_linf, min_eps
    result = pgd_linf(module, images, labels, eps=4 / 255, steps=10, mean=MEAN, std=STD)
    result.success, result.l2, result.linf, result.gradient_evaluations

Every attack has the call signature ``attack(model, images, labels=None, *, objective=None,
**parameters)``; a bare ``torch.nn.Module`` needs ``mean``/``std`` or ``normalized=False``.

Registered ids: attacks ``fgsm``, ``pgd_linf``, ``pgd_l2``, ``cw_l2``, ``cw_l2_fast``,
``min_eps``; benchmarks ``PGD.robust_accuracy-linf``, ``PGD.robust_accuracy-l2``.
"""

from __future__ import annotations

from neuroalign.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "fgsm": "projected_gradient", "pgd": "projected_gradient", "pgd_linf": "projected_gradient",
    "pgd_l2": "projected_gradient", "cw_l2": "carlini_wagner", "min_eps": "minimal_epsilon",
    "CW_PRESETS": "carlini_wagner",
    "AttackProblem": "objectives", "AttackInputError": "pixel_space",
    "NormalizedModel": "pixel_space", "frozen": "pixel_space",
    "MemoryFormatWarning": "pixel_space", "SuccessProbe": "projected_gradient",
    "FunctionAttack": "attacks", "FGSM": "attacks", "PGDLinf": "attacks", "PGDL2": "attacks",
    "CarliniWagnerL2": "attacks", "MinimalEpsilon": "attacks",
    "RobustAccuracy": "robust_accuracy", "shapes_classifier_model": "torch_model", "render_shapes": "synthetic",
    "load_classifier": "synthetic", "ATTACK_SPECS": "specs", "BENCHMARK_SPECS": "specs",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
