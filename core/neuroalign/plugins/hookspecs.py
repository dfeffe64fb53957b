"""Hook specifications of the ``neuroalign`` plugin system (documentation as code).

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, exposed through an
entry point in the group ``neuroalign``::

    [project.entry-points.neuroalign]
    majaj2015 = "neuroalign_majaj2015.plugin"

All hooks run once, when the registry is first used, in the *registration* phase. Each receives a
``register`` callback and calls it once per component. Registration must be cheap: build specs
only (no torch import, no data loading, no network). The core validates each spec, rejects
duplicate ids (naming both distributions) and records the providing distribution. Hooks return
nothing; a hook that raises makes its plugin fail to load with a ``PluginLoadWarning`` while
every other plugin still loads.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from ..specs import (
    AggregatorSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    FigureSpec,
    MetricSpec,
    ModelSpec,
)

PROJECT = "neuroalign"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "hookspec",
    "hookimpl",
    "register_models",
    "register_datasets",
    "register_metrics",
    "register_attacks",
    "register_benchmarks",
    "register_aggregators",
    "register_figures",
]


@hookspec
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register models.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with a :class:`~neuroalign.ModelSpec` for each model. The spec's
        ``factory`` (``"module:callable"``) is imported and called as ``factory(spec)`` only when
        the model is first requested, and must return a :class:`~neuroalign.Model`.

    Notes
    -----
    Called once per plugin manager, in the registration phase. A spec with
    ``accepts_tags=True`` also answers ``id.tag`` (e.g. ``timm:resnet50.a1_in1k``), built with
    ``parameters["tag"] = tag``.
    """


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register datasets.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with a :class:`~neuroalign.DatasetSpec` for each dataset. The
        factory returns a :class:`~neuroalign.Dataset` whose ``load()`` fetches assets through
        :mod:`neuroalign.store` (cached, sha256-verified).

    Notes
    -----
    Called once per plugin manager, in the registration phase. Give ``synthetic`` (an import
    path) so the dataset can be generated offline in the same format.
    """


@hookspec
def register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register metrics and ceilings.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with a :class:`~neuroalign.MetricSpec` for each metric. Specs of
        ``kind="ceiling"`` build a :class:`~neuroalign.Ceiling` (``get_ceiling``); the others a
        :class:`~neuroalign.Metric` (``get_metric``).

    Notes
    -----
    Called once per plugin manager, in the registration phase.
    """


@hookspec
def register_attacks(register: Callable[[AttackSpec], None]) -> None:
    """Register adversarial attacks.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with an :class:`~neuroalign.AttackSpec` for each attack; the
        factory returns an :class:`~neuroalign.Attack`.

    Notes
    -----
    Called once per plugin manager, in the registration phase.
    """


@hookspec
def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:
    """Register benchmarks.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with a :class:`~neuroalign.BenchmarkSpec` for each benchmark; the
        factory returns a :class:`~neuroalign.Benchmark`. Bump ``version`` whenever a change
        could change a score, so stored results never mix versions.

    Notes
    -----
    Called once per plugin manager, in the registration phase. The referenced dataset and metric
    may come from other plugins; they are resolved when the benchmark is built.
    """


@hookspec
def register_aggregators(register: Callable[[AggregatorSpec], None]) -> None:
    """Register aggregators.

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with an :class:`~neuroalign.AggregatorSpec` for each aggregator;
        the factory returns an :class:`~neuroalign.Aggregator`.

    Notes
    -----
    Called once per plugin manager, in the registration phase. The built-in ``mean``, ``zmean``
    and ``meanrank`` are registered through this same hook by :mod:`neuroalign.builtin`.
    """


@hookspec
def register_figures(register: Callable[[FigureSpec], None]) -> None:
    """Register figures of the HTML report (``neuroalign report``).

    Parameters
    ----------
    register : callable
        Call ``register(spec)`` with a :class:`~neuroalign.FigureSpec` for each figure; the
        factory returns a :class:`~neuroalign.Figure`, called as ``figure(context)`` with a
        :class:`~neuroalign.FigureContext` and returning charts (``BarChart``, ``LineChart``,
        ``ScatterChart``, ``Heatmap``, ``StripChart``) that the report draws as inline SVG.

    Notes
    -----
    Called once per plugin manager, in the registration phase. This is how a benchmark family
    contributes its figures without editing the report: ``scope`` places the figure in each
    matching benchmark's section (``"benchmark"``), on each model card (``"model"``) or in a
    section of its own (``"global"``). The core's own figures (bars, layer profiles, agreement
    heatmap, ...) are registered through this same hook by :mod:`neuroalign.plugins.builtin`.
    """
