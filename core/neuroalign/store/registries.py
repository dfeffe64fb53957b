"""Configured registries: the indexes that say which plugin provides which id, cached locally.

Which registries (:func:`configured_registries`), first match wins:

1. ``$NEUROALIGN_REGISTRY``: one or more fsspec URLs (S3, GCS, HTTPS, local), separated by
   ``;`` or whitespace; each is an ``index.json`` or a directory holding one;
2. ``$NEUROALIGN_HOME/config.json`` ``"registries": [URL, ...]``;
3. the project's own index (the word ``default`` in either list means it too): the
   ``registry/index.json`` of a source checkout, else the copy shipped inside the core.

Cache and refresh policy: a remote index is copied, byte for byte, to
``$NEUROALIGN_HOME/registries/<key>/index.json`` with a sidecar recording its URL, sha256 and
when it was fetched; a read re-checks the sha256 and re-applies the trust rules of
:func:`~neuroalign.store.index.parse_index` (the copy is as hostile as the original). A copy
older than ``NEUROALIGN_REGISTRY_MAX_AGE`` seconds (default 86400, config
``"registry_max_age"``) is *stale*:

* ``refresh="always"`` (``--refresh``, ``neuroalign registry refresh``) fetches every remote
  index;
* ``refresh="stale"`` (``neuroalign install``) fetches missing and stale ones, and falls back to
  the stale copy, saying so, when the fetch fails;
* ``refresh="missing"`` (a lookup miss: ``get_benchmark``, ``score``, ``info``...) never
  contacts a registry whose copy is cached, stale or not; it fetches only a registry that has no
  copy at all, once, so the first miss of a fresh installation can still answer;
* with ``NEUROALIGN_OFFLINE=1`` nothing is fetched; cached copies are used and their age is
  reported.

Local indexes (plain paths, ``file://``, ``memory://``) are read in place, never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AssetError
from ..specs import REMOTE_SCHEMES
from .cache import atomic_path, home, write_meta
from .index import Index, parse_index

__all__ = [
    "DEFAULT_MAX_AGE",
    "RegistryIndex",
    "configured_registries",
    "describe_age",
    "max_age",
    "project_index_url",
    "registry_indexes",
]

DEFAULT_MAX_AGE = 86400
REFRESH_POLICIES = ("always", "stale", "missing", "never")
_SPLIT = re.compile(r"[;\s]+")
#: url -> (cache file mtime_ns, parsed index): parsed once per process per copy
_MEMO: dict[str, tuple[int, Index]] = {}
#: url -> (time, error) of a failed fetch: a lookup miss does not try it again for a while
_FAILED: dict[str, tuple[float, str]] = {}
#: seconds a failed fetch keeps lookup misses from retrying that registry
RETRY_AFTER = 300.0
#: seconds to connect to / read from a registry (indexes are small)
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 30


@dataclass(frozen=True)
class RegistryIndex:
    """One configured registry as this process sees it.

    ``index`` is None when it could not be read (``problem`` says why). ``source`` is
    ``"local"`` (read in place), ``"fetched"`` (just downloaded) or ``"cache"``; ``age`` is the
    seconds since the copy was fetched (0 for local and fetched ones).
    """

    url: str
    index: Index | None
    source: str
    age: float = 0.0
    problem: str = ""

    @property
    def remote(self) -> bool:
        return _scheme(self.url) in REMOTE_SCHEMES

    def describe(self) -> str:
        """``<url>`` plus how old the copy is when it came from the cache."""
        if self.source == "cache":
            return f"{self.url}, cached copy from {describe_age(self.age)} ago"
        return self.url


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def project_index_url() -> str:
    """The project's own index: the checkout's ``registry/index.json``, else the packaged copy."""
    core = Path(__file__).resolve().parent.parent
    checkout = core.parent.parent / "registry" / "index.json"
    if checkout.is_file() and (core.parent.parent / "pyproject.toml").is_file():
        return str(checkout)
    packaged = core / "data" / "index.json"
    if packaged.is_file():
        return str(packaged)
    raise AssetError(
        "no registry index configured and none shipped with this installation: set "
        "NEUROALIGN_REGISTRY to an index URL (e.g. NEUROALIGN_REGISTRY=s3://mylab/index.json) or "
        "pass --index URL"
    )


def configured_registries() -> list[str]:
    """The registry URLs in priority order (see the module docstring)."""
    from .assets import load_config

    env = os.environ.get("NEUROALIGN_REGISTRY", "").strip()
    if env:
        urls = [u for u in _SPLIT.split(env) if u]
    else:
        configured = load_config().get("registries")
        if configured is None:
            urls = ["default"]
        elif isinstance(configured, list) and all(isinstance(u, str) for u in configured):
            urls = [u.strip() for u in configured if u.strip()]
        else:
            raise AssetError(f"config.json 'registries' must be a list of URLs, found "
                             f"{configured!r}; e.g. \"registries\": [\"s3://mylab/index.json\", "
                             "\"default\"]")
    return list(dict.fromkeys(project_index_url() if u == "default" else u for u in urls))


def max_age() -> float:
    """Seconds after which a cached remote index is stale."""
    from .assets import load_config

    raw = os.environ.get("NEUROALIGN_REGISTRY_MAX_AGE") or load_config().get("registry_max_age")
    if raw in (None, ""):
        return float(DEFAULT_MAX_AGE)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        raise AssetError(f"NEUROALIGN_REGISTRY_MAX_AGE / registry_max_age must be a number of "
                         f"seconds >= 0, found {raw!r}")
    return value


def describe_age(seconds: float) -> str:
    """``"3 days"``, ``"5 hours"``, ``"12 minutes"``, ``"40 seconds"``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = max(0, int(seconds))
    return f"{count} second{'s' if count != 1 else ''}"


