"""Entry point ``behavior`` of group ``neuroalign``: the I2n metric and its ceiling."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import MetricSpec, hookimpl


@hookimpl
def register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register the metric ``i2n`` and the ceiling ``i2n_split_half``."""
    from .specs import metric_specs

    for spec in metric_specs():
        register(spec)
