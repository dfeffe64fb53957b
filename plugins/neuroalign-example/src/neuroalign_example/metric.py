"""``example_corr`` (a mapping metric) and ``example_split_half`` (its ceiling), numpy only."""

from __future__ import annotations

import numpy as np
import xarray as xr

from neuroalign import Ceiling, Metric, MetricSpec
from neuroalign import Score


def _aligned(source: xr.DataArray, target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Source rows reordered to the target's ``stimulus_id`` order (when both have one)."""
    if "stimulus_id" in source.coords and "stimulus_id" in target.coords:
        row = {sid: i for i, sid in enumerate(source["stimulus_id"].values)}
        missing = [sid for sid in target["stimulus_id"].values if sid not in row]
        if missing:
            raise ValueError(f"source lacks {len(missing)} target stimulus ids, e.g. {missing[:3]}")
        order = [row[sid] for sid in target["stimulus_id"].values]
        return np.asarray(source.values)[order], np.asarray(target.values)
    return np.asarray(source.values), np.asarray(target.values)


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise Pearson r (0 where a column is constant)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denominator = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(0) / denominator
    return np.nan_to_num(r)


class CorrelationMetric(Metric):
    """Ridge regression from source to target, cross-validated; Pearson r per neuroid, median.

    Parameters
    ----------
    spec : MetricSpec
        ``parameters``: ``alpha`` (ridge penalty), ``splits`` (folds over stimuli), ``seed``.
    """

    def __init__(self, spec: MetricSpec):
        self.spec = spec

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        """Score of ``source`` (presentation x feature) predicting ``target`` (presentation x neuroid)."""
        x, y = _aligned(source, target)
        params = self.spec.parameters
        folds = np.array_split(np.random.default_rng(params.get("seed", 0)).permutation(len(y)),
                               int(params.get("splits", 2)))
        per_fold = []
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            mx, my, sx = x[train].mean(0), y[train].mean(0), x[train].std(0) + 1e-12
            xt = (x[train] - mx) / sx
            weights = np.linalg.solve(xt.T @ xt + params.get("alpha", 1.0) * np.eye(x.shape[1]),
                                      xt.T @ (y[train] - my))
            per_fold.append(_pearson(((x[test] - mx) / sx) @ weights + my, y[test]))
        per_neuroid = np.mean(per_fold, axis=0)
        splits = [float(np.median(r)) for r in per_fold]
        ids = target["neuroid_id"].values if "neuroid_id" in target.coords else range(y.shape[1])
        return Score(value=float(np.median(per_neuroid)), raw=float(np.median(per_neuroid)),
                     error=float(np.std(splits)), splits=splits,
                     neuroids={str(i): float(r) for i, r in zip(ids, per_neuroid)},
                     attrs={"metric": self.spec.id, **params})


class SplitHalfCeiling(Ceiling):
    """Pearson r between the mean of even and odd repetitions, Spearman-Brown corrected.

    Parameters
    ----------
    spec : MetricSpec
        No parameters.
    """

    def __init__(self, spec: MetricSpec):
        self.spec = spec

    def __call__(self, assembly: xr.DataArray) -> Score:
        """Median over neuroids of the corrected split-half reliability of ``assembly``."""
        if "repetition" not in assembly.coords:
            raise ValueError(f"ceiling {self.spec.id!r} needs a 'repetition' coordinate; found "
                             f"{sorted(map(str, assembly.coords))}")
        even = assembly["repetition"] % 2 == 0
        halves = [assembly.isel(presentation=np.flatnonzero(mask)).groupby("stimulus_id").mean()
                  for mask in (even.values, ~even.values)]
        r = _pearson(np.asarray(halves[0].values), np.asarray(halves[1].sel(
            stimulus_id=halves[0]["stimulus_id"]).values))
        corrected = 2 * r / (1 + r)
        return Score(value=float(np.median(corrected)), attrs={"ceiling": self.spec.id})
