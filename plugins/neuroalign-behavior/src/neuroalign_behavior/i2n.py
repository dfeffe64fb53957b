"""The arithmetic of I2n (Rajalingham et al. 2018 as implemented by brainscore-vision 2.4.2).

Everything here works on integer codes and float arrays; :mod:`neuroalign_behavior.metric`
validates and encodes the xarray inputs. The steps and brainscore-vision's names for them
(``metrics/i1i2/metric.py``, class ``_I`` with ``collapse_distractors=False, normalize=True``):

1. *Response matrices* ``(image, choice)`` with NaN where the choice is the image's truth:

   * model (``target_distractor_scores``): ``p_c / (p_c + p_truth)``;
   * humans (``build_response_matrix_from_responses``): how often ``c`` was chosen on the image
     over how often ``c`` was offered (as sample or distractor); NaN where never offered. Rows are
     the half's images and columns the objects chosen in the half, both sorted.
2. *d'* (``dprime``): ``z(1 - M[i, c]) - z(FAR)`` where ``FAR`` is the NaN-mean of ``M[k,
   truth_i]`` over the images ``k`` of object ``c``; clipped to ``[-5, 5]`` (NaN stays NaN).
3. *Normalisation* (``subtract_mean``): the NaN-mean of each (truth object, choice) group is
   subtracted.
4. *Correlation* (``correlate``): both matrices sorted by stimulus id and choice, flattened,
   Pearson r over the cells where the second (human) matrix is not NaN; the first must have no
   NaN there.
5. *Splits* (``generate_halves``, ``_repeat``): one ``RandomState(0)`` shuffles the trial indices
   twice; each shuffle's first ``n // 2`` trials are one half, the rest the other. The score
   uses the first half of each split; the ceiling correlates the two halves. Value = mean over
   splits, error = standard deviation over splits (``ddof=0``).

Brain-Score loops in Python over images x choices (``multi_dim_apply``); here each step is a
handful of vectorised numpy operations (``np.bincount`` group sums, fancy indexing), so a full
Rajalingham 2018 evaluation takes milliseconds instead of minutes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

__all__ = ["CAP", "SPLITS", "SEED", "ResponseMatrix", "I2nError", "split_halves",
           "model_response_matrix", "human_response_matrix", "dprimes", "correlate"]

#: |d'| is clipped here (brainscore-vision ``dprimes(cap=5)``)
CAP = 5.0
#: number of split-halves (brainscore-vision ``repetitions=2``)
SPLITS = 2
#: seed of the ``numpy.random.RandomState`` that draws the halves
SEED = 0


class I2nError(ValueError):
    """Inputs the I2n computation cannot use (the message names the value and the fix)."""


@dataclass(frozen=True)
class ResponseMatrix:
    """An ``(image, choice)`` matrix with its labels, rows and columns sorted.

    Attributes
    ----------
    stimulus_ids : numpy.ndarray
        ``(images,)`` stimulus ids, sorted.
    truth : numpy.ndarray
        ``(images,)`` object code of each image's true object.
    choices : numpy.ndarray
        ``(choices,)`` object codes of the columns, sorted by name.
    values : numpy.ndarray
        ``(images, choices)`` float64.
    """

    stimulus_ids: np.ndarray
    truth: np.ndarray
    choices: np.ndarray
    values: np.ndarray


def split_halves(n_trials: int, splits: int = SPLITS, seed: int = SEED
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Brain-Score's halves: ``splits`` shuffles of ``range(n_trials)`` by one ``RandomState``."""
    state = np.random.RandomState(seed)
    halves = []
    for _ in range(splits):
        order = np.arange(n_trials)
        state.shuffle(order)  # the same permutation as RandomState.shuffle of a Python list
        middle = n_trials // 2
        halves.append((order[:middle], order[middle:]))
    return halves


def model_response_matrix(probabilities: np.ndarray, truth_column: np.ndarray) -> np.ndarray:
    """``p_c / (p_c + p_truth)`` with NaN in each row's truth column.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(images, choices)`` choice probabilities.
    truth_column : numpy.ndarray
        ``(images,)`` the column of each image's true object.
    """
    rows = np.arange(len(truth_column))
    truth_p = probabilities[rows, truth_column]
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = probabilities / (probabilities + truth_p[:, None])
    matrix[rows, truth_column] = np.nan
    return matrix


