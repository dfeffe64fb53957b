"""RSA and linear CKA: identities, invariances and hand computations."""

import numpy as np
import pytest
from neuroalign_neural import RSA, LinearCKA
from neuroalign_neural.similarity import linear_cka, rdm
from scipy import stats


def test_rsa_of_identical_representations_is_one(make_pair):
    _, target = make_pair()
    assert RSA()(target.copy(deep=True), target).value == pytest.approx(1.0)


def test_rsa_equals_hand_computation(make_pair):
    source, target = make_pair(n=40)
    upper = np.triu_indices(40, k=1)
    expected = stats.spearmanr((1 - np.corrcoef(source.values))[upper],
                               (1 - np.corrcoef(target.values))[upper])[0]
    assert RSA()(source, target).value == pytest.approx(expected, abs=1e-12)


def test_rsa_of_shuffled_source_is_near_zero(make_pair):
    source, target = make_pair()
    order = np.random.default_rng(5).permutation(160)
    assert abs(RSA()(source.copy(data=source.values[order]), target).value) < 0.1


def test_euclidean_rdm_is_a_distance():
    x = np.random.default_rng(0).normal(size=(5, 3))
    d = rdm(x, "euclidean")
    assert d[1, 3] == pytest.approx(np.linalg.norm(x[1] - x[3]))
    assert np.allclose(np.diag(d), 0)


def test_cka_invariances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    rotation = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 3.0 * x @ rotation + 2.0) == pytest.approx(1.0)  # orthogonal, scale, shift
    y = rng.normal(size=(50, 5))
    wide = rng.normal(size=(50, 200))  # the Gram-matrix path gives the same value
    assert linear_cka(wide, y) == pytest.approx(linear_cka(wide[:, :200], y))
    xc, yc = x - x.mean(0), y - y.mean(0)
    expected = np.linalg.norm(xc.T @ yc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    assert linear_cka(x, y) == pytest.approx(expected)


def test_cka_metric_aligns_by_stimulus(make_pair):
    source, target = make_pair()
    permuted = source.isel(presentation=np.random.default_rng(2).permutation(160))
    assert LinearCKA()(permuted, target).value == pytest.approx(LinearCKA()(source, target).value)
    assert LinearCKA()(target.copy(deep=True), target).value == pytest.approx(1.0)
