"""Benchmark specs (Brain-Score parity) and recovery on the synthetic twin."""

from __future__ import annotations

import numpy as np
import pytest

import neuroalign
from neuroalign import LayerView
from neuroalign.scoring.engine import score
from neuroalign_freemanziemba2013.specs import benchmark_specs
from neuroalign_freemanziemba2013.synthetic import layout


def test_specs_match_brainscore():
    specs = {s.id: s for s in benchmark_specs()}
    assert sorted(specs) == ["FreemanZiemba2013.V1-pls", "FreemanZiemba2013.V2-pls",
                             "FreemanZiemba2013public.V1-pls", "FreemanZiemba2013public.V2-pls"]
    for identifier, spec in specs.items():
        public = "public" in identifier
        # Brain-Score: public 1, private 3; ours +1 since the parity defaults changed scores
        assert spec.version == (2 if public else 4)
        assert spec.visual_degrees == 4.0 and spec.number_of_trials == 20
        assert spec.metric == "pls" and spec.ceiling == "internal_consistency"
        assert spec.metric_parameters == {"stratification_coord": "texture_type"}
        assert spec.dataset == f"FreemanZiemba2013.{'public' if public else 'private'}"
        assert spec.parameters["selection_dataset"] == "FreemanZiemba2013.public"
        # Brain-Score's public benchmarks have parent=None: they enter no region's mean
        assert spec.parameters.get("aggregate", True) is (not public)
    assert specs["FreemanZiemba2013.V2-pls"].region == "V2"


def test_full_scale_layout_is_the_real_datasets():
    private, public = layout("private", 1.0), layout("public", 1.0)
    assert len(private["images"]) == 315 and len(public["images"]) == 135
    assert not set(private["images"]) & set(public["images"])
    assert private["trials"] == public["trials"] == 20
    assert len(layout("private", 0.125)["images"]) == 105


class _Shuffled(LayerView):
    """The ground-truth features with stimuli permuted: nothing to learn."""

    def activations(self, stimuli, layers, **kwargs):
        features = super().activations(stimuli, layers, **kwargs)
        order = np.random.default_rng(0).permutation(features.sizes["presentation"])
        return features.copy(data=features.values[order])


def test_groundtruth_recovery_and_controls(in_fz_store):
    truth = neuroalign.get_model("synthetic:groundtruth")
    other = neuroalign.get_model("synthetic:groundtruth", parameters={"seed": 7})
    for region, ceiling in (("V1", 0.873), ("V2", 0.825)):
        benchmark = neuroalign.get_benchmark(f"FreemanZiemba2013.{region}-pls")
        committed = score(truth, benchmark, results=False)
        # the split-half ceiling lands near Brain-Score's (V1 .873, V2 .825)
        assert committed.ceiling == pytest.approx(ceiling, abs=0.04), committed
        assert committed.attrs["layer_policy"] == "committed"
        assert committed.attrs["visual_degrees"] == 4.0
        # the ground truth ranks first: another network of the same architecture scores lower
        # (on full activations, Brain-Score's reported path, the margin is ~0.045 at this scale;
        # on 1,000 PCs it is ~0.18: PLS with 25 components over every feature fits less)
        rival = score(other, benchmark, results=False)
        assert committed.value > rival.value + 0.03, (committed.value, rival.value)
        shuffled = score(_Shuffled(truth, [truth.region_layers[region]]), benchmark,
                         results=False)
        assert abs(shuffled.value) < 0.05, shuffled
        # layer selection on the public split picks the generating stage
        selected = score(truth, benchmark, layers=["v1", "v2", "v4", "it"], results=False)
        assert selected.layer == truth.region_layers[region], selected.layers
        assert selected.attrs["selection_split"] == "FreemanZiemba2013.public"
        assert any(k.startswith("FreemanZiemba2013.public/")
                   for k in selected.provenance.dataset_sha256)


def test_public_benchmark_selects_and_scores_on_the_public_split(in_fz_store):
    truth = neuroalign.get_model("synthetic:groundtruth")
    benchmark = neuroalign.get_benchmark("FreemanZiemba2013public.V2-pls")
    selected = score(truth, benchmark, layers=["v1", "v2", "v4", "it"], results=False)
    assert selected.attrs["reported_split"] == "FreemanZiemba2013.public"
    assert selected.layer == "v2"
    # Brain-Score: layers are compared on 1,000 PCs; the reported score is then computed on the
    # full activations of the chosen layer, so it differs from the selection score ...
    assert selected.attrs["reported_features"] == "full"
    assert abs(selected.value - selected.layers["v2"]) > 1e-3
    # ... unless the reported score is asked for on the reduced features too
    spec = benchmark.spec
    reduced = type(benchmark)(spec.model_copy(update={
        "parameters": {**spec.parameters, "reported_features": "reduced"}}))
    again = score(truth, reduced, layers=["v1", "v2", "v4", "it"], results=False)
    assert again.value == pytest.approx(again.layers["v2"], abs=1e-9)


@pytest.fixture(scope="module")
def majaj_store(tmp_path_factory, fz_home):
    """The Majaj-Hong synthetic store (V4, IT) at the smallest scale, built once."""
    import os
    from unittest import mock

    from neuroalign.app.demo import build_store

    with mock.patch.dict(os.environ, {"NEUROALIGN_HOME": str(fz_home)}):
        return build_store(tmp_path_factory.getbasetemp() / "majaj-store-0.06", scale=0.06,
                           datasets=["MajajHong2015.public", "MajajHong2015.private"])


def test_rho_hierarchy_is_positive_for_the_ground_truth(in_fz_store, majaj_store, tmp_path,
                                                        monkeypatch):
    """Paper 000's rho-hierarchy, end to end: V1, V2, V4, IT scored, stored, leaderboard."""
    from neuroalign.scoring.aggregate import rho_hierarchy
    from neuroalign.app.report import leaderboard
    from neuroalign.scoring.results import ResultsDatabase

    # one store index per split family: point NEUROALIGN_STORE at each in turn
    truth = neuroalign.get_model("synthetic:groundtruth")
    results = ResultsDatabase(tmp_path / "results.sqlite")
    regions = {}
    for store, ids in ((in_fz_store, ["FreemanZiemba2013.V1-pls", "FreemanZiemba2013.V2-pls"]),
                       (majaj_store, ["MajajHong2015.V4-pls", "MajajHong2015.IT-pls"])):
        monkeypatch.setenv("NEUROALIGN_STORE", str(store))
        for identifier in ids:
            result = score(truth, identifier, results=results)
            regions[neuroalign.get_benchmark(identifier).spec.region] = result.value
    rho = rho_hierarchy(regions)
    assert rho > 0, regions
    # the two synthetic stores are two data sources, which a leaderboard never mixes in one row;
    # here they are one synthetic world (the same ground-truth network), so label them as one
    table = results.query()
    assert table["data"].str.startswith("synthetic ").all()
    table["data"] = "synthetic"
    board = leaderboard(table)
    assert board.rho_hierarchy["synthetic:groundtruth"] == pytest.approx(rho)