def human_response_matrix(image: np.ndarray, chosen: np.ndarray, sample: np.ndarray,
                          distractor: np.ndarray, image_truth: np.ndarray, half: np.ndarray,
                          n_images: int, n_objects: int, stimulus_ids: np.ndarray
                          ) -> ResponseMatrix:
    """The human response matrix of the trials ``half`` (indices into the code arrays).

    ``image`` codes index the sorted ``stimulus_ids`` and ``image_truth`` (each image's true
    object, constant over its trials); object codes index the sorted object names, so sorted
    codes are sorted names. Rows are the images with trials in the half, columns the objects
    chosen in the half.
    """
    img, pick = image[half], chosen[half]
    present = np.flatnonzero(np.bincount(img, minlength=n_images))
    columns = np.flatnonzero(np.bincount(pick, minlength=n_objects))
    size = n_images * n_objects
    picked = np.bincount(img * n_objects + pick, minlength=size).reshape(n_images, n_objects)
    offered = (np.bincount(img * n_objects + sample[half], minlength=size)
               + np.bincount(img * n_objects + distractor[half], minlength=size)
               ).reshape(n_images, n_objects)
    picked = picked[np.ix_(present, columns)].astype(np.float64)
    offered = offered[np.ix_(present, columns)].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(offered > 0, picked / offered, np.nan)
    truth = image_truth[present]
    values[truth[:, None] == columns[None, :]] = np.nan
    return ResponseMatrix(stimulus_ids[present], truth, columns, values)


def _group_nanmean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``(n_groups, columns)`` NaN-mean of the rows of each group (NaN where a group has none)."""
    finite = ~np.isnan(values)
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, groups, np.where(finite, values, 0.0))
    np.add.at(counts, groups, finite)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def dprimes(matrix: ResponseMatrix, names: np.ndarray, *, normalize: bool = True,
            cap: float = CAP, what: str = "response matrix") -> np.ndarray:
    """Clipped (and optionally group-mean-normalised) d' of a response matrix.

    Parameters
    ----------
    matrix : ResponseMatrix
        The response matrix.
    names : numpy.ndarray
        Object code -> object name (for error messages).
    normalize : bool
        Subtract each (truth, choice) group's NaN-mean (I2n) or not (I2).
    cap : float
        Clip |d'| to this value.
    what : str
        Name of the matrix in error messages.
    """
    values, truth, choices = matrix.values, matrix.truth, matrix.choices
    objects, group = np.unique(truth, return_inverse=True)
    group_of = {int(code): index for index, code in enumerate(objects)}
    column_of = {int(code): index for index, code in enumerate(choices)}
    not_truths = [names[c] for c in choices if int(c) not in group_of]
    if not_truths:
        raise I2nError(
            f"{what}: choice(s) {not_truths[:5]} are the true object of no image, so their "
            "false-alarm rate is undefined; every choice must be the truth of some image "
            "(restrict the choices to the images' objects)")
    not_choices = sorted({names[t] for t in objects if int(t) not in column_of})
    if not_choices:
        raise I2nError(
            f"{what}: the true object(s) {not_choices[:5]} of some images are not among the "
            "choices; every image's true object must be a choice (column)")
    means = _group_nanmean(values, group, len(objects))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        false_alarms = means[np.array([group_of[int(c)] for c in choices])[None, :],
                             np.array([column_of[int(t)] for t in truth])[:, None]]
        scores = np.clip(ndtri(1.0 - values) - ndtri(false_alarms), -cap, cap)
    if normalize:
        scores = scores - _group_nanmean(scores, group, len(objects))[group]
    return scores


def correlate(source: np.ndarray, target: np.ndarray, *, what: str = "source") -> float:
    """Pearson r over the cells where ``target`` is not NaN (``source`` must be finite there)."""
    source, target = source.ravel(), target.ravel()
    keep = ~np.isnan(target)
    x, y = source[keep], target[keep]
    if np.isnan(x).any():
        raise I2nError(
            f"the {what} d' matrix is NaN in {int(np.isnan(x).sum())} cell(s) where the human "
            "one is defined (a 0/0 rate, e.g. probability 0 for both the truth and the "
            "distractor, or z(hit rate) and z(false-alarm rate) both infinite, e.g. a rate of 1 "
            "against a false-alarm rate of 0); Brain-Score refuses these inputs too. More "
            "trials per (image, distractor) make such cells rare")
    if x.size < 2:
        raise I2nError(f"only {x.size} (image, distractor) cell(s) to correlate; need >= 2")
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(np.dot(x, y) / denominator) if denominator > 0 else float("nan")
