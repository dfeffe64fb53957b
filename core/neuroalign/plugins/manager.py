"""The plugin manager: entry-point discovery with per-plugin isolation.

Plugins are found through ``importlib.metadata.entry_points(group="neuroalign")``. Each plugin is
imported and its hooks are called inside its own ``try``: a plugin that fails to import, whose
hook raises, or that registers an id another distribution already registered, produces a
:class:`~neuroalign.errors.PluginLoadWarning` naming its distribution and the error, and every
other plugin still loads. The core registers its own built-in plugin (aggregators) the same way.

Environment variables (comma-separated entry-point or distribution names):

``NEUROALIGN_LOAD_PLUGINS``
    load only these plugins (the built-in plugin always loads);
``NEUROALIGN_DISABLE_PLUGINS``
    never load these.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import pluggy

from . import hookspecs
from ..errors import DuplicateIdError, PluginLoadWarning
from .registry import KINDS, Registry

__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "PluginManager", "HOOKS"]

ENTRY_POINT_GROUP = "neuroalign"

#: hook name -> registry kind
HOOKS: dict[str, str] = {f"register_{kind}s": kind for kind in KINDS}


@dataclass
class PluginInfo:
    """One plugin as the manager saw it."""

    name: str
    distribution: str
    version: str
    module: str
    status: Literal["loaded", "failed", "disabled"]
    error: str | None = None
    registered: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _env_names(variable: str) -> set[str] | None:
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


class PluginManager:
    """Finds plugins, calls their hooks and fills a :class:`~neuroalign.registry.Registry`.

    Parameters
    ----------
    autoload : bool
        Load entry points of group ``neuroalign``. Tests use ``autoload=False`` and register
        plugin objects by hand with :meth:`register`.
    builtin : bool
        Register the core's built-in plugin (aggregators).
    """

    def __init__(self, autoload: bool = True, builtin: bool = True):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._objects: dict[str, Any] = {}
        self._registry: Registry | None = None
        #: (kind, id, distribution) of ids a failed plugin also claimed (see _collect)
        self._claims: list[tuple[str, str, str]] = []
        if builtin:
            from . import builtin

            self.register(builtin, name="builtin", distribution="neuroalign")
        if autoload:
            self.load_entry_points()

    # ------------------------------------------------------------------ discovery
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every entry point of ``group``, each in its own ``try``."""
        only = _env_names("NEUROALIGN_LOAD_PLUGINS")
        disabled = _env_names("NEUROALIGN_DISABLE_PLUGINS") or set()
        for entry_point in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
            dist = entry_point.dist
            dist_name = dist.metadata["Name"] if dist is not None else "<unknown>"
            version = dist.version if dist is not None else "0"
            names = {entry_point.name, dist_name}
            if names & disabled or (only is not None and not names & only):
                self.plugins[entry_point.name] = PluginInfo(
                    entry_point.name, dist_name, version, entry_point.value, "disabled",
                    "disabled by NEUROALIGN_DISABLE_PLUGINS / NEUROALIGN_LOAD_PLUGINS",
                )
                continue
            if entry_point.name in self._objects:  # two distributions chose the same name
                clash = DuplicateIdError(
                    f"entry point name {entry_point.name!r} is already used by distribution "
                    f"{self.plugins[entry_point.name].distribution!r}")
                self._fail(f"{entry_point.name} ({dist_name})", dist_name, version,
                           entry_point.value, clash, "import")
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # noqa: BLE001 - isolation is the point
                self._fail(entry_point.name, dist_name, version, entry_point.value, error, "import")
                continue
            self.register(plugin, name=entry_point.name, distribution=dist_name, version=version)

    def register(
        self,
        plugin: Any,
        name: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
    ) -> str:
        """Register a plugin object (a module or any object with hookimpls)."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self._objects:
            raise DuplicateIdError(
                f"a plugin named {name!r} is already registered "
                f"(distribution {self.plugins[name].distribution!r}); unregister it first"
            )
        if distribution is None:
            distribution = name
        if version is None:
            version = _dist_version(distribution)
        self._pm.register(plugin, name=name)
        self._objects[name] = plugin
        module = getattr(plugin, "__name__", type(plugin).__name__)
        self.plugins[name] = PluginInfo(name, distribution, version, module, "loaded")
        self._registry = None
        return name

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name``."""
        plugin = self._objects.pop(name)
        self._pm.unregister(plugin)
        info = self.plugins.pop(name, None)
        if info is not None:
            self._claims = [c for c in self._claims if c[2] != info.distribution]
        self._registry = None

    # ------------------------------------------------------------------ registry
    @property
    def registry(self) -> Registry:
        """The registry filled by every loaded plugin's hooks (built once, then cached)."""
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def _collect(self) -> Registry:
        registry = Registry()
        for name, plugin in list(self._objects.items()):
            info = self.plugins[name]
            if info.status != "loaded":
                continue
            staged: list[tuple[str, Any]] = []
            try:
                for hook_name, kind in HOOKS.items():
                    for impl in self._hookimpls(hook_name, plugin):
                        impl(register=_stager(staged, kind, name))
                registry.check_unique(staged, distribution=info.distribution)
            except Exception as error:  # noqa: BLE001
                self._fail(name, info.distribution, info.version, info.module, error, "hook")
                if isinstance(error, DuplicateIdError):
                    # kept across rebuilds: the failed plugin is skipped next time, and its
                    # claim must still stop the id from resolving
                    self._claims += [(kind, spec.id, info.distribution) for kind, spec in staged]
                continue
            for kind, spec in staged:
                registry.add(kind, spec, distribution=info.distribution, version=info.version,
                             plugin=name)
            info.registered = len(staged)
        for kind, identifier, distribution in self._claims:
            registry.mark_conflict(kind, identifier, distribution)
        return registry

    def _hookimpls(self, hook_name: str, plugin: Any) -> Iterable[Any]:
        caller = getattr(self._pm.hook, hook_name)
        return [impl.function for impl in caller.get_hookimpls() if impl.plugin is plugin]

    def _fail(self, name, distribution, version, module, error, phase) -> None:
        where = "failed to import" if phase == "import" else "failed while registering"
        message = f"{type(error).__name__}: {error}"
        self.plugins[name] = PluginInfo(name, distribution, version, module, "failed", message)
        last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        at = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        warnings.warn(
            f"plugin {name!r} from distribution {distribution!r} {where}: {message}{at}; "
            f"the other plugins still load (see: neuroalign plugins)",
            PluginLoadWarning,
            stacklevel=3,
        )


def _stager(staged: list[tuple[str, Any]], kind: str, plugin: str):
    spec_type = KINDS[kind]

    def register(spec: Any) -> None:
        if not isinstance(spec, spec_type):
            raise TypeError(
                f"plugin {plugin!r}: register_{kind}s must register {spec_type.__name__} objects; "
                f"found {type(spec).__name__}: {spec!r}"
            )
        staged.append((kind, spec))

    return register


def _dist_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0"
