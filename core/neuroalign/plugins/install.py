"""``neuroalign install`` / ``neuroalign.install``: plugins from the configured registries.

:func:`install` resolves distributions or ids through the registry indexes, shows the exact pip
command, asks unless ``yes=True``, downloads a wheel hosted on the store through the core store
(sha256 verified; an entry without a hash is refused), runs pip into the running environment
(``sys.executable -m pip``) and reloads the plugin registry so the new ids resolve in the same
process. Only ``name==version`` built from strictly checked index fields, or a verified wheel
file, ever reaches pip: the index's free-text ``pip`` field is shown, never run.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import AssetError, NeuroalignError, OfflineError
from ..store.index import DISTRIBUTION_NAME, PluginEntry, normalize_name
from .providers import INDEXED_KINDS, index_ids

__all__ = ["InstallResult", "InstallStep", "install", "plan_install", "reload_plugins"]


@dataclass
class InstallStep:
    """One distribution to install: where from, and the exact command."""

    distribution: str
    version: str
    registry: str
    requested: list[str]
    source: str  # "wheel" (hosted on the store) or "package-index"
    command: list[str]
    wheel_url: str | None = None
    wheel_sha256: str | None = None
    wheel_path: str | None = None
    licences: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InstallResult:
    """What :func:`install` did: the steps, whether pip ran, the ids now resolvable."""

    steps: list[InstallStep]
    installed: bool
    resolved: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [s.as_dict() for s in self.steps], "installed": self.installed,
                "resolved": self.resolved}


def _pip_command(target: str) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            target]


def _requirement(plugin: PluginEntry, registry: str, position: str) -> str:
    """``name==version`` for pip, from fields checked strictly (nothing else reaches pip)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    try:
        Version(plugin.version)
    except InvalidVersion:
        raise AssetError(f"registry index {registry!r}: field {position}.version is "
                         f"{plugin.version!r}, not a PEP 440 version; refusing to install "
                         f"{plugin.distribution!r} from it") from None
    text = plugin.requirement or f"{plugin.distribution}=={plugin.version}"
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise AssetError(f"registry index {registry!r}: field {position}.requirement "
                         f"{text!r} is not a requirement ({error}); refusing to install it") \
            from None
    if (normalize_name(requirement.name) != normalize_name(plugin.distribution)
            or requirement.url or requirement.marker or requirement.extras
            or str(requirement.specifier) != f"=={plugin.version}"):
        raise AssetError(
            f"registry index {registry!r}: field {position}.requirement is {text!r}; it must be "
            f"exactly '{plugin.distribution}=={plugin.version}' (no URL, extras, markers or "
            "options); refusing to install from this index")
    return f"{plugin.distribution}=={plugin.version}"


def _wheel_step(plugin: PluginEntry, registry: str, position: str, requested: list[str]
                ) -> InstallStep:
    from packaging.utils import InvalidWheelFilename, canonicalize_version, parse_wheel_filename

    from ..store.assets import _local_path, _scheme, cache_path, resolve_url

    wheel = plugin.wheel
    assert wheel is not None
    if not wheel.sha256:
        raise AssetError(f"registry index {registry!r}: field {position}.wheel of "
                         f"{plugin.distribution!r} has no sha256; a wheel is installed only "
                         "when its hash is published, so it is refused")
    name = wheel.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        dist, version, _, _ = parse_wheel_filename(name)
    except InvalidWheelFilename as error:
        raise AssetError(f"registry index {registry!r}: field {position}.wheel.url {wheel.url!r}"
                         f" is not a wheel file name ({error})") from None
    if (normalize_name(str(dist)) != normalize_name(plugin.distribution)
            or canonicalize_version(version) != canonicalize_version(plugin.version)):
        raise AssetError(f"registry index {registry!r}: field {position}.wheel.url {wheel.url!r}"
                         f" is not a wheel of {plugin.distribution} {plugin.version}")
    resolved = resolve_url(wheel.url)  # mirrors apply; a local file is installed in place
    path = str(_local_path(resolved) if _scheme(resolved) == "file" else cache_path(wheel))
    return InstallStep(plugin.distribution, plugin.version, registry, requested, "wheel",
                       _pip_command(path), wheel.url, wheel.sha256, path)


