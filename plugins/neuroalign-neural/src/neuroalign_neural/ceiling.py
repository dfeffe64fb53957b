"""The split-half internal-consistency ceiling and ceiling normalisation of raw scores.

Brain-Score's procedure (brainscore-vision 2.4.2 ``metrics/internal_consistency``):
the *unique* repetition values (sorted) are split ``ShuffleSplit(n_splits=10, train_size=0.5,
random_state=1)`` (so with an odd number of repetitions the second half is the larger); each half
is averaged over its repetitions per stimulus; per neuroid the Pearson r between the two halves
over stimuli is Spearman-Brown corrected, ``2r / (1 + r)``; the median over neuroids is taken per
split, the mean over splits is the ceiling and ``std(ddof=0) / sqrt(10)`` its error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from neuroalign import Ceiling, MetricSpec
from neuroalign import Score
from scipy import sparse
from sklearn.model_selection import ShuffleSplit

from .crossval import columnwise_pearson, split_score, summarize
from .inputs import (
    NEUROID_DIM,
    STIMULUS_COORD,
    MetricInputError,
    check_dims,
    constant_columns,
    examples,
    neuroid_ids,
)

__all__ = [
    "CEILING_DEFAULTS",
    "CEILING_MODES",
    "InternalConsistency",
    "ceiled_score",
    "spearman_brown",
]

CEILING_DEFAULTS: dict[str, Any] = {"splits": 10, "train_size": 0.5, "random_state": 1,
                                    "repetition_coord": "repetition"}
CEILING_MODES = ("explained_variance", "ratio", "none")


def spearman_brown(r: np.ndarray | float, n: float = 2.0) -> np.ndarray | float:
    """Spearman-Brown prediction of the reliability of ``n`` times the data: ``n r / (1 + (n-1) r)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return n * r / (1.0 + (n - 1.0) * r)


class InternalConsistency(Ceiling):
    """Split-half reliability of a per-repetition assembly, Spearman-Brown corrected.

    Parameters
    ----------
    splits : int
        Number of random halvings of the repetitions (Brain-Score: 10).
    train_size : float
        Fraction of the repetitions in the first half (Brain-Score: 0.5).
    random_state : int or None
        Seed of the ``ShuffleSplit`` over repetitions (Brain-Score: 1).
    repetition_coord : str
        Presentation coordinate numbering the repetitions.
    """

    def __init__(self, splits: int = 10, train_size: float = 0.5, random_state: int | None = 1,
                 repetition_coord: str = "repetition", spec: MetricSpec | None = None):
        self.splits = splits
        self.train_size = train_size
        self.random_state = random_state
        self.repetition_coord = repetition_coord
        self.spec = spec or MetricSpec(
            id="internal_consistency", kind="ceiling",
            factory="neuroalign_neural.factories:make_internal_consistency")

    def parameters(self) -> dict[str, Any]:
        return {"splits": self.splits, "train_size": self.train_size,
                "random_state": self.random_state, "repetition_coord": self.repetition_coord}

    def __call__(self, assembly: xr.DataArray) -> Score:
        """The ceiling of ``assembly`` (``presentation x neuroid``, one row per repetition).

        Returns
        -------
        neuroalign.Score
            ``value``: mean over splits of the median over neuroids of the Spearman-Brown
            corrected split-half r; ``error``; ``splits``; ``neuroids`` (per-neuroid ceilings,
            mean over splits).
        """
        dim = check_dims(assembly, "assembly")
        coord = self.repetition_coord
        if coord not in assembly.coords or assembly[coord].dims != (dim,):
            raise MetricInputError(
                f"assembly has no {coord!r} coordinate along {dim!r} (coords: "
                f"{sorted(assembly.coords)}); the ceiling needs the per-repetition assembly, not "
                "one averaged over repetitions"
            )
        values = np.asarray(assembly.transpose(dim, NEUROID_DIM).values, dtype=np.float64)
        ids = neuroid_ids(assembly)
        _check_neuroids(values, ids)
        repetitions = np.asarray(assembly[coord].values)
        unique_repetitions = np.unique(repetitions)
        if len(unique_repetitions) < 2:
            raise MetricInputError(
                f"assembly has {len(unique_repetitions)} distinct {coord!r} value(s) "
                f"{examples(unique_repetitions)}; a split-half ceiling needs at least 2")
        stimuli, stimulus_rows = np.unique(np.asarray(assembly[STIMULUS_COORD].values),
                                           return_inverse=True)
        if len(stimuli) < 3:
            raise MetricInputError(
                f"assembly has {len(stimuli)} distinct stimuli; a correlation over stimuli needs "
                "at least 3")
        splitter = ShuffleSplit(n_splits=self.splits, train_size=self.train_size,
                                test_size=None, random_state=self.random_state)
        try:
            halves = list(splitter.split(np.zeros(len(unique_repetitions))))
        except ValueError as error:
            raise MetricInputError(
                f"cannot split {len(unique_repetitions)} repetitions with "
                f"train_size={self.train_size}: {error}") from error
        per_split = []
        for first, second in halves:
            a = _half_means(values, stimulus_rows, len(stimuli), repetitions,
                            unique_repetitions[first], stimuli)
            b = _half_means(values, stimulus_rows, len(stimuli), repetitions,
                            unique_repetitions[second], stimuli)
            per_split.append(spearman_brown(columnwise_pearson(a, b)))
        score = split_score(summarize(np.stack(per_split)), ids, {
            "metric": "internal_consistency",
            "parameters": self.parameters(),
            "correction": "Spearman-Brown 2r/(1+r)",
            "n_repetitions": len(unique_repetitions),
            "n_stimuli": len(stimuli),
            "half_sizes": [len(halves[0][0]), len(halves[0][1])],
            "nan_trials": int(np.isnan(values).sum()),
        })
        score.attrs["aggregation"] = "median over neuroids, mean over splits"
        return score


