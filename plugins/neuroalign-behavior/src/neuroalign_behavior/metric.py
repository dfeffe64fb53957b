"""The ``i2n`` metric and the ``i2n_split_half`` ceiling (Brain-Score's, numerically identical).

Inputs are in Brain-Score's own layout, so its files and ours are interchangeable:

* ``probabilities``: a DataArray ``presentation x choice`` of a model's choice probabilities,
  coord ``stimulus_id`` on the presentation dim and the object names as the ``choice`` coord
  (what ``ProbabilitiesMapping.look_at`` returns);
* ``trials``: a DataArray over ``presentation`` (one element per human trial) whose values are
  the chosen object names, with coords ``stimulus_id``, ``truth``, ``sample_obj`` and
  ``dist_obj`` (Brain-Score's ``Rajalingham2018`` assemblies).

The arithmetic is in :mod:`neuroalign_behavior.i2n`; this module validates and encodes the
inputs and returns :class:`~neuroalign.Score` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroalign import Ceiling, Metric
from neuroalign import Score

from .i2n import (CAP, SEED, SPLITS, I2nError, ResponseMatrix, correlate, dprimes,
                  human_response_matrix, model_response_matrix, split_halves)

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from neuroalign import MetricSpec

__all__ = ["TRIAL_COORDS", "Trials", "encode_trials", "I2n", "I2nSplitHalf", "i2n_scores",
           "i2n_ceilings"]

#: the presentation coords a trials DataArray must have
TRIAL_COORDS = ("stimulus_id", "truth", "sample_obj", "dist_obj")


@dataclass(frozen=True)
class Trials:
    """Human trials as integer codes (see :func:`encode_trials`)."""

    image: np.ndarray  #: (trials,) index into ``stimulus_ids``
    chosen: np.ndarray  #: (trials,) object codes
    sample: np.ndarray
    distractor: np.ndarray
    truth: np.ndarray
    stimulus_ids: np.ndarray  #: sorted unique stimulus ids
    objects: np.ndarray  #: sorted object names (trial objects and any extra choice labels)
    image_truth: np.ndarray  #: (images,) object code of each stimulus' truth

    def __len__(self) -> int:
        return len(self.image)

    def half(self, indices: np.ndarray) -> ResponseMatrix:
        """The human response matrix of the trials ``indices``."""
        return human_response_matrix(self.image, self.chosen, self.sample, self.distractor,
                                     self.image_truth, indices, len(self.stimulus_ids),
                                     len(self.objects), self.stimulus_ids)


def _strings(values: Any) -> np.ndarray:
    """Object names as an array of str (object arrays of str are kept as they are)."""
    array = np.asarray(values)
    if array.dtype.kind == "O" and all(isinstance(v, str) for v in array.ravel()[:100]):
        return array
    return array.astype(str).astype(object)


def encode_trials(trials: xr.DataArray, extra_objects: Any = ()) -> Trials:
    """Validate a trials DataArray and encode it (objects include ``extra_objects``)."""
    import xarray as xr

    if not isinstance(trials, xr.DataArray):
        raise I2nError(f"trials must be an xarray.DataArray of chosen object names (Brain-Score's "
                       f"Rajalingham2018 assembly); found {type(trials).__name__}")
    if trials.ndim != 1:
        raise I2nError(f"trials must be 1-D (one element per trial, dim 'presentation'); found "
                       f"dims {tuple(trials.dims)}")
    dim = trials.dims[0]
    missing = [c for c in TRIAL_COORDS if c not in trials.coords or trials[c].dims != (dim,)]
    if missing:
        raise I2nError(f"trials lack the coord(s) {missing} along {dim!r} (need {list(TRIAL_COORDS)}"
                       f"); found coords {sorted(map(str, trials.coords))}")
    if trials.sizes[dim] < 4:
        raise I2nError(f"trials has {trials.sizes[dim]} trials; split-halves need at least 4")
    # pandas' hash factorisation (sorted vocabularies, so sorted codes are sorted names): an
    # order of magnitude faster than sorting the strings with np.unique
    import pandas as pd

    n = trials.sizes[dim]
    raw = {"chosen": trials.values, **{c: trials[c].values for c in TRIAL_COORDS}}
    stimulus_codes, stimulus_ids = pd.factorize(_strings(raw["stimulus_id"]), sort=True)
    extra = np.atleast_1d(_strings(list(extra_objects))) if len(extra_objects) else \
        np.array([], dtype=str)
    names = ("chosen", "truth", "sample_obj", "dist_obj")
    joined = np.concatenate([_strings(raw[name]) for name in names] + [extra])
    object_codes, objects = pd.factorize(joined, sort=True)
    if (object_codes < 0).any() or (stimulus_codes < 0).any():
        raise I2nError("trials have missing values (None/NaN) in their values or in the coords "
                       f"{list(TRIAL_COORDS)}; drop those trials")
    code = dict(zip(("chosen", "truth", "sample", "distractor"),
                    (object_codes[k * n:(k + 1) * n] for k in range(4))))
    image, objects, stimulus_ids = stimulus_codes, np.asarray(objects), np.asarray(stimulus_ids)
    wrong = (code["chosen"] != code["sample"]) & (code["chosen"] != code["distractor"])
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise I2nError(
            f"{int(wrong.sum())} trial(s) chose an object that was not offered, e.g. trial {i}: "
            f"chose {objects[code['chosen'][i]]!r} between sample_obj="
            f"{objects[code['sample'][i]]!r} and dist_obj={objects[code['distractor'][i]]!r}; "
            "trials' values must be the chosen object name")
    image_truth = np.full(len(stimulus_ids), -1)
    image_truth[image] = code["truth"]
    inconsistent = image_truth[image] != code["truth"]
    if inconsistent.any():
        i = int(np.flatnonzero(inconsistent)[0])
        raise I2nError(f"stimulus {stimulus_ids[image[i]]!r} has more than one truth in the "
                       f"trials (e.g. {objects[code['truth'][i]]!r} and "
                       f"{objects[image_truth[image[i]]]!r}); each image shows one object")
    return Trials(image, code["chosen"], code["sample"], code["distractor"], code["truth"],
                  stimulus_ids, objects, image_truth)


def _model_matrix(probabilities: xr.DataArray, trials: Trials) -> ResponseMatrix:
    """The model's response matrix, rows sorted by stimulus id and columns by choice name."""
    import xarray as xr

    if not isinstance(probabilities, xr.DataArray) or probabilities.ndim != 2 \
            or "choice" not in probabilities.dims:
        shown = tuple(probabilities.dims) if isinstance(probabilities, xr.DataArray) else \
            type(probabilities).__name__
        raise I2nError(f"probabilities must be a 2-D DataArray (presentation x choice) with object "
                       f"names as the 'choice' coord; found {shown}")
    dim = next(d for d in probabilities.dims if d != "choice")
    if "stimulus_id" not in probabilities.coords or probabilities["stimulus_id"].dims != (dim,):
        raise I2nError(f"probabilities need a 'stimulus_id' coord along {dim!r}; found coords "
                       f"{sorted(map(str, probabilities.coords))}")
    if "choice" not in probabilities.coords:
        raise I2nError("probabilities need the choice labels (object names) as the 'choice' coord")
    values = np.asarray(probabilities.transpose(dim, "choice").values, dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise I2nError("probabilities must be finite and within [0, 1]; found values in "
                       f"[{np.nanmin(values):g}, {np.nanmax(values):g}]"
                       f"{' and non-finite ones' if not np.isfinite(values).all() else ''}")
    ids = _strings(probabilities["stimulus_id"].values)
    labels = _strings(probabilities["choice"].values)
    for name, array in (("stimulus_id", ids), ("choice", labels)):
        unique, counts = np.unique(array, return_counts=True)
        if (counts > 1).any():
            raise I2nError(f"probabilities repeat the {name}(s) {list(unique[counts > 1][:5])}; "
                           "give one row per stimulus and one column per object")
    index = np.searchsorted(trials.stimulus_ids, ids).clip(max=len(trials.stimulus_ids) - 1)
    unknown = ids[trials.stimulus_ids[index] != ids]
    if len(unknown):
        raise I2nError(f"{len(unknown)} stimulus id(s) of the probabilities have no trials (e.g. "
                       f"{list(unknown[:3])}); score the model on the trials' images")
    choice_codes = np.searchsorted(trials.objects, labels)
    truth = trials.image_truth[index]
    column_of = {int(c): j for j, c in enumerate(choice_codes)}
    absent = sorted({str(trials.objects[t]) for t in truth if int(t) not in column_of})
    if absent:
        raise I2nError(f"the true object(s) {absent[:5]} of some images are not among the "
                       f"probabilities' choices {sorted(labels)[:5]}...; the choices must "
                       "include every object")
    matrix = model_response_matrix(values, np.array([column_of[int(t)] for t in truth]))
    rows, columns = np.argsort(ids, kind="stable"), np.argsort(labels, kind="stable")
    return ResponseMatrix(ids[rows], truth[rows], choice_codes[columns],
                          matrix[np.ix_(rows, columns)])


def _aligned(source: ResponseMatrix, target: ResponseMatrix, objects: np.ndarray,
             what: str) -> None:
    if not np.array_equal(source.stimulus_ids, target.stimulus_ids):
        only = sorted(set(source.stimulus_ids) ^ set(target.stimulus_ids))
        raise I2nError(f"{what}: the images differ ({len(only)} in only one of them, e.g. "
                       f"{only[:3]}); every image needs trials in every half")
    if not np.array_equal(source.choices, target.choices):
        only = sorted(set(objects[source.choices]) ^ set(objects[target.choices]))
        raise I2nError(f"{what}: the choices differ ({only[:5]} in only one of them); every "
                       "object must be chosen at least once in every half of the trials")


def i2n_scores(probabilities: xr.DataArray, trials: xr.DataArray, *, splits: int = SPLITS,
               seed: int = SEED, normalize: bool = True, cap: float = CAP) -> list[float]:
    """Per-split Pearson r between the model's and one half of the humans' d' matrices."""
    labels = np.atleast_1d(_strings(probabilities["choice"].values)) if "choice" in getattr(
        probabilities, "coords", {}) else ()
    encoded = encode_trials(trials, extra_objects=labels)
    source = _model_matrix(probabilities, encoded)
    source_d = dprimes(source, encoded.objects, normalize=normalize, cap=cap,
                       what="model response matrix")
    values = []
    for split, (half, _) in enumerate(split_halves(len(encoded), splits, seed)):
        target = encoded.half(half)
        _aligned(source, target, encoded.objects, f"split {split}: model vs human half")
        target_d = dprimes(target, encoded.objects, normalize=normalize, cap=cap,
                           what=f"human response matrix (split {split})")
        values.append(correlate(source_d, target_d, what="model"))
    return values


def i2n_ceilings(trials: xr.DataArray, *, splits: int = SPLITS, seed: int = SEED,
                 normalize: bool = True, cap: float = CAP) -> list[float]:
    """Per-split Pearson r between the two halves' d' matrices (no Spearman-Brown)."""
    encoded = encode_trials(trials)
    values = []
    for split, (first, second) in enumerate(split_halves(len(encoded), splits, seed)):
        a, b = encoded.half(first), encoded.half(second)
        _aligned(a, b, encoded.objects, f"split {split}: human half 1 vs half 2")
        values.append(correlate(
            dprimes(a, encoded.objects, normalize=normalize, cap=cap, what="human half 1"),
            dprimes(b, encoded.objects, normalize=normalize, cap=cap, what="human half 2"),
            what="first half's"))
    return values


def _score(values: list[float], attrs: dict[str, Any]) -> Score:
    array = np.asarray(values, dtype=np.float64)
    return Score(value=float(array.mean()), error=float(array.std()), splits=list(map(float, array)),
                 attrs=attrs)


class _Configured:
    """Parameters from the spec: ``splits``, ``seed``, ``normalize``, ``cap``."""

    def __init__(self, spec: MetricSpec | None = None):
        self.spec = spec  # type: ignore[assignment]
        params = dict(spec.parameters) if spec is not None else {}
        unknown = sorted(set(params) - {"splits", "seed", "normalize", "cap"})
        if unknown:
            raise I2nError(f"unknown parameter(s) {unknown}; valid: splits, seed, normalize, cap")
        self.splits = int(params.get("splits", SPLITS))
        self.seed = int(params.get("seed", SEED))
        self.normalize = bool(params.get("normalize", True))
        self.cap = float(params.get("cap", CAP))
        if self.splits < 1 or self.cap <= 0:
            raise I2nError(f"splits must be >= 1 and cap > 0; found splits={self.splits}, "
                           f"cap={self.cap}")

    def _attrs(self, name: str) -> dict[str, Any]:
        return {"metric": name, "splits_seed": self.seed, "n_splits": self.splits,
                "normalize": self.normalize, "dprime_cap": self.cap,
                "error": "standard deviation over splits (ddof=0)"}


class I2n(_Configured, Metric):
    """Brain-Score's I2n: ``i2n(probabilities, trials) -> Score`` (see the module docstring).

    ``value`` is the mean over split-halves of the Pearson r between the model's normalised d'
    matrix and that of one half of the human trials; ``error`` the standard deviation over
    splits; ``splits`` the per-split r (the benchmark ceils each with its split's ceiling).

    Parameters
    ----------
    spec : MetricSpec, optional
        ``parameters``: ``splits`` (2), ``seed`` (0), ``normalize`` (True: I2n; False: I2),
        ``cap`` (5).
    """

    def __call__(self, probabilities: xr.DataArray, trials: xr.DataArray) -> Score:
        """Score ``probabilities`` (presentation x choice) against human ``trials``."""
        values = i2n_scores(probabilities, trials, splits=self.splits, seed=self.seed,
                            normalize=self.normalize, cap=self.cap)
        return _score(values, self._attrs("i2n" if self.normalize else "i2"))


class I2nSplitHalf(_Configured, Ceiling):
    """The I2n ceiling: Pearson r between the two halves' d' matrices, per split (no
    Spearman-Brown correction, as in Brain-Score), averaged over splits.

    Parameters
    ----------
    spec : MetricSpec, optional
        The same parameters as :class:`I2n` (the halves are the same for score and ceiling).
    """

    def __call__(self, trials: xr.DataArray) -> Score:
        """The split-half consistency of the human ``trials``."""
        values = i2n_ceilings(trials, splits=self.splits, seed=self.seed,
                              normalize=self.normalize, cap=self.cap)
        return _score(values, self._attrs("i2n_split_half"))
