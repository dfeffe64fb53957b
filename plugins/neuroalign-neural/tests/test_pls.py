"""The fast PLS equals scikit-learn's PLSRegression(scale=False), iteration for iteration."""

import numpy as np
import pytest
from neuroalign_neural import FastPLSRegression, MetricInputError
from neuroalign_neural.pls import fit_pls_batch
from sklearn.cross_decomposition import PLSRegression


def data(n=150, p=40, q=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) * 0.3 + 5.0  # correlated, offset
    y = x[:, :4] @ rng.normal(size=(4, q)) + 2.0 * rng.normal(size=(n, q))
    return x, y, rng.normal(size=(30, p)) + 5.0


@pytest.mark.parametrize("q", [1, 12])
def test_matches_sklearn_nipals(q):
    x, y, x_new = data(q=q)
    ours = FastPLSRegression(20).fit(x, y if q > 1 else y[:, 0])
    theirs = PLSRegression(n_components=20, scale=False).fit(x, y if q > 1 else y[:, 0])
    np.testing.assert_allclose(ours.predict(x_new), theirs.predict(x_new), rtol=1e-9, atol=1e-9)
    assert ours.n_iter_ == list(theirs.n_iter_)  # same number of power iterations per component


def test_svd_solver_is_the_converged_fixed_point():
    x, y, x_new = data()
    nipals = FastPLSRegression(20, tol=1e-14, max_iter=5000).fit(x, y).predict(x_new)
    svd = FastPLSRegression(20, solver="svd").fit(x, y).predict(x_new)
    np.testing.assert_allclose(svd, nipals, rtol=1e-6, atol=1e-6)


def test_batch_fits_equal_separate_fits():
    x, y, _ = data()
    x0, y0 = x - x.mean(0), y - y.mean(0)
    rng = np.random.default_rng(1)
    trains = [np.sort(rng.choice(len(x), 120, replace=False)) for _ in range(3)]
    fits = fit_pls_batch(x0, y0, trains, n_components=10)
    for train, fit in zip(trains, fits):
        single = PLSRegression(n_components=10, scale=False).fit(x0[train], y0[train])
        np.testing.assert_allclose(fit.predict_centred(x0[:20]), single.predict(x0[:20]),
                                   rtol=1e-9, atol=1e-9)


def test_rank_deficient_source_stops_early_without_nan():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(100, 3))
    x = base @ rng.normal(size=(3, 30))  # rank 3
    y = base @ rng.normal(size=(3, 5))
    model = FastPLSRegression(10).fit(x, y)
    assert model.fit_.n_components <= 4
    assert model.fit_.stopped_early is not None
    np.testing.assert_allclose(model.predict(x), y, atol=1e-6)


def test_more_components_than_features_is_an_error():
    x, y, _ = data(p=5)
    with pytest.raises(MetricInputError, match="n_components=20 exceeds the source's 5 features"):
        FastPLSRegression(20).fit(x, y)


def test_unknown_solver_is_an_error():
    x, y, _ = data()
    with pytest.raises(MetricInputError, match="unknown PLS solver 'qr'"):
        FastPLSRegression(5, solver="qr").fit(x, y)


@pytest.mark.parametrize("max_iter", [3, 33, 40])
def test_matches_sklearn_when_the_power_iteration_hits_max_iter(max_iter):
    # iterations cross the chunk boundary (32 steps) and stop at max_iter: sklearn returns the
    # x-weights of its last iteration; so must the chunked, batched iteration
    import warnings

    x, y, x_new = data(q=12, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = FastPLSRegression(8, max_iter=max_iter, tol=1e-13).fit(x, y)
        theirs = PLSRegression(n_components=8, scale=False, max_iter=max_iter,
                               tol=1e-13).fit(x, y)
    assert ours.n_iter_ == list(theirs.n_iter_)
    assert ours.n_iter_.count(max_iter) >= 2  # the case under test happens
    np.testing.assert_allclose(ours.predict(x_new), theirs.predict(x_new), rtol=1e-8, atol=1e-8)


def test_batched_power_iteration_equals_one_problem_at_a_time():
    from neuroalign_neural.pls import _power_direction, _power_directions

    rng = np.random.default_rng(5)
    ms = [(a := rng.normal(size=(50, 9))).T @ a for _ in range(4)] + [np.zeros((9, 9))]
    starts = [0, 3, 8, 1, 2]
    together = _power_directions(ms, starts, 100, 1e-9)
    for m, start, (v, norm2, n_iter) in zip(ms, starts, together):
        v1, norm1, n1 = _power_direction(m, start, 100, 1e-9)
        assert n_iter == n1
        np.testing.assert_allclose(v, v1, rtol=1e-12, atol=1e-14)
        assert norm2 == pytest.approx(norm1, rel=1e-12, abs=0)
        if m.any():  # ||Cv||² of a unit v is the Rayleigh quotient of M
            assert norm2 == pytest.approx(v @ m @ v, rel=1e-10)
    assert together[-1][1] == 0.0 and together[-1][2] == 1  # M = 0: stops at once


def test_splits_that_stop_at_different_components_equal_their_separate_fits():
    # rank 3 plus two rows with directions of their own: splits holding those rows have more
    # components to find, so the stacked fits stop (and are dropped) at different steps
    rng = np.random.default_rng(4)
    base = rng.normal(size=(60, 3))
    x = base @ rng.normal(size=(3, 12))
    x[:2] += rng.normal(size=(2, 12)) * 3.0
    y = x @ rng.normal(size=(12, 4)) + 0.1 * rng.normal(size=(60, 4))
    x0, y0 = x - x.mean(0), y - y.mean(0)
    trains = [np.arange(2, 60), np.arange(0, 58), np.arange(1, 59), np.arange(2, 60)[::-1]]
    fits = fit_pls_batch(x0, y0, trains, n_components=8)
    assert len({fit.n_components for fit in fits}) > 1, [fit.n_components for fit in fits]
    for train, fit in zip(trains, fits):
        (alone,) = fit_pls_batch(x0, y0, [train], n_components=8)
        assert fit.n_components == alone.n_components
        # which test ends a rank-deficient fit (cross-covariance or source) is rounding noise
        assert (fit.stopped_early is None) == (alone.stopped_early is None)
        np.testing.assert_allclose(fit.predict_centred(x0), alone.predict_centred(x0),
                                   rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("route", ["numpy's OpenBLAS", "threadpoolctl fallback"])
def test_one_blas_thread_limits_numpys_blas_and_restores_it(route, monkeypatch):
    from neuroalign_neural import pls
    from neuroalign_neural.pls import _one_blas_thread
    from threadpoolctl import threadpool_info, threadpool_limits

    if route == "threadpoolctl fallback":  # as on a numpy without its bundled OpenBLAS
        monkeypatch.setattr(pls, "_NUMPY_OPENBLAS", None)
        monkeypatch.setattr(pls, "_THREADPOOLS", None)

    def numpy_blas_threads():
        return [lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas" and "numpy" in lib["filepath"]]

    with threadpool_limits(limits=2, user_api="blas"):
        before = numpy_blas_threads()
        with _one_blas_thread():
            assert numpy_blas_threads() == [1] * len(before)
        assert numpy_blas_threads() == before
