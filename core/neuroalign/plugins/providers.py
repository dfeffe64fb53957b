"""Find on a miss: which distribution a configured registry says provides an unknown id.

:func:`find_providers` answers from the cached registry indexes
(:mod:`neuroalign.store.registries`): it never contacts a registry whose index is cached (stale
or not); it fetches one that has no copy at all (unless ``NEUROALIGN_OFFLINE=1``), once, so the
first miss of a fresh installation can answer. A miss only *says* what to install
(:mod:`neuroalign.plugins.install` installs, when asked).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UnknownIdError
from ..store.index import Index, normalize_name

__all__ = [
    "INDEXED_KINDS",
    "Provider",
    "find_providers",
    "hint_for",
    "index_ids",
    "unknown_id_error",
]

#: registry kinds the index lists ids for
INDEXED_KINDS = ("benchmark", "dataset", "model", "metric", "attack", "aggregator")


@dataclass(frozen=True)
class Provider:
    """A distribution that a registry index says provides an id."""

    identifier: str
    kind: str
    distribution: str
    version: str
    registry: str
    age: float = 0.0
    source: str = "local"
    installed_version: str | None = None

    @property
    def install_command(self) -> str:
        return f"neuroalign install {self.distribution}"

    def message(self) -> str:
        from ..store.registries import describe_age

        where = f"registry {self.registry}"
        if self.source == "cache":
            where += f", index cached {describe_age(self.age)} ago"
        text = (f"{self.identifier!r} is provided by {self.distribution!r} {self.version} "
                f"({where}); install it with: {self.install_command}")
        if self.installed_version is not None:
            text += (f" (installed here: {self.installed_version}, which does not provide it; "
                     "the command upgrades it)")
        return text


def _installed_version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def index_ids(index: Index, kind: str) -> dict[str, str]:
    """id -> distribution, from the index's benchmark/dataset sections and plugin lists."""
    found: dict[str, str] = {}
    for plugin in index.plugins:
        for identifier in plugin.ids(kind):
            found.setdefault(identifier, plugin.distribution)
    section = {"benchmark": index.benchmarks, "dataset": index.datasets}.get(kind, [])
    for entry in section:
        found.setdefault(entry.id, entry.distribution)
    return found


def find_providers(kind: str | None, identifier: str, *, refresh: str = "missing",
                   registries: list[str] | None = None) -> list[Provider]:
    """Who provides ``identifier`` (of ``kind``; None: any kind), per the configured registries.

    Registries that cannot be read are skipped here (``neuroalign registry refresh`` reports
    them); a distribution installed at the listed version is not a provider of a missing id.
    """
    from ..store.registries import registry_indexes

    providers: list[Provider] = []
    seen: set[str] = set()
    for registry in registry_indexes(registries, refresh=refresh):
        if registry.index is None:
            continue
        for k in (kind,) if kind else INDEXED_KINDS:
            distribution = index_ids(registry.index, k).get(identifier)
            if distribution is None or normalize_name(distribution) in seen:
                continue
            plugin = registry.index.plugin(distribution)
            version = plugin.version if plugin else ""
            installed = _installed_version(distribution)
            if installed is not None and installed == version:
                continue  # installed and still missing: a broken plugin, not a remote one
            seen.add(normalize_name(distribution))
            providers.append(Provider(identifier, k, distribution, version, registry.url,
                                      registry.age, registry.source, installed))
    return providers


def hint_for(kind: str | None, identifier: str) -> list[Provider]:
    """:func:`find_providers` for a lookup miss: never raises (a miss must stay a miss)."""
    if os.environ.get("NEUROALIGN_FIND_ON_MISS", "1").strip().lower() in ("0", "false", "no"):
        return []
    try:
        return find_providers(kind, identifier)
    except Exception:  # noqa: BLE001 - an unreadable registry must not hide the UnknownIdError
        return []


def unknown_id_error(kind: str, identifier: str, known: Iterable[str]) -> UnknownIdError:
    """An :class:`UnknownIdError` carrying the registries' install hint, when there is one."""
    return UnknownIdError(kind, identifier, known, providers=hint_for(kind, identifier))
