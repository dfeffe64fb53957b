"""neuroalign hooks of the attacks plugin: cheap registration of attack and benchmark specs."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import AttackSpec, BenchmarkSpec, FigureSpec, hookimpl

from .specs import ATTACK_SPECS, BENCHMARK_SPECS, FIGURE_SPECS


@hookimpl
def register_attacks(register: Callable[[AttackSpec], None]) -> None:
    """Register ``fgsm``, ``pgd_linf``, ``pgd_l2``, ``cw_l2`` and ``min_eps``."""
    for spec in ATTACK_SPECS:
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``PGD.robust_accuracy-linf`` and ``PGD.robust_accuracy-l2``."""
    for spec in BENCHMARK_SPECS:
        register(spec)


@hookimpl
def register_figures(register: Callable[[FigureSpec], None]) -> None:
    """Register ``robust_accuracy_curves``: accuracy vs epsilon per model (paper 000, Fig. 5)."""
    for spec in FIGURE_SPECS:
        register(spec)
