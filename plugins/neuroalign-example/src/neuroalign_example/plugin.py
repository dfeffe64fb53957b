"""The hooks of neuroalign-example: one per kind of component, each registering specs only.

This module is what the entry point ``example = "neuroalign_example.plugin"`` names. neuroalign
imports it when the registry is first used and calls each ``@hookimpl`` once with a ``register``
callback. Hooks stay cheap: the specs come from :mod:`neuroalign_example.specs` (frozen specs, no
torch, no data, no network); the ``factory`` strings are imported only when a component is first
asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import (
    AggregatorSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    FigureSpec,
    MetricSpec,
    ModelSpec,
    hookimpl,
)

from . import specs


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """``example:linear``: a seeded 2-layer numpy network committed to V4 and IT."""
    for spec in specs.models_specs():
        register(spec)


@hookimpl
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """``Example.toy``: stimuli and V4/IT responses, with an offline generator."""
    for spec in specs.datasets_specs():
        register(spec)


@hookimpl
def register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """A mapping metric and the ceiling the benchmarks divide by."""
    for spec in specs.metrics_specs():
        register(spec)


@hookimpl
def register_attacks(register: Callable[[AttackSpec], None]) -> None:
    """A random-sign L-inf perturbation: the 'is it the gradient?' control of real attacks."""
    for spec in specs.attacks_specs():
        register(spec)


@hookimpl
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """One benchmark per region, and a composite of both."""
    for spec in specs.benchmarks_specs():
        register(spec)


@hookimpl
def register_aggregators(register: Callable[[AggregatorSpec], None]) -> None:
    """A median aggregator: robust to one outlying benchmark."""
    for spec in specs.aggregators_specs():
        register(spec)


@hookimpl
def register_figures(register: Callable[[FigureSpec], None]) -> None:
    """A report figure: each model's V4 score against its IT score (the core's scatter)."""
    for spec in specs.figures_specs():
        register(spec)
