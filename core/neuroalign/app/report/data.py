"""What the report shows, gathered once from a results database (:func:`collect`).

One :class:`ReportData` holds the leaderboard (the record each cell shows), the aggregate of
every registered aggregator, the full stored Scores (layers, children, provenance), the
registered benchmark specs, the user's per-model columns, and why each empty cell is empty.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import NeuroalignError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ...scores import Score
    from ...scoring.results import ResultsDatabase
    from ...specs import BenchmarkSpec
    from .leaderboard import Leaderboard

__all__ = ["ReportData", "collect", "read_models_csv"]


@dataclass
class ReportData:
    """Everything one report is drawn from.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per leaderboard cell (model label, benchmark): the record it shows.
    board : Leaderboard
        Built with the default aggregator.
    aggregates : dict
        Aggregator id -> Series over ``board.models`` (higher is better for each).
    aggregate_errors : dict
        Aggregator id -> why it could not rank this table.
    benchmarks : dict
        Benchmark id -> registered spec, or None when no installed plugin registers it.
    scores : dict
        ``(model label, benchmark)`` -> the stored Score of the cell.
    extras : pandas.DataFrame or None
        The user's per-model columns (``--models-csv``), indexed by model.
    missing : dict
        ``(model label, benchmark)`` -> why the cell is empty.
    stale : dict
        ``(model label, benchmark)`` -> why the value is out of date (older benchmark version).
    source : str
        Where the results came from (shown in the page header).
    """

    results: pd.DataFrame
    board: Leaderboard
    aggregates: dict[str, pd.Series] = field(default_factory=dict)
    aggregate_errors: dict[str, str] = field(default_factory=dict)
    benchmarks: dict[str, BenchmarkSpec | None] = field(default_factory=dict)
    scores: dict[tuple[str, str], Score] = field(default_factory=dict)
    extras: pd.DataFrame | None = None
    missing: dict[tuple[str, str], str] = field(default_factory=dict)
    stale: dict[tuple[str, str], str] = field(default_factory=dict)
    source: str = ""

    def score(self, model: str, benchmark: str) -> Score | None:
        return self.scores.get((model, benchmark))


def _key(model: Any, weights: Any, benchmark: Any, version: Any) -> tuple[str, str, str, int]:
    version = 0 if version is None or (isinstance(version, float) and math.isnan(version)) else version
    return str(model), str(weights or ""), str(benchmark), int(version)


def collect(results: ResultsDatabase, *, model: str = "*", benchmark: str = "*",
            aggregator: str = "mean", aggregators: Sequence[str] | None = None,
            extras: pd.DataFrame | None = None,
            failures: Mapping[tuple[str, str], str] | None = None) -> ReportData:
    """Gather a :class:`ReportData` from ``results`` (default records matching the patterns).

    Parameters
    ----------
    results : ResultsDatabase
    model, benchmark : str
        fnmatch patterns of model and benchmark ids.
    aggregator : str
        The aggregator the leaderboard is first sorted by.
    aggregators : sequence of str, optional
        Aggregators offered in the page (default: every registered one).
    extras : pandas.DataFrame, optional
        Per-model columns (index: model id), e.g. from :func:`read_models_csv`.
    failures : mapping, optional
        ``(model id, benchmark id) -> error`` of runs that failed (shown in the empty cells).
    """
    import pandas as pd

    from ...plugins.lookup import get_aggregator, get_registry, list_aggregators
    from .leaderboard import _label_weights, leaderboard

    table = results.query(model, benchmark)
    stored = {}
    for score in results.scores(model, benchmark):
        prov = score.provenance
        stored[_key(prov.model_id, prov.model_weights_sha256, prov.benchmark_id,
                    prov.benchmark_version)] = score
    table["model_id"] = table["model"]
    table = _label_weights(table)
    table = table.sort_values(["version", "updated"], na_position="first").drop_duplicates(
        ["model", "benchmark"], keep="last")
    registry = get_registry()
    specs: dict[str, BenchmarkSpec | None] = {}
    for bench in sorted(set(table["benchmark"])):
        try:
            specs[bench] = registry.spec("benchmark", bench)
        except (NeuroalignError, ValueError):
            specs[bench] = None
    board = leaderboard(table, aggregator=aggregator)
    scores = {}
    for row in table.itertuples(index=False):
        found = stored.get(_key(row.model_id, row.weights_hash, row.benchmark, row.version))
        if found is not None:
            scores[(row.model, row.benchmark)] = found
    aggregates: dict[str, pd.Series] = {}
    errors: dict[str, str] = {}
    for name in aggregators if aggregators is not None else list_aggregators():
        if board.values.empty:
            break
        try:
            aggregates[name] = pd.Series(get_aggregator(name).rank(board.values),
                                         dtype="float64").reindex(board.values.index)
        except Exception as error:  # noqa: BLE001 - one plugin's aggregator must not sink the page
            errors[name] = f"{type(error).__name__}: {error}"
    data = ReportData(table.reset_index(drop=True), board, aggregates, errors, specs, scores,
                      extras, source=str(getattr(results, "path", "")))
    _explain_missing(data, results, model, benchmark, failures or {})
    return data


def _explain_missing(data: ReportData, results: ResultsDatabase, model: str, benchmark: str,
                     failures: Mapping[tuple[str, str], str]) -> None:
    """Fill ``data.missing`` and ``data.stale``."""
    import pandas as pd

    board = data.board
    forced: dict[tuple[str, str], list[str]] = {}
    others = results.query(model, benchmark, request="layers=*")
    for row in others.itertuples(index=False):
        forced.setdefault((row.model, row.benchmark), []).append(row.request)
    ids = dict(zip(data.results["model"], data.results["model_id"]))
    nan_stored = {(r.model, r.benchmark) for r in data.results.itertuples(index=False)
                  if r.value is None or math.isnan(r.value)}
    values = board.values.to_numpy()
    for i, label in enumerate(board.models):
        model_id = ids.get(label, label)
        for j, bench in enumerate(board.benchmarks):
            if not math.isnan(values[i, j]):
                continue
            if (model_id, bench) in failures:
                reason = f"failed: {failures[(model_id, bench)]}"
            elif (label, bench) in nan_stored:
                reason = "stored, but the score is NaN (see the Score's attrs)"
            elif (model_id, bench) in forced:
                reason = ("only scored on forced layers (" + ", ".join(forced[(model_id, bench)])
                          + "); the default request was never run")
            else:
                reason = f"not scored (run: neuroalign score {model_id} {bench})"
            data.missing[(label, bench)] = reason
    for row in data.results.itertuples(index=False):
        spec = data.benchmarks.get(row.benchmark)
        stored = None if pd.isna(row.version) else int(row.version)
        if spec is not None and stored is not None and stored < spec.version:
            data.stale[(row.model, row.benchmark)] = (
                f"stored for version {stored}; the installed benchmark is version {spec.version} "
                f"(rescore: neuroalign score {row.model_id} {row.benchmark} --no-cache)")


def read_models_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Per-model columns from a CSV with a ``model`` column (e.g. ``model,imagenet_top1``).

    Every other column must be numeric; values are floats indexed by model id.

    Raises
    ------
    NeuroalignError
        If the file has no ``model`` column, repeats a model, or has a non-numeric value.
    """
    import pandas as pd

    frame = pd.read_csv(path)
    if "model" not in frame.columns:
        raise NeuroalignError(
            f"{os.fspath(path)!r} has no 'model' column (found {list(frame.columns)}); the "
            "first line must name the columns, e.g. 'model,imagenet_top1'")
    repeated = sorted(set(frame["model"][frame["model"].duplicated()]))
    if repeated:
        raise NeuroalignError(f"{os.fspath(path)!r} lists these models twice: {repeated}")
    frame = frame.set_index("model")
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[converted.isna() & frame[column].notna()]
        if len(bad):
            raise NeuroalignError(
                f"{os.fspath(path)!r}: column {column!r} must be numeric; model {bad[0]!r} has "
                f"{frame.at[bad[0], column]!r}")
        frame[column] = converted.astype("float64")
    return frame
