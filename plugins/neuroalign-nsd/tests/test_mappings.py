"""The mappings and the ceiling against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign_nsd.benchmarks import split_half_ceiling
from neuroalign_nsd.mappings import MappingError, choose_lasso_alpha, fit_predict


def test_ols_is_the_minimum_norm_least_squares_solution():
    rng = np.random.default_rng(0)
    x, y, t = rng.normal(size=(20, 50)), rng.normal(size=(20, 3)), rng.normal(size=(5, 50))
    predicted, _ = fit_predict("ols", x, y, t)
    mx, my = x.mean(0), y.mean(0)
    expected = (t - mx) @ np.linalg.pinv(x - mx) @ (y - my) + my
    np.testing.assert_allclose(predicted, expected, atol=1e-8)


def test_ridge_matches_scikit_learn_per_target():
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(40, 10)), rng.normal(size=(6, 10))
    y = np.c_[x[:, 0] + 0.1 * rng.normal(size=40), rng.normal(size=40)]
    predicted, details = fit_predict("ridge", x, y, t)
    scale = np.sqrt(((x - x.mean(0)) ** 2).mean())
    for j in range(2):
        model = RidgeCV(alphas=np.logspace(-3, 8, 23)).fit((x - x.mean(0)) / scale, y[:, j])
        assert details["ridge_alphas"][j] == pytest.approx(model.alpha_)
        np.testing.assert_allclose(predicted[:, j], model.predict((t - x.mean(0)) / scale))
    assert details["ridge_alphas"][0] < details["ridge_alphas"][1]  # signal vs pure noise


def test_lasso_alpha_choice_and_errors():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 30))
    y = x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=80)
    alpha, curve = choose_lasso_alpha(x, y)
    assert alpha in (1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1) and len(curve) == 6
    assert curve[f"{alpha:g}"] == max(curve.values()) > 0.8
    with pytest.raises(MappingError, match="lasso needs lasso_alpha"):
        fit_predict("lasso", x, y, x)
    with pytest.raises(MappingError, match="unknown mapping 'pls'"):
        fit_predict("pls", x, y, x)
    with pytest.raises(MappingError, match="NaN"):
        fit_predict("ols", np.full((3, 2), np.nan), y[:3], x[:1, :2])


def test_mlp_and_cnn_are_seeded_and_learn():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 2 * 3 * 3))
    y = np.c_[np.tanh(x[:, :4].sum(1)), x[:, 5]]
    for mapping in ("mlp", "cnn"):
        a, _ = fit_predict(mapping, x[:100], y[:100], x[100:], seed=4, feature_shape=(2, 3, 3))
        b, _ = fit_predict(mapping, x[:100], y[:100], x[100:], seed=4, feature_shape=(2, 3, 3))
        np.testing.assert_array_equal(a, b)
        r = [np.corrcoef(a[:, j], y[100:, j])[0, 1] for j in range(2)]
        assert min(r) > 0.5, (mapping, r)


def test_split_half_ceiling_recovers_a_known_reliability():
    rng = np.random.default_rng(5)
    signal = rng.normal(size=20000)
    trials = signal + rng.normal(size=(3, 20000))  # one trial: r = .5 between trials
    r = np.mean([np.corrcoef(trials[k], np.delete(trials, k, 0).mean(0))[0, 1]
                 for k in range(3)])
    assert split_half_ceiling(trials) == pytest.approx(2 * r / (1 + r))
    # theory: corr(one trial, mean of two) = .5 / sqrt(.75)
    assert split_half_ceiling(trials) == pytest.approx(2 * 0.57735 / 1.57735, abs=0.02)
