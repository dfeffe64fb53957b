"""Hooks of ``neuroalign-freemanziemba2013``: the two splits, the V1/V2 benchmarks, the composite."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from neuroalign import hookimpl

if TYPE_CHECKING:  # pragma: no cover - registration imports no spec class at module level
    from neuroalign import BenchmarkSpec, DatasetSpec


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``FreemanZiemba2013.public`` and ``FreemanZiemba2013.private``."""
    from .data import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``FreemanZiemba2013[public].{V1,V2}-pls`` and ``BrainScore2022.neural-behavioral``."""
    from .specs import benchmark_specs, composite_specs

    for spec in [*benchmark_specs(), *composite_specs()]:
        register(spec)
