"""Similarity metrics without a fitted mapping: RSA (RDM correlation) and linear CKA.

Both compare the geometry of two representations of the same stimuli, aligned by
``stimulus_id``. Neither has cross-validation splits, so their Scores carry no ``splits`` and no
``error``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from neuroalign import Metric, MetricSpec
from neuroalign import Score
from scipy import stats

from .inputs import MetricInputError, align_source_target, constant_columns, examples, input_notes

__all__ = ["RSA", "LinearCKA", "linear_cka", "rdm", "rdm_similarity"]

RDM_KINDS = ("correlation", "euclidean")
COMPARISONS = ("spearman", "pearson", "kendall")


def rdm(responses: np.ndarray, kind: str = "correlation") -> np.ndarray:
    """Representational dissimilarity matrix of the rows of ``responses`` (stimuli x units).

    ``"correlation"``: ``1 - Pearson r`` between the response patterns of two stimuli;
    ``"euclidean"``: Euclidean distance between them.
    """
    responses = np.asarray(responses, dtype=np.float64)
    if kind == "correlation":
        flat = constant_columns(responses.T)
        if flat.size:
            raise MetricInputError(
                f"{flat.size} stimuli have the same response in every unit (rows {examples(flat)}); "
                "their correlation distance is undefined; use rdm='euclidean' or drop them"
            )
        return 1.0 - np.corrcoef(responses)
    if kind == "euclidean":
        squared = (responses * responses).sum(axis=1)
        d2 = squared[:, None] + squared[None, :] - 2.0 * responses @ responses.T
        return np.sqrt(np.maximum(d2, 0.0))
    raise MetricInputError(f"unknown rdm {kind!r}; choose one of {list(RDM_KINDS)}")


def rdm_similarity(a: np.ndarray, b: np.ndarray, comparison: str = "spearman") -> float:
    """Correlation between the upper triangles (diagonal excluded) of two RDMs."""
    upper = np.triu_indices_from(a, k=1)
    x, y = a[upper], b[upper]
    if comparison == "spearman":
        return float(stats.spearmanr(x, y)[0])
    if comparison == "pearson":
        return float(np.corrcoef(x, y)[0, 1])
    if comparison == "kendall":
        return float(stats.kendalltau(x, y)[0])
    raise MetricInputError(f"unknown comparison {comparison!r}; choose one of {list(COMPARISONS)}")


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment ``||XᵀY||² / (||XᵀX|| ||YᵀY||)`` of column-centred data.

    Uses the stimulus Gram matrices when stimuli are fewer than features (same value, less work).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if x.shape[0] < max(x.shape[1], y.shape[1]):
        k, l_ = x @ x.T, y @ y.T
        cross, self_x, self_y = (k * l_).sum(), (k * k).sum(), (l_ * l_).sum()
    else:
        cross = np.square(x.T @ y).sum()
        self_x, self_y = np.square(x.T @ x).sum(), np.square(y.T @ y).sum()
    return float(cross / np.sqrt(self_x * self_y))


class _Similarity(Metric):
    metric_id = "similarity"

    def _attrs(self, pair, **extra: Any) -> dict[str, Any]:
        attrs = {"metric": self.metric_id, "n_stimuli": len(pair.stimulus_ids),
                 "n_features": int(pair.source.shape[1]), "n_neuroids": len(pair.neuroid_ids),
                 **extra}
        attrs.update(input_notes(pair))
        return attrs


class RSA(_Similarity):
    """Representational similarity analysis: correlation of source and target RDMs.

    Parameters
    ----------
    rdm : {"correlation", "euclidean"}
        Dissimilarity between two stimuli's response patterns (default ``1 - Pearson r``).
    comparison : {"spearman", "pearson", "kendall"}
        Correlation between the RDMs' upper triangles (default Spearman).
    """

    metric_id = "rsa"

    def __init__(self, rdm: str = "correlation", comparison: str = "spearman",
                 spec: MetricSpec | None = None):
        if rdm not in RDM_KINDS:
            raise MetricInputError(f"unknown rdm {rdm!r}; choose one of {list(RDM_KINDS)}")
        if comparison not in COMPARISONS:
            raise MetricInputError(
                f"unknown comparison {comparison!r}; choose one of {list(COMPARISONS)}")
        self.rdm = rdm
        self.comparison = comparison
        self.spec = spec or MetricSpec(id="rsa", factory="neuroalign_neural.factories:make_rsa",
                                       kind="similarity",
                                       parameters={"rdm": rdm, "comparison": comparison})

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        """RDM correlation of ``source`` and ``target`` (``presentation x neuroid``, by stimulus_id)."""
        pair = align_source_target(source, target, reject_constant_source=True)
        if len(pair.stimulus_ids) < 3:
            raise MetricInputError(
                f"RSA needs at least 3 stimuli (2 dissimilarities); found {len(pair.stimulus_ids)}")
        value = rdm_similarity(rdm(pair.source, self.rdm), rdm(pair.target, self.rdm),
                               self.comparison)
        return Score(value=value, raw=value, attrs=self._attrs(
            pair, parameters={"rdm": self.rdm, "comparison": self.comparison}))


class LinearCKA(_Similarity):
    """Linear centred kernel alignment (Kornblith et al. 2019) between source and target."""

    metric_id = "cka"

    def __init__(self, spec: MetricSpec | None = None):
        self.spec = spec or MetricSpec(id="cka", factory="neuroalign_neural.factories:make_cka",
                                       kind="similarity")

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        """Linear CKA of ``source`` and ``target`` (``presentation x neuroid``, by stimulus_id)."""
        pair = align_source_target(source, target, reject_constant_source=True)
        if len(pair.stimulus_ids) < 3:
            raise MetricInputError(f"CKA needs at least 3 stimuli; found {len(pair.stimulus_ids)}")
        value = linear_cka(pair.source, pair.target)
        return Score(value=value, raw=value, attrs=self._attrs(pair, parameters={}))
