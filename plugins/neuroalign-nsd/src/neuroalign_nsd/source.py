"""Reading raw NSD files from any fsspec URL through the core store's rules.

The source is the root of an NSD tree: the public bucket ``s3://natural-scenes-dataset``
(read anonymously), a mirror, or a local copy (a path, ``file://`` or ``memory://``). Every file
URL goes through the core store's mirror rewrite (``NEUROALIGN_MIRROR``), its storage options
(anonymous S3, ``NEUROALIGN_S3_ENDPOINT_URL``, ``config.json``) and offline rule
(``NEUROALIGN_OFFLINE=1`` never touches the network). Raw NSD publishes no checksums, so files are
not verified against pins; the sha256 of every file read whole is recorded in the outputs'
provenance instead.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuroalign.errors import AssetError, OfflineError

__all__ = ["Source", "AGREEMENT"]

AGREEMENT = ("NSD's terms ask every user to accept the NSD Data Access Agreement "
             "(https://naturalscenesdataset.org) before using the data.")
_CHUNK = 8 << 20
_REMOTE = ("http", "https", "s3", "gs", "gcs")


class Source:
    """An NSD tree at ``root`` (any fsspec URL or local path).

    Parameters
    ----------
    root : str
        ``s3://natural-scenes-dataset``, a mirror URL, or a local directory.
    """

    def __init__(self, root: str):
        root = str(root).rstrip("/")
        if not root:
            raise AssetError("the NSD source is empty; give e.g. s3://natural-scenes-dataset")
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.root = root

    def __repr__(self) -> str:
        return f"Source({self.root!r})"

    def url(self, key: str) -> str:
        """The URL of ``key`` after the store's mirror rewrite."""
        from neuroalign.store import resolve_url

        return resolve_url(f"{self.root}/{key}")

    def _fs(self, url: str) -> tuple[Any, str]:
        import fsspec

        from neuroalign.store import is_offline, storage_options

        scheme = url.split("://", 1)[0].lower() if "://" in url else "file"
        if scheme in _REMOTE and is_offline():
            raise OfflineError(f"{url} is remote and NEUROALIGN_OFFLINE=1 forbids reading it; "
                               "unset NEUROALIGN_OFFLINE, or point --source at a local copy "
                               "of the NSD tree")
        options = storage_options(scheme) if scheme in _REMOTE else {}
        return fsspec.core.url_to_fs(url, **options)

    def _fail(self, key: str, url: str, error: Exception) -> AssetError:
        if isinstance(error, FileNotFoundError):
            return AssetError(f"NSD file {key!r} not found at {url}; check --source (the root "
                              f"of an NSD tree, e.g. s3://natural-scenes-dataset) and "
                              f"NEUROALIGN_MIRROR. {AGREEMENT}")
        return AssetError(f"cannot read NSD file {key!r} from {url}: {type(error).__name__}: "
                          f"{error}")

    def read_bytes(self, key: str) -> bytes:
        """The whole content of ``key`` (small files: design, ROI volumes, colour tables)."""
        url = self.url(key)
        fs, path = self._fs(url)
        try:
            return fs.cat_file(path)
        except (OfflineError, AssetError):
            raise
        except Exception as error:  # fsspec back ends raise many types
            raise self._fail(key, url, error) from error

    def size(self, key: str) -> int:
        """Bytes of ``key``."""
        url = self.url(key)
        fs, path = self._fs(url)
        try:
            return int(fs.size(path))
        except Exception as error:
            raise self._fail(key, url, error) from error

    def open(self, key: str, *, block_size: int = 1 << 16) -> Any:
        """A read-only file object on ``key`` doing ranged reads (big files: the image brick)."""
        url = self.url(key)
        fs, path = self._fs(url)
        try:
            if url.split("://", 1)[0].lower() in _REMOTE:
                # small read-ahead: h5py asks for metadata in tiny pieces, images whole
                return fs.open(path, "rb", block_size=block_size, cache_type="readahead")
            return fs.open(path, "rb")
        except Exception as error:
            raise self._fail(key, url, error) from error

    def download(self, key: str, dest: Path,
                 progress: Callable[[int, int | None], None] | None = None) -> str:
        """Copy ``key`` to ``dest`` atomically (never a partial file at ``dest``); its sha256."""
        from neuroalign.store import atomic_path

        url = self.url(key)
        fs, path = self._fs(url)
        digest = hashlib.sha256()
        try:
            total = int(fs.size(path))
        except Exception as error:
            raise self._fail(key, url, error) from error
        done = 0
        with atomic_path(dest) as tmp:
            try:
                with fs.open(path, "rb", block_size=_CHUNK) as remote, open(tmp, "wb") as local:
                    for chunk in iter(lambda: remote.read(_CHUNK), b""):
                        local.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            except Exception as error:
                raise self._fail(key, url, error) from error
            if done != total:
                raise AssetError(f"NSD file {key!r} from {url}: read {done} bytes, expected "
                                 f"{total}; the transfer was cut off, run prepare again")
        return digest.hexdigest()


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    """``(function(), seconds)``."""
    start = time.perf_counter()
    return function(), time.perf_counter() - start
