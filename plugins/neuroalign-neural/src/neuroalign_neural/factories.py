"""Factories ``factory(spec)`` of every registered metric and ceiling, and the mapping estimators.

The registry calls ``factory(spec)``; each factory reads ``spec.parameters``, rejects unknown
parameters (listing the valid ones) and builds the runtime object. scikit-learn is imported here
lazily, never at registration.
"""

from __future__ import annotations

from typing import Any

from neuroalign.specs import MetricSpec, resolve_factory

from .inputs import MetricInputError
from .regression import (
    CROSS_VALIDATION_DEFAULTS,
    PLS_DEFAULTS,
    PLSCorrelation,
    RegressionCorrelation,
    log_grid,
)

__all__ = [
    "MAPPING_DEFAULTS",
    "RIDGE_ALPHAS",
    "lasso_estimator",
    "make_cka",
    "make_internal_consistency",
    "make_lasso",
    "make_mlp",
    "make_ols",
    "make_pls",
    "make_regression",
    "make_ridge",
    "make_rsa",
    "mlp_estimator",
    "ols_estimator",
    "ridge_estimator",
]

#: ridge grid: 1e-3 ... 1e8, two values per decade (activations vary over many scales)
RIDGE_ALPHAS: list[float] = log_grid(-3, 8, 2)

#: metric id -> its own parameters and their defaults (cross-validation ones come on top)
MAPPING_DEFAULTS: dict[str, dict[str, Any]] = {
    "pls": dict(PLS_DEFAULTS),
    "ridge": {"alphas": RIDGE_ALPHAS},
    "ols": {},
    "lasso": {"cv": 5, "n_alphas": 20, "max_iter": 5000},
    "mlp": {"hidden_units": 128, "max_iter": 500, "alpha": 1e-4, "learning_rate_init": 1e-3,
            "seed": 0},
    "regression": {"estimator": None, "estimator_parameters": {}},
}


def _parameters(spec: MetricSpec, own: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated with ``spec.parameters``; unknown names are errors."""
    valid = {**shared, **own}
    unknown = sorted(set(spec.parameters) - set(valid))
    if unknown:
        raise MetricInputError(
            f"metric {spec.id!r} does not take parameter(s) {unknown}; valid parameters are "
            f"{sorted(valid)}"
        )
    return {**valid, **spec.parameters}


def _split_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    return {name: params[name] for name in CROSS_VALIDATION_DEFAULTS}


# ------------------------------------------------------------------------------- estimators


def ridge_estimator(alphas: list[float] | None = None) -> Any:
    """``RidgeCV`` choosing one alpha per neuroid by efficient leave-one-out on the training set."""
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=list(alphas or RIDGE_ALPHAS), alpha_per_target=True)


def ols_estimator() -> Any:
    """Ordinary least squares (minimum-norm solution when features outnumber stimuli)."""
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def lasso_estimator(cv: int = 5, n_alphas: int = 20, max_iter: int = 5000) -> Any:
    """One ``LassoCV`` per neuroid; alpha chosen by ``cv``-fold CV inside the training split."""
    import inspect

    from sklearn.linear_model import LassoCV
    from sklearn.multioutput import MultiOutputRegressor

    # scikit-learn >= 1.7 takes the grid size as ``alphas=int``; older versions as ``n_alphas``
    grid = ({"alphas": n_alphas} if "n_alphas" not in inspect.signature(LassoCV).parameters
            else {"n_alphas": n_alphas})
    return MultiOutputRegressor(LassoCV(cv=cv, max_iter=max_iter, **grid))


def mlp_estimator(hidden_units: int = 128, max_iter: int = 500, alpha: float = 1e-4,
                  learning_rate_init: float = 1e-3, seed: int = 0) -> Any:
    """One hidden layer of ``hidden_units`` ReLUs (paper 002), on standardised inputs and targets."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    network = MLPRegressor(hidden_layer_sizes=(int(hidden_units),), alpha=alpha,
                           learning_rate_init=learning_rate_init, max_iter=max_iter,
                           early_stopping=True, random_state=seed)
    return TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), network),
                                      transformer=StandardScaler())


# ------------------------------------------------------------------------------- factories


def make_pls(spec: MetricSpec) -> PLSCorrelation:
    """Factory of ``pls``: :class:`~neuroalign_neural.regression.PLSCorrelation`."""
    p = _parameters(spec, MAPPING_DEFAULTS["pls"], CROSS_VALIDATION_DEFAULTS)
    return PLSCorrelation(p["n_components"], max_iter=p["max_iter"], tol=p["tol"],
                          solver=p["solver"], spec=spec, **_split_kwargs(p))


