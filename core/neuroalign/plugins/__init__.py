"""The plugin system: hook specifications, the manager, the registry and the lookup API.

- :mod:`.hookspecs`: the ``register_*`` hooks (documentation as code) and ``hookimpl``;
- :mod:`.manager`: :class:`PluginManager` (entry points of group ``neuroalign``, isolation);
- :mod:`.registry`: :class:`Registry`, id -> spec + providing distribution per kind;
- :mod:`.lookup`: ``get_*`` / ``list_*`` over the process-wide manager;
- :mod:`.builtin`: the core's own plugin (the built-in aggregators).
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "hookimpl": "hookspecs", "hookspec": "hookspecs",
    "PluginManager": "manager", "PluginInfo": "manager", "ENTRY_POINT_GROUP": "manager",
    "HOOKS": "manager",
    "KINDS": "registry", "Entry": "registry", "Registry": "registry",
    **{name: "lookup" for name in (
        "get_plugin_manager", "use_plugin_manager", "get_registry", "get_spec", "get_model",
        "load_model", "get_dataset", "get_metric", "get_ceiling", "get_attack", "get_benchmark",
        "get_aggregator", "list_models", "list_datasets", "list_metrics", "list_ceilings",
        "list_attacks", "list_benchmarks", "list_aggregators")},
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
