"""The sensitivity benchmarks on the synthetic twin, their direction, and paper 002's analyses."""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

import neuroalign
from neuroalign import Score
from neuroalign.plugins.lookup import get_registry
from neuroalign.testing import store_env
from neuroalign_nsd.analyses import (discriminability_table, mapping_effect,
                                     normalized_variance, sparseness)
from neuroalign_nsd.specs import MAPPINGS, ROIS, sensitivity_id, sensitivity_specs

#: a quick variant: one ROI, two subjects (the registered specs attack 4 ROIs x 8 subjects)
QUICK = {"rois": ["FFA"], "subjects": ["NSD.subj01", "NSD.subj02"]}


@pytest.fixture(scope="module")
def twin(nsd_twin_store, tmp_path_factory):
    with store_env(nsd_twin_store, home=tmp_path_factory.mktemp("home")):
        yield nsd_twin_store


def test_specs_say_lower_is_better_and_match_the_report_figure():
    specs = {s.id: s for s in sensitivity_specs()}
    assert set(specs) == {sensitivity_id(r, m) for r in ROIS for m in MAPPINGS}
    assert "NSD.FFA-fgsm_sensitivity" in specs and "NSD.FFA-fgsm_sensitivity_lasso" in specs
    figure = get_registry().spec("figure", "predictivity_vs_sensitivity")
    for identifier, spec in specs.items():
        assert spec.higher_is_better is False and spec.kind == "adversarial"
        assert fnmatch.fnmatchcase(identifier, figure.parameters["x"])
        assert spec.parameters["epsilons"] == pytest.approx([1 / 255, 2 / 255, 3 / 255])
        assert spec.parameters["score_epsilon"] == pytest.approx(3 / 255)
    assert specs["NSD.PPA-fgsm_sensitivity_lasso"].parameters["mapping"] == "lasso"
    assert get_registry().spec("benchmark", "NSD.EBA-fgsm_sensitivity").higher_is_better is False


def test_aggregators_rank_lower_sensitivity_first():
    from neuroalign.scoring.aggregate import MeanAggregator
    from neuroalign.scoring.standardised import MeanRankAggregator, ZMeanAggregator

    table = pd.DataFrame({"NSD.FFA-ols": [0.5, 0.5, 0.5],
                          "NSD.FFA-fgsm_sensitivity": [3.0, 1.0, 2.0]},
                         index=["fragile", "robust", "middle"])
    for aggregator in (MeanRankAggregator(), ZMeanAggregator()):
        ranked = aggregator.rank(table)
        assert ranked["robust"] > ranked["middle"] > ranked["fragile"], aggregator
    mean = MeanAggregator().rank(table)  # lower-is-better columns stay out of the plain mean
    assert mean.tolist() == pytest.approx([0.5, 0.5, 0.5])
    combined = MeanAggregator().combine({
        "NSD.FFA-ols": Score(value=0.5, attrs={"region": "FFA"}),
        "NSD.FFA-fgsm_sensitivity": Score(value=3.0, attrs={"region": "FFA"}),
    })
    assert combined.value == pytest.approx(0.5)
    assert combined.attrs["lower_is_better_left_out"] == ["NSD.FFA-fgsm_sensitivity"]


def test_twin_targeted_beats_shuffled_and_grows_with_eps(twin):
    model = neuroalign.get_model("synthetic:groundtruth")
    score = get_registry().build("benchmark", "NSD.FFA-fgsm_sensitivity", QUICK)(model)
    curve, control = np.array(score.attrs["curve"]), np.array(score.attrs["shuffled_curve"])
    assert np.all(np.diff(curve) > 0), curve  # grows with epsilon
    assert curve[-1] == pytest.approx(score.value) and score.value > 0
    assert np.all(curve > 20 * np.abs(control)), (curve, control)
    assert score.attrs["targeted_to_shuffled"] > 20 or score.attrs["shuffled"] <= 0
    for subject, values in score.attrs["subjects_curve"].items():
        assert values[0] < values[1] < values[2], subject
        assert values[-1] > abs(score.attrs["subjects_shuffled"][subject])
    assert set(score.attrs["subjects"]) == set(QUICK["subjects"])
    assert score.layer == "it" and score.attrs["layer_policy"] == "committed (IT)"
    assert score.attrs["higher_is_better"] is False
    assert score.attrs["predictivity"] > 0.3  # the ground truth's encoding model predicts
    assert score.attrs["passes"]["gradient_images"] == 2 * score.attrs["n_test"]
    per = np.array(list(score.attrs["subjects"].values()))
    assert score.error == pytest.approx(per.std(ddof=1) / np.sqrt(len(per)))


