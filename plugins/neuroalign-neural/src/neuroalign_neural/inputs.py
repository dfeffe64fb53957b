"""Checking and aligning metric inputs: dims, stimulus ids, neuroid ids, NaN and constant values.

Every metric of this plugin starts here, so that bad input fails the same way everywhere: the
error names the bad value (how many, which ones) and says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from neuroalign.errors import NeuroalignError

__all__ = [
    "NEUROID_DIM",
    "SAMPLE_DIMS",
    "AlignedPair",
    "MetricInputError",
    "align_source_target",
    "check_dims",
    "constant_columns",
    "examples",
    "input_notes",
    "neuroid_ids",
]

#: names accepted for the sample dimension (``presentation`` is the standard, ``stimulus`` allowed)
SAMPLE_DIMS: tuple[str, ...] = ("presentation", "stimulus")
NEUROID_DIM = "neuroid"
STIMULUS_COORD = "stimulus_id"
NEUROID_COORD = "neuroid_id"


class MetricInputError(NeuroalignError, ValueError):
    """The data handed to a metric or ceiling breaks a documented rule (dims, ids, values)."""


def examples(values: Any, k: int = 5) -> str:
    """``[a, b, c, ...]``: the first ``k`` values, for error messages."""
    values = list(values)
    shown = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in values[:k])
    return f"[{shown}{', ...' if len(values) > k else ''}]"


def check_dims(array: Any, name: str) -> str:
    """Check ``array`` is a 2-d DataArray ``(presentation|stimulus) x neuroid``; return the sample dim."""
    if not isinstance(array, xr.DataArray):
        raise MetricInputError(
            f"{name} must be an xarray.DataArray with dims ('presentation', 'neuroid'); "
            f"found {type(array).__name__}"
        )
    dims = tuple(array.dims)
    samples = [d for d in dims if d in SAMPLE_DIMS]
    if len(dims) != 2 or NEUROID_DIM not in dims or len(samples) != 1:
        raise MetricInputError(
            f"{name} has dims {dims}; expected exactly ('presentation', 'neuroid'). "
            "Rename with .rename({'old': 'presentation'}), drop extra dims with .squeeze() or "
            ".isel(), or stack them into 'neuroid' with .stack(neuroid=[...])"
        )
    if STIMULUS_COORD not in array.coords or array[STIMULUS_COORD].dims != (samples[0],):
        raise MetricInputError(
            f"{name} has no {STIMULUS_COORD!r} coordinate along {samples[0]!r} (coords: "
            f"{sorted(array.coords)}); add one with "
            f".assign_coords({STIMULUS_COORD}=({samples[0]!r}, ids))"
        )
    return samples[0]


def neuroid_ids(array: xr.DataArray) -> list[str]:
    """The ``neuroid_id`` of each neuroid as strings (the neuroid index, or positions, if absent)."""
    if NEUROID_COORD in array.coords and array[NEUROID_COORD].dims == (NEUROID_DIM,):
        values = array[NEUROID_COORD].values
    elif NEUROID_DIM in array.indexes and not isinstance(array.indexes[NEUROID_DIM], pd.MultiIndex):
        values = array.indexes[NEUROID_DIM].values
    else:
        values = np.arange(array.sizes[NEUROID_DIM])
    ids = [str(v) for v in values]
    if len(set(ids)) != len(ids):
        repeated = pd.Index(ids)[pd.Index(ids).duplicated()].unique()
        raise MetricInputError(
            f"{len(repeated)} neuroid_id value(s) occur more than once, e.g. {examples(repeated)}; "
            "give every neuroid a unique 'neuroid_id' coordinate"
        )
    return ids


def constant_columns(values: np.ndarray) -> np.ndarray:
    """Indices of columns whose values are all equal (peak-to-peak zero)."""
    return np.flatnonzero(np.ptp(values, axis=0) == 0)


def _check_values(values: np.ndarray, name: str, columns: list[str], what: str,
                  reject_constant: bool) -> None:
    """NaN/inf anywhere, or constant columns when asked, are errors naming the columns."""
    bad = np.flatnonzero(~np.isfinite(values).all(axis=0))
    if bad.size:
        raise MetricInputError(
            f"{name} has NaN or infinite values in {bad.size} {what}(s): "
            f"{examples(columns[i] for i in bad)}; drop them (e.g. "
            f"{name}.dropna('{NEUROID_DIM}')) or impute them before scoring"
        )
    if reject_constant:
        flat = constant_columns(values)
        if flat.size:
            raise MetricInputError(
                f"{name} has {flat.size} constant {what}(s) (the same value on every stimulus): "
                f"{examples(columns[i] for i in flat)}; their correlation is undefined, so drop "
                f"them, e.g. {name}.isel({NEUROID_DIM}={name}.std('presentation') > 0)"
            )


@dataclass(frozen=True)
class AlignedPair:
    """Source and target rows matched by ``stimulus_id`` and sorted by it.

    Attributes
    ----------
    source, target : numpy.ndarray
        ``(n_stimuli, n_features)`` and ``(n_stimuli, n_neuroids)``, row ``i`` of both is
        stimulus ``stimulus_ids[i]``. The source keeps its dtype; the target is float64.
    stimulus_ids : numpy.ndarray
        The target's stimulus ids, sorted.
    neuroid_ids : list of str
        The target's neuroid ids, in the target's order.
    strata : numpy.ndarray or None
        Stratification labels (e.g. ``object_name``) in row order, or None.
    source_stimuli_dropped : int
        Source stimuli absent from the target (ignored).
    presentations_averaged : tuple of int
        How many (source, target) rows were merged into another row of the same stimulus_id.
    """

    source: np.ndarray
    target: np.ndarray
    stimulus_ids: np.ndarray
    neuroid_ids: list[str]
    strata: np.ndarray | None
    source_stimuli_dropped: int
    presentations_averaged: tuple[int, int] = (0, 0)


def _rows_by_stimulus(array: xr.DataArray, dim: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, values, first_rows)``: one row per distinct stimulus_id, repeated rows averaged.

    ``first_rows`` indexes, for each distinct id, its first presentation (to read other coords).
    """
    ids = np.asarray(array[STIMULUS_COORD].values)
    values = np.asarray(array.transpose(dim, NEUROID_DIM).values)
    codes, unique = pd.factorize(ids, sort=False)
    if len(unique) == len(ids):
        return ids, values, np.arange(len(ids))
    first_rows = np.unique(codes, return_index=True)[1]
    sums = np.zeros((len(unique), values.shape[1]))
    np.add.at(sums, codes, values)
    averaged = sums / np.bincount(codes)[:, None]
    return ids[first_rows], averaged, first_rows


