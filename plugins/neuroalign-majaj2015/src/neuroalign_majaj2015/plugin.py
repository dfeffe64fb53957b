"""Hooks of ``neuroalign-majaj2015``: the two dataset splits and the V4/IT benchmarks."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import BenchmarkSpec, DatasetSpec, hookimpl

from .specs import benchmark_specs, dataset_specs


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``MajajHong2015.public`` and ``MajajHong2015.private``."""
    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``MajajHong2015.V4-pls``, ``.IT-pls``, ``.V4-ridge`` and ``.IT-ridge``."""
    for spec in benchmark_specs():
        register(spec)