def plan_install(requested: Iterable[str], *, registries: list[str] | None = None,
                 refresh: str = "stale") -> list[InstallStep]:
    """Resolve distributions or ids through the registries into install steps (nothing runs).

    Raises
    ------
    NeuroalignError
        A name no registry lists (the message lists the registries and their problems).
    AssetError
        An index entry that fails the checks (bad name, version or requirement; a wheel
        without a sha256, or not a wheel of that distribution).
    """
    import re

    from ..store.registries import registry_indexes

    names = [str(name).strip() for name in requested if str(name).strip()]
    if not names:
        raise NeuroalignError("nothing to install: name a distribution (neuroalign-nsd) or an "
                              "id it provides (NSD.FFA-ols)")
    indexes = registry_indexes(registries, refresh=refresh)
    steps: dict[str, InstallStep] = {}
    for name in names:
        match = None
        for registry in indexes:
            if registry.index is None:
                continue
            plugin = (registry.index.plugin(name)
                      if re.match(DISTRIBUTION_NAME, name) else None)
            if plugin is None:
                for kind in INDEXED_KINDS:
                    distribution = index_ids(registry.index, kind).get(name)
                    if distribution is not None:
                        plugin = registry.index.plugin(distribution)
                        if plugin is None:
                            raise AssetError(
                                f"registry index {registry.url!r} lists {kind} {name!r} under "
                                f"distribution {distribution!r} but has no plugins[] entry for "
                                "it; fix the index")
                        break
            if plugin is not None:
                match = (registry, plugin)
                break
        if match is None:
            unread = [f"registry {r.url!r} could not be read: {r.problem}" for r in indexes
                      if r.index is None]
            if unread:  # say why first: the refused index may be the one that lists it
                raise AssetError(f"cannot resolve {name!r}: " + "; ".join(unread))
            problems = [f"{r.url}: {r.problem}" for r in indexes if r.problem]
            searched = [r.url for r in indexes]
            raise NeuroalignError(
                f"no registry lists {name!r} (as a distribution or an id); searched "
                f"{searched}" + (f"; problems: {problems}" if problems else "") +
                ". Search with: neuroalign registry search WORDS; add a registry with "
                "NEUROALIGN_REGISTRY=URL")
        registry, plugin = match
        key = normalize_name(plugin.distribution)
        if key in steps:
            steps[key].requested.append(name)
            continue
        position = f"plugins[{registry.index.plugins.index(plugin)}]"
        if plugin.wheel is not None:
            steps[key] = _wheel_step(plugin, registry.url, position, [name])
        else:
            requirement = _requirement(plugin, registry.url, position)
            steps[key] = InstallStep(plugin.distribution, plugin.version, registry.url, [name],
                                     "package-index", _pip_command(requirement))
        steps[key].licences = {d.id: d.license for d in registry.index.datasets
                               if normalize_name(d.distribution) == key and d.license}
    return list(steps.values())


def install(requested: str | Iterable[str], *, yes: bool = False,
            registries: str | list[str] | None = None, refresh: str = "stale",
            confirm: Callable[[list[InstallStep]], bool] | None = None,
            show: Callable[[str], None] | None = None,
            dry_run: bool = False) -> InstallResult:
    """Install the plugin distributions that provide ``requested`` (distributions or ids).

    Parameters
    ----------
    requested : str or iterable of str
        ``"neuroalign-nsd"``, ``"NSD.FFA-ols"``, ...
    yes : bool
        Do not ask. Without it, ``confirm`` is called (default: a yes/no question on the
        terminal; with no terminal, an error that says to pass ``yes=True``).
    registries : str or list of str, optional
        Registry URLs to resolve through (default: the configured ones).
    refresh : str
        Index refresh policy (:func:`neuroalign.store.registries.registry_indexes`).
    confirm, show : callable, optional
        Ask for the steps / print a line (default: stdin / stderr).
    dry_run : bool
        Resolve and show, install nothing.

    Returns
    -------
    InstallResult
        The steps, whether pip ran, and the requested ids that now resolve (id -> kind).

    Raises
    ------
    OfflineError
        A wheel must be downloaded and the store cannot be reached (``NEUROALIGN_OFFLINE=1``).
    ChecksumMismatchError
        The downloaded wheel's sha256 differs from the index's; nothing is installed.
    """
    from ..app.text import plain

    names = [requested] if isinstance(requested, str) else list(requested)
    urls = [registries] if isinstance(registries, str) else registries
    say = show or (lambda line: print(line, file=sys.stderr))
    steps = plan_install(names, registries=urls, refresh=refresh)
    for step in steps:
        origin = (f"wheel {step.wheel_url} (sha256 {step.wheel_sha256}) from registry "
                  f"{step.registry}" if step.source == "wheel"
                  else f"the package index, as listed by registry {step.registry}")
        say(plain(f"{step.distribution} {step.version}: {origin}"))
        for dataset, licence in step.licences.items():  # agreements users must accept
            say(plain(f"  data {dataset}: {licence}"))
        say(plain("  will run: " + " ".join(_quote(part) for part in step.command)))
    if dry_run:
        return InstallResult(steps, False)
    current = [s for s in steps if _same_version(_installed(s.distribution), s.version)]
    for step in current:
        say(plain(f"{step.distribution} {step.version} is already installed; nothing to do"))
    steps = [s for s in steps if s not in current]
    if not steps:
        return InstallResult(current, False, _resolvable(names))
    if not yes and not (confirm or _ask)(steps):
        raise NeuroalignError("installation cancelled; nothing was installed")
    for step in steps:  # every wheel is downloaded and verified before pip runs at all
        if step.source == "wheel":
            _download_wheel(step)
    try:
        for step in steps:
            _run_pip(step)
    finally:  # what did install resolves even when a later step failed
        reload_plugins([step.distribution for step in steps])
    return InstallResult(steps, True, _resolvable(names))


