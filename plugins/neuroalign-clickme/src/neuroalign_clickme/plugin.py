"""Hooks of ``neuroalign-clickme``: ClickMe datasets, the harmonized twin model, 6 benchmarks."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import BenchmarkSpec, DatasetSpec, ModelSpec, hookimpl


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``ClickMe.val``, ``ClickMe.train`` and ``ClickMe.eval1000``."""
    from .specs import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``clickme:groundtruth-harmonized`` (the synthetic twin's aligned network)."""
    from .specs import model_specs

    for spec in model_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``ClickMe.{tolerance,alignment}-{pgd_l2,pgd_linf,cw_l2}``."""
    from .specs import benchmark_specs

    for spec in benchmark_specs():
        register(spec)