def align_source_target(source: xr.DataArray, target: xr.DataArray,
                        stratification_coord: str | None = None,
                        reject_constant_source: bool = False) -> AlignedPair:
    """Validate ``source`` and ``target`` and align them by ``stimulus_id``, sorted.

    Parameters
    ----------
    source, target : xarray.DataArray
        ``presentation x neuroid`` with a ``stimulus_id`` coordinate, normally one row per
        stimulus (rows repeating a stimulus_id, e.g. repetitions, are averaged). The source may
        hold extra stimuli, in any order.
    stratification_coord : str or None
        Presentation coordinate whose values are returned as ``strata`` (looked up on the target,
        then on the source); None or absent: no strata.
    reject_constant_source : bool
        Whether a source in which *every* feature is constant is an error (it always is for
        mapping metrics); single constant features are harmless and kept.

    Returns
    -------
    AlignedPair
    """
    source_dim = check_dims(source, "source")
    target_dim = check_dims(target, "target")
    # repeated presentations of a stimulus (e.g. a per-repetition target) are averaged
    target_ids, target_rows, target_first = _rows_by_stimulus(target, target_dim)
    source_ids, source_rows, source_first = _rows_by_stimulus(source, source_dim)
    order = np.argsort(target_ids, kind="stable")
    sorted_ids = target_ids[order]
    rows = pd.Index(source_ids).get_indexer(sorted_ids)
    missing = sorted_ids[rows < 0]
    if missing.size:
        only_source = np.setdiff1d(source_ids, target_ids)
        raise MetricInputError(
            f"{missing.size} of the target's {len(target_ids)} stimulus_id values are not in the "
            f"source, e.g. {examples(missing)} (the source has {len(source_ids)} stimuli, "
            f"{only_source.size} of them not in the target, e.g. {examples(only_source)}); "
            "compute the source on the target's stimulus set"
        )
    ids = neuroid_ids(target.transpose(target_dim, NEUROID_DIM))
    target_values = np.asarray(target_rows, dtype=np.float64)[order]
    source_values = source_rows[rows]
    if not np.issubdtype(source_values.dtype, np.floating):
        source_values = source_values.astype(np.float64)
    _check_values(target_values, "target", ids, "neuroid", reject_constant=True)
    feature_names = [str(i) for i in range(source_values.shape[1])]
    _check_values(source_values, "source", feature_names, "feature", reject_constant=False)
    if reject_constant_source and constant_columns(source_values).size == source_values.shape[1]:
        raise MetricInputError(
            f"every one of the source's {source_values.shape[1]} features is constant over the "
            f"{len(sorted_ids)} stimuli; a constant source cannot predict anything (check the "
            "layer and the stimuli fed to the model)"
        )
    strata = None
    if stratification_coord:
        if stratification_coord in target.coords and target[stratification_coord].dims == (target_dim,):
            strata = np.asarray(target[stratification_coord].values)[target_first][order]
        elif stratification_coord in source.coords and source[stratification_coord].dims == (source_dim,):
            strata = np.asarray(source[stratification_coord].values)[source_first][rows]
    return AlignedPair(source=source_values, target=target_values, stimulus_ids=sorted_ids,
                       neuroid_ids=ids, strata=strata,
                       source_stimuli_dropped=len(source_ids) - len(sorted_ids),
                       presentations_averaged=(source.sizes[source_dim] - len(source_ids),
                                               target.sizes[target_dim] - len(target_ids)))


def input_notes(pair: AlignedPair) -> dict[str, Any]:
    """What alignment did to the inputs, for a Score's ``attrs`` (empty when nothing)."""
    notes: dict[str, Any] = {}
    if pair.source_stimuli_dropped:
        notes["source_stimuli_dropped"] = pair.source_stimuli_dropped
    source_merged, target_merged = pair.presentations_averaged
    if source_merged or target_merged:
        notes["presentations_averaged"] = {"source": source_merged, "target": target_merged}
    return notes
