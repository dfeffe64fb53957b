"""Build, write, find and search the registry index (the format lives in :mod:`neuroalign.index`).

``neuroalign registry build`` turns the installed plugins into an :class:`~neuroalign.index.Index`
(one entry per plugin distribution with its pip command, its benchmarks, and its datasets with
asset URLs, sha256 and sizes); ``neuroalign registry search QUERY`` reads an index from any fsspec
URL and tells the user which distribution to ``pip install`` for each matching benchmark.

Where the index is read from without an explicit URL (:func:`default_index_url`): the first
configured registry (:func:`neuroalign.store.registries.configured_registries`:
``$NEUROALIGN_REGISTRY``, config.json ``"registries"``, else the project's index, i.e. the
checkout's ``registry/index.json`` or the copy shipped inside the core).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store.index import BenchmarkEntry, DatasetEntry, Index, PluginEntry, load_index

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins.manager import PluginManager
    from ..plugins.registry import Registry

__all__ = [
    "SearchHit",
    "build_index",
    "default_index_url",
    "installed_distributions",
    "normalize_distribution",
    "read_index",
    "search_index",
    "write_index",
]

#: distributions that are not plugins (the core registers its built-ins under its own name)
CORE_DISTRIBUTIONS = frozenset({"neuroalign"})


def normalize_distribution(name: str) -> str:
    """PEP 503 normalised distribution name (``Neuroalign_Majaj2015`` -> ``neuroalign-majaj2015``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------------- build
def build_index(
    source: PluginManager | Registry | None = None,
    *,
    description: str = "",
    generated: str | None = None,
    include_core: bool = False,
) -> Index:
    """An index of the plugins in ``source`` and what they register.

    Parameters
    ----------
    source : PluginManager or Registry, optional
        Where the specs come from. Default: the process-wide plugin manager (every installed
        plugin). With a bare :class:`~neuroalign.registry.Registry` the plugin entries are
        derived from the registry entries (no entry-point information).
    description : str
        Free text stored in the index (e.g. who publishes it).
    generated : str, optional
        ISO timestamp to record; default: now (UTC). Pass a fixed value for reproducible files.
    include_core : bool
        Also list the core's built-in plugin (distribution ``neuroalign``).

    Returns
    -------
    neuroalign.index.Index
        Plugins, benchmarks and datasets sorted by name / id.
    """
    from ..plugins.manager import PluginManager
    from ..plugins.registry import Registry
    from ..plugins.lookup import get_plugin_manager

    if source is None:
        source = get_plugin_manager()
    if isinstance(source, PluginManager):
        registry = source.registry  # loads hooks first, so failed plugins are known
        plugins = {
            info.name: info for info in source.plugins.values() if info.status == "loaded"
        }
    elif isinstance(source, Registry):
        registry, plugins = source, {}
    else:
        raise TypeError(
            f"build_index needs a PluginManager or a Registry; found {type(source).__name__}"
        )

    def keep(distribution: str) -> bool:
        return include_core or normalize_distribution(distribution) not in CORE_DISTRIBUTIONS

    benchmarks = [
        BenchmarkEntry(
            id=e.spec.id, version=e.spec.version, distribution=e.distribution, kind=e.spec.kind,
            region=e.spec.region, dataset=e.spec.dataset, metric=e.spec.metric,
            description=e.spec.description, citation=e.spec.citation,
            paper_section=e.spec.paper_section,
        )
        for e in registry.entries("benchmark") if keep(e.distribution)
    ]
    datasets = [
        DatasetEntry(
            id=e.spec.id, version=e.spec.version, distribution=e.distribution,
            assets=list(e.spec.assets), description=e.spec.description, kind=e.spec.kind,
            license=e.spec.license, size=_total_size(e.spec.assets),
        )
        for e in registry.entries("dataset") if keep(e.distribution)
    ]

    # one plugin entry per distribution (a distribution may expose several entry points)
    by_dist: dict[str, dict[str, Any]] = {}

    def plugin_record(distribution: str, version: str) -> dict[str, Any]:
        return by_dist.setdefault(distribution, {
            "distribution": distribution, "version": version, "entry_point": [],
            "pip": f"pip install {distribution}", "requirement": f"{distribution}=={version}",
            "license": _dist_license(distribution), "benchmarks": [], "datasets": [],
            "models": [], "metrics": [], "attacks": [], "aggregators": [],
            "description": _dist_summary(distribution),
        })

    for info in plugins.values():
        if keep(info.distribution):
            plugin_record(info.distribution, info.version)["entry_point"].append(
                f"{info.name} = {info.module}"
            )
    for kind, key in (("benchmark", "benchmarks"), ("dataset", "datasets"), ("model", "models"),
                      ("metric", "metrics"), ("attack", "attacks"),
                      ("aggregator", "aggregators")):
        for e in registry.entries(kind):
            if keep(e.distribution):
                plugin_record(e.distribution, e.version)[key].append(e.spec.id)

    plugin_entries = []
    for distribution in sorted(by_dist, key=normalize_distribution):
        record = by_dist[distribution]
        record["entry_point"] = ", ".join(sorted(record["entry_point"]))
        plugin_entries.append(PluginEntry(**record))

    return Index(
        generated=generated or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        description=description,
        plugins=plugin_entries,
        benchmarks=sorted(benchmarks, key=lambda b: (b.id, b.version)),
        datasets=sorted(datasets, key=lambda d: (d.id, d.version)),
    )


def _total_size(assets: Iterable[Any]) -> int | None:
    """Total bytes of ``assets``, or None when any size is unknown."""
    sizes = [asset.size for asset in assets]
    return sum(sizes) if sizes and all(size is not None for size in sizes) else None


def _dist_license(distribution: str) -> str:
    try:
        meta = metadata.metadata(distribution)
    except metadata.PackageNotFoundError:
        return ""
    return meta.get("License-Expression") or meta.get("License") or ""


def _dist_summary(distribution: str) -> str:
    try:
        return metadata.metadata(distribution).get("Summary") or ""
    except metadata.PackageNotFoundError:
        return ""


# ---------------------------------------------------------------------------------- write / read
def write_index(index: Index, url: str | os.PathLike[str],
                storage_options: dict[str, Any] | None = None) -> str:
    """Write ``index`` as JSON to ``url`` (a ``.json`` file, or a directory: ``<url>/index.json``).

    Local paths are written atomically (temporary file in the same directory, then rename), so
    readers never see a half-written index. Other fsspec URLs (``memory://``, ``s3://``, ...)
    are written with one ``open(..., "w")``; object stores make each PUT atomic themselves.

    Returns
    -------
    str
        The URL of the written file.
    """
    url = os.fspath(url)
    target = url if url.endswith(".json") else url.rstrip("/") + "/index.json"
    text = index.to_json() + "\n"
    scheme = target.split("://", 1)[0].lower() if "://" in target else "file"
    if scheme == "file":
        path = Path(target.removeprefix("file://")).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.chmod(temp, _file_mode(path))  # mkstemp makes 0600; an index is for sharing
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return str(path)
    import fsspec

    with fsspec.open(target, "wt", **(storage_options or {})) as stream:
        stream.write(text)
    return target


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, else 0666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def default_index_url() -> str:
    """Where :func:`read_index` looks without an explicit URL: the first configured registry
    (:func:`neuroalign.store.registries.configured_registries`)."""
    from ..store.registries import configured_registries

    return configured_registries()[0]


def read_index(url: str | None = None, storage_options: dict[str, Any] | None = None) -> Index:
    """Read the index at ``url`` (default: :func:`default_index_url`) from any fsspec URL."""
    return load_index(url or default_index_url(), storage_options)


# ---------------------------------------------------------------------------------- search
@dataclass
class SearchHit:
    """A benchmark of the index that matches a query, and how to get it."""

    benchmark: str
    version: int
    distribution: str
    distribution_version: str
    pip: str
    installed: bool
    kind: str
    region: str | None
    dataset: str | None
    metric: str | None
    description: str
    matched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def installed_distributions(names: Iterable[str] | None = None) -> set[str]:
    """Normalised names of the installed distributions among ``names`` (default: all)."""
    if names is None:
        return {normalize_distribution(d.metadata["Name"] or "") for d in metadata.distributions()}
    found = set()
    for name in names:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        found.add(normalize_distribution(name))
    return found


def search_index(index: Index, query: str, installed: Iterable[str] | None = None) -> list[SearchHit]:
    """Benchmarks of ``index`` matching every word of ``query``, case-insensitively.

    Each word must match one of: the benchmark id, its description, region, kind, metric, its
    dataset's id, or the providing distribution's name or description. A word matches a field
    when it starts one of the field's words (``fmri`` matches "human fMRI", ``hong`` matches
    ``MajajHong2015``, ``it`` does not match "predictivity"); a word with punctuation
    (``IT-pls``, ``Majaj.``) matches as a substring. An empty query matches everything. Hits
    whose id matches come first, then by id. When some benchmarks match every word in their own
    fields (all but the plugin's description), only those are returned.

    Parameters
    ----------
    index : neuroalign.index.Index
    query : str
        E.g. ``"fmri"``, ``"IT pls"``, ``"majaj"``.
    installed : iterable of str, optional
        Distribution names installed here; default: looked up with :mod:`importlib.metadata`.

    Returns
    -------
    list of SearchHit
    """
    plugins = {p.distribution: p for p in index.plugins}
    if installed is None:
        installed = installed_distributions(plugins)
    installed = {normalize_distribution(name) for name in installed}
    words = [w.lower() for w in query.split()]

    hits: list[SearchHit] = []
    best: list[bool] = []
    for bench in index.benchmarks:
        plugin = plugins.get(bench.distribution)
        fields = {
            "id": bench.id, "description": bench.description, "region": bench.region or "",
            "kind": bench.kind, "metric": bench.metric or "", "dataset": bench.dataset or "",
            "plugin": bench.distribution,
            "plugin description": plugin.description if plugin else "",
        }
        tokens = {name: (text.lower(), _tokens(text)) for name, text in fields.items()}
        matched: list[str] = []
        for word in words:
            where = [name for name, (text, toks) in tokens.items() if _matches(word, text, toks)]
            if not where:
                break
            matched.extend(name for name in where if name not in matched)
        else:
            own = all(any(_matches(word, *tokens[name]) for name in _OWN_FIELDS) for word in words)
            hits.append(SearchHit(
                benchmark=bench.id, version=bench.version, distribution=bench.distribution,
                distribution_version=plugin.version if plugin else "",
                pip=(plugin.pip if plugin and plugin.pip else f"pip install {bench.distribution}"),
                installed=normalize_distribution(bench.distribution) in installed,
                kind=bench.kind, region=bench.region, dataset=bench.dataset, metric=bench.metric,
                description=bench.description, matched=matched,
            ))
            best.append(own)
    # A benchmark whose own fields match every word beats one found only through its plugin's
    # description ("IT pls" should not list a V4 benchmark of a plugin that mentions IT).
    if any(best):
        hits = [hit for hit, own in zip(hits, best) if own]
    hits.sort(key=lambda h: ("id" not in h.matched, h.benchmark.lower(), h.version))
    return hits


_OWN_FIELDS = ("id", "description", "region", "kind", "metric", "dataset", "plugin")


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_ALNUM = re.compile(r"[A-Za-z0-9]+")


def _tokens(text: str) -> set[str]:
    """Lower-cased words of ``text``: alphanumeric runs and their camelCase / digit parts."""
    runs = _ALNUM.findall(text)
    return {t.lower() for run in runs for t in (run, *_WORD.findall(run))}


def _matches(word: str, text: str, tokens: set[str]) -> bool:
    if not word.isalnum():
        return word in text
    return any(token.startswith(word) for token in tokens)
