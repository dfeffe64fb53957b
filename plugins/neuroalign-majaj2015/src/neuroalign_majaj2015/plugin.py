"""Hooks of ``neuroalign-majaj2015``: the two dataset splits and the V4/IT benchmarks."""

from __future__ import annotations

from neuroalign import hookimpl


@hookimpl
def register_datasets(register):
    """Register ``MajajHong2015.public`` and ``MajajHong2015.private``."""
    from .data import dataset_specs

    for spec in dataset_specs():
        register(spec)


@hookimpl
def register_benchmarks(register):
    """Register ``MajajHong2015.V4-pls``, ``.IT-pls``, ``.V4-ridge`` and ``.IT-ridge``."""
    from .specs import benchmark_specs

    for spec in benchmark_specs():
        register(spec)
