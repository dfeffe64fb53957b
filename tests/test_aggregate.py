"""Aggregators (paper 001, section 4) and agreement / hierarchy statistics (papers 001, 000)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import neuroalign
from neuroalign import Score, SpecError
from neuroalign.scoring.standardised import MeanRankAggregator, ZMeanAggregator
from neuroalign.scoring.aggregate import (
    MeanAggregator,
    agreement,
    explained_variance,
    rho_hierarchy,
)

NAN = math.nan

# aggregators are looked up in a fresh registry holding only the built-in plugin
pytestmark = pytest.mark.usefixtures("neuroalign_plugin_manager")


def scores(mapping, error=None):
    return {k: Score(value=v, error=error) for k, v in mapping.items()}


def test_mean_follows_brainscore_hierarchy():
    result = MeanAggregator().combine(scores({
        "A.V4-x": 0.4, "B.V4-y": 0.6,     # V4 = 0.5
        "A.IT-x": 0.3,                    # IT = 0.3  -> neural = 0.4
        "C.behavior-z": 0.7,              # behavioral = 0.7
        "D.imagenet-top1": 0.99,          # engineering: never in the overall score
    }) | {"D.imagenet-top1": Score(value=0.99, attrs={"kind": "engineering"})})
    assert result.value == pytest.approx((0.4 + 0.7) / 2)
    assert result.attrs["regions"] == pytest.approx({"V4": 0.5, "IT": 0.3, "behavior": 0.7})
    assert result.attrs["kinds"] == pytest.approx({"neural": 0.4, "behavioral": 0.7})
    assert set(result.children) == {"A.V4-x", "B.V4-y", "A.IT-x", "C.behavior-z", "D.imagenet-top1"}


def test_mean_missing_counts_as_zero_or_is_skipped():
    values = scores({"A.V4-x": 0.6, "B.V4-y": NAN, "C.behavior-z": 0.8})
    zero = MeanAggregator().combine(values)
    assert zero.value == pytest.approx((0.3 + 0.8) / 2)
    assert zero.attrs["missing_children"] == ["B.V4-y"]
    skip = neuroalign.get_aggregator("mean", parameters={"missing": "skip"}).combine(values)
    assert skip.value == pytest.approx((0.6 + 0.8) / 2)
    assert math.isnan(MeanAggregator(neuroalign.AggregatorSpec(
        id="mean", factory="neuroalign.scoring.aggregate:MeanAggregator",
        parameters={"missing": "skip"})).combine(scores({"A.V4-x": NAN})).value)


def test_mean_propagates_independent_errors_through_the_weights():
    result = MeanAggregator().combine(scores({"A.V4-x": 0.4, "B.V4-y": 0.6, "C.behavior-z": 0.7}, error=0.1))
    # weights 1/4, 1/4, 1/2 -> sqrt(2 * (0.025)^2 + 0.05^2)
    assert result.error == pytest.approx(math.sqrt(2 * 0.025 ** 2 + 0.05 ** 2))
    assert MeanAggregator().combine({"A.V4-x": Score(value=0.4)}).error is None


def test_mean_rejects_an_unknown_missing_rule():
    with pytest.raises(SpecError, match=r"Aggregator 'mean': parameter missing='drop' is not valid; use one of \['zero', 'skip'\]"):
        neuroalign.get_aggregator("mean", parameters={"missing": "drop"})


TABLE = pd.DataFrame({"A.V4-x": [0.5, 0.6, 0.2], "A.IT-x": [0.4, 0.3, NAN],
                      "B.behavior-y": [0.7, 0.2, 0.9]}, index=["m1", "m2", "m3"])


def test_rank_with_each_builtin_aggregator():
    mean = neuroalign.rank(TABLE, "mean")
    assert mean.to_dict() == pytest.approx({"m1": 0.575, "m2": 0.325, "m3": 0.5})
    assert mean.attrs["missing"] == "zero" and mean.attrs["incomplete"] == ["m3"]
    # z-mean and mean-rank default to the complete models (m3 lacks A.IT-x) and to the
    # neural / behavioral groups: neural = mean(V4, IT) region means
    z = neuroalign.rank(TABLE, "zmean")
    assert math.isnan(z["m3"]) and z.attrs["incomplete"] == ["m3"]
    assert z.attrs["missing"] == "complete" and z.attrs["level"] == "kinds"
    # neural ties (0.45 = 0.45: z 0), behavioral z = +-1 between two models
    assert z["m1"] == pytest.approx(0.5) and z["m2"] == pytest.approx(-0.5)
    skip = neuroalign.rank(TABLE, neuroalign.get_aggregator("zmean", parameters={"missing": "skip"}))
    neural = pd.Series({"m1": 0.45, "m2": 0.45, "m3": 0.2})
    behavioral = TABLE["B.behavior-y"]
    zn = (neural - neural.mean()) / neural.std(ddof=0)
    zb = (behavioral - behavioral.mean()) / behavioral.std(ddof=0)
    assert skip.to_dict() == pytest.approx(((zn + zb) / 2).to_dict())
    ranks = neuroalign.rank(TABLE, neuroalign.get_aggregator("meanrank", parameters={"missing": "skip"}))
    # neural ranks m1=m2=2.5, m3=1; behavioral ranks m1=2, m2=1, m3=3
    assert ranks.to_dict() == pytest.approx({"m1": (2.5 + 2) / 2, "m2": (2.5 + 1) / 2, "m3": (1 + 3) / 2})


def test_zmean_and_meanrank_standardise_the_neural_and_behavioral_scores():
    """Paper 001 (Fig. 2, Fig. 3) z-transforms / ranks Brain-Score's neural and behavioral
    scores, so a region with many benchmarks weighs no more than a region with one."""
    table = pd.DataFrame({
        "A.V1-a": [0.9, 0.1, 0.5, 0.3], "A.V1-b": [0.8, 0.2, 0.5, 0.3],
        "A.V1-c": [0.7, 0.3, 0.5, 0.3], "B.IT-x": [0.1, 0.9, 0.42, 0.85],
        "C.behavior-y": [0.2, 0.6, 0.5, 0.9]}, index=["m1", "m2", "m3", "m4"])
    neural = (table[["A.V1-a", "A.V1-b", "A.V1-c"]].mean(axis=1) + table["B.IT-x"]) / 2
    behavioral = table["C.behavior-y"]
    groups = pd.DataFrame({"neural": neural, "behavioral": behavioral})
    z = ((groups - groups.mean()) / groups.std(ddof=0)).mean(axis=1)
    r = groups.rank().mean(axis=1)
    zmean, meanrank = neuroalign.rank(table, "zmean"), neuroalign.rank(table, "meanrank")
    assert zmean.to_dict() == pytest.approx(z.to_dict())
    assert meanrank.to_dict() == pytest.approx(r.to_dict())
    assert zmean.attrs["groups"] == {"neural": ["A.V1-a", "A.V1-b", "A.V1-c", "B.IT-x"],
                                     "behavioral": ["C.behavior-y"]}
    # flat over columns (level="benchmarks", the old behaviour) V1's three columns dominate:
    flat = neuroalign.rank(table, neuroalign.get_aggregator("meanrank", parameters={"level": "benchmarks"}))
    assert flat.idxmax() == "m1" and meanrank.idxmax() == "m4"
    assert flat.to_dict() == pytest.approx(table.rank().mean(axis=1).to_dict())


def test_table_aggregators_state_their_missing_rule():
    table = pd.DataFrame({"A.V4-x": [0.5, 0.6, NAN], "B.behavior-y": [0.2, 0.7, 0.9]},
                         index=["m1", "m2", "m3"])
    # complete: m3 left out; skip: V4 ranked among m1, m2 and m3 averaged over behavior only;
    # zero: m3's V4 counts as 0 (rank 1)
    for rule, expected in (("complete", {"m1": 1.0, "m2": 2.0, "m3": NAN}),
                           ("skip", {"m1": (1 + 1) / 2, "m2": (2 + 2) / 2, "m3": 3.0}),
                           ("zero", {"m1": (2 + 1) / 2, "m2": (3 + 2) / 2, "m3": (1 + 3) / 2})):
        out = neuroalign.rank(table, neuroalign.get_aggregator("meanrank", parameters={"missing": rule}))
        assert out.attrs["missing"] == rule and out.attrs["incomplete"] == ["m3"]
        assert out.to_dict() == pytest.approx(expected, nan_ok=True), rule
    with pytest.raises(SpecError, match=r"parameter missing='drop' is not valid; use one of \['complete', 'skip', 'zero'\]"):
        neuroalign.get_aggregator("zmean", parameters={"missing": "drop"})
    with pytest.raises(SpecError, match=r"parameter level='flat' is not valid"):
        neuroalign.get_aggregator("meanrank", parameters={"level": "flat"})


def test_lower_is_better_benchmarks_form_their_own_flipped_group():
    table = pd.DataFrame({"X.IT-pls": [0.5, 0.6, 0.4], "S.IT-sens": [0.1, 0.9, 0.5],
                          "C.behavior-y": [0.3, 0.3, 0.6]}, index=["a", "b", "c"])
    table.attrs["benchmarks"] = {"S.IT-sens": {"region": "IT", "kind": "neural",
                                               "higher_is_better": False}}
    ranks = neuroalign.rank(table, "meanrank")
    assert ranks.attrs["higher_is_better"] == {"neural": True, "neural (lower is better)": False,
                                               "behavioral": True}
    # neural ranks a=2, b=3, c=1; sensitivity (low best) a=3, b=1, c=2; behavior a=b=1.5, c=3
    assert ranks.to_dict() == pytest.approx({"a": (2 + 3 + 1.5) / 3, "b": (3 + 1 + 1.5) / 3,
                                             "c": (1 + 2 + 3) / 3})
    z = neuroalign.rank(table, "zmean")
    sens = table["S.IT-sens"]
    assert z["a"] == pytest.approx(np.mean([
        (0.5 - 0.5) / table["X.IT-pls"].std(ddof=0), -(0.1 - 0.5) / sens.std(ddof=0),
        (0.3 - 0.4) / table["C.behavior-y"].std(ddof=0)]))


def test_rank_accepts_a_tidy_results_table():
    tidy = TABLE.stack().rename("value").rename_axis(["model_id", "benchmark_id"]).reset_index()
    assert neuroalign.rank(tidy, "mean").to_dict() == pytest.approx(neuroalign.rank(TABLE).to_dict())


def test_zmean_of_a_constant_benchmark_is_zero_not_nan():
    table = pd.DataFrame({"A.V4-x": [0.5, 0.5], "B.behavior-x": [0.1, 0.3]}, index=["a", "b"])
    assert ZMeanAggregator().rank(table).to_dict() == pytest.approx({"a": -0.5, "b": 0.5})


@pytest.mark.parametrize("cls", [ZMeanAggregator, MeanRankAggregator])
def test_single_model_combine_points_to_rank(cls):
    with pytest.raises(SpecError, match=r"cannot combine the scores of a single model.*\.rank\(table\)"):
        cls().combine(scores({"A.V4-x": 0.5}))


def test_agreement_spearman_with_bonferroni():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(40)
    table = pd.DataFrame({"a": base, "b": base + 0.1 * rng.standard_normal(40),
                          "c": rng.standard_normal(40)})
    table.loc[0, "c"] = NAN
    result = agreement(table)
    assert result.n_models == 39 and result.corrected_alpha == pytest.approx(0.05 / 3)
    assert result.rho.loc["a", "b"] > 0.9 and result.significant.loc["a", "b"]
    assert not result.significant.loc["a", "c"] and not result.significant.loc["a", "a"]
    assert list(result.pairs()[["a", "b"]].itertuples(index=False, name=None)) == [
        ("a", "b"), ("a", "c"), ("b", "c")]
    assert agreement(table, complete=False).n_models == 40
    with pytest.raises(SpecError, match="at least 2 benchmark columns"):
        agreement(table[["a"]])


def test_rho_hierarchy_reproduces_paper_000_table_1():
    rows = pd.DataFrame({"V1": [0.568, 0.493, 0.509, 0.538, 0.539], "V2": [0.360, 0.342, 0.303, 0.336, 0.332],
                         "V4": [0.481, 0.514, 0.482, 0.485, 0.475], "IT": [0.514, 0.531, 0.467, 0.459, 0.510],
                         "behavior": [0.652, 0.562, 0.554, 0.461, 0.410]})
    assert rho_hierarchy(rows).round(6).tolist() == [-0.2, 0.8, -0.4, -0.4, -0.2]
    # the 2022 competition's "Avg" is the flat mean of the five regions
    assert rows.mean(axis=1).round(3).tolist()[:2] == [0.515, 0.488]
    regions = {"V1": 0.1, "V2": 0.15, "V4": 0.2, "IT": 0.3}
    assert rho_hierarchy(Score(value=0, attrs={"regions": regions})) == pytest.approx(1.0)
    with pytest.raises(SpecError, match=r"all four regions .* missing \['V1', 'V2'\]"):
        rho_hierarchy({"V4": 0.2, "IT": 0.5, "behavior": 0.4})  # two regions would give +-1
    partial = rows.copy()
    partial.loc[0, "V2"] = float("nan")
    assert np.isnan(rho_hierarchy(partial).iloc[0])


def test_explained_variance_is_squared_correlation():
    components = pd.DataFrame({"neural": [0.1, 0.2, 0.3, 0.4], "behavioral": [0.4, 0.1, 0.3, 0.2]})
    overall = components.mean(axis=1)
    expected = components.apply(lambda c: np.corrcoef(c, overall)[0, 1] ** 2)
    assert explained_variance(components, overall).to_dict() == pytest.approx(expected.to_dict())