def _check_neuroids(values: np.ndarray, ids: list[str]) -> None:
    bad = np.flatnonzero(np.isinf(values).any(axis=0))
    if bad.size:
        raise MetricInputError(
            f"assembly has infinite values in {bad.size} neuroid(s): "
            f"{examples(ids[i] for i in bad)}; drop them before estimating the ceiling")
    empty = np.flatnonzero(np.isnan(values).all(axis=0))
    if empty.size:
        raise MetricInputError(
            f"assembly has {empty.size} all-NaN neuroid(s): {examples(ids[i] for i in empty)}; "
            "drop them before estimating the ceiling")
    # NaN trials are skipped (Brain-Score's skipna); a neuroid is constant if its valid values are
    flat = constant_columns(np.where(np.isnan(values), np.nanmean(values, axis=0), values))
    if flat.size:
        raise MetricInputError(
            f"assembly has {flat.size} constant neuroid(s): {examples(ids[i] for i in flat)}; "
            "their reliability is undefined, drop them")


def _half_means(values: np.ndarray, stimulus_rows: np.ndarray, n_stimuli: int,
                repetitions: np.ndarray, chosen: np.ndarray, stimuli: np.ndarray) -> np.ndarray:
    """Per-stimulus mean over the presentations whose repetition is in ``chosen``."""
    mask = np.isin(repetitions, chosen)
    rows = stimulus_rows[mask]
    counts = np.bincount(rows, minlength=n_stimuli)
    if (counts == 0).any():
        missing = stimuli[counts == 0]
        raise MetricInputError(
            f"{missing.size} stimuli have no presentation in repetitions {examples(chosen)}, e.g. "
            f"{examples(missing)}; every stimulus needs every repetition (or drop those stimuli)")
    summing = sparse.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))),
                                shape=(n_stimuli, rows.size))
    chosen_values = values[mask]
    valid = ~np.isnan(chosen_values)
    if valid.all():
        return np.asarray(summing @ chosen_values) / counts[:, None]
    # NaN trials skipped (xarray skipna); a stimulus with none valid in this half is NaN, so the
    # neuroid's r is NaN in this split and the median over neuroids skips it (Brain-Score)
    sums = np.asarray(summing @ np.where(valid, chosen_values, 0.0))
    valid_counts = np.asarray(summing @ valid.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid_counts > 0, sums / np.maximum(valid_counts, 1.0), np.nan)


def _value(score: Score | float, name: str) -> float:
    value = float(score.value if isinstance(score, Score) else score)
    if not math.isfinite(value):
        raise MetricInputError(f"{name} is {value}; a ceiled score needs a finite {name}")
    return value


def ceiled_score(raw: Score | float, ceiling: Score | float,
                 mode: str = "explained_variance", *, clip: bool = False) -> Score:
    """Normalise a raw score by a ceiling.

    Parameters
    ----------
    raw : Score or float
        The raw metric score (a Pearson r for the mapping metrics).
    ceiling : Score or float
        The ceiling (e.g. :class:`InternalConsistency`'s Spearman-Brown corrected split-half r).
    mode : {"explained_variance", "ratio", "none"}
        ``"explained_variance"``: ``raw**2 / ceiling`` (Brain-Score 2.x ``explained_variance``;
        the ceiling is *not* squared, it is already a reliability); ``"ratio"``: ``raw /
        ceiling`` (Brain-Score 2018-2024); ``"none"``: ``raw``.

    Returns
    -------
    neuroalign.Score
        ``value``: the ceiled value (clipped to [0, 1] only with ``clip=True``); ``raw``, ``ceiling``; ``error``: the raw
        error unchanged (Brain-Score's convention), with the error propagated to the ceiled scale
        in ``attrs["ceiled_error"]``; ``splits`` and ``neuroids`` of the raw score;
        ``attrs["clipped"]`` and ``attrs["unclipped_value"]`` record the clip.
    """
    if mode not in CEILING_MODES:
        raise MetricInputError(f"unknown ceiling mode {mode!r}; choose one of {list(CEILING_MODES)}")
    r = _value(raw, "raw score")
    c = _value(ceiling, "ceiling")
    if mode != "none" and c <= 0:
        raise MetricInputError(
            f"ceiling {c:.4g} is not positive, so it cannot normalise a score; the data are not "
            "reliable enough (use mode='none' to report the raw score)")
    raw_error = raw.error if isinstance(raw, Score) else None
    if mode == "explained_variance":
        unclipped = r * r / c
        derivative = abs(2 * r / c)
    elif mode == "ratio":
        unclipped, derivative = r / c, 1 / c
    else:
        unclipped, derivative = r, 1.0
    value = min(max(unclipped, 0.0), 1.0) if clip else unclipped
    attrs: dict[str, Any] = dict(raw.attrs) if isinstance(raw, Score) else {}
    attrs.update({
        "ceiling_mode": mode,
        "clip": bool(clip),
        "unclipped_value": unclipped,
        "clipped": value != unclipped,
        "ceiled_error": None if raw_error is None else raw_error * derivative,
        "ceiling_error": ceiling.error if isinstance(ceiling, Score) else None,
    })
    if mode == "explained_variance" and r < 0:
        attrs["negative_raw_squared"] = True  # Brain-Score squares negative r as well
    carried: dict[str, Any] = {}
    if isinstance(raw, Score):
        carried = {"splits": list(raw.splits), "neuroids": raw.neuroids, "layer": raw.layer,
                   "layers": raw.layers, "provenance": raw.provenance.model_copy()}
    return Score(value=value, raw=r, ceiling=c, error=raw_error, attrs=attrs, **carried)