def _target(url: str) -> str:
    return url if url.endswith(".json") else url.rstrip("/") + "/index.json"


def _copy_path(url: str) -> Path:
    return home() / "registries" / hashlib.sha256(url.encode()).hexdigest()[:16] / "index.json"


def registry_indexes(urls: list[str] | None = None, *, refresh: str = "missing"
                     ) -> list[RegistryIndex]:
    """Read every registry in ``urls`` (default: :func:`configured_registries`).

    Parameters
    ----------
    urls : list of str, optional
        Registry URLs, in priority order.
    refresh : {"always", "stale", "missing", "never"}
        When to contact a remote registry (see the module docstring). ``NEUROALIGN_OFFLINE=1``
        turns every policy into ``never``.

    Returns
    -------
    list of RegistryIndex
        One per URL, in order; an unreadable one has ``index=None`` and a ``problem``.
    """
    from .assets import is_offline

    if refresh not in REFRESH_POLICIES:
        raise AssetError(f"refresh={refresh!r} is not one of {list(REFRESH_POLICIES)}")
    policy = "never" if is_offline() else refresh
    found = []
    for url in (configured_registries() if urls is None else urls):
        try:
            found.append(_read(url, policy))
        except AssetError as error:
            found.append(RegistryIndex(url, None, "error", problem=str(error)))
    return found


def _read(url: str, policy: str) -> RegistryIndex:
    from .assets import is_offline, resolve_url, storage_options

    if _scheme(url) not in REMOTE_SCHEMES:
        return RegistryIndex(url, _local(url, storage_options(_scheme(url))), "local")
    copy = _copy_path(url)
    meta = _read_meta(copy)
    age = time.time() - float(meta.get("fetched", 0)) if meta else float("inf")
    fetch = (policy == "always" or (policy == "stale" and age > max_age())
             or (policy in ("stale", "missing") and not meta))
    failed = _FAILED.get(url)
    if fetch and policy == "missing" and failed and time.time() - failed[0] < RETRY_AFTER:
        raise AssetError(failed[1] + " (not retried for a lookup miss within "
                         f"{int(RETRY_AFTER)} s; run 'neuroalign registry refresh')")
    if fetch:
        try:
            index = _fetch(url, resolve_url(url), copy)
            _FAILED.pop(url, None)
            return RegistryIndex(url, index, "fetched")
        except AssetError as error:
            _FAILED[url] = (time.time(), str(error))
            if not meta:
                raise
            stale = (f"could not refresh it ({error}); using the cached copy from "
                     f"{describe_age(age)} ago")
            return RegistryIndex(url, _cached(url, copy, meta), "cache", age, problem=stale)
    if not meta:
        why = "NEUROALIGN_OFFLINE=1" if is_offline() else f"refresh={policy!r}"
        raise AssetError(f"registry {url!r} has no cached copy and {why} forbids fetching it; "
                         "run 'neuroalign registry refresh' with network access")
    return RegistryIndex(url, _cached(url, copy, meta), "cache", age)


