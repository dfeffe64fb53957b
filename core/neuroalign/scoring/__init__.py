"""Scoring: run benchmarks, store results, compose suites, aggregate and compare.

- :mod:`.engine`: ``score`` / ``score_many`` (resolve, look up results, call, store);
- :mod:`.grid`: ``grid`` (model x benchmark grids, local or on dask.distributed);
- :mod:`.results`: the results database (SQLite, idempotent upserts);
- :mod:`.composite`: ``compose`` (a composite benchmark is a benchmark);
- :mod:`.aggregate`: built-in aggregators and ``rank``;
- :mod:`.stats`: agreement between benchmarks and the rho-hierarchy.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "score": "engine", "score_many": "engine", "progress_enabled": "engine", "track": "engine",
    "grid": "grid", "GridResult": "grid",
    "ResultsDatabase": "results", "DEFAULT_REQUEST": "results",
    "to_pandas": "export", "to_xarray": "export",
    "compose": "composite", "CompositeBenchmark": "composite",
    "rank": "aggregate", "MeanAggregator": "aggregate", "ZMeanAggregator": "standardised",
    "MeanRankAggregator": "standardised", "group_scores": "standardised",
    "Agreement": "stats", "agreement": "stats", "rho_hierarchy": "stats",
    "explained_variance": "stats",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
