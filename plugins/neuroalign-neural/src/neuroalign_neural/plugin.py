"""Entry point ``neural`` of group ``neuroalign``: registers the metrics and the ceiling.

Registration builds specs only; scikit-learn and the metric code load on first use.
"""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import MetricSpec, hookimpl

from .specs import metric_specs


@hookimpl
def register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register ``pls``, ``ridge``, ``ols``, ``lasso``, ``mlp``, ``regression``, ``rsa``, ``cka``
    and the ceiling ``internal_consistency``."""
    for spec in metric_specs():
        register(spec)