def _installed(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _same_version(installed: str | None, listed: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return installed is not None and Version(installed) == Version(listed)
    except InvalidVersion:
        return installed == listed


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


def _ask(steps: list[InstallStep]) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise NeuroalignError("neuroalign install asks before installing and there is no "
                              "terminal to ask on; pass --yes (yes=True in code) to confirm")
    answer = input(f"install {len(steps)} distribution(s) with pip? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _download_wheel(step: InstallStep) -> None:
    from ..specs import AssetSpec
    from ..store.assets import fetch, is_offline

    asset = AssetSpec(name="wheel", url=step.wheel_url or "", sha256=step.wheel_sha256,
                      format="other")
    try:
        path = fetch(asset, progress=False)
    except OfflineError:
        if not is_offline():
            raise
        raise OfflineError(f"cannot reach the store of registry {step.registry!r} to download "
                           f"{step.wheel_url}: NEUROALIGN_OFFLINE=1 and the wheel is not cached; "
                           "nothing was installed. Unset NEUROALIGN_OFFLINE with network access"
                           ) from None
    except AssetError as error:
        if type(error) is not AssetError:
            raise  # ChecksumMismatchError and the like: already precise
        raise AssetError(f"cannot reach the store of registry {step.registry!r} to download "
                         f"{step.wheel_url}; nothing was installed ({error})") from None
    if str(path) != step.wheel_path:  # the command shown must be the command run
        raise AssetError(f"the wheel {step.wheel_url} was fetched to {str(path)!r}, not to "
                         f"{step.wheel_path!r} as shown; nothing was installed")


def _run_pip(step: InstallStep) -> None:
    done = subprocess.run(step.command, capture_output=True, text=True, check=False)
    if done.returncode != 0 and "No module named pip" in (done.stderr or ""):
        raise NeuroalignError(f"pip is not installed in this environment ({sys.executable}); "
                              f"add it with: {sys.executable} -m ensurepip, then run the "
                              "install again (nothing was installed)")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise NeuroalignError(f"pip failed installing {step.distribution} {step.version} (exit "
                              f"{done.returncode}): " + " | ".join(tail))


def reload_plugins(distributions: Iterable[str] = ()) -> None:
    """Forget the loaded plugins so the next lookup loads every installed one again.

    Modules of ``distributions`` (their entry points' top-level packages) already imported
    are dropped from ``sys.modules`` too, so an upgraded plugin's new code is what loads.
    """
    from importlib import metadata

    from .lookup import use_plugin_manager

    importlib.invalidate_caches()
    wanted = {normalize_name(name) for name in distributions}
    tops = set()
    for point in metadata.entry_points(group="neuroalign"):
        dist = getattr(point, "dist", None)
        if dist is not None and normalize_name(dist.metadata["Name"] or "") in wanted:
            tops.add(point.value.split(":", 1)[0].split(".", 1)[0])
    for name in [m for m in sys.modules if m.split(".", 1)[0] in tops]:
        del sys.modules[name]
    use_plugin_manager(None)


def _resolvable(names: list[str]) -> dict[str, str]:
    from .lookup import get_registry

    registry = get_registry()
    found = {}
    for name in names:
        for kind in INDEXED_KINDS:
            if name in registry.ids(kind):
                found[name] = kind
                break
    return found


