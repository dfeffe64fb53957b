"""Regression-correlation metrics: fit a mapping on training stimuli, correlate on held-out ones.

``RegressionCorrelation(regression=estimator)`` runs Brain-Score's cross-validated
regression-correlation procedure (see :mod:`neuroalign_neural.crossval`) with any
scikit-learn-style regressor; ``PLSCorrelation`` is the same metric with Brain-Score's PLS mapping
computed by the fast, numerically identical :mod:`neuroalign_neural.pls`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr
from neuroalign import Metric, MetricSpec
from neuroalign import Score

from .crossval import columnwise_pearson, split_score, stimulus_splits, summarize
from .inputs import AlignedPair, MetricInputError, align_source_target, input_notes
from .pls import SOLVERS, blas_threads_for, fit_pls_batch

__all__ = [
    "CROSS_VALIDATION_DEFAULTS",
    "PLS_DEFAULTS",
    "CrossValidatedCorrelation",
    "PLSCorrelation",
    "RegressionCorrelation",
]

#: Brain-Score's defaults (brainscore-vision 2.4.2 ``Split.Defaults``)
CROSS_VALIDATION_DEFAULTS: dict[str, Any] = {
    "splits": 10,
    "train_size": 0.9,
    "random_state": 1,
    "stratification_coord": "object_name",
}
#: Brain-Score's ``pls_regression`` defaults plus scikit-learn's power-iteration limits
PLS_DEFAULTS: dict[str, Any] = {"n_components": 25, "max_iter": 500, "tol": 1e-6,
                                "solver": "nipals"}


def _default_spec(identifier: str, factory: str, parameters: dict[str, Any]) -> MetricSpec:
    return MetricSpec(id=identifier, factory=factory, parameters=parameters, kind="mapping")


class CrossValidatedCorrelation(Metric):
    """Base of the mapping metrics: alignment, splits, per-neuroid Pearson r, aggregation.

    Subclasses implement :meth:`predict_splits`.

    Parameters
    ----------
    splits : int
        Number of train/test splits (Brain-Score: 10).
    train_size : float
        Fraction of stimuli used for training in each split (Brain-Score: 0.9).
    random_state : int or None
        Seed of the splitter (Brain-Score: 1).
    stratification_coord : str or None
        Presentation coordinate to stratify splits by when present (Brain-Score:
        ``"object_name"``); absent or None: unstratified ``ShuffleSplit``.
    """

    metric_id = "regression"
    #: see PLSCorrelation.rotation_invariant; False unless the estimator is known to be
    rotation_invariant = False

    def __init__(self, *, splits: int = 10, train_size: float = 0.9, random_state: int | None = 1,
                 stratification_coord: str | None = "object_name"):
        self.splits = splits
        self.train_size = train_size
        self.random_state = random_state
        self.stratification_coord = stratification_coord

    def cross_validation_parameters(self) -> dict[str, Any]:
        return {"splits": self.splits, "train_size": self.train_size,
                "random_state": self.random_state,
                "stratification_coord": self.stratification_coord}

    def parameters(self) -> dict[str, Any]:
        """JSON-able parameters recorded in every Score's ``attrs``."""
        return self.cross_validation_parameters()

    def predict_splits(self, pair: AlignedPair, plan) -> tuple[list[np.ndarray], dict[str, Any]]:
        """Predicted target rows of each split's test set, and details for ``attrs``."""
        raise NotImplementedError

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        """Score how well ``source`` predicts ``target`` on held-out stimuli.

        Parameters
        ----------
        source : xarray.DataArray
            ``presentation x neuroid`` model features with a ``stimulus_id`` coordinate; may hold
            extra stimuli and any order.
        target : xarray.DataArray
            ``presentation x neuroid`` responses averaged over repetitions, with ``stimulus_id``
            (and optionally ``object_name``, ``neuroid_id``).

        Returns
        -------
        neuroalign.Score
            ``value`` (= ``raw``): mean over splits of the median over neuroids of the held-out
            Pearson r; ``error``: std over splits / sqrt(splits); ``splits``; ``neuroids`` (mean
            over splits, keyed by ``neuroid_id``); ``attrs``: parameters and split details.
        """
        target, nan_neuroids = _drop_nan_neuroids(target)
        pair = align_source_target(source, target, self.stratification_coord,
                                   reject_constant_source=True)
        plan = stimulus_splits(len(pair.stimulus_ids), pair.strata, n_splits=self.splits,
                               train_size=self.train_size, random_state=self.random_state)
        predictions, details = self.predict_splits(pair, plan)
        per_split, flat_predictions = [], 0
        for prediction, test in zip(predictions, plan.test):
            r = columnwise_pearson(prediction, pair.target[test])
            # a constant prediction (e.g. a lasso that kept no feature) carries no information:
            # r = 0, where Brain-Score's pearsonr gives NaN and its median would skip it
            flat = np.ptp(prediction, axis=0) == 0
            r[flat] = 0.0
            flat_predictions += int(flat.sum())
            per_split.append(r)
        per_split = np.stack(per_split)
        attrs = {
            "metric": self.metric_id,
            "parameters": self.parameters(),
            "stratified": plan.stratified,
            "n_stimuli": len(pair.stimulus_ids),
            "n_train": len(plan.train[0]),
            "n_test": len(plan.test[0]),
            "n_features": int(pair.source.shape[1]),
            "n_neuroids": len(pair.neuroid_ids),
            "split_order": "stimuli sorted by stimulus_id",
            **details,
        }
        if flat_predictions:
            attrs["constant_predictions_scored_zero"] = flat_predictions
        if nan_neuroids:
            attrs["nan_neuroids_dropped"] = nan_neuroids
        attrs.update(input_notes(pair))
        return split_score(summarize(per_split), pair.neuroid_ids, attrs)


