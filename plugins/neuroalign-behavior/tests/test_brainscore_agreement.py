"""Our i2n / i2n_split_half equal brainscore-vision 2.4.2's on stored inputs (to 1e-6).

The inputs and Brain-Score's outputs were generated with brainscore-vision 2.4.2 by
``benchmarks/i2n_brainscore_fixture.py`` (see its docstring for how to run it).
"""

import math

import numpy as np
import pytest

import neuroalign
from neuroalign_behavior import ceil_per_split

TOLERANCE = 1e-6


def test_score_equals_brainscore(brainscore_case):
    probabilities, trials, expected = brainscore_case
    score = neuroalign.get_metric("i2n")(probabilities, trials)
    assert score.value == pytest.approx(expected["score"], abs=TOLERANCE)
    assert score.error == pytest.approx(expected["score_error"], abs=TOLERANCE)
    np.testing.assert_allclose(score.splits, expected["score_splits"], atol=TOLERANCE)


def test_ceiling_equals_brainscore(brainscore_case):
    _, trials, expected = brainscore_case
    ceiling = neuroalign.get_ceiling("i2n_split_half")(trials)
    assert ceiling.value == pytest.approx(expected["ceiling"], abs=TOLERANCE)
    assert ceiling.error == pytest.approx(expected["ceiling_error"], abs=TOLERANCE)
    np.testing.assert_allclose(ceiling.splits, expected["ceiling_splits"], atol=TOLERANCE)


def test_per_split_ceiled_score_equals_brainscore(brainscore_case):
    probabilities, trials, expected = brainscore_case
    ceiled = ceil_per_split(neuroalign.get_metric("i2n")(probabilities, trials),
                            neuroalign.get_ceiling("i2n_split_half")(trials))
    assert ceiled.value == pytest.approx(expected["ceiled"], abs=TOLERANCE)
    assert ceiled.error == pytest.approx(expected["ceiled_error"], abs=TOLERANCE)


def test_a_negative_split_ceiling_is_skipped_as_in_brainscore(case_loader):
    probabilities, trials, expected = case_loader("small")
    assert min(expected["ceiling_splits"]) < 0  # the stored case has one
    ceiled = ceil_per_split(neuroalign.get_metric("i2n")(probabilities, trials),
                            neuroalign.get_ceiling("i2n_split_half")(trials))
    assert math.isnan(ceiled.attrs["ceiled_splits"][1]) and ceiled.error == 0.0


def test_row_and_column_order_do_not_matter(brainscore_case):
    probabilities, trials, expected = brainscore_case
    flipped = probabilities.isel(presentation=slice(None, None, -1), choice=slice(None, None, -1))
    score = neuroalign.get_metric("i2n")(flipped, trials)
    assert score.value == pytest.approx(expected["score"], abs=TOLERANCE)
