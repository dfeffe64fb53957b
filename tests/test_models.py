"""TorchModel and Model.from_module: spec, weights hash, layers, device, logits."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import neuroalign
from neuroalign.errors import SpecError
from neuroalign.extraction.extract import ExtractionError
from neuroalign.specs import ModelSpec, Preprocessing
from neuroalign.extraction.torch_model import TorchModel, state_dict_sha256
from neuroalign.stimuli import StimulusSet


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 6, 3, stride=2, padding=1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class TinyOtherForward(Tiny):
    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.features(x))).flatten(1))


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    torch.manual_seed(0)


def stimuli(n=5, size=16):
    images = np.random.default_rng(1).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return StimulusSet.from_arrays("T.s", [f"s{i}" for i in range(n)], images, 8.0)


def test_from_module_builds_a_torch_model_with_its_spec():
    module = Tiny()
    model = neuroalign.Model.from_module(
        module, identifier="lab:tiny", preprocessing={"input_size": 16},
        layers=["features.0", "features.2"], region_layers={"V1": "features.0", "IT": "fc"},
        visual_degrees=10.0)
    assert isinstance(model, TorchModel)
    assert model.identifier == "lab:tiny"
    assert model.module() is module
    assert model.preprocessing == Preprocessing(input_size=16)
    assert model.layers == ("features.0", "features.2")
    assert model.region_layers == {"V1": "features.0", "IT": "fc"}
    assert model.visual_degrees == 10.0
    assert model.spec.metadata["class"].endswith("Tiny")
    assert str(model.device) == ("cuda" if torch.cuda.is_available() else "cpu")


def test_defaults_and_explicit_preprocessing_override():
    model = neuroalign.Model.from_module(Tiny())
    assert model.identifier == "custom:model"
    assert model.preprocessing.input_size == 224 and model.visual_degrees == 8.0
    spec = ModelSpec(id="lab:t", factory="x.y:z", preprocessing=Preprocessing(input_size=32))
    assert TorchModel(spec, Tiny()).preprocessing.input_size == 32
    override = TorchModel(spec, Tiny(), preprocessing=Preprocessing(input_size=48))
    assert override.preprocessing.input_size == 48


def test_spec_of_an_in_memory_module_cannot_be_rebuilt():
    model = neuroalign.Model.from_module(Tiny())
    with pytest.raises(SpecError, match="in-memory torch module.*Pass the Model object"):
        model.spec.build()


def test_not_a_module_is_rejected():
    with pytest.raises(SpecError, match="expected a torch.nn.Module, got function"):
        TorchModel(ModelSpec(id="lab:t", factory="x.y:z"), lambda x: x)


def test_unknown_layer_lists_closest_module_names():
    with pytest.raises(SpecError, match=r"unknown layer 'feature.2'.*'features.2'"):
        neuroalign.Model.from_module(Tiny(), layers=["feature.2"])
    with pytest.raises(ExtractionError, match=r"unknown layer 'fc1'.*\['fc'"):
        neuroalign.Model.from_module(Tiny(), region_layers={"IT": "fc1"})
    model = neuroalign.Model.from_module(Tiny(), preprocessing={"input_size": 16})
    with pytest.raises(ExtractionError, match=r"unknown layer 'pol'.*'pool'"):
        model.activations(stimuli(), ["pol"], reduction=None)


def test_weights_hash_is_stable_and_follows_in_place_changes():
    module = Tiny()
    model = neuroalign.Model.from_module(module)
    first = model.weights_hash()
    assert len(first) == 64 and first == model.weights_hash()
    assert first == state_dict_sha256(copy.deepcopy(module))
    twin = Tiny()
    twin.load_state_dict(module.state_dict())
    assert neuroalign.Model.from_module(twin).weights_hash() == first
    with torch.no_grad():
        module.fc.bias.add_(1.0)  # in place: the cached hash must not survive it
    assert model.weights_hash() != first
    module.load_state_dict(twin.state_dict())
    assert model.weights_hash() == first
    assert neuroalign.Model.from_module(Tiny()).weights_hash() != first  # other random init


def test_weights_hash_covers_dtype_and_exotic_dtypes():
    module = Tiny()
    plain = state_dict_sha256(module)
    assert state_dict_sha256(copy.deepcopy(module).double()) != plain
    assert len(state_dict_sha256(copy.deepcopy(module).to(torch.bfloat16))) == 64


def test_architecture_hash_sees_forward_code():
    module = Tiny()
    other = TinyOtherForward()
    other.load_state_dict(module.state_dict())
    a, b = neuroalign.Model.from_module(module), neuroalign.Model.from_module(other)
    assert a.weights_hash() == b.weights_hash()
    assert a.architecture_hash() != b.architecture_hash()


def test_logits_match_a_manual_forward_and_restore_train_mode():
    module = Tiny().train()
    model = neuroalign.Model.from_module(module, preprocessing={"input_size": 16})
    model.device = "cpu"
    data = stimuli()
    out = model.logits(data)
    assert out.dims == ("presentation", "choice") and out.shape == (5, 5)
    assert out["stimulus_id"].values.tolist() == data.ids
    with torch.no_grad():
        expected = module.eval()(model.preprocess(data.images())).numpy()
    np.testing.assert_allclose(out.values, expected, rtol=1e-5, atol=1e-6)
    module.train()
    model.logits(data)
    assert module.training  # the caller's mode is restored


def test_torch_model_pickles():
    model = neuroalign.Model.from_module(Tiny(), identifier="lab:tiny")
    clone = pickle.loads(pickle.dumps(model))
    assert clone.identifier == "lab:tiny"
    assert clone.weights_hash() == model.weights_hash()
