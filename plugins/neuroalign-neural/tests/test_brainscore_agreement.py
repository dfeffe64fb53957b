"""Our pls and internal_consistency equal brainscore-vision 2.4.2's on a stored fixture.

The fixture (inputs and expected values) was generated once with brainscore-vision by
``data/make_brainscore_fixture.py``; the issue's tolerance is 1e-4, we hold 1e-6.
"""

import numpy as np
import pytest
from neuroalign_neural import InternalConsistency, PLSCorrelation

TOLERANCE = 1e-6


def averaged(assembly):
    """The repetition average, as Brain-Score's ``average_repetition`` (one row per stimulus)."""
    first = assembly.isel(presentation=assembly["repetition"].values == 0)
    mean = assembly.groupby("stimulus_id").mean().sel(stimulus_id=first["stimulus_id"].values)
    return first.copy(data=mean.values)


def test_pls_equals_brainscore(brainscore_fixture):
    data, source, assembly = brainscore_fixture
    score = PLSCorrelation()(source, averaged(assembly))
    assert score.value == pytest.approx(float(data["expected_pls_value"]), abs=TOLERANCE)
    assert score.error == pytest.approx(float(data["expected_pls_error"]), abs=TOLERANCE)
    np.testing.assert_allclose(score.splits, data["expected_pls_splits"], atol=TOLERANCE)
    expected_neuroids = data["expected_pls_per_split_neuroid"].mean(axis=0)
    ours = [score.neuroids[str(i)] for i in data["expected_pls_neuroid_id"]]
    np.testing.assert_allclose(ours, expected_neuroids, atol=TOLERANCE)
    assert score.attrs["stratified"] is True


def test_pls_svd_solver_is_close_but_not_brainscore(brainscore_fixture):
    data, source, assembly = brainscore_fixture
    score = PLSCorrelation(solver="svd")(source, averaged(assembly))
    assert score.value == pytest.approx(float(data["expected_pls_value"]), abs=1e-2)


def test_internal_consistency_equals_brainscore(brainscore_fixture):
    data, _, assembly = brainscore_fixture
    ceiling = InternalConsistency()(assembly)
    assert ceiling.value == pytest.approx(float(data["expected_ceiling_value"]), abs=TOLERANCE)
    assert ceiling.error == pytest.approx(float(data["expected_ceiling_error"]), abs=TOLERANCE)
    np.testing.assert_allclose(ceiling.splits, data["expected_ceiling_splits"], atol=TOLERANCE)
    # 5 repetitions: ShuffleSplit(train_size=0.5) puts 2 in the first half and 3 in the second
    assert ceiling.attrs["half_sizes"] == [2, 3]


def test_target_order_does_not_matter(brainscore_fixture):
    _, source, assembly = brainscore_fixture
    target = averaged(assembly)
    reversed_target = target.isel(presentation=slice(None, None, -1))
    a, b = PLSCorrelation()(source, target), PLSCorrelation()(source, reversed_target)
    assert a.value == pytest.approx(b.value, abs=1e-12)
