"""I2n recovers a known pattern, ignores trial order, and rejects bad inputs clearly."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neuroalign
from neuroalign_behavior import I2nError, split_halves
from neuroalign_behavior.i2n import correlate


def test_the_generating_pattern_scores_near_the_ceiling_and_a_shuffled_one_near_zero(
        synthetic_trials):
    make_trials, probabilities_from = synthetic_trials
    trials, rates, ids, objects, truth = make_trials(n_objects=8, per_object=8, repeats=40)
    ceiling = neuroalign.get_ceiling("i2n_split_half")(trials)
    truth_model = probabilities_from(rates, ids, objects, truth)
    score = neuroalign.get_metric("i2n")(truth_model, trials)
    # a perfect model correlates with one half about as well as sqrt(half-half reliability)
    assert 0.5 < ceiling.value < 0.95
    assert score.value > 0.9 * np.sqrt(ceiling.value)
    # the probabilities of each image given to another image of the same object
    shuffled = truth_model.copy(data=truth_model.values)
    order = np.arange(len(ids)).reshape(len(objects), -1)
    rng = np.random.default_rng(3)
    order = np.concatenate([rng.permutation(row) for row in order])
    shuffled = shuffled.assign_coords(stimulus_id=("presentation", ids[order].astype(object)))
    assert abs(neuroalign.get_metric("i2n")(shuffled, trials).value) < 0.15
    noisy = probabilities_from(rates, ids, objects, truth, noise=1.5)
    assert 0.1 < neuroalign.get_metric("i2n")(noisy, trials).value < score.value


def test_perfectly_reliable_trials_have_a_ceiling_near_one(synthetic_trials):
    make_trials, _ = synthetic_trials
    trials, *_ = make_trials(n_objects=6, per_object=6, repeats=400)
    assert neuroalign.get_ceiling("i2n_split_half")(trials).value > 0.9


def test_deterministic_and_inputs_untouched(synthetic_trials):
    make_trials, probabilities_from = synthetic_trials
    trials, rates, ids, objects, truth = make_trials()
    probabilities = probabilities_from(rates, ids, objects, truth, noise=0.5)
    saved = trials.copy(deep=True), probabilities.copy(deep=True)
    first = neuroalign.get_metric("i2n")(probabilities, trials)
    second = neuroalign.get_metric("i2n")(probabilities, trials)
    assert first.splits == second.splits and len(first.splits) == 2
    xr.testing.assert_identical(saved[0], trials)
    xr.testing.assert_identical(saved[1], probabilities)


def test_halves_are_brainscores_randomstate_shuffles():
    state = np.random.RandomState(0)
    expected = []
    for _ in range(2):
        indices = list(range(11))
        state.shuffle(indices)
        expected.append((indices[:5], indices[5:]))
    for (a, b), (c, d) in zip(split_halves(11), expected):
        assert a.tolist() == c and b.tolist() == d


def test_more_splits_and_i2_are_parameters(synthetic_trials):
    make_trials, probabilities_from = synthetic_trials
    trials, rates, ids, objects, truth = make_trials()
    probabilities = probabilities_from(rates, ids, objects, truth)
    score = neuroalign.get_metric("i2n", parameters={"splits": 4})(probabilities, trials)
    assert len(score.splits) == 4 and score.attrs["metric"] == "i2n"
    i2 = neuroalign.get_metric("i2n", parameters={"normalize": False})(probabilities, trials)
    assert i2.attrs["metric"] == "i2" and i2.value != score.value
    with pytest.raises(I2nError, match=r"unknown parameter\(s\) \['folds'\]"):
        neuroalign.get_metric("i2n", parameters={"folds": 3})


# ------------------------------------------------------------------------------ bad inputs


@pytest.fixture
def pair(synthetic_trials):
    make_trials, probabilities_from = synthetic_trials
    trials, rates, ids, objects, truth = make_trials()
    return probabilities_from(rates, ids, objects, truth), trials


def test_trials_without_the_coords_are_named(pair):
    probabilities, trials = pair
    with pytest.raises(I2nError, match=r"trials lack the coord\(s\) \['dist_obj'\]"):
        neuroalign.get_metric("i2n")(probabilities, trials.drop_vars("dist_obj"))
    with pytest.raises(I2nError, match="trials must be an xarray.DataArray"):
        neuroalign.get_ceiling("i2n_split_half")(trials.values)


def test_a_choice_that_was_not_offered_is_refused(pair):
    probabilities, trials = pair
    bad = trials.copy(data=trials.values.copy())
    bad.values[3] = "obj_unknown"
    with pytest.raises(I2nError, match="chose an object that was not offered.*trial 3"):
        neuroalign.get_ceiling("i2n_split_half")(bad)


def test_probabilities_must_be_presentation_by_choice_in_unit_range(pair):
    probabilities, trials = pair
    with pytest.raises(I2nError, match="2-D DataArray"):
        neuroalign.get_metric("i2n")(probabilities.isel(choice=0), trials)
    with pytest.raises(I2nError, match=r"within \[0, 1\]"):
        neuroalign.get_metric("i2n")(probabilities * 3, trials)
    with pytest.raises(I2nError, match="'stimulus_id' coord"):
        neuroalign.get_metric("i2n")(probabilities.drop_vars("stimulus_id"), trials)


def test_images_without_trials_and_missing_objects_are_named(pair):
    probabilities, trials = pair
    renamed = probabilities.assign_coords(stimulus_id=(
        "presentation", ["other"] + list(probabilities["stimulus_id"].values[1:])))
    with pytest.raises(I2nError, match=r"1 stimulus id\(s\) of the probabilities have no trials"):
        neuroalign.get_metric("i2n")(renamed, trials)
    with pytest.raises(I2nError, match=r"true object\(s\) \['obj0'\].*not among"):
        neuroalign.get_metric("i2n")(probabilities.isel(choice=slice(1, None)), trials)
    with pytest.raises(I2nError, match="the images differ"):
        neuroalign.get_metric("i2n")(probabilities.isel(presentation=slice(1, None)), trials)


def test_repeated_stimuli_and_nan_cells_are_refused(pair):
    probabilities, trials = pair
    doubled = xr.concat([probabilities, probabilities.isel(presentation=[0])], "presentation")
    with pytest.raises(I2nError, match=r"repeat the stimulus_id\(s\)"):
        neuroalign.get_metric("i2n")(doubled, trials)
    with pytest.raises(I2nError, match="NaN in 1 cell"):
        correlate(np.array([np.nan, 1.0, 2.0]), np.array([0.5, 1.0, 3.0]))
