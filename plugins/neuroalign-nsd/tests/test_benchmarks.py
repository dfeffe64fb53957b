"""Benchmarks on the synthetic twin: recovery of the ground truth, shuffled control, bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

import neuroalign
from neuroalign.plugins.lookup import get_registry
from neuroalign.testing import store_env
from neuroalign_nsd.benchmarks import shared_split
from neuroalign_nsd.specs import ROIS, benchmark_specs
from neuroalign_nsd.synthetic import RELIABILITY, layout

SCALE = 0.125  # the demo's


@pytest.fixture(scope="module")
def twin(nsd_twin_store, tmp_path_factory):
    """The synthetic NSD store (raw tree -> prepare), as the demo builds it."""
    with store_env(nsd_twin_store, home=tmp_path_factory.mktemp("home")):
        yield nsd_twin_store


class Shuffled:
    """A model whose features are assigned to the wrong images (seeded permutation)."""

    def __init__(self, model, seed=0):
        self.model, self.seed = model, seed
        self.identifier = model.identifier + "-shuffled"
        self.region_layers, self.layers = model.region_layers, model.layers

    def activations(self, stimuli, layers, **options):
        acts = self.model.activations(stimuli, layers, **options)
        ids = acts["stimulus_id"].values
        order = np.random.default_rng(self.seed).permutation(len(ids))
        return acts.assign_coords(stimulus_id=("presentation", ids[order]))


def test_specs_cover_every_roi_and_mapping():
    ids = {s.id for s in benchmark_specs()}
    assert ids == {f"NSD.{r}-{m}" for r in ROIS for m in ("ols", "ridge", "lasso", "mlp", "cnn")}
    spec = next(s for s in benchmark_specs() if s.id == "NSD.FFA-lasso")
    assert spec.parameters["lasso_alphas"] == [1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1]
    assert spec.parameters["lasso_subject"] == "NSD.subj02" and spec.visual_degrees == 8.4


def test_split_is_400_115_and_seeded():
    train, test = shared_split(515, 0)
    assert len(train) == 400 and len(test) == 115 and not set(train) & set(test)
    assert np.array_equal(shared_split(515, 0)[1], test)
    assert not np.array_equal(shared_split(515, 1)[1], test)


def test_twin_has_the_designed_sizes_and_reliabilities(twin):
    plan = layout(SCALE)
    benchmark = neuroalign.get_benchmark("NSD.FFA-ols")
    data = benchmark.data()
    assert len(data["ids"]) == plan["shared515"] and len(data["subjects"]) == 8
    assert data["trials"].shape == (8, 3, plan["shared515"])
    for roi in ROIS:
        ceilings = neuroalign.get_benchmark(f"NSD.{roi}-ols").data()["ceilings"]
        assert abs(np.median(ceilings) - RELIABILITY[roi]) < 0.12, (roi, ceilings)


@pytest.mark.parametrize("mapping", ["ols", "ridge"])
def test_ground_truth_ranks_first_and_shuffled_scores_zero(twin, mapping):
    from neuroalign_synthetic.world import groundtruth_model

    truth = neuroalign.get_model("synthetic:groundtruth")
    others = [groundtruth_model(seed=7), groundtruth_model(seed=11)]
    controls = {}
    for roi in ROIS:
        benchmark = neuroalign.get_benchmark(f"NSD.{roi}-{mapping}")
        best = benchmark(truth)
        assert best.layer == "it" and best.attrs["layer_policy"] == "committed (IT)"
        assert best.raw > 0.45 and best.ceiling > 0.5
        for other in others:
            assert benchmark(other).raw < best.raw, roi
        # the 8 subjects share features and split, so one shuffle's mean r has an sd of about
        # 1/sqrt(n_test) ~ .2 at this scale: average five shuffles
        controls[roi] = np.mean([benchmark(Shuffled(truth, seed)).raw for seed in range(5)])
    assert all(abs(v) < 0.2 for v in controls.values()), controls
    assert abs(np.mean(list(controls.values()))) < 0.1, controls


def test_score_bookkeeping_and_determinism(twin):
    truth = neuroalign.get_model("synthetic:groundtruth")
    benchmark = neuroalign.get_benchmark("NSD.PPA-ridge")
    first, second = benchmark(truth), benchmark(truth)
    assert first.raw == second.raw and first.splits == second.splits
    r = np.array(first.splits)
    assert len(r) == 8 and first.raw == pytest.approx(r.mean())
    assert first.error == pytest.approx(r.std(ddof=1) / np.sqrt(8))
    ceilings = list(first.attrs["subject_ceilings"].values())
    assert first.ceiling == pytest.approx(np.median(ceilings))
    assert first.value == pytest.approx(min(max(first.raw ** 2 / first.ceiling, 0), 1))
    assert first.attrs["n_test"] == round(layout(SCALE)["shared515"] * 115 / 515)


def test_layer_selection_uses_training_images_only(twin, monkeypatch):
    truth = neuroalign.get_model("synthetic:groundtruth")
    benchmark = neuroalign.get_benchmark("NSD.EBA-ridge")
    seen = []
    original = benchmark._select

    def spy(features, y_train, train):
        seen.append(set(train))
        return original(features, y_train, train)

    monkeypatch.setattr(benchmark, "_select", spy)
    score = benchmark(truth, layers=["v4", "it"])
    assert score.attrs["layer_policy"] == "given" and set(score.layers) == {"v4", "it"}
    assert seen and not seen[0] & set(benchmark.data()["test"])
    assert score.layer == max(score.layers, key=score.layers.get)


def test_lasso_alpha_is_chosen_on_subject_2(twin):
    truth = neuroalign.get_model("synthetic:groundtruth")
    score = neuroalign.get_benchmark("NSD.FFA-lasso")(truth)
    assert score.attrs["lasso_alpha_subject"] == "NSD.subj02"
    assert score.attrs["lasso_alpha"] in (1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1)
    curve = score.attrs["lasso_alpha_cv_r"]
    assert max(curve, key=curve.get) == f"{score.attrs['lasso_alpha']:g}"


def test_cnn_reads_the_feature_map(twin):
    truth = neuroalign.get_model("synthetic:groundtruth")
    score = neuroalign.get_benchmark("NSD.FFA-cnn")(truth)
    assert score.attrs["feature_shape"] == (96, 2, 2) and score.attrs["cnn_input"] == [96, 2, 2]
    assert score.raw > 0.2