def test_sparseness_and_normalized_variance_values():
    assert sparseness([1, 1, 1, 1]) == pytest.approx(0.0)
    assert sparseness([1, 0, 0, 0]) == pytest.approx(0.75)
    assert sparseness([1, 2, 3]) == pytest.approx(1 - 4 / (14 / 3))
    assert normalized_variance([2, 4]) == pytest.approx(np.var([0.5, 1.0]))
    with pytest.raises(ValueError, match="every value is 0"):
        sparseness([0, 0])


def test_discriminability_table():
    sens = {"a": {"x": 1.0, "y": 3.0}, "b": {"x": 0.5, "y": 0.5}, "c": {"x": 4.0, "y": 4.0}}
    pred = {"a": {"x": 0.6, "y": 0.6}, "b": {"x": 0.5, "y": 0.7}, "c": {"x": 0.55, "y": 0.6}}
    table, spread = discriminability_table(sens, pred)
    assert table.loc["a", "sensitivity"] == pytest.approx(2.0)
    assert table.loc["c", "predictivity"] == pytest.approx(0.575)
    assert spread.loc["sensitivity", "sparseness"] == pytest.approx(sparseness([2.0, 0.5, 4.0]))
    assert spread.loc["predictivity", "normalized_variance"] == pytest.approx(
        normalized_variance([0.6, 0.6, 0.575]))
    assert spread.loc["sensitivity", "sparseness"] > spread.loc["predictivity", "sparseness"]


def _scores(values: dict[str, dict[str, float]]) -> dict[str, Score]:
    return {f"NSD.{roi}-x": Score(value=float(np.mean(list(v.values()))),
                                  attrs={"roi": roi, "subjects": v})
            for roi, v in values.items()}


def test_mapping_effect_paired_test():
    rng = np.random.default_rng(0)
    ols = {roi: {f"s{i}": 1.5 + 0.1 * rng.normal() for i in range(8)} for roi in ROIS}
    lasso = {roi: {s: v - 0.6 + 0.05 * rng.normal() for s, v in subj.items()}
             for roi, subj in ols.items()}
    table = mapping_effect({"net": _scores(lasso)}, {"net": _scores(ols)})
    a = np.array([lasso[r][s] for r in sorted(ROIS) for s in sorted(ols[r])])
    b = np.array([ols[r][s] for r in sorted(ROIS) for s in sorted(ols[r])])
    expected = ttest_rel(a, b)
    row = table.loc["net"]
    assert row["n_pairs"] == 32 and row["lower_first"]
    assert row["statistic"] == pytest.approx(expected.statistic)
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["difference"] == pytest.approx((a - b).mean())


def test_sensitivity_curve_figure_orders_most_robust_first():
    from types import SimpleNamespace

    from neuroalign import FigureUnavailable, LineChart

    spec = get_registry().spec("figure", "nsd_sensitivity_curve")
    figure = get_registry().build("figure", "nsd_sensitivity_curve")
    bench = "NSD.FFA-fgsm_sensitivity"
    assert fnmatch.fnmatchcase(bench, spec.benchmarks) and spec.scope == "benchmark"
    eps = [1 / 255, 2 / 255, 3 / 255]
    scores = {m: Score(value=v, attrs={"epsilons": eps, "curve": [v / 3, 2 * v / 3, v],
                                       "curve_sem": [0.1, 0.1, 0.1],
                                       "shuffled_curve": [0.0, 0.01, 0.0]})
              for m, v in (("fragile", 2.0), ("robust", 0.5))}
    board = SimpleNamespace(values=pd.DataFrame({bench: [2.0, 0.5]}, index=["fragile", "robust"]))
    context = SimpleNamespace(subject=bench, board=board, parameters={},
                              score=lambda model, b: scores[model])
    chart = figure(context)
    assert isinstance(chart, LineChart)
    assert [s.name for s in chart.series] == ["robust", "robust (shuffled)", "fragile",
                                              "fragile (shuffled)"]
    assert chart.series[0].x == pytest.approx([1, 2, 3]) and chart.series[2].y[-1] == 2.0
    context.subject = "NSD.EBA-fgsm_sensitivity"
    with pytest.raises(FigureUnavailable):
        figure(context)