class PLSCorrelation(CrossValidatedCorrelation):
    """Brain-Score's neural predictivity: PLS regression (25 components, no scaling) + Pearson r.

    Numerically equal to brainscore-vision 2.4.2's ``pls`` metric
    (``CrossRegressedCorrelation(pls_regression(), pearsonr_correlation())``) and much faster:
    all splits share one pass structure over the source (see :mod:`neuroalign_neural.pls`).

    Parameters
    ----------
    n_components : int
        PLS components (Brain-Score: 25).
    max_iter, tol : int, float
        scikit-learn's NIPALS limits (500, 1e-6), reproduced exactly.
    solver : {"nipals", "svd"}
        ``"nipals"`` (default) matches scikit-learn/Brain-Score; ``"svd"`` uses exact singular
        vectors (differs from Brain-Score by the NIPALS convergence tolerance).
    splits, train_size, random_state, stratification_coord
        See :class:`CrossValidatedCorrelation`.
    """

    metric_id = "pls"
    #: the score depends on the source only through the inner products of its rows, so the
    #: exact Gram embedding of the full activations gives the full-activation score
    rotation_invariant = True

    def __init__(self, n_components: int = 25, *, max_iter: int = 500, tol: float = 1e-6,
                 solver: str = "nipals", splits: int = 10, train_size: float = 0.9,
                 random_state: int | None = 1, stratification_coord: str | None = "object_name",
                 spec: MetricSpec | None = None):
        super().__init__(splits=splits, train_size=train_size, random_state=random_state,
                         stratification_coord=stratification_coord)
        if solver not in SOLVERS:
            raise MetricInputError(f"unknown PLS solver {solver!r}; choose one of {list(SOLVERS)}")
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.spec = spec or _default_spec("pls", "neuroalign_neural.factories:make_pls",
                                          self.parameters())

    def parameters(self) -> dict[str, Any]:
        return {"n_components": self.n_components, "max_iter": self.max_iter, "tol": self.tol,
                "solver": self.solver, **self.cross_validation_parameters()}

    def predict_splits(self, pair: AlignedPair, plan) -> tuple[list[np.ndarray], dict[str, Any]]:
        x0 = np.asarray(pair.source, dtype=np.float64)
        x0 = x0 - x0.mean(axis=0)
        y0 = pair.target - pair.target.mean(axis=0)
        # scikit-learn refuses more components than features; a narrower source (rare for
        # model layers) uses one component per feature instead, recorded in attrs
        n_components = min(self.n_components, x0.shape[1])
        with blas_threads_for(x0):
            fits = fit_pls_batch(x0, y0, plan.train, n_components=n_components,
                                 max_iter=self.max_iter, tol=self.tol, solver=self.solver)
            predictions = [fit.predict_centred(x0[test]) for fit, test in zip(fits, plan.test)]
        details: dict[str, Any] = {"components_used": [fit.n_components for fit in fits]}
        if n_components < self.n_components:
            details["n_components_clipped_to_features"] = n_components
        stopped = sorted({fit.stopped_early for fit in fits if fit.stopped_early})
        if stopped:
            details["pls_stopped_early"] = stopped
        return predictions, details


