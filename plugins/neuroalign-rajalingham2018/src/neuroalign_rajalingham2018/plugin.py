"""Hooks of ``neuroalign-rajalingham2018``: datasets, ``Rajalingham2018-i2n``, ``Brain-Score2018``."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import AggregatorSpec, BenchmarkSpec, DatasetSpec, hookimpl


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``Rajalingham2018.public`` and ``Rajalingham2018.private``."""
    from .data import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register ``Rajalingham2018-i2n`` and the composite ``Brain-Score2018``."""
    from .specs import benchmark_specs

    for spec in benchmark_specs():
        register(spec)


@hookimpl
def register_aggregators(register: Callable[[AggregatorSpec], None]) -> None:
    """Register ``flat_mean`` (paper 004's plain mean, used by ``Brain-Score2018``)."""
    from .specs import aggregator_specs

    for spec in aggregator_specs():
        register(spec)
