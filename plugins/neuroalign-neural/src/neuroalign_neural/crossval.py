"""Cross-validation splits, per-neuroid Pearson correlation and Brain-Score's aggregation.

Brain-Score's procedure (brainscore-vision 2.4.2, ``metric_helpers/transformations.py``):
``StratifiedShuffleSplit`` (or ``ShuffleSplit`` without strata) with ``n_splits=10``,
``train_size=0.9``, ``random_state=1`` over the stimuli; per split the Pearson r of every neuroid
on the held-out stimuli; the median over neuroids; the mean over splits; as error the standard
deviation over splits (``ddof=0``) divided by ``sqrt(n_splits)``. NaN correlations (a constant
prediction or a neuroid constant on a test split) are skipped by the median, as xarray's
``median(skipna=True)`` does in Brain-Score.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from neuroalign import Score
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from .inputs import MetricInputError

__all__ = [
    "MIN_TEST_STIMULI",
    "SplitPlan",
    "SplitSummary",
    "columnwise_pearson",
    "split_score",
    "stimulus_splits",
    "summarize",
]

#: a Pearson r on fewer held-out stimuli than this is meaningless (two points always give +-1)
MIN_TEST_STIMULI = 3


@dataclass(frozen=True)
class SplitPlan:
    """Train and test row indices of every split."""

    train: tuple[np.ndarray, ...]
    test: tuple[np.ndarray, ...]
    stratified: bool

    def __len__(self) -> int:
        return len(self.train)


def _test_size(n: int, train_size: float) -> int:
    n_train = int(train_size) if isinstance(train_size, int) else math.floor(train_size * n)
    return n - n_train


def stimulus_splits(n_stimuli: int, strata: np.ndarray | None = None, *, n_splits: int = 10,
                    train_size: float = 0.9, random_state: int | None = 1,
                    min_test: int = MIN_TEST_STIMULI, min_train: int = 2) -> SplitPlan:
    """Brain-Score's train/test splits of ``n_stimuli`` rows.

    Parameters
    ----------
    n_stimuli : int
        Number of rows (stimuli, in the order the caller will index them).
    strata : numpy.ndarray or None
        Labels to stratify by (``StratifiedShuffleSplit``); None: ``ShuffleSplit``.
    n_splits, train_size, random_state
        Passed to scikit-learn unchanged (``test_size`` is the complement of ``train_size``).
    min_test, min_train : int
        Fewest stimuli a test / train split may hold.

    Returns
    -------
    SplitPlan
    """
    if not isinstance(n_splits, int) or n_splits < 1:
        raise MetricInputError(f"splits must be a positive integer; found {n_splits!r}")
    if not (isinstance(train_size, int) or 0 < float(train_size) < 1):
        raise MetricInputError(
            f"train_size must be a fraction in (0, 1) or an integer count; found {train_size!r}")
    n_test = _test_size(n_stimuli, train_size)
    if n_test < min_test or n_stimuli - n_test < min_train:
        needed = next(n for n in range(2, 10**7)
                      if _test_size(n, train_size) >= min_test and n - _test_size(n, train_size) >= min_train)
        raise MetricInputError(
            f"{n_stimuli} stimuli are fewer than a split needs: train_size={train_size} leaves "
            f"{n_test} test and {n_stimuli - n_test} training stimuli, and a split needs at least "
            f"{min_test} test and {min_train} training stimuli; pass at least {needed} stimuli "
            "or lower train_size"
        )
    placeholder = np.zeros(n_stimuli)
    if strata is not None:
        splitter = StratifiedShuffleSplit(n_splits=n_splits, train_size=train_size,
                                          test_size=None, random_state=random_state)
        try:
            pairs = list(splitter.split(placeholder, strata))
        except ValueError as error:
            raise MetricInputError(
                f"stratified splitting of {n_stimuli} stimuli over {len(np.unique(strata))} "
                f"classes failed ({error}); pass parameters={{'stratification_coord': None}} to "
                "split without stratification, or pass more stimuli per class"
            ) from error
    else:
        splitter = ShuffleSplit(n_splits=n_splits, train_size=train_size, test_size=None,
                                random_state=random_state)
        pairs = list(splitter.split(placeholder))
    return SplitPlan(train=tuple(p[0] for p in pairs), test=tuple(p[1] for p in pairs),
                     stratified=strata is not None)


def columnwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``a`` with the same column of ``b`` (NaN where one is constant)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=0) / denominator
    r[denominator == 0] = np.nan
    return np.clip(r, -1.0, 1.0)


@dataclass(frozen=True)
class SplitSummary:
    """Per-split, per-neuroid values reduced the Brain-Score way."""

    value: float
    error: float
    splits: list[float]
    neuroids: np.ndarray


def summarize(per_split: np.ndarray) -> SplitSummary:
    """Median over neuroids per split, mean over splits, error ``std(ddof=0)/sqrt(n_splits)``.

    Parameters
    ----------
    per_split : numpy.ndarray
        ``(n_splits, n_neuroids)`` values (NaN allowed; skipped like xarray's ``skipna``).
    """
    per_split = np.asarray(per_split, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as intended
        medians = np.nanmedian(per_split, axis=1)
        value = float(np.nanmean(medians))
        error = float(np.nanstd(medians, ddof=0) / math.sqrt(len(medians)))
        neuroids = np.nanmean(per_split, axis=0)
    return SplitSummary(value=value, error=error, splits=[float(m) for m in medians],
                        neuroids=neuroids)


def split_score(summary: SplitSummary, neuroid_ids: list[str], attrs: dict) -> Score:
    """A :class:`~neuroalign.Score` (raw, unceiled) from a summary."""
    return Score(
        value=summary.value,
        raw=summary.value,
        error=summary.error,
        splits=summary.splits,
        neuroids={i: float(v) for i, v in zip(neuroid_ids, summary.neuroids)},
        attrs={"aggregation": "median over neuroids, mean over splits",
               "error_method": "std over splits (ddof=0) / sqrt(n_splits)", **attrs},
    )
