"""Bad input fails with a message that names the bad value and the fix."""

import numpy as np
import pytest
import xarray as xr
from neuroalign_neural import RSA, InternalConsistency, MetricInputError, PLSCorrelation
from neuroalign_neural.factories import make_pls
from neuroalign_neural.specs import metric_specs

PLS_SPEC = next(s for s in metric_specs() if s.id == "pls")


def test_mismatched_stimulus_ids_say_how_many_and_which(make_pair):
    source, target = make_pair()
    renamed = source.assign_coords(
        stimulus_id=("presentation", [f"other{i}" if i < 7 else s
                                      for i, s in enumerate(source["stimulus_id"].values)]))
    with pytest.raises(MetricInputError,
                       match=r"7 of the target's 160 stimulus_id values are not in the source, "
                             r"e.g. \['stim0000', 'stim0001'"):
        PLSCorrelation()(renamed, target)


def test_too_few_stimuli_for_a_split(make_pair):
    source, target = make_pair(n=20, objects=0)
    with pytest.raises(MetricInputError,
                       match=r"20 stimuli are fewer than a split needs: train_size=0.9 leaves 2 "
                             r"test .* pass at least 21 stimuli or lower train_size"):
        PLSCorrelation()(source, target)


def test_stratification_with_too_few_per_class_suggests_turning_it_off(make_pair):
    source, target = make_pair(n=40, objects=30)
    with pytest.raises(MetricInputError, match=r"'stratification_coord': None"):
        PLSCorrelation()(source, target)


def test_constant_neuroids_are_named(make_pair):
    source, target = make_pair()
    values = target.values.copy()
    values[:, [2, 5]] = 1.5
    with pytest.raises(MetricInputError, match=r"target has 2 constant neuroid\(s\) .*\['n2', 'n5'\]"):
        PLSCorrelation()(source, target.copy(data=values))


def test_nan_target_neuroids_are_skipped_and_named(make_pair):
    source, target = make_pair()
    values = target.values.copy()
    values[3, 4] = np.nan
    with pytest.warns(RuntimeWarning, match=r"1 target neuroid\(s\) with NaN values skipped"):
        score = PLSCorrelation()(source, target.copy(data=values))
    assert score.attrs["nan_neuroids_dropped"] == ["n4"] and "n4" not in score.neuroids
    kept = PLSCorrelation()(source, target.isel(neuroid=[0, 1, 2, 3, 5, 6, 7]))
    assert score.value == pytest.approx(kept.value, abs=1e-12)
    values[:, :] = np.nan
    with pytest.raises(MetricInputError, match=r"every one of the target's 8 neuroids has NaN"):
        PLSCorrelation()(source, target.copy(data=values))
    values = target.values.copy()
    values[3, 4] = np.inf
    with pytest.raises(MetricInputError, match=r"target has NaN or infinite values in 1 neuroid"):
        PLSCorrelation()(source, target.copy(data=values))
    source_values = source.values.copy()
    source_values[0, 7] = np.inf
    with pytest.raises(MetricInputError, match=r"source has NaN or infinite values in 1 feature"):
        PLSCorrelation()(source.copy(data=source_values), target)


def test_constant_source_is_an_error(make_pair):
    source, target = make_pair()
    with pytest.raises(MetricInputError, match="every one of the source's 30 features is constant"):
        PLSCorrelation()(source.copy(data=np.ones(source.shape)), target)


def test_wrong_dims(make_pair):
    source, target = make_pair()
    with pytest.raises(MetricInputError, match=r"source has dims \('image', 'neuroid'\); expected"):
        PLSCorrelation()(source.rename(presentation="image"), target)
    with pytest.raises(MetricInputError, match=r"target has dims \('presentation', 'neuroid', 'time_bin'\)"):
        PLSCorrelation()(source, target.expand_dims(time_bin=1, axis=2))
    with pytest.raises(MetricInputError, match="must be an xarray.DataArray"):
        PLSCorrelation()(source.values, target)
    with pytest.raises(MetricInputError, match="has no 'stimulus_id' coordinate along 'presentation'"):
        RSA()(source.drop_vars("stimulus_id"), target)


def test_ceiling_without_repetition(make_trials):
    assembly = make_trials()
    with pytest.raises(MetricInputError,
                       match=r"assembly has no 'repetition' coordinate along 'presentation' .*"
                             r"needs the per-repetition assembly"):
        InternalConsistency()(assembly.drop_vars("repetition"))


def test_ceiling_with_one_repetition(make_trials):
    with pytest.raises(MetricInputError, match=r"1 distinct 'repetition' value\(s\) \[0\]"):
        InternalConsistency()(make_trials(repetitions=1))


def test_ceiling_with_missing_presentations(make_trials):
    assembly = make_trials(repetitions=2)
    incomplete = assembly.isel(presentation=slice(1, None))  # stim0000 lacks repetition 0
    with pytest.raises(MetricInputError, match=r"1 stimuli have no presentation in repetitions"):
        InternalConsistency()(incomplete)


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(MetricInputError,
                       match=r"metric 'pls' does not take parameter\(s\) \['n_comp'\]; valid parameters are \["):
        make_pls(PLS_SPEC.with_parameters({"n_comp": 3}))


def test_not_an_estimator():
    from neuroalign_neural import RegressionCorrelation

    with pytest.raises(MetricInputError, match="found str"):
        RegressionCorrelation("ridge")


def test_similarity_needs_xarray():
    with pytest.raises(MetricInputError, match="found ndarray"):
        RSA()(np.zeros((3, 3)), xr.DataArray(np.zeros((3, 3))))
