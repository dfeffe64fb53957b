"""The registry index: a JSON file listing plugins, their benchmarks and datasets, and assets.

The same format serves two purposes:

* the public benchmark registry (``registry/index.json``, ``NEUROALIGN_REGISTRY``), read by
  ``neuroalign registry search`` to tell users what to ``pip install``;
* a *store*: a directory (any fsspec URL) holding data files next to an ``index.json`` whose
  dataset assets override the URLs/hashes built into the dataset specs (``NEUROALIGN_STORE``).
  The offline demo store is one. Relative asset URLs resolve against the index's location.

Trust: an index read from a remote URL (http(s), s3, gs) may list assets only under its own
location or at other remote URLs with a hash, never local files; only a local index may point
at local paths. A malformed index gives one :class:`~neuroalign.errors.AssetError` naming the
index URL and the field.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..specs import AssetSpec

__all__ = ["INDEX_FORMAT", "PluginEntry", "BenchmarkEntry", "DatasetEntry", "Index",
           "load_index", "parse_index", "resolve_relative", "describe_validation_error",
           "normalize_name"]

INDEX_FORMAT = "neuroalign-index/1"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: a distribution name (PEP 508 name: letters, digits, ``.``, ``_``, ``-``; nothing else)
DISTRIBUTION_NAME = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"
#: a version as published (PEP 440 characters only; ``neuroalign install`` parses it fully)
VERSION_TEXT = r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$"


class PluginEntry(_Entry):
    distribution: str = Field(pattern=DISTRIBUTION_NAME)
    version: str = Field(pattern=VERSION_TEXT)
    entry_point: str = ""
    pip: str = Field("", description="Shown to users, never run: e.g. 'pip install neuroalign-majaj2015'.")
    requirement: str = Field("", description="What `neuroalign install` asks pip for when there "
                             "is no wheel: 'name==version' (default: built from the two fields).")
    wheel: AssetSpec | None = Field(None, description="The plugin's wheel in the store (relative "
                                    "URL, sha256 required); `neuroalign install` prefers it.")
    license: str = ""
    benchmarks: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    attacks: list[str] = Field(default_factory=list)
    aggregators: list[str] = Field(default_factory=list)
    description: str = ""

    def ids(self, kind: str) -> list[str]:
        """The ids of ``kind`` (``benchmark``, ``dataset``, ``model``, ...) this plugin provides."""
        return list(getattr(self, kind + "s", []) or [])


class BenchmarkEntry(_Entry):
    id: str
    version: int
    distribution: str = Field(pattern=DISTRIBUTION_NAME)
    kind: str = "neural"
    region: str | None = None
    dataset: str | None = None
    metric: str | None = None
    description: str = ""
    citation: str = ""
    paper_section: str = ""


class DatasetEntry(_Entry):
    id: str
    version: int
    distribution: str
    assets: list[AssetSpec] = Field(default_factory=list)
    description: str = ""
    kind: str = ""
    license: str = Field("", description="Licence or data-use agreement users must accept.")
    size: int | None = Field(None, ge=0, description="Total bytes of the assets, when known.")


class Index(_Entry):
    format: str = INDEX_FORMAT
    generated: str = ""
    description: str = ""
    plugins: list[PluginEntry] = Field(default_factory=list)
    benchmarks: list[BenchmarkEntry] = Field(default_factory=list)
    datasets: list[DatasetEntry] = Field(default_factory=list)

    def dataset(self, identifier: str, version: int | None = None) -> DatasetEntry | None:
        for entry in self.datasets:
            if entry.id == identifier and (version is None or entry.version == version):
                return entry
        return None

    def plugin(self, distribution: str) -> PluginEntry | None:
        """The entry of ``distribution`` (compared by normalised name), if listed."""
        wanted = normalize_name(distribution)
        for entry in self.plugins:
            if normalize_name(entry.distribution) == wanted:
                return entry
        return None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Neuroalign_Majaj2015`` -> ``neuroalign-majaj2015``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve_relative(url: str, base: str) -> str:
    """Resolve an asset URL written relative to the index at ``base`` (a directory URL)."""
    if "://" in url or url.startswith("/"):
        return url
    return base.rstrip("/") + "/" + url


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def _normalized(url: str) -> str:
    """``url`` with ``.``/``..`` path segments resolved (so a prefix check cannot be escaped)."""
    if "://" not in url:
        return posixpath.normpath(url)
    scheme, rest = url.split("://", 1)
    authority, _, path = rest.partition("/")
    path = posixpath.normpath("/" + path.split("?", 1)[0].split("#", 1)[0])
    return f"{scheme.lower()}://{authority.lower()}{path}"


def describe_validation_error(error: Any) -> str:
    """One line for a pydantic ``ValidationError``: the first bad field, its value and why."""
    problems = error.errors()
    if not problems:
        return str(error)
    first = problems[0]
    field = _field_path(first.get("loc", ()))
    value = first.get("input")
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return f"field {field or '(top level)'}: {first.get('msg', 'invalid')}, found {shown}{more}"


def _field_path(loc: Any) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _check_shape(data: Any, target: str) -> None:
    """Raise one AssetError naming ``target`` and the field for a structurally wrong index."""
    from ..errors import AssetError

    def bad(field: str, expected: str, value: Any) -> AssetError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return AssetError(f"registry index {target!r}: field {field} must be {expected}, found "
                          f"{type(value).__name__} {shown}; fix the index (neuroalign registry "
                          "build writes a valid one)")

    if not isinstance(data, dict):
        raise bad("(top level)", "a JSON object", data)
    for section in ("plugins", "benchmarks", "datasets"):
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise bad(section, "a list", entries)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise bad(f"{section}[{i}]", "an object", entry)
    for i, dataset in enumerate(data.get("datasets", [])):
        assets = dataset.get("assets", [])
        if not isinstance(assets, list):
            raise bad(f"datasets[{i}].assets", "a list", assets)
        for j, asset in enumerate(assets):
            if not isinstance(asset, dict):
                raise bad(f"datasets[{i}].assets[{j}]", "an object", asset)
            if "url" not in asset:
                raise AssetError(f"registry index {target!r}: field datasets[{i}].assets[{j}].url "
                                 "is missing; every asset needs a url")
            if not isinstance(asset["url"], str):
                raise bad(f"datasets[{i}].assets[{j}].url", "a string", asset["url"])


def _check_remote_urls(index: Index, target: str, base: str) -> None:
    """A remote index may point only under its own store or at other remote URLs (hashed)."""
    from ..errors import AssetError
    from ..specs import REMOTE_SCHEMES

    root = _normalized(base).rstrip("/") + "/"
    for i, plugin in enumerate(index.plugins):
        if plugin.wheel is None:
            continue
        url = plugin.wheel.url
        if _scheme(url) in REMOTE_SCHEMES and (_normalized(url).startswith(root)
                                                or plugin.wheel.sha256):
            continue
        raise AssetError(
            f"registry index {target!r}: field plugins[{i}].wheel.url of {plugin.distribution!r} "
            f"is {url!r}; an index read from a remote store may only point under its own "
            f"location ({root}) or at other remote URLs with a sha256, never at local files "
            "(file://, absolute paths, memory://)"
        )
    for i, dataset in enumerate(index.datasets):
        for j, asset in enumerate(dataset.assets):
            url = asset.url
            scheme = _scheme(url)
            under_store = _normalized(url).startswith(root)
            if scheme in REMOTE_SCHEMES and (under_store or asset.sha256 or asset.sha1):
                continue
            raise AssetError(
                f"registry index {target!r}: field datasets[{i}].assets[{j}].url of dataset "
                f"{dataset.id!r} is {url!r}; an index read from a remote store may only point "
                f"under its own location ({root}) or at other remote URLs with a sha256, never "
                "at local files (file://, absolute paths, memory://). Use a local index to "
                "point at local files"
            )


def parse_index(data: Any, url: str, *, remote: bool | None = None) -> Index:
    """Validate the decoded JSON ``data`` of the index at ``url`` into an :class:`Index`.

    Relative asset URLs are resolved against ``url``'s directory. An index at a remote URL
    (``remote``, default: guessed from ``url``'s scheme) may only list assets under its own
    location or at other remote URLs that carry a hash.

    Raises
    ------
    AssetError
        One error naming ``url`` and the first bad field (never a bare KeyError, AttributeError
        or pydantic traceback).
    """
    from pydantic import ValidationError

    from ..errors import AssetError
    from ..specs import REMOTE_SCHEMES

    _check_shape(data, url)
    if data.get("format") != INDEX_FORMAT:
        raise AssetError(
            f"registry index {url!r} has format {data.get('format')!r}; expected {INDEX_FORMAT!r}"
        )
    base = url.rsplit("/", 1)[0] if "/" in url else "."
    data = copy.deepcopy(data)
    for dataset in data.get("datasets", []):
        for asset in dataset.get("assets", []):
            asset["url"] = resolve_relative(asset["url"], base)
    for plugin in data.get("plugins", []):
        wheel = plugin.get("wheel")
        if isinstance(wheel, dict) and isinstance(wheel.get("url"), str):
            wheel["url"] = resolve_relative(wheel["url"], base)
    try:
        index = Index.model_validate(data)
    except ValidationError as error:
        raise AssetError(f"registry index {url!r} is invalid: {describe_validation_error(error)}; "
                         "fix the index (neuroalign registry build writes a valid one)") from None
    if remote if remote is not None else _scheme(url) in REMOTE_SCHEMES:
        _check_remote_urls(index, url, base)
    return index


def load_index(url: str, storage_options: dict[str, Any] | None = None) -> Index:
    """Read an index from any fsspec URL (a file or a directory holding ``index.json``).

    Relative asset URLs are resolved against the index's directory; see :func:`parse_index`
    for what a remote index may point at.
    """
    import fsspec

    from ..errors import AssetError

    target = url if url.endswith(".json") else url.rstrip("/") + "/index.json"
    try:
        with fsspec.open(target, "rt", encoding="utf-8", **(storage_options or {})) as handle:
            data = json.load(handle)
    except FileNotFoundError as error:
        raise AssetError(f"no registry index at {target!r}; build one with: neuroalign registry build") from error
    except json.JSONDecodeError as error:
        raise AssetError(f"registry index {target!r} is not valid JSON: {error}") from error
    except (UnicodeDecodeError, RecursionError) as error:
        raise AssetError(f"registry index {target!r} is not UTF-8 JSON text ({error})") from None
    except (OSError, ValueError, ImportError) as error:
        raise AssetError(f"cannot read registry index {target!r}: {type(error).__name__}: "
                         f"{error}") from error
    return parse_index(data, target)
