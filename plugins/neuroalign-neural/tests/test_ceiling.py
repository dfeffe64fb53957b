"""The internal-consistency ceiling and ceiling normalisation."""

import numpy as np
import pytest
from neuroalign.scores import Score
from neuroalign_neural import InternalConsistency, MetricInputError, ceiled_score, spearman_brown


def test_reliable_data_has_a_ceiling_near_one(make_trials):
    ceiling = InternalConsistency()(make_trials(noise=1e-3))
    assert ceiling.value > 0.999
    assert len(ceiling.splits) == 10 and sorted(ceiling.neuroids) == [f"n{i}" for i in range(6)]


def test_noise_lowers_the_ceiling_as_spearman_brown_predicts(make_trials):
    # signal variance 1, noise variance s² per trial: the mean of k trials has reliability
    # 1 / (1 + s²/k); two halves of 2 trials correlate 1/(1 + s²/2), corrected to 4 trials.
    ceiling = InternalConsistency()(make_trials(n=2000, q=4, repetitions=4, noise=1.0))
    half = 1 / (1 + 1.0 / 2)
    assert ceiling.value == pytest.approx(spearman_brown(half), abs=0.03)
    assert ceiling.attrs["half_sizes"] == [2, 2]


def test_ceiling_is_deterministic_and_leaves_input_unchanged(make_trials):
    assembly = make_trials()
    saved = assembly.copy(deep=True)
    assert InternalConsistency()(assembly).value == InternalConsistency()(assembly).value
    assert assembly.identical(saved)


def raw(value=0.6, error=0.02):
    return Score(value=value, raw=value, error=error, splits=[value] * 3,
                 neuroids={"a": value}, attrs={"metric": "pls"})


@pytest.mark.parametrize("mode,expected", [
    ("explained_variance", 0.36 / 0.8), ("ratio", 0.6 / 0.8), ("none", 0.6)])
def test_ceiled_score_modes(mode, expected):
    score = ceiled_score(raw(), Score(value=0.8, error=0.01), mode=mode)
    assert score.value == pytest.approx(expected)
    assert score.raw == 0.6 and score.ceiling == 0.8
    assert score.error == 0.02  # the raw error, as Brain-Score reports it
    assert score.attrs["ceiling_mode"] == mode and score.attrs["clipped"] is False
    assert score.splits == [0.6] * 3 and score.neuroids == {"a": 0.6}
    assert score.attrs["metric"] == "pls" and score.attrs["ceiling_error"] == 0.01


def test_ceiled_error_is_propagated_in_attrs():
    score = ceiled_score(raw(), 0.8, mode="explained_variance")
    assert score.attrs["ceiled_error"] == pytest.approx(2 * 0.6 * 0.02 / 0.8)


def test_ceiled_values_are_not_clipped_by_default_as_brainscore():
    high = ceiled_score(raw(0.9), 0.5, mode="ratio")
    assert high.value == pytest.approx(1.8) and high.attrs["clip"] is False
    assert high.attrs["clipped"] is False
    assert ceiled_score(raw(0.9), 0.5).value == pytest.approx(0.81 / 0.5)


def test_ceiled_values_are_clipped_on_request_and_the_clip_recorded():
    high = ceiled_score(raw(0.9), 0.5, mode="ratio", clip=True)
    assert high.value == 1.0 and high.attrs["clipped"] is True and high.attrs["clip"] is True
    assert high.attrs["unclipped_value"] == pytest.approx(1.8)
    low = ceiled_score(raw(-0.2), 0.5, mode="ratio", clip=True)
    assert low.value == 0.0 and low.attrs["clipped"] is True


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_ceiling_skips_nan_trials_like_brainscore(make_trials):
    """NaN trials are left out of the half means (xarray skipna), NaN neuroids out of the median.

    A neuroid with no data at all is an error at the metric level (the benchmark drops such
    neuroids before the metric and records it, see ``skip_nan_neuroids``)."""
    assembly = make_trials(n=60, q=5, repetitions=4, noise=0.7)
    values = assembly.values.copy()
    rng = np.random.default_rng(3)
    holes = rng.random(values.shape) < 0.05
    holes[:, 4] = False
    values[holes] = np.nan
    empty = values.copy()
    empty[:, 3] = np.nan
    with pytest.raises(MetricInputError, match="all-NaN neuroid"):
        InternalConsistency()(assembly.copy(data=empty))
    ceiling = InternalConsistency()(assembly.copy(data=values))
    assert ceiling.attrs["nan_trials"] == int(np.isnan(values).sum()) > 0
    # reference: per split, per neuroid, nanmean halves -> pearson -> Spearman-Brown, nanmedian
    from sklearn.model_selection import ShuffleSplit

    reps = assembly["repetition"].values
    stim = assembly["stimulus_id"].values
    ids = np.unique(stim)
    medians = []
    for first, second in ShuffleSplit(10, train_size=0.5, test_size=None,
                                      random_state=1).split(np.zeros(4)):
        def half(chosen):
            return np.array([[np.nanmean(values[(stim == s) & np.isin(reps, chosen), j])
                              for j in range(5)] for s in ids])
        a, b = half(np.unique(reps)[first]), half(np.unique(reps)[second])
        r = np.array([np.nan if np.isnan(a[:, j]).any() or np.isnan(b[:, j]).any()
                      else np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(5)])
        medians.append(np.nanmedian(2 * r / (1 + r)))
    assert ceiling.value == pytest.approx(np.mean(medians), abs=1e-12)


def test_all_nan_assembly_says_so(make_trials):
    assembly = make_trials()
    with pytest.raises(MetricInputError, match="all-NaN neuroid"):
        InternalConsistency()(assembly.copy(data=np.full(assembly.shape, np.nan)))


def test_bad_mode_and_bad_ceiling():
    with pytest.raises(MetricInputError, match=r"unknown ceiling mode 'squared'; choose one of"):
        ceiled_score(raw(), 0.8, mode="squared")
    with pytest.raises(MetricInputError, match=r"ceiling -0.1 is not positive"):
        ceiled_score(raw(), -0.1)
    with pytest.raises(MetricInputError, match=r"ceiling is nan"):
        ceiled_score(raw(), float("nan"))
    assert ceiled_score(raw(), -0.1, mode="none").value == 0.6


def test_spearman_brown():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    np.testing.assert_allclose(spearman_brown(np.array([0.0, 1.0])), [0.0, 1.0])
