"""The registry: id -> spec + providing distribution, one table per kind.

Filled by the plugin manager (:mod:`neuroalign.plugins.manager`); read through the public
``get_*`` / ``list_*`` API (:mod:`neuroalign.plugins.lookup`). Duplicates are errors, never
overwrites.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DuplicateIdError, SpecError
from ..specs import (
    AggregatorSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    FigureSpec,
    MetricSpec,
    ModelSpec,
    Spec,
)

__all__ = ["KINDS", "Entry", "Registry"]

#: registry kind -> spec type; hook ``register_<kind>s`` fills kind ``<kind>``
KINDS: dict[str, type[Spec]] = {
    "model": ModelSpec,
    "dataset": DatasetSpec,
    "metric": MetricSpec,
    "attack": AttackSpec,
    "benchmark": BenchmarkSpec,
    "aggregator": AggregatorSpec,
    "figure": FigureSpec,
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
        if spec.id in self._conflicts[kind]:
            raise DuplicateIdError(
                f"{kind} {spec.id!r} is already refused (claimed by "
                f"{self._conflicts[kind][spec.id]}) and now also by {distribution!r}")
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
        elif identifier in self._conflicts[kind]:
            self._conflicts[kind][identifier].append(distribution)

    def refuse(self, kind: str, identifier: str, claimants: list[str]) -> None:
        """Refuse ``identifier`` outright (e.g. registered twice by one plugin): lookups raise
        :class:`DuplicateIdError` naming ``claimants``; later claims are added to them."""
        self._check_kind(kind)
        self._conflicts[kind].setdefault(identifier, []).extend(claimants)

    def claimants(self, kind: str, identifier: str) -> list[str]:
        """Distributions that claimed a refused ``identifier`` (empty when it is not refused)."""
        return list(self._conflicts[kind].get(identifier, []))

    # ---------------------------------------------------------------- reading
    def entry(self, kind: str, identifier: str) -> Entry:
        """The entry for ``identifier``, resolving model tags (``timm:resnet50.a1_in1k``)."""
        self._check_kind(kind)
        conflict = self._conflicts[kind].get(identifier)
        if conflict:
            if len(set(conflict)) == 1:
                raise DuplicateIdError(
                    f"{kind} {identifier!r} is registered twice by {conflict[0]!r}, so it is "
                    "refused; fix (or disable with NEUROALIGN_DISABLE_PLUGINS) that plugin"
                )
            raise DuplicateIdError(
                f"{kind} {identifier!r} is registered by several distributions "
                f"{list(dict.fromkeys(conflict))}; neuroalign will not pick one: uninstall or "
                "disable all but one (NEUROALIGN_DISABLE_PLUGINS=...)"
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
                _check_tag(base_entry.spec, identifier, tag)
                data = base_entry.spec.model_dump()
                data["id"] = identifier
                data["parameters"] = {**data["parameters"], "tag": tag}
                return Entry(ModelSpec.model_validate(data), base_entry.distribution,
                             base_entry.version, base_entry.plugin)
        from .providers import unknown_id_error  # the registries may say who provides it

        raise unknown_id_error(kind, identifier, entries)

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


def _check_tag(spec: ModelSpec, identifier: str, tag: str) -> None:
    """Reject a tag the base spec does not list in ``metadata["tags"]`` (when it lists any)."""
    declared = spec.metadata.get("tags")
    if declared is None or tag in declared:
        return
    from ..errors import closest

    if not declared:
        raise SpecError(f"model {identifier!r}: {spec.id!r} has no pretrained tags; use "
                        f"{spec.id!r} with random weights (--random-weights, pretrained=False)")
    near = closest(tag, list(declared))
    hint = f"did you mean {', '.join(repr(t) for t in near)}? " if near else ""
    raise SpecError(
        f"unknown pretrained tag {tag!r} for {spec.id!r} (in {identifier!r}); {hint}valid tags: "
        f"{', '.join(declared)} (e.g. '{spec.id}.{declared[0]}'; list them with: neuroalign "
        f"info {spec.id})"
    )


def _duplicate(kind: str, identifier: str, existing: Entry, distribution: str) -> DuplicateIdError:
    return DuplicateIdError(
        f"{kind} {identifier!r} is registered by both {existing.distribution!r} and "
        f"{distribution!r}; uninstall one of them or disable one with "
        f"NEUROALIGN_DISABLE_PLUGINS={existing.plugin}"
    )
