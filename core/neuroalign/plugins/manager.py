"""The plugin manager: entry-point discovery with per-plugin isolation.

Plugins are found through ``importlib.metadata.entry_points(group="neuroalign")``. Each plugin is
imported and its hooks are called inside its own ``try``: a plugin that fails to import (any
exception, ``sys.exit()`` included: everything but ``KeyboardInterrupt``) or whose hook raises
produces a :class:`~neuroalign.errors.PluginLoadWarning` naming its distribution and the error,
and every other plugin still loads. An id claimed by two distributions (or twice by one) is
refused alone: a warning names both claimants, looking the id up raises
:class:`~neuroalign.errors.DuplicateIdError`, and every other registration of both plugins loads.
The core registers its own built-in plugin (aggregators) the same way.

An import that takes longer than ``NEUROALIGN_PLUGIN_PROGRESS`` seconds (default 1) is named on
stderr (``neuroalign: still importing plugin 'x' (module m) ...``) and again every 10 s, so a
hanging plugin is identified; Python cannot interrupt an import safely, so there is no timeout:
disable the plugin with ``NEUROALIGN_DISABLE_PLUGINS``.

Environment variables (comma-separated entry-point or distribution names):

``NEUROALIGN_LOAD_PLUGINS``
    load only these plugins (the built-in plugin always loads);
``NEUROALIGN_DISABLE_PLUGINS``
    never load these.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
    #: ids this plugin claimed that were refused (claimed by another distribution too, or twice)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _progress_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("NEUROALIGN_PLUGIN_PROGRESS", "") or 1.0))
    except ValueError:
        return 1.0


@contextlib.contextmanager
def _named_if_slow(what: str) -> Iterator[None]:
    """Print ``still importing <what>`` on stderr after a second, then every 10 s, until done."""
    done = threading.Event()
    started = time.monotonic()
    delay = _progress_delay()

    def watch() -> None:
        wait = delay
        while not done.wait(wait):
            sys.stderr.write(f"neuroalign: still importing {what} after "
                             f"{time.monotonic() - started:.0f} s (disable it with "
                             "NEUROALIGN_DISABLE_PLUGINS if it hangs)\n")
            sys.stderr.flush()
            wait = 10.0

    thread = threading.Thread(target=watch, name="neuroalign-plugin-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


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
        self._warned: set[tuple[str, str, str]] = set()
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
                with _named_if_slow(f"plugin {entry_point.name!r} (module {entry_point.value}, "
                                    f"distribution {dist_name})"):
                    plugin = entry_point.load()
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # noqa: BLE001 - isolation is the point (sys.exit too)
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
        self.plugins.pop(name, None)
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
            info.refused = []
            staged: list[tuple[str, Any]] = []
            try:
                for hook_name, kind in HOOKS.items():
                    for impl in self._hookimpls(hook_name, plugin):
                        impl(register=_stager(staged, kind, name))
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # noqa: BLE001 - isolation (sys.exit in a hook too)
                self._fail(name, info.distribution, info.version, info.module, error, "hook")
                continue
            counts: dict[tuple[str, str], int] = {}
            for kind, spec in staged:
                counts[(kind, spec.id)] = counts.get((kind, spec.id), 0) + 1
            added = 0
            for kind, spec in staged:
                key = (kind, spec.id)
                if counts[key] != 1:  # twice by this plugin: refuse the id (once), keep the rest
                    if counts[key] > 1:
                        counts[key] = -1
                        registry.refuse(kind, spec.id, [info.distribution, info.distribution])
                        self._refuse(info, kind, spec.id, DuplicateIdError(
                            f"{kind} {spec.id!r} is registered twice by {info.distribution!r}"))
                    continue
                try:
                    registry.add(kind, spec, distribution=info.distribution,
                                 version=info.version, plugin=name)
                except DuplicateIdError as clash:  # another distribution has it: refuse the id
                    registry.mark_conflict(kind, spec.id, info.distribution)
                    other = registry.claimants(kind, spec.id)
                    for claimant in self.plugins.values():
                        if claimant.distribution in other and claimant is not info:
                            note = f"{kind} {spec.id!r} (also claimed by {info.distribution!r})"
                            if note not in claimant.refused:
                                claimant.refused.append(note)
                    self._refuse(info, kind, spec.id, clash)
                    continue
                added += 1
            info.registered = added
        return registry

    def _refuse(self, info: PluginInfo, kind: str, identifier: str, error: Exception) -> None:
        info.refused.append(f"{kind} {identifier!r}: {error}".split(";")[0])
        if (info.name, kind, identifier) in self._warned:
            return  # said once per manager; a rebuilt registry refuses it again silently
        self._warned.add((info.name, kind, identifier))
        warnings.warn(
            f"plugin {info.name!r} from distribution {info.distribution!r}: {error}; only this "
            f"id is refused (looking it up fails), every other registration still loads "
            "(see: neuroalign plugins)",
            PluginLoadWarning,
            stacklevel=4,
        )

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