def _mapping(spec: MetricSpec, estimator: Any, p: dict[str, Any],
             rotation_invariant: bool = False) -> RegressionCorrelation:
    return RegressionCorrelation(estimator, metric_id=spec.id, spec=spec,
                                 rotation_invariant=rotation_invariant, **_split_kwargs(p))


def make_ridge(spec: MetricSpec) -> RegressionCorrelation:
    """Factory of ``ridge``: per-neuroid ``RidgeCV`` (leave-one-out) over ``alphas``."""
    p = _parameters(spec, MAPPING_DEFAULTS["ridge"], CROSS_VALIDATION_DEFAULTS)
    return _mapping(spec, ridge_estimator(p["alphas"]), p, rotation_invariant=True)


def make_ols(spec: MetricSpec) -> RegressionCorrelation:
    """Factory of ``ols``: ``LinearRegression``."""
    p = _parameters(spec, MAPPING_DEFAULTS["ols"], CROSS_VALIDATION_DEFAULTS)
    return _mapping(spec, ols_estimator(), p, rotation_invariant=True)


def make_lasso(spec: MetricSpec) -> RegressionCorrelation:
    """Factory of ``lasso``: per-neuroid ``LassoCV`` inside each training split."""
    p = _parameters(spec, MAPPING_DEFAULTS["lasso"], CROSS_VALIDATION_DEFAULTS)
    return _mapping(spec, lasso_estimator(p["cv"], p["n_alphas"], p["max_iter"]), p)


def make_mlp(spec: MetricSpec) -> RegressionCorrelation:
    """Factory of ``mlp``: one hidden layer of 128 units."""
    p = _parameters(spec, MAPPING_DEFAULTS["mlp"], CROSS_VALIDATION_DEFAULTS)
    return _mapping(spec, mlp_estimator(p["hidden_units"], p["max_iter"], p["alpha"],
                                        p["learning_rate_init"], p["seed"]), p)


def make_regression(spec: MetricSpec) -> RegressionCorrelation:
    """Factory of ``regression``: any estimator named by ``parameters["estimator"]``.

    ``estimator`` is an import path ``"module:Class"`` (e.g. ``"sklearn.svm:SVR"``),
    ``estimator_parameters`` a dict of keyword arguments. Single-output estimators are wrapped
    in ``MultiOutputRegressor``.
    """
    p = _parameters(spec, MAPPING_DEFAULTS["regression"], CROSS_VALIDATION_DEFAULTS)
    path = p["estimator"]
    if not isinstance(path, str) or ":" not in path:
        raise MetricInputError(
            f"metric {spec.id!r} needs parameters['estimator'] as an import path "
            f"'module:Class', e.g. 'sklearn.linear_model:Ridge'; found {path!r}"
        )
    cls = resolve_factory(path)
    kwargs = p["estimator_parameters"] or {}
    try:
        estimator = cls(**kwargs)
    except TypeError as error:
        raise MetricInputError(
            f"cannot build {path} with estimator_parameters={kwargs!r}: {error}") from error
    if not _is_multi_output(estimator):
        from sklearn.multioutput import MultiOutputRegressor

        estimator = MultiOutputRegressor(estimator)
    return _mapping(spec, estimator, p)


def _is_multi_output(estimator: Any) -> bool:
    """Whether ``estimator`` fits several targets at once (scikit-learn tags, old and new)."""
    try:
        return bool(estimator.__sklearn_tags__().target_tags.multi_output)
    except AttributeError:
        pass
    try:
        return bool(estimator._get_tags().get("multioutput", False))
    except AttributeError:
        return True  # not a scikit-learn estimator: trust it


def make_rsa(spec: MetricSpec):
    """Factory of ``rsa``: :class:`~neuroalign_neural.similarity.RSA`."""
    from .similarity import RSA

    p = _parameters(spec, {"rdm": "correlation", "comparison": "spearman"}, {})
    return RSA(rdm=p["rdm"], comparison=p["comparison"], spec=spec)


def make_cka(spec: MetricSpec):
    """Factory of ``cka``: :class:`~neuroalign_neural.similarity.LinearCKA`."""
    from .similarity import LinearCKA

    _parameters(spec, {}, {})
    return LinearCKA(spec=spec)


def make_internal_consistency(spec: MetricSpec):
    """Factory of ``internal_consistency``: :class:`~neuroalign_neural.ceiling.InternalConsistency`."""
    from .ceiling import CEILING_DEFAULTS, InternalConsistency

    p = _parameters(spec, CEILING_DEFAULTS, {})
    return InternalConsistency(spec=spec, **p)
