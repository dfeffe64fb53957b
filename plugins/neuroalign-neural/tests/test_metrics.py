"""Mapping metrics: recovery of a linear ground truth, chance for a shuffled source, contracts."""

import json

import numpy as np
import pytest
from neuroalign.specs import MetricSpec
from neuroalign.scores import Score
from neuroalign_neural import PLSCorrelation, RegressionCorrelation
from neuroalign_neural.factories import (
    make_lasso,
    make_mlp,
    make_ols,
    make_pls,
    make_regression,
    make_ridge,
)
from neuroalign_neural.specs import metric_specs
from sklearn.linear_model import Ridge

SPECS = {spec.id: spec for spec in metric_specs()}


def build(identifier, **parameters):
    factory = {"pls": make_pls, "ridge": make_ridge, "ols": make_ols, "lasso": make_lasso,
               "mlp": make_mlp, "regression": make_regression}[identifier]
    return factory(SPECS[identifier].with_parameters(parameters))


def shuffled(source, seed=1):
    order = np.random.default_rng(seed).permutation(source.sizes["presentation"])
    return source.copy(data=source.values[order])


@pytest.mark.parametrize("identifier,parameters", [
    ("pls", {}), ("ridge", {}), ("ols", {}),
    ("lasso", {"splits": 2, "n_alphas": 10, "cv": 3}),
    ("mlp", {"splits": 2, "max_iter": 200}),
])
def test_linear_ground_truth_is_recovered_and_shuffled_source_is_chance(make_pair, identifier,
                                                                          parameters):
    source, target = make_pair(n=160, p=20, q=6, noise=0.1)
    metric = build(identifier, **parameters)
    good = metric(source, target)
    bad = metric(shuffled(source), target)
    floor = 0.85 if identifier == "mlp" else 0.95
    assert good.value > floor, good
    assert abs(bad.value) < 0.2, bad


def test_pls_score_fields(make_pair):
    source, target = make_pair()
    score = build("pls")(source, target)
    assert isinstance(score, Score)
    assert score.raw == score.value
    assert len(score.splits) == 10
    assert score.value == pytest.approx(np.mean(score.splits))
    assert score.error == pytest.approx(np.std(score.splits) / np.sqrt(10))
    assert sorted(score.neuroids) == sorted(f"n{i}" for i in range(8))
    assert score.attrs["parameters"]["n_components"] == 25
    assert score.attrs["n_test"] == 16 and score.attrs["n_train"] == 144
    assert "n_components_clipped_to_features" not in score.attrs  # 30 features >= 25
    assert Score.from_json(score.to_json()).value == score.value
    json.loads(score.to_json())


def test_narrow_source_uses_one_component_per_feature(make_pair):
    source, target = make_pair(p=10)
    score = build("pls")(source, target)
    assert score.attrs["n_components_clipped_to_features"] == 10
    assert score.value > 0.9


def test_source_order_and_extra_stimuli_do_not_matter(make_pair):
    source, target = make_pair()
    reference = build("pls")(source, target).value
    permuted = source.isel(presentation=np.random.default_rng(3).permutation(160))
    assert build("pls")(permuted, target).value == pytest.approx(reference, abs=1e-12)
    subset = target.isel(presentation=slice(0, 150))
    score = build("pls")(source, subset)
    assert score.attrs["source_stimuli_dropped"] == 10


def test_repeated_presentations_are_averaged(make_pair):
    source, target = make_pair()
    doubled = target.isel(presentation=np.r_[np.arange(160), np.arange(160)])
    score = build("ols")(source, doubled)
    assert score.value == pytest.approx(build("ols")(source, target).value, abs=1e-12)
    assert score.attrs["presentations_averaged"] == {"source": 0, "target": 160}


def test_deterministic_and_inputs_unchanged(make_pair):
    source, target = make_pair()
    saved = source.copy(deep=True), target.copy(deep=True)
    first = build("pls")(source, target)
    second = build("pls")(source, target)
    assert first.value == second.value and first.splits == second.splits
    assert source.identical(saved[0]) and target.identical(saved[1])


def test_unstratified_without_object_name(make_pair):
    source, target = make_pair(objects=0)
    score = build("pls")(source, target)
    assert score.attrs["stratified"] is False
    assert build("pls", stratification_coord=None)(*make_pair()).attrs["stratified"] is False


def test_ridge_chooses_an_alpha_per_neuroid(make_pair):
    source, target = make_pair()
    score = build("ridge", splits=3)(source, target)
    assert len(score.attrs["alpha_median_per_split"]) == 3
    low, high = score.attrs["alpha_range"]
    assert 1e-3 <= low <= high <= 1e8


def test_any_sklearn_regressor_by_import_path(make_pair):
    source, target = make_pair()
    score = build("regression", estimator="sklearn.svm:SVR",
                  estimator_parameters={"kernel": "linear", "C": 1.0}, splits=2)
    value = score(source, target).value
    assert value > 0.9
    assert "SVR" in score(source, target).attrs["parameters"]["estimator"]


def test_any_sklearn_regressor_as_object_is_not_modified(make_pair):
    source, target = make_pair()
    estimator = Ridge(alpha=1.0)
    score = RegressionCorrelation(regression=estimator, splits=3)(source, target)
    assert score.value > 0.9
    assert not hasattr(estimator, "coef_")  # cloned for every split
    assert isinstance(RegressionCorrelation(Ridge()).spec, MetricSpec)


def test_public_pls_class_matches_registered_metric(make_pair):
    source, target = make_pair()
    assert PLSCorrelation()(source, target).value == build("pls")(source, target).value
