"""Typed registries: id -> spec + providing distribution, and the public get_*/list_* API.

The default registry is filled lazily, on first use, by a :class:`~neuroalign.plugins.PluginManager`
that loads every installed plugin. Tests and embedding applications can swap it with
:func:`use_plugin_manager`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DuplicateIdError, SpecError, UnknownIdError
from .interfaces import (
    AggregatorSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    MetricSpec,
    ModelSpec,
    Spec,
)

if TYPE_CHECKING:  # pragma: no cover
    from .interfaces import Aggregator, Attack, Benchmark, Ceiling, Dataset, Metric, Model
    from .plugins import PluginManager

__all__ = [
    "KINDS",
    "Entry",
    "Registry",
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

#: registry kind -> spec type; hook ``register_<kind>s`` fills kind ``<kind>``
KINDS: dict[str, type[Spec]] = {
    "model": ModelSpec,
    "dataset": DatasetSpec,
    "metric": MetricSpec,
    "attack": AttackSpec,
    "benchmark": BenchmarkSpec,
    "aggregator": AggregatorSpec,
}


@dataclass(frozen=True)
class Entry:
    """A registered spec and who provided it."""

    spec: Spec
    distribution: str
    version: str
    plugin: str


class Registry:
    """id -> :class:`Entry` for each kind. Duplicates are errors, never overwrites."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._conflicts: dict[str, dict[str, list[str]]] = {kind: {} for kind in KINDS}

    # ---------------------------------------------------------------- writing
    def add(self, kind: str, spec: Spec, *, distribution: str, version: str = "0",
            plugin: str | None = None) -> Entry:
        """Add ``spec``; raise :class:`DuplicateIdError` naming both distributions on a clash."""
        self._check_kind(kind)
        if not isinstance(spec, KINDS[kind]):
            raise SpecError(f"a {kind} needs a {KINDS[kind].__name__}; found {type(spec).__name__}")
        existing = self._entries[kind].get(spec.id)
        if existing is not None:
            raise _duplicate(kind, spec.id, existing, distribution)
        entry = Entry(spec, distribution, version, plugin or distribution)
        self._entries[kind][spec.id] = entry
        return entry

    def check_unique(self, staged: list[tuple[str, Spec]], distribution: str) -> None:
        """Raise :class:`DuplicateIdError` if any staged spec clashes (within itself or here)."""
        seen: set[tuple[str, str]] = set()
        for kind, spec in staged:
            key = (kind, spec.id)
            if key in seen:
                raise DuplicateIdError(
                    f"{kind} {spec.id!r} is registered twice by {distribution!r}"
                )
            seen.add(key)
            existing = self._entries[kind].get(spec.id)
            if existing is not None:
                raise _duplicate(kind, spec.id, existing, distribution)

    def mark_conflict(self, kind: str, identifier: str, distribution: str) -> None:
        """Remember that ``distribution`` also claimed ``identifier`` so lookups fail loudly."""
        existing = self._entries[kind].get(identifier)
        if existing is not None:
            names = self._conflicts[kind].setdefault(identifier, [existing.distribution])
            names.append(distribution)

    # ---------------------------------------------------------------- reading
    def entry(self, kind: str, identifier: str) -> Entry:
        """The entry for ``identifier``, resolving model tags (``timm:resnet50.a1_in1k``)."""
        self._check_kind(kind)
        conflict = self._conflicts[kind].get(identifier)
        if conflict:
            raise DuplicateIdError(
                f"{kind} {identifier!r} is registered by several distributions {conflict}; "
                "neuroalign will not pick one: uninstall or disable all but one "
                "(NEUROALIGN_DISABLE_PLUGINS=...)"
            )
        entries = self._entries[kind]
        found = entries.get(identifier)
        if found is not None:
            return found
        if kind == "model" and ":" in identifier:
            source, _, name = identifier.partition(":")
            base, dot, tag = name.partition(".")
            base_entry = entries.get(f"{source}:{base}")
            if dot and tag and base_entry is not None and base_entry.spec.accepts_tags:
                data = base_entry.spec.model_dump()
                data["id"] = identifier
                data["parameters"] = {**data["parameters"], "tag": tag}
                return Entry(ModelSpec.model_validate(data), base_entry.distribution,
                             base_entry.version, base_entry.plugin)
        raise UnknownIdError(kind, identifier, entries)

    def spec(self, kind: str, identifier: str) -> Spec:
        return self.entry(kind, identifier).spec

    def ids(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted ids matching the fnmatch ``pattern`` (case-sensitive)."""
        self._check_kind(kind)
        return sorted(i for i in self._entries[kind] if fnmatch.fnmatchcase(i, pattern))

    def entries(self, kind: str) -> list[Entry]:
        self._check_kind(kind)
        return [self._entries[kind][i] for i in sorted(self._entries[kind])]

    def build(self, kind: str, identifier: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """Build the runtime object of ``identifier`` with optional parameter overrides."""
        spec = self.spec(kind, identifier).with_parameters(parameters)
        obj = spec.build()
        if getattr(obj, "spec", None) is None:
            try:
                obj.spec = spec
            except AttributeError:  # pragma: no cover - frozen runtime objects
                pass
        return obj

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise SpecError(f"unknown registry kind {kind!r}; valid kinds are {list(KINDS)}")

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())


def _duplicate(kind: str, identifier: str, existing: Entry, distribution: str) -> DuplicateIdError:
    return DuplicateIdError(
        f"{kind} {identifier!r} is registered by both {existing.distribution!r} and "
        f"{distribution!r}; uninstall one of them or disable one with "
        f"NEUROALIGN_DISABLE_PLUGINS={existing.plugin}"
    )


# ---------------------------------------------------------------------- default manager

_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) on first use."""
    global _manager
    if _manager is None:
        from .plugins import PluginManager

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
