"""The asset store: fsspec URLs -> verified local files, the local cache, and the index format.

- :mod:`.assets`: fetch an asset (mirrors, sha256/sha1 verified, atomic, locked, offline mode),
  the active store's index, netCDF opening;
- :mod:`.cache`: ``$NEUROALIGN_HOME``, cache entries and their sidecars, atomic writes, locks;
- :mod:`.index`: the index format (``index.json``: plugins, benchmarks, datasets and their assets).

Names are re-exported here and imported on first use.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    **{name: "assets" for name in (
        "ALLOWED_SCHEMES", "is_offline", "load_config", "mirrors", "resolve_url",
        "storage_options", "cache_path", "fetch", "fetch_dataset", "assets_for", "active_store",
        "open_netcdf", "data_sha256", "verify_mode")},
    **{name: "cache" for name in (
        "CacheEntry", "home", "cache_dir", "write_meta", "cache_entries", "clear_cache",
        "atomic_path", "file_lock", "sha256_file", "orphaned_temp_files")},
    **{name: "index" for name in (
        "INDEX_FORMAT", "PluginEntry", "BenchmarkEntry", "DatasetEntry", "Index", "load_index",
        "resolve_relative", "parse_index", "describe_validation_error")},
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