def _drop_nan_neuroids(target: xr.DataArray) -> tuple[xr.DataArray, list[str]]:
    """``target`` without neuroids that hold a NaN (warned; their ids returned).

    Brain-Score averages repetitions NaN-aware and its median over neuroids skips NaN
    correlations; a neuroid NaN on some stimulus after averaging cannot be fitted, so it is
    skipped here the same way (Brain-Score's regression would stop with an error instead).
    """
    if "neuroid" not in target.dims:
        return target, []
    values = np.asarray(target.transpose(..., "neuroid").values, dtype=np.float64)
    bad = np.isnan(values).reshape(-1, values.shape[-1]).any(axis=0)
    if not bad.any():
        return target, []
    if bad.all():
        raise MetricInputError(f"every one of the target's {bad.size} neuroids has NaN values "
                               "(after averaging repetitions); there is nothing to score")
    from .inputs import neuroid_ids

    dropped = [i for i, b in zip(neuroid_ids(target), bad) if b]
    warnings.warn(f"{len(dropped)} target neuroid(s) with NaN values skipped, e.g. "
                  f"{dropped[:3]}", RuntimeWarning, stacklevel=3)
    return target.isel(neuroid=np.flatnonzero(~bad)), dropped


def _selected_alphas(estimator: Any) -> np.ndarray | None:
    """Regularisation chosen inside the fold (RidgeCV, LassoCV, MultiOutputRegressor of them)."""
    alpha = getattr(estimator, "alpha_", None)
    if alpha is not None:
        return np.atleast_1d(np.asarray(alpha, dtype=float))
    inner = getattr(estimator, "estimators_", None)
    if isinstance(inner, list) and inner and all(hasattr(e, "alpha_") for e in inner):
        return np.asarray([e.alpha_ for e in inner], dtype=float)
    regressor = getattr(estimator, "regressor_", None)
    return _selected_alphas(regressor) if regressor is not None else None


class RegressionCorrelation(CrossValidatedCorrelation):
    """Cross-validated regression-correlation with any scikit-learn regressor.

    Parameters
    ----------
    regression : estimator
        An unfitted scikit-learn-style regressor (``fit(X, Y)``, ``predict(X)``, multi-output);
        it is cloned for every split, so the instance passed in is never modified.
    metric_id : str
        Name recorded in ``attrs["metric"]``.
    splits, train_size, random_state, stratification_coord
        See :class:`CrossValidatedCorrelation`.
    spec : MetricSpec, optional
        The spec this metric was built from (set by the registry).
    rotation_invariant : bool
        Whether the estimator's predictions depend on the source only through inner products of
        its rows (ridge, OLS: yes; lasso, MLP: no). Benchmarks then score full activations
        through their exact Gram embedding.

    Examples
    --------
    >>> from sklearn.svm import SVR
    >>> from sklearn.multioutput import MultiOutputRegressor
    >>> metric = RegressionCorrelation(regression=MultiOutputRegressor(SVR()))  # doctest: +SKIP
    >>> score = metric(source, target)  # doctest: +SKIP
    """

    def __init__(self, regression: Any, *, metric_id: str = "regression", splits: int = 10,
                 train_size: float = 0.9, random_state: int | None = 1,
                 stratification_coord: str | None = "object_name",
                 spec: MetricSpec | None = None, rotation_invariant: bool = False):
        super().__init__(splits=splits, train_size=train_size, random_state=random_state,
                         stratification_coord=stratification_coord)
        self.rotation_invariant = bool(rotation_invariant)
        if not (hasattr(regression, "fit") and hasattr(regression, "predict")):
            raise MetricInputError(
                f"regression must be a scikit-learn-style estimator with fit() and predict(); "
                f"found {type(regression).__name__}"
            )
        self.regression = regression
        self.metric_id = metric_id
        self.spec = spec or _default_spec(metric_id, "neuroalign_neural.factories:make_regression",
                                          {"estimator": _import_path(regression)})

    def parameters(self) -> dict[str, Any]:
        return {"estimator": repr(self.regression), **self.cross_validation_parameters()}

    def predict_splits(self, pair: AlignedPair, plan) -> tuple[list[np.ndarray], dict[str, Any]]:
        from sklearn.base import clone

        source = np.asarray(pair.source, dtype=np.float64)
        predictions, alphas = [], []
        for train, test in zip(plan.train, plan.test):
            estimator = clone(self.regression)
            estimator.fit(source[train], pair.target[train])
            prediction = np.asarray(estimator.predict(source[test]), dtype=np.float64)
            predictions.append(prediction.reshape(len(test), -1))
            selected = _selected_alphas(estimator)
            if selected is not None:
                alphas.append(selected)
        details: dict[str, Any] = {}
        if alphas:
            details["alpha_median_per_split"] = [float(np.median(a)) for a in alphas]
            flat = np.concatenate(alphas)
            details["alpha_range"] = [float(flat.min()), float(flat.max())]
        return predictions, details


def _import_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def log_grid(low: float, high: float, per_decade: int) -> list[float]:
    """``per_decade`` log-spaced values per decade from ``10**low`` to ``10**high`` inclusive."""
    count = round((high - low) * per_decade) + 1
    return [float(v) for v in np.logspace(low, high, count)]

