"""Local cache utilities shared by every cache of neuroalign (assets, activations, models...).

Every cached item lives under ``$NEUROALIGN_HOME/<kind>/`` (default ``~/.cache/neuroalign``)
with a JSON sidecar ``<item>.meta.json`` describing it; :func:`cache_entries` and
:func:`clear_cache` work on those sidecars (``neuroalign cache ls/clear``). Writes go through
:func:`atomic_path` and cross-process work through :func:`file_lock`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AssetError

__all__ = ["CacheEntry", "home", "cache_dir", "write_meta", "cache_entries", "clear_cache",
           "atomic_path", "file_lock", "sha256_file", "orphaned_temp_files"]

_CHUNK = 1 << 20
#: the temp names :func:`atomic_path` uses: ``.<name>.tmp-<pid>-<random>``
_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]+$")
#: kind shown by ``cache ls`` for temp files left by killed processes
ORPHAN_KIND = "orphaned"


def home() -> Path:
    """The cache root: ``$NEUROALIGN_HOME``, default ``~/.cache/neuroalign``."""
    return Path(os.environ.get("NEUROALIGN_HOME") or "~/.cache/neuroalign").expanduser()



@dataclass(frozen=True)
class CacheEntry:
    """One cached item: its kind, key, description, path and size in bytes."""

    kind: str
    key: str
    description: str
    path: Path
    size: int
    created: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sidecar(self) -> Path:
        return self.path.with_name(self.path.name + ".meta.json")


def cache_dir(kind: str) -> Path:
    """``$NEUROALIGN_HOME/<kind>``, created if needed."""
    path = home() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_meta(item: Path, *, kind: str, key: str, description: str = "", **extra: Any) -> Path:
    """Write the sidecar ``<item>.meta.json`` (atomically) and return its path."""
    item = Path(item)
    size = _size(item)
    meta = {"kind": kind, "key": key, "description": description, "size": size,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
    sidecar = item.with_name(item.name + ".meta.json")
    with atomic_path(sidecar) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
    return sidecar


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: never treat as orphaned
    return True


def orphaned_temp_files(kind: str | None = None) -> list[CacheEntry]:
    """Temp files/directories (``.<name>.tmp-<pid>-<random>``) whose process is gone.

    A download or cache write killed before its rename leaves one behind; a temp file of a
    process that is still running (on this host) is never listed. Each is returned as a
    :class:`CacheEntry` of the kind it was found under, with ``meta["orphaned"] = True``.
    """
    root = home()
    if not root.is_dir():
        return []
    kinds = [kind] if kind else sorted(p.name for p in root.glob("*") if p.is_dir())
    found = []
    for name in kinds:
        for path in sorted((root / name).rglob(".*.tmp-*")):
            match = _TEMP.match(path.name)
            if match is None or _pid_alive(int(match["pid"])):
                continue
            if any(_TEMP.match(parent.name) for parent in path.relative_to(root).parents
                   if parent.name):
                continue  # inside an orphaned temp directory: listed with it
            try:
                created = time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                        time.localtime(path.stat().st_mtime))
            except OSError:
                continue
            found.append(CacheEntry(
                kind=name, key=str(path.relative_to(root)),
                description=f"orphaned temp file of {match['name']} (process {match['pid']} is "
                            "gone)", path=path, size=_size(path), created=created,
                meta={"orphaned": True, "pid": int(match["pid"])},
            ))
    return found


def cache_entries(kind: str | None = None) -> list[CacheEntry]:
    """Every cached item with a sidecar, optionally of one ``kind``, sorted by kind and key.

    Temp files left by killed processes (:func:`orphaned_temp_files`) are listed too, so
    ``neuroalign cache ls`` shows them and ``neuroalign cache clear`` removes them.
    """
    root = home()
    kinds = [kind] if kind else sorted(p.name for p in root.glob("*") if p.is_dir())
    entries = orphaned_temp_files(kind)
    for name in kinds:
        for sidecar in sorted((root / name).rglob("*.meta.json")):
            item = sidecar.with_name(sidecar.name[: -len(".meta.json")])
            if _TEMP.match(sidecar.name[: -len(".meta.json")]) or _TEMP.match(sidecar.name):
                continue  # a sidecar being written (or left by a killed write)
            try:
                meta = json.loads(sidecar.read_text())
            except (OSError, ValueError):
                meta = {"description": "unreadable sidecar"}
            if not isinstance(meta, dict):
                meta = {"description": "unreadable sidecar"}
            entries.append(CacheEntry(
                kind=name, key=str(meta.get("key", item.name)),
                description=str(meta.get("description", "")), path=item,
                size=_size(item) if item.exists() else 0,
                created=str(meta.get("created", "")), meta=meta,
            ))
    return sorted(entries, key=lambda e: (e.kind, e.key, str(e.path)))


def clear_cache(kind: str | None = None, pattern: str = "*") -> list[CacheEntry]:
    """Delete cached items whose key or description matches ``pattern`` (fnmatch, any case).

    Returns the entries removed. Empty directories left behind are pruned.
    """
    removed = []
    pattern = pattern.lower()
    for entry in cache_entries(kind):
        if not (fnmatch.fnmatchcase(entry.key.lower(), pattern)
                or fnmatch.fnmatchcase(entry.description.lower(), pattern)):
            continue
        if entry.path.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            entry.path.unlink(missing_ok=True)
        if not entry.meta.get("orphaned"):
            entry.sidecar.unlink(missing_ok=True)
        removed.append(entry)
        root, parent = home() / entry.kind, entry.path.parent
        while parent != root and root in parent.parents:
            leftovers = [p for p in parent.iterdir() if not p.name.endswith(".lock")]
            if leftovers:
                break
            shutil.rmtree(parent, ignore_errors=True)
            parent = parent.parent
    return removed


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path next to ``dest``; rename it to ``dest`` on success, remove it on failure.

    The temp name (``.<name>.tmp-<pid>-<random>``) never looks like the final file, so readers
    only ever see a complete ``dest``. Works for files and directories.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if not tmp.exists():
            raise AssetError(f"nothing was written to the temp path {str(tmp)!r} for {str(dest)!r}")
        if tmp.is_dir() and dest.is_dir():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[None]:
    """Hold an inter-process lock on ``<path>.lock`` (wait up to ``timeout`` s; None = forever)."""
    from filelock import FileLock, Timeout

    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock_path), timeout=-1 if timeout is None else timeout):
            yield
    except Timeout as error:
        raise AssetError(
            f"timed out after {timeout} s waiting for the lock {str(lock_path)!r}; another "
            "process is using it: wait for it, or delete the lock file if that process is gone"
        ) from error


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
