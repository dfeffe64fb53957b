"""PGD.robust_accuracy benchmarks: the AUC summary, the synthetic classifier, the read-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import neuroalign
from neuroalign.specs import Preprocessing
from neuroalign.interfaces import Model
from neuroalign_attacks.robust_accuracy import auc, eps_grid
from neuroalign_attacks.synthetic import render_shapes

QUICK = {"n_images": 36, "n_readout_images": 60, "steps": [1, 5], "eps": [2 / 255, 8 / 255, 0.1]}


@pytest.fixture(scope="module")
def neuroalign_home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        patch.setenv("NEUROALIGN_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def shapes_model(neuroalign_home):
    from neuroalign_attacks import shapes_classifier_model

    return shapes_classifier_model()


def test_auc_is_one_when_fully_robust_and_zero_when_always_wrong():
    eps = [1, 2, 4, 6, 8, 10]
    assert auc(eps, [1.0] * 6, clean=1.0) == 1.0
    assert auc(eps, [0.0] * 6, clean=0.0) == 0.0
    # accuracy 1 at eps=0 falling to 0 at every eps: only the first trapezoid counts
    assert auc(eps, [0.0] * 6, clean=1.0) == pytest.approx(0.5 * 1 / 10)
    assert auc([1.0, 2.0], [0.5, 0.5], clean=0.5) == pytest.approx(0.5)


def test_eps_grids():
    assert eps_grid("linf", 224) == pytest.approx([k / 255 for k in (1, 2, 4, 6, 8, 10)])
    assert eps_grid("l2", 224) == pytest.approx([0.25, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert eps_grid("l2", 112) == pytest.approx([0.125, 0.25, 0.5, 0.75, 1.0, 1.25])


def test_shapes_are_deterministic_and_resolution_independent():
    a, la = render_shapes(12, 32, seed=3)
    b, lb = render_shapes(12, 32, seed=3)
    big, _ = render_shapes(12, 64, seed=3)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert la.tolist() == [i % 6 for i in range(12)]
    down = nn.functional.avg_pool2d(big, 2)
    assert float((down - a).abs().mean()) < 0.05  # same scene, only the pixel noise differs


def test_shapes_classifier_is_cached_and_accurate(shapes_model, neuroalign_home):
    cached = list((neuroalign_home / "attacks").glob("shapes_cnn-v1-seed0.pt"))
    assert len(cached) == 1
    state = torch.load(cached[0], weights_only=True)
    assert all(torch.equal(state[k], v) for k, v in shapes_model.module().state_dict().items())
    images, labels = render_shapes(120, 32, seed=99)
    with torch.no_grad():
        predicted = shapes_model.module()((images - 0.5) / 0.25).argmax(1)
    assert float((predicted == labels).float().mean()) > 0.7


def test_benchmark_on_the_shapes_classifier(manager, shapes_model):
    benchmark = neuroalign.get_benchmark("PGD.robust_accuracy-linf", parameters=QUICK)
    score = benchmark(shapes_model)
    assert score.attrs["readout"] == "native"
    assert set(score.children) == {"steps=1", "steps=5"}
    clean = score.attrs["clean_accuracy"]
    assert clean > 0.6
    for child in score.children.values():
        accuracy = child.attrs["accuracy"]
        assert all(0 <= a <= clean + 1e-9 for a in accuracy)
        assert accuracy[-1] <= accuracy[0]  # a bigger ball never helps the model much
        assert child.value == pytest.approx(auc(QUICK["eps"], accuracy, clean))
    assert score.value == pytest.approx(np.mean([c.value for c in score.children.values()]))
    assert 0 < score.value < clean and score.error > 0
    assert score.provenance.benchmark_id == "PGD.robust_accuracy-linf"
    again = neuroalign.get_benchmark("PGD.robust_accuracy-linf", parameters=QUICK)(shapes_model)
    assert again.value == score.value  # deterministic
    assert neuroalign.Score.from_json(score.to_json()).attrs == score.attrs


def test_benchmark_fits_a_linear_readout_for_other_label_spaces(manager):
    torch.manual_seed(0)
    foreign = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                            nn.Flatten(), nn.Linear(32, 1000))
    model = Model.from_module(foreign, identifier="torch:foreign", preprocessing=Preprocessing(input_size=24))
    params = {**QUICK, "norm": "l2", "eps": None}
    score = neuroalign.get_benchmark("PGD.robust_accuracy-l2", parameters=params)(model)
    assert score.attrs["readout"] == "linear"
    assert score.attrs["eps"] == pytest.approx([0.25 * k * 24 / 224 for k in (1, 2, 4, 6, 8, 10)])
    assert score.attrs["readout_train_accuracy"] > 1 / 6
    assert 0 <= score.value <= 1
    assert all(p.requires_grad for p in foreign.parameters()) and foreign[4].weight.grad is None


def test_benchmark_call_follows_the_contract():
    import inspect

    from neuroalign_attacks.robust_accuracy import RobustAccuracy

    parameters = inspect.signature(RobustAccuracy.__call__).parameters
    assert list(parameters) == ["self", "model", "layers", "progress"]
    for name in ("layers", "progress"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None


def _foreign_model():
    torch.manual_seed(0)
    foreign = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                            nn.Flatten(), nn.Linear(32, 1000))
    return foreign, Model.from_module(foreign, identifier="torch:foreign",
                                      preprocessing=Preprocessing(input_size=24))


def test_layers_read_out_from_those_layers(manager):
    foreign, model = _foreign_model()
    params = {**QUICK, "norm": "l2", "eps": None, "steps": [1]}
    benchmark = neuroalign.get_benchmark("PGD.robust_accuracy-l2", parameters=params)
    score = benchmark(model, layers=["1"], progress=False)
    assert score.attrs["readout"] == "linear" and score.attrs["readout_layers"] == ["1"]
    assert 0 <= score.value <= 1 and score.attrs["readout_train_accuracy"] > 1 / 6
    default = benchmark(model, progress=True)  # a progress bar on stderr, same numbers
    assert default.attrs["readout_layers"] == "penultimate"
    assert score.value != default.value  # a different read-out point
    assert all(p.requires_grad for p in foreign.parameters())


def test_layer_features_stop_after_the_last_layer_and_name_bad_layers():
    from neuroalign_attacks.robust_accuracy import LayerFeatures

    class Explodes(nn.Module):
        def forward(self, x):
            raise AssertionError("computed past the requested layers")

    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), Explodes())
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    features = LayerFeatures(module, ["0", "1"])(x)
    assert features.shape == (2, 2 * 4 * 6 * 6)
    features.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with pytest.raises(neuroalign.errors.NeuroalignError, match=r"unknown layer\(s\) \['fc'\]"):
        LayerFeatures(module, ["fc"])


def test_native_readout_with_layers_is_an_error(manager, shapes_model):
    benchmark = neuroalign.get_benchmark("PGD.robust_accuracy-linf",
                                         parameters={**QUICK, "readout": "native"})
    with pytest.raises(neuroalign.errors.NeuroalignError, match="readout='native'.*layers"):
        benchmark(shapes_model, layers=["features.0"])
