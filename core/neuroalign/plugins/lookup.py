"""The public lookup API: ``get_*`` / ``list_*`` over the process-wide plugin manager.

The default registry is filled lazily, on first use, by a :class:`~neuroalign.plugins.PluginManager`
that loads every installed plugin. Tests and embedding applications can swap it with
:func:`use_plugin_manager`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from .manager import PluginManager
from .registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from ..interfaces import Aggregator, Attack, Benchmark, Ceiling, Dataset, Metric, Model
    from ..specs import Spec

__all__ = [
    "get_plugin_manager",
    "use_plugin_manager",
    "get_registry",
    "get_spec",
    "get_model",
    "load_model",
    "get_dataset",
    "get_metric",
    "get_ceiling",
    "get_attack",
    "get_benchmark",
    "get_aggregator",
    "list_models",
    "list_datasets",
    "list_metrics",
    "list_ceilings",
    "list_attacks",
    "list_benchmarks",
    "list_aggregators",
]

_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) on first use."""
    global _manager
    if _manager is None:
        _manager = PluginManager(autoload=True)
    return _manager


def use_plugin_manager(manager: PluginManager | None) -> PluginManager | None:
    """Replace the process-wide manager (``None``: reload on next use). Returns the old one."""
    global _manager
    old, _manager = _manager, manager
    return old


def get_registry() -> Registry:
    return get_plugin_manager().registry


def get_spec(kind: str, identifier: str) -> Spec:
    """The spec registered as ``identifier`` of ``kind`` (``model``, ``benchmark``, ...)."""
    return get_registry().spec(kind, identifier)


def get_model(identifier: str, *, pretrained: bool | None = None,
              parameters: Mapping[str, Any] | None = None) -> Model:
    """Build model ``identifier`` (e.g. ``timm:resnet50``). ``pretrained=False``: random weights."""
    params = dict(parameters or {})
    if pretrained is not None:
        params["pretrained"] = pretrained
    return get_registry().build("model", identifier, params)


def get_dataset(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Dataset:
    return get_registry().build("dataset", identifier, parameters)


def get_metric(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Metric:
    """Build metric ``identifier`` (e.g. ``pls``); call it as ``metric(source, target)``."""
    _check_metric_kind(identifier, ceiling=False)
    return get_registry().build("metric", identifier, parameters)


def get_ceiling(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Ceiling:
    """Build ceiling ``identifier`` (e.g. ``internal_consistency``); call it on an assembly."""
    _check_metric_kind(identifier, ceiling=True)
    return get_registry().build("metric", identifier, parameters)


def _check_metric_kind(identifier: str, ceiling: bool) -> None:
    spec = get_registry().spec("metric", identifier)
    if (spec.kind == "ceiling") != ceiling:
        fn, other = ("get_ceiling", "get_metric") if spec.kind == "ceiling" else ("get_metric", "get_ceiling")
        raise SpecError(
            f"{identifier!r} is a {'ceiling' if spec.kind == 'ceiling' else spec.kind + ' metric'}; "
            f"use neuroalign.{fn}({identifier!r}) instead of {other}"
        )


def get_attack(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Attack:
    return get_registry().build("attack", identifier, parameters)


def get_benchmark(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Benchmark:
    return get_registry().build("benchmark", identifier, parameters)


def get_aggregator(identifier: str, *, parameters: Mapping[str, Any] | None = None) -> Aggregator:
    return get_registry().build("aggregator", identifier, parameters)


def list_models(pattern: str = "*") -> list[str]:
    return get_registry().ids("model", pattern)


def list_datasets(pattern: str = "*") -> list[str]:
    return get_registry().ids("dataset", pattern)


def list_metrics(pattern: str = "*") -> list[str]:
    reg = get_registry()
    return [i for i in reg.ids("metric", pattern) if reg.spec("metric", i).kind != "ceiling"]


def list_ceilings(pattern: str = "*") -> list[str]:
    reg = get_registry()
    return [i for i in reg.ids("metric", pattern) if reg.spec("metric", i).kind == "ceiling"]


def list_attacks(pattern: str = "*") -> list[str]:
    return get_registry().ids("attack", pattern)


def list_benchmarks(pattern: str = "*") -> list[str]:
    return get_registry().ids("benchmark", pattern)


def list_aggregators(pattern: str = "*") -> list[str]:
    return get_registry().ids("aggregator", pattern)


#: ``load_model`` reads better in user code; it is :func:`get_model`.
load_model = get_model
