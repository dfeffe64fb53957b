"""The benchmarks on the synthetic twin: the harmonized network is the aligned one."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neuroalign
from neuroalign_clickme.benchmarks import clear_cache
from neuroalign_clickme.search import SUCCESS


@pytest.fixture
def twin(neuroalign_plugin_manager, neuroalign_synthetic_store):
    import neuroalign_clickme.plugin
    import neuroalign_synthetic.plugin

    neuroalign_plugin_manager.register(neuroalign_synthetic.plugin, name="synthetic")
    neuroalign_plugin_manager.register(neuroalign_clickme.plugin, name="clickme")
    neuroalign_synthetic_store(neuroalign.get_spec("dataset", "ClickMe.eval1000"), scale=0.05)


def _score(model: str, benchmark: str, **parameters):
    spec_parameters = neuroalign.get_spec("benchmark", benchmark).parameters
    bench = neuroalign.get_benchmark(benchmark, parameters={**spec_parameters, **parameters})
    return bench(neuroalign.get_model(model, parameters={"seed": parameters.pop("seed", 2015)})
                 if model == "synthetic:groundtruth" else neuroalign.get_model(model))


def test_harmonized_twin_is_more_aligned_than_random_networks(twin):
    aligned = _score("clickme:groundtruth-harmonized", "ClickMe.alignment-pgd_l2")
    assert aligned.value > 0.6 and aligned.ceiling == pytest.approx(0.6575315343478081)
    assert aligned.attrs["alignment_score"] == pytest.approx(aligned.value / 0.6575315343478081)
    for seed in (2015, 7):  # the ground-truth network and another random-weight draw
        model = neuroalign.get_model("synthetic:groundtruth", parameters={"seed": seed})
        other = neuroalign.get_benchmark("ClickMe.alignment-pgd_l2")(model)
        assert other.value < aligned.value - 0.3, (seed, other.value, aligned.value)


def test_tolerance_reports_outcomes_and_shares_the_search(twin):
    model = neuroalign.get_model("clickme:groundtruth-harmonized")
    tolerance = neuroalign.get_benchmark("ClickMe.tolerance-pgd_l2")(model)
    attrs = tolerance.attrs
    assert attrs["n_images"] == 8 and attrs["n_misclassified"] == 0  # own decisions as labels
    assert attrs["n_success"] + attrs["n_failures"] == 8 and attrs["n_success"] > 0
    per = attrs["per_image"]
    ok = [o == SUCCESS for o in per["outcome"]]
    assert tolerance.value == pytest.approx(np.mean(np.array(per["l2"])[ok]))
    # sphere projection: the kept perturbation sits on the sphere of its eps, less clamping
    for o, e, l2 in zip(per["outcome"], per["eps"], per["l2"]):
        if o == SUCCESS:
            assert l2 <= e + 1e-4
    alignment = neuroalign.get_benchmark("ClickMe.alignment-pgd_l2")(model)
    assert alignment.attrs["per_image"]["eps"] == per["eps"]  # one search for both
    assert alignment.attrs["attack_seconds"] == attrs["attack_seconds"]
    clear_cache()
    again = neuroalign.get_benchmark("ClickMe.tolerance-pgd_l2")(model)
    assert again.value == tolerance.value  # deterministic without the cache too


@pytest.mark.parametrize("attack", ["pgd_linf", "cw_l2"])
def test_variants_run_and_align(twin, attack):
    model = neuroalign.get_model("clickme:groundtruth-harmonized")
    spec = neuroalign.get_spec("benchmark", f"ClickMe.alignment-{attack}")
    parameters = dict(spec.parameters)
    if attack == "cw_l2":  # a short search keeps the test fast
        parameters["cw"] = {**parameters["cw"], "steps": 30, "binary_search_steps": 4,
                            "initial_const": 1.0}
    score = neuroalign.get_benchmark(spec.id, parameters=parameters)(model)
    assert score.attrs["n_success"] >= 6 and score.value > 0.5
    tolerance = neuroalign.get_benchmark(f"ClickMe.tolerance-{attack}",
                                         parameters={**parameters, "measure": "tolerance"})(model)
    unit = "Linf" if attack == "pgd_linf" else "L2"
    assert tolerance.attrs["unit"].startswith(unit) and math.isfinite(tolerance.value)


def test_bad_parameters_are_refused(twin):
    spec = neuroalign.get_spec("benchmark", "ClickMe.tolerance-pgd_l2")
    with pytest.raises(ValueError, match="projection must be one of"):
        neuroalign.get_benchmark(spec.id, parameters={**spec.parameters, "projection": "cube"})


def test_twin_model_pickles_and_is_the_groundtruth_behind_a_gate(twin):
    import pickle

    import torch

    model = neuroalign.get_model("clickme:groundtruth-harmonized")
    module = pickle.loads(pickle.dumps(model)).module()
    assert [name for name, _ in module.named_children()] == ["gate", "v1", "v2", "v4", "it",
                                                             "readout"]
    gray = torch.full((1, 3, 96, 96), 0.5)
    noise = gray + 0.2 * torch.randn(1, 1, 96, 96)  # gray noise: the gate closes
    z = lambda x: (x - 0.5) / 0.25  # noqa: E731
    with torch.no_grad():
        assert torch.allclose(module(z(noise)), module(z(gray)), atol=1e-3)