def _local(url: str, options: dict[str, Any]) -> Index:
    """A local index, parsed again only when the file changed (misses can be frequent)."""
    from .index import load_index

    path = Path(url[len("file://"):] if url.lower().startswith("file://") else url).expanduser()
    if _scheme(url) != "file" or not path.is_file():
        return load_index(url, options)
    stamp = path.stat().st_mtime_ns
    memo = _MEMO.get(url)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    index = load_index(url, options)
    _MEMO[url] = (stamp, index)
    return index


def _read_meta(copy: Path) -> dict[str, Any]:
    sidecar = copy.with_name(copy.name + ".meta.json")
    if not copy.is_file() or not sidecar.is_file():
        return {}
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) and "sha256" in meta and "fetched" in meta else {}


def _fetch(url: str, resolved: str, copy: Path) -> Index:
    """Download the index at ``url``, check it, then replace the cached copy atomically."""
    import fsspec

    from .assets import storage_options

    target = _target(resolved)
    try:
        with fsspec.open(target, "rb", **_timeouts(_scheme(target),
                                                   storage_options(_scheme(target)))) as handle:
            raw = handle.read()
    except FileNotFoundError as error:
        raise AssetError(f"no registry index at {target!r}; check the URL in "
                         "NEUROALIGN_REGISTRY / config.json 'registries'") from error
    except Exception as error:  # noqa: BLE001 - network stacks raise many types; name the cause
        raise AssetError(f"cannot reach registry {url!r} ({type(error).__name__}: {error})") \
            from None
    index = _parse(raw, _target(url))  # never cache what fails the trust rules
    with atomic_path(copy) as tmp:
        tmp.write_bytes(raw)
    write_meta(copy, kind="registries", key=url, description=f"registry index {url}",
               url=url, sha256=hashlib.sha256(raw).hexdigest(), fetched=time.time())
    _MEMO[url] = (copy.stat().st_mtime_ns, index)
    return index


def _timeouts(scheme: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus short timeouts and no retry storms (config.json values win)."""
    options = dict(options)
    if scheme == "s3":
        config = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
                  "retries": {"max_attempts": 1}}
        options["config_kwargs"] = {**config, **options.get("config_kwargs", {})}
    elif scheme in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs", {}))
        client.setdefault("timeout", aiohttp.ClientTimeout(total=READ_TIMEOUT,
                                                           sock_connect=CONNECT_TIMEOUT))
        options["client_kwargs"] = client
    elif scheme in ("gs", "gcs"):
        options.setdefault("timeout", READ_TIMEOUT)
    return options


def _parse(raw: bytes, target: str) -> Index:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise AssetError(f"registry index {target!r} is not UTF-8 JSON text ({error})") from None
    return parse_index(data, target, remote=True)


def _cached(url: str, copy: Path, meta: dict[str, Any]) -> Index:
    stamp = copy.stat().st_mtime_ns
    memo = _MEMO.get(url)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    raw = copy.read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
        raise AssetError(f"the cached copy {str(copy)!r} of registry {url!r} does not match the "
                         "sha256 recorded when it was fetched (damaged or edited); run "
                         "'neuroalign registry refresh' to fetch it again")
    index = _parse(raw, _target(url))
    _MEMO[url] = (stamp, index)
    return index
