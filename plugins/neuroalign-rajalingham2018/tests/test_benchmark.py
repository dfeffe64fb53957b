"""Rajalingham2018-i2n on the synthetic store: recovery, ranking, the model API, the composite."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import neuroalign
from neuroalign import Model, ModelSpec
from neuroalign_rajalingham2018.specs import COMPOSITE_CHILDREN, aggregator_specs, benchmark_specs


class OwnProbabilities(Model):
    """A model that is no feature extractor: it gives probabilities (the behavioral model API)."""

    def __init__(self, probabilities: xr.DataArray, name: str):
        self.spec = ModelSpec(id=f"test:{name}", factory="m:f")
        self.given = probabilities
        self.calls: list[tuple[int, int]] = []

    def probabilities(self, fitting_stimuli, fitting_labels, stimuli, *, visual_degrees):
        self.calls.append((len(fitting_stimuli), len(stimuli)))
        assert len(fitting_labels) == len(fitting_stimuli) and visual_degrees == 8.0
        return self.given

    preprocessing = None

    def module(self):
        raise NotImplementedError

    def weights_hash(self):
        return "0" * 64

    def activations(self, stimuli, layers, *, visual_degrees=None, reduction="pca", progress=None):
        raise AssertionError("a model with probabilities() is not asked for activations")

    def logits(self, stimuli, *, visual_degrees=None):
        raise NotImplementedError


@pytest.fixture(scope="module")
def groundtruth_score(synthetic_store):
    benchmark = neuroalign.get_benchmark("Rajalingham2018-i2n")
    return benchmark, benchmark(neuroalign.get_model("synthetic:groundtruth"))


def _groundtruth_probabilities(benchmark):
    from neuroalign_behavior import model_probabilities

    task = benchmark.task
    probabilities, _ = model_probabilities(
        neuroalign.get_model("synthetic:groundtruth"), task.fitting_stimuli, task.fitting_labels,
        task.stimuli, visual_degrees=8.0)
    return probabilities


def test_the_ground_truth_scores_high_and_the_ceiling_is_the_real_one(groundtruth_score):
    benchmark, score = groundtruth_score
    assert 0.38 < score.ceiling < 0.58  # the real ceiling is .479
    assert score.value > 0.6 and score.raw > 0.4
    assert score.layer == "readout" and score.attrs["layer_policy"] == "committed"
    assert len(score.splits) == 2 and len(score.attrs["ceiled_splits"]) == 2
    assert score.value == pytest.approx(np.mean(score.attrs["ceiled_splits"]))
    assert score.attrs["fitting_stimuli"] == 120 and score.attrs["reported_stimuli"] == 96
    assert "Rajalingham2018.private/assembly" in score.provenance.dataset_sha256


def test_the_model_api_recovers_the_ground_truth_and_shuffles_score_zero(groundtruth_score):
    benchmark, score = groundtruth_score
    probabilities = _groundtruth_probabilities(benchmark)
    own = OwnProbabilities(probabilities, "copy")
    copy = benchmark(own)
    assert own.calls == [(120, 96)] and copy.attrs["readout"] == "model"
    assert copy.value == pytest.approx(score.value, abs=1e-9)
    rng = np.random.default_rng(0)
    shuffled = probabilities.assign_coords(stimulus_id=(
        "presentation", rng.permutation(probabilities["stimulus_id"].values)))
    assert abs(benchmark(OwnProbabilities(shuffled, "shuffled")).raw) < 0.15


def test_the_ground_truth_ranks_first(groundtruth_score):
    benchmark, score = groundtruth_score
    from neuroalign.plugins.lookup import get_registry

    other = get_registry().build("model", "synthetic:groundtruth", {"seed": 7})
    another = benchmark(other)
    penultimate = benchmark(neuroalign.get_model("synthetic:groundtruth"), layers=["it"])
    assert score.value > another.value + 0.2 and score.value > penultimate.value
    assert penultimate.layer == "it" and penultimate.attrs["layer_policy"] == "given"


def test_specs_are_brainscores():
    specs = {s.id: s for s in benchmark_specs()}
    bench = specs["Rajalingham2018-i2n"]
    assert (bench.version, bench.metric, bench.ceiling, bench.dataset, bench.visual_degrees,
            bench.region, bench.kind) == (2, "i2n", "i2n_split_half", "Rajalingham2018.private",
                                          8.0, "behavior", "behavioral")
    composite = specs["Brain-Score2018"]
    assert composite.kind == "composite" and composite.parameters["aggregator"] == "flat_mean"
    assert composite.parameters["children"] == {
        "V4": ["MajajHong2015.V4-pls"], "IT": ["MajajHong2015.IT-pls"],
        "behavior": ["Rajalingham2018-i2n"]} == COMPOSITE_CHILDREN


def test_brain_score_2018_is_the_plain_mean_of_v4_it_and_behavior(monkeypatch):
    from neuroalign import Score
    from neuroalign.scoring.composite import CompositeBenchmark

    composite = neuroalign.get_benchmark("Brain-Score2018")
    assert isinstance(composite, CompositeBenchmark)
    assert list(composite.children) == ["V4", "IT", "behavior"]
    values = {"MajajHong2015.V4-pls": 0.6, "MajajHong2015.IT-pls": 0.5, "Rajalingham2018-i2n": 0.1}

    class Fixed:
        def __init__(self, identifier):
            self.spec = neuroalign.get_spec("benchmark", identifier)

        def __call__(self, model, *, layers=None, progress=None):
            return Score(value=values[self.spec.id], error=0.03)

    monkeypatch.setattr("neuroalign.plugins.lookup.get_benchmark", lambda identifier: Fixed(identifier))
    score = composite("synthetic:groundtruth")
    assert score.value == pytest.approx(0.4)  # (.6 + .5 + .1) / 3, not (.55 + .1) / 2
    assert score.error == pytest.approx(np.sqrt(3 * 0.03 ** 2) / 3)
    assert set(score.children) == {"V4", "IT", "behavior"}
    assert score.children["behavior"].children["Rajalingham2018-i2n"].value == 0.1


def test_flat_mean_missing_rules():
    from neuroalign import Score
    from neuroalign_rajalingham2018.aggregator import FlatMeanAggregator

    spec = aggregator_specs()[0]
    children = {"a": Score(value=0.6), "b": Score(value=float("nan"))}
    assert FlatMeanAggregator(spec).combine(children).value == pytest.approx(0.3)
    skip = FlatMeanAggregator(spec.with_parameters({"missing": "skip"}))
    assert skip.combine(children).value == pytest.approx(0.6)
    with pytest.raises(neuroalign.errors.SpecError, match="missing='drop'"):
        FlatMeanAggregator(spec.with_parameters({"missing": "drop"}))
