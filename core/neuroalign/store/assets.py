"""The asset store: where dataset files come from and how they land, verified, on disk.

The data path of one asset (an :class:`~neuroalign.interfaces.AssetSpec`)::

    store override   NEUROALIGN_STORE's index.json may replace a dataset's assets (assets_for)
    mirror rewrite   NEUROALIGN_MIRROR / config.json "mirrors" rewrite a URL prefix (resolve_url)
    local in place   file:// (or a plain path) is used where it is; verified if it has a hash
    cache hit        $NEUROALIGN_HOME/assets/<sha256>/<name> (or assets/sha1-<sha1>/<name> for
                     an asset pinned only by sha1) exists and is verified -> returned, no network
    offline          NEUROALIGN_OFFLINE=1 and not cached -> OfflineError (nothing is contacted)
    download         under a file lock, fsspec copies the URL (the pinned S3 object version if
                     the asset has a ``version_id``) to a temp file next to the target, then its
                     size and sha256 (or sha1) are checked and only then is it renamed into place

Cache hits are verified, never trusted by size: the sidecar records the size, mtime and inode
of the file as it was when last hashed (``verified``); a hit whose stat differs (or every hit,
with ``NEUROALIGN_VERIFY=always``) is hashed again against every pin (sha256 and/or sha1). A file
that fails is moved aside (``<name>.corrupt-<sha[:12]>``) and
:class:`~neuroalign.errors.ChecksumMismatchError` names the file, the expected and found hashes
and the fix; a file a user copied into the cache is hashed on first use and recorded.

The sidecar records the sha256 of every download (computed on arrival when the asset is
pinned only by a sha1, as Brain-Score's are) and the sha1 / version id where given. A bad
checksum moves the download aside (``<name>.corrupt-<sha[:12]>``) and raises
:class:`~neuroalign.errors.ChecksumMismatchError`; any other failure removes the temp file, so a
file at the cached path is always complete and verified. Public S3/GCS buckets are read
anonymously unless ``config.json`` says otherwise. Files are opened with explicit xarray engines
(:func:`open_netcdf`); nothing read from a store is ever unpickled.

Every cached item of any kind (assets, activations, ...) lives under ``$NEUROALIGN_HOME/<kind>/``
with a JSON sidecar ``<item>.meta.json`` (see :mod:`neuroalign.cache`, re-exported here);
``neuroalign cache ls/clear`` works on those sidecars.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import (
    CacheEntry,
    atomic_path,
    cache_dir,
    cache_entries,
    clear_cache,
    file_lock,
    home,
    sha256_file,
    write_meta,
)
from ..errors import AssetError, ChecksumMismatchError, OfflineError
from ..specs import LOCAL_SCHEMES, REMOTE_SCHEMES, AssetSpec, DatasetSpec

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from .index import Index

__all__ = [
    "ALLOWED_SCHEMES", "CacheEntry", "home", "is_offline", "load_config", "mirrors",
    "resolve_url", "storage_options", "cache_path", "fetch", "fetch_dataset", "assets_for",
    "active_store", "open_netcdf", "cache_dir", "write_meta", "cache_entries", "clear_cache",
    "atomic_path", "file_lock", "sha256_file", "data_sha256", "verify_mode",
]

ALLOWED_SCHEMES: tuple[str, ...] = LOCAL_SCHEMES + REMOTE_SCHEMES
NETCDF_ENGINES: tuple[str, ...] = ("netcdf4", "h5netcdf")
_TRUE = {"1", "true", "yes", "on"}
_CHUNK = 1 << 20
#: (path, size, mtime_ns, inode, algorithm) -> digest: in-place local files hashed once per process
_VERIFIED: dict[tuple[str, int, int, int, str], str] = {}
VERIFY_MODES = ("changed", "always")
_STORE_MEMO: dict[str, Index] = {}


# ------------------------------------------------------------------------------- configuration


def verify_mode() -> str:
    """``NEUROALIGN_VERIFY``: ``changed`` (default: re-hash a cached file when its size, mtime or
    inode changed since it was last verified) or ``always`` (re-hash on every use)."""
    mode = os.environ.get("NEUROALIGN_VERIFY", "").strip().lower() or "changed"
    if mode not in VERIFY_MODES:
        raise AssetError(f"NEUROALIGN_VERIFY={mode!r} is not one of {list(VERIFY_MODES)}; "
                         "unset it or set it to 'always'")
    return mode


def is_offline() -> bool:
    """Whether ``NEUROALIGN_OFFLINE`` is set to 1/true/yes/on."""
    return os.environ.get("NEUROALIGN_OFFLINE", "").strip().lower() in _TRUE


def load_config() -> dict[str, Any]:
    """``$NEUROALIGN_HOME/config.json`` as a dict (empty when the file does not exist)."""
    path = home() / "config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise AssetError(f"cannot read config file {str(path)!r}: {error}; fix or delete it") \
            from error
    if not isinstance(data, dict):
        raise AssetError(f"config file {str(path)!r} must hold a JSON object, "
                         f"found {type(data).__name__}; fix or delete it")
    return data


def _parse_mirrors(text: str, origin: str) -> list[tuple[str, str]]:
    pairs = []
    for entry in text.replace("\n", ";").split(";"):
        if not entry.strip():
            continue
        prefix, sep, replacement = entry.strip().partition("=")
        if not sep or not prefix.strip():
            raise AssetError(
                f"{origin}: mirror entry {entry.strip()!r} is not 'prefix=replacement'; write "
                "e.g. NEUROALIGN_MIRROR='https://example.org/data/=file:///mnt/mirror/' "
                "(';' between pairs)"
            )
        pairs.append((prefix.strip(), replacement.strip()))
    return pairs


def mirrors() -> list[tuple[str, str]]:
    """Mirror rules ``(prefix, replacement)``: ``NEUROALIGN_MIRROR`` first, then config.json."""
    rules = _parse_mirrors(os.environ.get("NEUROALIGN_MIRROR", ""), "NEUROALIGN_MIRROR")
    configured = load_config().get("mirrors", {})
    if isinstance(configured, dict):
        rules += [(str(k), str(v)) for k, v in configured.items()]
    elif isinstance(configured, str):
        rules += _parse_mirrors(configured, "config.json 'mirrors'")
    else:
        rules += _parse_mirrors(";".join(map(str, configured)), "config.json 'mirrors'")
    return rules


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def resolve_url(url: str) -> str:
    """Apply the longest matching mirror prefix to ``url`` and check its scheme.

    Parameters
    ----------
    url : str
        An asset URL (``https://``, ``s3://``, ``gs://``, ``gcs://``, ``memory://``, ``file://``
        or a plain local path).

    Returns
    -------
    str
        The URL to read from.

    Raises
    ------
    AssetError
        If the (rewritten) URL's scheme is not one of :data:`ALLOWED_SCHEMES`.
    """
    matching = [(p, r) for p, r in mirrors() if url.startswith(p)]
    resolved = url
    if matching:  # stable sort: for equal prefixes the env var wins over config.json
        prefix, replacement = sorted(matching, key=lambda pr: -len(pr[0]))[0]
        resolved = replacement + url[len(prefix):]
    scheme = _scheme(resolved)
    if scheme not in ALLOWED_SCHEMES:
        via = f" (mirror rewrite of {url!r})" if resolved != url else ""
        raise AssetError(
            f"unsupported URL scheme {scheme!r} in {resolved!r}{via}; "
            f"allowed schemes are {list(ALLOWED_SCHEMES)}"
        )
    return resolved


def storage_options(scheme: str) -> dict[str, Any]:
    """fsspec options for ``scheme``: anonymous S3/GCS, ``NEUROALIGN_S3_ENDPOINT_URL``, config.

    ``config.json`` ``{"storage_options": {"s3": {"anon": false}}}`` overrides the defaults
    (``gs`` and ``gcs`` share one entry each way).
    """
    scheme = scheme.lower()
    options: dict[str, Any] = {}
    if scheme == "s3":
        options["anon"] = True
        endpoint = os.environ.get("NEUROALIGN_S3_ENDPOINT_URL")
        if endpoint:
            options["endpoint_url"] = endpoint
    elif scheme in ("gs", "gcs"):
        options["token"] = "anon"
    configured = load_config().get("storage_options", {})
    for key in ({"gs": ("gcs", "gs"), "gcs": ("gs", "gcs")}.get(scheme, (scheme,))):
        options.update(configured.get(key, {}))
    return options


def _local_path(url: str) -> Path:
    return Path(url[len("file://"):] if url.lower().startswith("file://") else url).expanduser()


# -------------------------------------------------------------------------------------- fetch


def cache_path(asset: AssetSpec) -> Path:
    """Where ``asset`` is (or would be) cached: ``assets/<sha256>/<file name>``.

    Content-addressed, so a mirror or a store serving the same bytes shares one copy. An asset
    pinned only by a sha1 is cached under ``assets/sha1-<sha1>/``; assets without any hash (only
    local schemes allow that) are keyed by a hash of their URL.
    """
    name = asset.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or asset.name
    if asset.sha256:
        key = asset.sha256
    elif asset.sha1:
        key = f"sha1-{asset.sha1}"
    else:
        key = "url-" + hashlib.sha256(asset.url.encode()).hexdigest()[:16]
    return home() / "assets" / key / name


def _pins(asset: AssetSpec) -> dict[str, str]:
    """The hashes ``asset`` promises, ``{algorithm: hex}``, sha256 (preferred) first."""
    return {algorithm: digest for algorithm, digest in (("sha256", asset.sha256),
                                                        ("sha1", asset.sha1)) if digest}


def _pin_text(asset: AssetSpec) -> str:
    return ", ".join(f"{algorithm} {digest}" for algorithm, digest in _pins(asset).items()) \
        or "no checksum"


def _hash_file(path: Path, algorithms: list[str]) -> dict[str, str]:
    """Hex digests of ``path`` for each of ``algorithms``, in one read."""
    digests = {algorithm: hashlib.new(algorithm) for algorithm in algorithms}
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            for digest in digests.values():
                digest.update(chunk)
    return {algorithm: digest.hexdigest() for algorithm, digest in digests.items()}


def fetch(
    asset: AssetSpec, *, progress: bool | None = None, dataset: str | None = None
) -> Path:
    """Return a local, verified path for ``asset``, downloading it into the cache if needed.

    Parameters
    ----------
    asset : AssetSpec
        The asset; its URL goes through :func:`resolve_url` (mirrors).
    progress : bool or None
        Show a rich progress bar: True forces it, False never, None shows it when stderr is a
        terminal (``NEUROALIGN_PROGRESS=0/1`` overrides the auto choice).
    dataset : str, optional
        Dataset id, only used to make messages precise (``neuroalign fetch DATASET``).

    Returns
    -------
    pathlib.Path
        ``file://`` assets: the file itself. Others: the cached copy (see :func:`cache_path`).

    Raises
    ------
    OfflineError
        ``NEUROALIGN_OFFLINE=1`` and a remote asset is not cached.
    ChecksumMismatchError
        The bytes do not have the promised sha256 or sha1 (a download is moved aside first).
    AssetError
        The URL cannot be read (not found, server error, connection refused, truncated).
    """
    verify_mode()  # a wrong NEUROALIGN_VERIFY is an error before anything is read
    url = resolve_url(asset.url)
    scheme = _scheme(url)
    if scheme == "file":
        return _use_local(asset, url)
    dest = cache_path(asset)
    pinned = bool(_pins(asset))
    if pinned and _verified_hit(dest, asset, url) is not None:
        return dest
    if is_offline() and scheme in REMOTE_SCHEMES:
        how = f"neuroalign fetch {dataset}" if dataset else "neuroalign fetch DATASET"
        raise OfflineError(
            f"asset {asset.name!r} ({asset.url}) is not in the cache and NEUROALIGN_OFFLINE=1 "
            f"forbids downloading it. It would be cached at {str(dest)!r}. Fix: run '{how}' on "
            f"a machine with network access and copy its {str(home() / 'assets')!r} here, or "
            f"copy the file to that path ({_pin_text(asset)}), or unset NEUROALIGN_OFFLINE"
        )
    with file_lock(dest):
        if pinned and _verified_hit(dest, asset, url) is not None:
            return dest  # another process downloaded it while we waited for the lock
        for stale in dest.parent.glob(f".{dest.name}.tmp-*"):  # left by a killed process
            stale.unlink(missing_ok=True)
        with atomic_path(dest) as tmp:
            version = _download(asset, url, scheme, tmp, dest, _want_progress(progress))
            digests = _verify(asset, url, tmp, dest)
        extra = {"version_id": version} if version else {}
        write_meta(dest, kind="assets", key=asset.url, description=f"{asset.name} ({asset.format})",
                   url=url, name=asset.name, verified=_stat_record(dest), **digests, **extra)
    return dest


def _stat_record(path: Path) -> dict[str, int]:
    """What identifies the bytes of ``path`` as last hashed: size, mtime (ns), inode, device."""
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino,
            "device": stat.st_dev}


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _verified_hit(dest: Path, asset: AssetSpec, url: str) -> str | None:
    """The sha256 of the cached copy ``dest`` of ``asset`` once verified; None if absent.

    Cheap when the file's size, mtime and inode still match the sidecar's ``verified`` record
    (and ``NEUROALIGN_VERIFY`` is not ``always``); otherwise the file is hashed against every
    pin. A file that fails is moved aside and :class:`ChecksumMismatchError` raised.
    """
    if not dest.is_file():
        return None
    pins = _pins(asset)
    meta = _read_meta(dest)
    if (verify_mode() != "always" and meta.get("verified") == _stat_record(dest)
            and isinstance(meta.get("sha256"), str)
            and all(meta.get(algorithm) == digest for algorithm, digest in pins.items())):
        return str(meta["sha256"])
    with file_lock(dest):
        if not dest.is_file():  # moved aside by another process meanwhile
            return None
        size = dest.stat().st_size
        actual = _hash_file(dest, ["sha256", *(a for a in pins if a != "sha256")])
        for algorithm, expected in pins.items():
            if actual[algorithm] != expected:
                _quarantine(dest, asset, url, actual, algorithm, expected, where="cached copy")
        if asset.size is not None and size != asset.size:
            _quarantine(dest, asset, url, actual, "size", str(asset.size), where="cached copy",
                        found=str(size))
        keep = {k: v for k, v in meta.items() if k not in ("kind", "key", "description", "size",
                                                             "created", "verified", *actual)}
        keep.setdefault("url", url)
        keep.setdefault("name", asset.name)
        write_meta(dest, kind="assets", key=asset.url,
                   description=f"{asset.name} ({asset.format})", **keep, **actual,
                   verified=_stat_record(dest))
    return actual["sha256"]


def _quarantine(path: Path, asset: AssetSpec, url: str, actual: dict[str, str], algorithm: str,
                expected: str, *, where: str, found: str | None = None) -> None:
    """Move a file that failed verification aside and raise :class:`ChecksumMismatchError`."""
    got = found if found is not None else actual[algorithm]
    digest = actual.get(algorithm, actual["sha256"])
    aside = path.with_name(f"{path.name}.corrupt-{digest[:12]}")
    os.replace(path, aside)
    path.with_name(path.name + ".meta.json").unlink(missing_ok=True)
    write_meta(aside, kind="assets", key=asset.url,
               description=f"corrupt {where} of {asset.name}", url=url, **actual,
               **{f"expected_{algorithm}": expected}, corrupt=True)
    what = "bytes" if algorithm == "size" else algorithm
    raise ChecksumMismatchError(
        f"the {where} {str(path)!r} of asset {asset.name!r} ({asset.url}) failed verification: "
        f"expected {what} {expected}, found {got} (its sha256 is {actual['sha256']}). It was "
        f"moved aside to {str(aside)!r}. Fix: run the command again to download a fresh copy "
        f"(offline: copy the right file to {str(path)!r}; it must have {_pin_text(asset)}); if "
        "the source changed, update the dataset's hash (or its store index). 'neuroalign cache "
        "clear' removes the bad copy"
    )


def _use_local(asset: AssetSpec, url: str) -> Path:
    path = _local_path(url)
    if not path.is_file():
        raise AssetError(
            f"asset {asset.name!r}: local file {str(path)!r} (from {asset.url!r}) does not exist; "
            "check the path, NEUROALIGN_MIRROR and NEUROALIGN_STORE"
        )
    stat = path.stat()
    if asset.size is not None and stat.st_size != asset.size:
        raise AssetError(
            f"asset {asset.name!r}: {str(path)!r} has {stat.st_size} bytes, expected {asset.size}; "
            "the file is incomplete or a different version: replace it"
        )
    always = verify_mode() == "always"
    for algorithm, expected in _pins(asset).items():
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, algorithm)
        actual = (None if always else _VERIFIED.get(key)) or _hash_file(path, [algorithm])[algorithm]
        if actual != expected:
            raise ChecksumMismatchError(
                f"checksum mismatch for {url!r}: expected {algorithm} {expected}, got {actual}. "
                f"The local file was left in place; replace it with the right version or fix "
                f"the {algorithm}"
            )
        _VERIFIED[key] = actual
    return path


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    forced = os.environ.get("NEUROALIGN_PROGRESS", "").strip().lower()
    if forced:
        return forced in _TRUE
    return sys.stderr.isatty()


def _download(
    asset: AssetSpec, url: str, scheme: str, tmp: Path, dest: Path, progress: bool
) -> str | None:
    """Copy ``url`` to ``tmp``; return the S3 object version read, if one was pinned.

    ``asset.version_id`` is honoured when the URL is the asset's own ``s3://`` URL; a mirror
    rewrite points elsewhere (whose versions differ), so there the hash alone guards the bytes.
    """
    import fsspec

    options = storage_options(scheme)
    get_options: dict[str, Any] = {}
    version = asset.version_id if scheme == "s3" and url == asset.url else None
    if version:
        options["version_aware"] = True
        get_options["version_id"] = version
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as error:
        package = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}.get(scheme, "aiohttp")
        raise AssetError(
            f"reading {url!r} needs the package {package!r}: pip install {package}"
        ) from error
    try:
        with _progress_bar(f"fetching {asset.name}", asset.size, progress) as callback:
            fs.get_file(path, str(tmp), callback=callback, **get_options)
    except Exception as error:
        at = f" (object version {version})" if version else ""
        raise AssetError(
            f"cannot download asset {asset.name!r} from {url!r}{at}: {_describe(error, scheme)}. "
            f"Check the URL (or point NEUROALIGN_MIRROR at a reachable copy) and retry; without "
            f"network, copy the file to {str(dest)!r}"
        ) from error
    return version


def _describe(error: Exception, scheme: str) -> str:
    status = getattr(error, "status", None)
    if isinstance(error, FileNotFoundError):
        return "HTTP 404 Not Found" if scheme.startswith("http") else f"no such object ({error})"
    if status is not None:
        return f"HTTP {status} {getattr(error, 'message', '')}".rstrip()
    if "payload" in type(error).__name__.lower() or "ContentLength" in str(error):
        return f"the connection closed before the whole file arrived (truncated: {error})"
    if isinstance(error, (ConnectionError, OSError)) or "connect" in type(error).__name__.lower():
        return f"connection failed ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"


def _verify(asset: AssetSpec, url: str, tmp: Path, dest: Path) -> dict[str, str]:
    """Check size and every promised hash of ``tmp``; return its digests (sha256 always)."""
    size = tmp.stat().st_size
    if asset.size is not None and size != asset.size:
        raise AssetError(
            f"download of {url!r} is incomplete: got {size} bytes, expected {asset.size}; "
            "the partial file was deleted, retry the fetch"
        )
    pins = _pins(asset)
    actual = _hash_file(tmp, ["sha256", *(a for a in pins if a != "sha256")])
    for algorithm, expected in pins.items():
        if actual[algorithm] != expected:
            aside = dest.with_name(f"{dest.name}.corrupt-{actual[algorithm][:12]}")
            os.replace(tmp, aside)
            write_meta(aside, kind="assets", key=asset.url,
                       description=f"corrupt download of {asset.name}", url=url, **actual,
                       **{f"expected_{algorithm}": expected}, corrupt=True)
            raise ChecksumMismatchError(
                f"checksum mismatch for {url!r}: expected {algorithm} {expected}, got "
                f"{actual[algorithm]}. The download was moved aside to {str(aside)!r}. Fix: if "
                f"the source changed, update the dataset's {algorithm} (or its store index); "
                "otherwise retry, or fetch from a mirror (NEUROALIGN_MIRROR). 'neuroalign cache "
                "clear' removes the bad copy"
            )
    return actual


@contextlib.contextmanager
def _progress_bar(label: str, total: int | None, enabled: bool) -> Iterator[Any]:
    """Yield an fsspec callback that drives a rich progress bar on stderr (a no-op if disabled)."""
    from fsspec.callbacks import Callback, NoOpCallback

    if not enabled:
        yield NoOpCallback()
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)

        class _RichCallback(Callback):
            def call(self, *args: Any, **kwargs: Any) -> None:
                bar.update(task, total=self.size or total, completed=self.value)

        yield _RichCallback(size=total)


def data_sha256(asset: AssetSpec, *, dataset: str | None = None) -> str:
    """The sha256 of the bytes :func:`fetch` yields for ``asset`` (what a Score is computed on).

    An asset pinned by sha256 needs no I/O: every read of it is verified against that pin. An
    asset pinned only by sha1 is identified by the sha256 of its verified cached copy (fetched
    first when not cached); an unpinned local file is hashed (once per size/mtime/inode).

    Raises
    ------
    OfflineError, AssetError, ChecksumMismatchError
        As :func:`fetch`.
    """
    if asset.sha256:
        return asset.sha256
    url = resolve_url(asset.url)
    if _scheme(url) == "file":
        path = _use_local(asset, url)
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, "sha256")
        if verify_mode() == "always" or key not in _VERIFIED:
            _VERIFIED[key] = _hash_file(path, ["sha256"])["sha256"]
        return _VERIFIED[key]
    dest = cache_path(asset)
    found = _verified_hit(dest, asset, url) if _pins(asset) else None
    if found is None:
        fetch(asset, dataset=dataset)
        found = _verified_hit(dest, asset, url)
    if found is None:  # pragma: no cover - fetch either leaves a verified file or raises
        raise AssetError(f"asset {asset.name!r}: no verified copy at {str(dest)!r} after fetching")
    return found


def fetch_dataset(spec: DatasetSpec, *, progress: bool | None = None) -> dict[str, Path]:
    """Fetch every asset of a dataset (store override applied): ``{asset name: local path}``."""
    return {name: fetch(asset, progress=progress, dataset=spec.id)
            for name, asset in assets_for(spec).items()}


# ------------------------------------------------------------------------------------- stores


def active_store() -> str | None:
    """The store URL from ``NEUROALIGN_STORE`` (or config.json ``"store"``), if any."""
    url = os.environ.get("NEUROALIGN_STORE") or load_config().get("store")
    if not url:
        return None
    if "://" not in url:  # a plain path: absolute, so relative asset URLs resolve against it
        url = str(Path(url).expanduser().resolve())
    return url


def _store_hint(store: str, error: Exception) -> str:
    """The error of a store without an index, naming a store found one level down (a demo output
    folder holds its store in ``store/``)."""
    if "://" not in store or store.startswith("file://"):
        folder = Path(store.removeprefix("file://"))
        if folder.is_dir() and not (folder / "index.json").is_file():
            below = sorted(p.parent for p in folder.glob("*/index.json"))
            if below:
                names = " or ".join(f"NEUROALIGN_STORE={p}" for p in below)
                return (f"{folder} holds no store index (index.json), but {below[0].name}/ in it "
                        f"does: set {names}")
            return (f"{folder} holds no store index (index.json); point NEUROALIGN_STORE at the "
                    "folder that has one (neuroalign demo builds one in <output>/store), or unset "
                    "NEUROALIGN_STORE")
    return f"{error}; or unset NEUROALIGN_STORE"


def _store_index(store: str) -> Index:
    from .index import load_index

    url = resolve_url(store)
    scheme = _scheme(url)
    if scheme in REMOTE_SCHEMES and store in _STORE_MEMO:
        return _STORE_MEMO[store]
    # a remote index is kept under stores/ so the store still works offline
    copy = home() / "stores" / hashlib.sha256(store.encode()).hexdigest()[:16] / "index.json"
    if scheme in REMOTE_SCHEMES and is_offline():
        if not copy.is_file():
            raise OfflineError(
                f"NEUROALIGN_STORE={store!r} is remote, NEUROALIGN_OFFLINE=1 and no copy of its "
                f"index is cached at {str(copy)!r}; run any fetch once with network, or unset "
                "NEUROALIGN_STORE"
            )
        index = _parse_copy(copy, store)
    else:
        try:
            index = load_index(url, storage_options(scheme))
        except AssetError as error:
            raise AssetError(f"NEUROALIGN_STORE={store!r}: {_store_hint(store, error)}") \
                from error
        if scheme not in REMOTE_SCHEMES:
            return index
        with atomic_path(copy) as tmp:
            tmp.write_text(index.to_json())  # relative URLs are already resolved
        write_meta(copy, kind="stores", key=store, description=f"index of store {store}")
    _STORE_MEMO[store] = index
    return index


def _parse_copy(copy: Path, store: str) -> Index:
    from pydantic import ValidationError

    from .index import Index, describe_validation_error

    try:
        return Index.model_validate_json(copy.read_text())
    except (OSError, ValueError) as error:
        detail = (describe_validation_error(error) if isinstance(error, ValidationError)
                  else str(error))
        raise AssetError(
            f"the cached copy {str(copy)!r} of the index of NEUROALIGN_STORE={store!r} is "
            f"damaged ({detail}); delete it and fetch once with network") from error


def assets_for(spec: DatasetSpec) -> dict[str, AssetSpec]:
    """The assets to fetch for ``spec``: from the active store when it lists the dataset.

    Parameters
    ----------
    spec : DatasetSpec
        The dataset.

    Returns
    -------
    dict of str to AssetSpec
        Asset name -> asset. When ``NEUROALIGN_STORE`` is set and its index lists ``spec.id``
        at ``spec.version``, the store's assets; otherwise the spec's own.

    Raises
    ------
    AssetError
        The store lists the dataset but lacks some of the spec's asset names or adds names the
        spec does not declare, lists it only at other versions, or its index cannot be read.
    """
    own = {asset.name: asset for asset in spec.assets}
    store = active_store()
    if store is None:
        return own
    index = _store_index(store)
    entry = index.dataset(spec.id, spec.version)
    if entry is None:
        versions = sorted({d.version for d in index.datasets if d.id == spec.id})
        if versions:  # never fall back silently to the spec's (e.g. the real remote) data
            raise AssetError(
                f"store {store!r} lists dataset {spec.id!r} at version(s) {versions}, but the "
                f"installed plugin has version {spec.version}; rebuild the store for this version "
                "(e.g. neuroalign demo), install the plugin version the store was built for, or "
                "unset NEUROALIGN_STORE to use the dataset's own source"
            )
        return own
    listed = {asset.name: asset for asset in entry.assets}
    missing = sorted(set(own) - set(listed))
    extra = sorted(set(listed) - set(own))
    if missing or extra:
        problem = (f"without the asset(s) {missing}" if missing else "") + (
            " and " if missing and extra else "") + (
            f"with asset(s) {extra} the dataset does not declare" if extra else "")
        raise AssetError(
            f"store {store!r} lists dataset {spec.id!r} version {spec.version} {problem} (the "
            f"store has {sorted(listed)}, the dataset declares {sorted(own)}); rebuild the "
            "store's index.json or unset NEUROALIGN_STORE"
        )
    return listed


# ------------------------------------------------------------------------------------ opening


def open_netcdf(
    path: str | os.PathLike[str] | AssetSpec, *, engine: str = "netcdf4", group: str | None = None
) -> xr.Dataset:
    """Open a netCDF file fully into memory with an explicit engine and close it.

    Parameters
    ----------
    path : path-like or AssetSpec
        A local file, or an asset (fetched first).
    engine : {"netcdf4", "h5netcdf"}
        The xarray backend; never guessed.
    group : str, optional
        netCDF4 group to read.

    Returns
    -------
    xarray.Dataset
        Loaded in memory; no file handle stays open.
    """
    import xarray as xr

    if engine not in NETCDF_ENGINES:
        raise AssetError(f"unknown netCDF engine {engine!r}; use one of {list(NETCDF_ENGINES)}")
    if isinstance(path, AssetSpec):
        path = fetch(path)
    try:
        with xr.open_dataset(path, engine=engine, group=group) as dataset:
            return dataset.load()
    except (OSError, ValueError) as error:
        raise AssetError(
            f"cannot open {str(path)!r} as netCDF with engine {engine!r}: {error}; is it a netCDF4 "
            "file (and is the engine's package installed)?"
        ) from error
