"""Building timm models: pretrained weights (and the offline error), preprocessing, layers, hash."""

from __future__ import annotations

import pytest
import torch
from neuroalign.errors import AssetError, OfflineError, SpecError
from neuroalign_timm.factory import build, preprocessing_from_cfg
from neuroalign_timm.layers import check_layers


def _outputs(module, layers, size):
    """Run one image through ``module`` and return each layer's forward-hook output."""
    modules = dict(module.named_modules())
    seen = {}
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, out, name=name: seen.__setitem__(name, out)) for name in layers]
    try:
        with torch.no_grad():
            module(torch.zeros(1, 3, size, size))
    finally:
        for handle in handles:
            handle.remove()
    return seen


# ------------------------------------------------------------------ pretrained weights, offline


@pytest.mark.parametrize("variable", ["NEUROALIGN_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_pretrained_error_says_how_to_fix(registry, monkeypatch, variable):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv(variable, "1")  # NEUROALIGN_OFFLINE=1 alone must imply HF offline mode
    import huggingface_hub.constants

    before = huggingface_hub.constants.HF_HUB_OFFLINE
    with pytest.raises(OfflineError) as info:
        registry.build("model", "timm:resnet18", None)  # pretrained=True is the default
    message = str(info.value)
    assert "pretrained weights of 'timm:resnet18'" in message
    assert "'timm/resnet18.a1_in1k'" in message  # where timm would get them
    assert "HF_HOME" in message and "pretrained_file" in message  # how to get them
    assert "--random-weights" in message and "pretrained=False" in message  # or go without
    assert huggingface_hub.constants.HF_HUB_OFFLINE == before  # patched only during the call


def test_offline_error_names_the_tag(registry, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="'timm/resnet18.tv_in1k'"):
        registry.build("model", "timm:resnet18.tv_in1k", None)


def test_pretrained_without_weights_is_an_error(registry):
    with pytest.raises(SpecError, match=r"no pretrained weights .* pretrained=False"):
        registry.build("model", "timm:coatnet_0_224", None)


def test_pretrained_file_goes_through_timm_loader(registry, tmp_path):
    reference = registry.build("model", "timm:resnet18", {"pretrained": False, "seed": 1})
    path = tmp_path / "resnet18.pth"
    torch.save(reference.module().state_dict(), path)
    loaded = registry.build("model", "timm:resnet18", {"pretrained_file": str(path)})
    random0 = registry.build("model", "timm:resnet18", {"pretrained": False})
    assert loaded.weights_hash() == reference.weights_hash() != random0.weights_hash()


def test_pretrained_file_errors(registry, tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        registry.build("model", "timm:resnet18", {"pretrained_file": str(tmp_path / "nope.pth")})
    wrong = registry.build("model", "timm:convnext_atto", {"pretrained": False}).module()
    torch.save(wrong.state_dict(), tmp_path / "convnext.pth")
    with pytest.raises(SpecError, match="state dict of architecture 'resnet18'"):
        registry.build("model", "timm:resnet18",
                       {"pretrained_file": str(tmp_path / "convnext.pth")})
    assert issubclass(OfflineError, AssetError)


# ------------------------------------------------------------------ weights hash


def test_weights_hash_is_stable_and_seeded(registry):
    first = registry.build("model", "timm:resnet18", {"pretrained": False})
    second = registry.build("model", "timm:resnet18", {"pretrained": False})
    other = registry.build("model", "timm:resnet18", {"pretrained": False, "seed": 1})
    assert len(first.weights_hash()) == 64
    assert first.weights_hash() == second.weights_hash() != other.weights_hash()
    assert not first.module().training  # built in eval mode


# ------------------------------------------------------------------ preprocessing


def test_preprocessing_follows_the_tag(registry):
    a1 = registry.build("model", "timm:resnet18.a1_in1k", {"pretrained": False}).preprocessing
    tv = registry.build("model", "timm:resnet18.tv_in1k", {"pretrained": False}).preprocessing
    assert (a1.input_size, a1.interpolation, a1.crop_pct) == (224, "bicubic", 0.95)
    assert (tv.input_size, tv.interpolation, tv.crop_pct) == (224, "bilinear", 0.875)
    vit = registry.build("model", "timm:vit_tiny_patch16_224", {"pretrained": False}).preprocessing
    assert vit.mean == (0.5, 0.5, 0.5) and vit.std == (0.5, 0.5, 0.5) and vit.crop_pct == 0.9


def test_preprocessing_from_cfg_edge_cases():
    pre, notes = preprocessing_from_cfg({
        "input_size": (3, 1024, 768), "crop_pct": 1.15, "interpolation": "random",
        "mean": (0.5,), "std": (0.25,), "crop_mode": "squash",
    })
    assert pre.input_size == 1024 and pre.crop_pct == 1.0 and pre.interpolation == "bicubic"
    assert pre.mean == (0.5, 0.5, 0.5) and pre.std == (0.25, 0.25, 0.25)
    assert notes == {"timm_input_size": [3, 1024, 768], "timm_crop_pct": 1.15,
                     "timm_interpolation": "random", "timm_crop_mode": "squash"}


# ------------------------------------------------------------------ candidate layers


EXPECTED = {
    "timm:resnet18": ["act1", "layer1", "layer2", "layer3", "layer4", "global_pool"],
    "timm:vit_tiny_patch16_224": [f"blocks.{i}" for i in range(12)] + ["norm"],
    "timm:convnext_atto": ["stages.0", "stages.1", "stages.2", "stages.3", "head.global_pool"],
    "timm:efficientnet_b0": ["blocks.0", "blocks.1", "blocks.2", "blocks.4", "blocks.6",
                             "global_pool"],
    "timm:crossvit_tiny_240": [f"blocks.{i}.blocks.{b}" for i in range(3) for b in range(2)]
    + ["norm.0", "norm.1"],
    "timm:vgg11": ["features.2", "features.5", "features.10", "features.15", "features.20",
                   "pre_logits"],
}


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_candidate_layers_exist_and_fire(registry, model_id):
    model = registry.build("model", model_id, {"pretrained": False})
    assert list(model.spec.layers) == EXPECTED[model_id]
    outputs = _outputs(model.module(), model.spec.layers, model.preprocessing.input_size)
    assert sorted(outputs) == sorted(EXPECTED[model_id])
    assert all(isinstance(out, torch.Tensor) and out.numel() > 0 for out in outputs.values())


def test_crossvit_18_dagger_commitments_exist(registry):
    model = registry.build("model", "timm:crossvit_18_dagger_240", {"pretrained": False})
    committed = model.spec.region_layers
    assert set(committed.values()) <= set(model.spec.layers)  # commitments are candidates too
    modules = dict(model.module().named_modules())
    assert type(modules["blocks.1.blocks.1.0.norm1"]).__name__ == "LayerNorm"
    assert type(modules["blocks.1.blocks.1.4.norm2"]).__name__ == "LayerNorm"
    assert type(modules["blocks.2.revert_projs.1.2"]).__name__ == "Linear"
    outputs = _outputs(model.module(), sorted(set(committed.values())), 240)
    # large branch: the 240 px image rescaled to 224, 16 px patches: 1 cls + 14 * 14 = 197
    # tokens of width 448; the revert projection maps the large branch's fused cls token 224 -> 448
    assert tuple(outputs["blocks.1.blocks.1.0.norm1"].shape) == (1, 197, 448)
    assert tuple(outputs["blocks.1.blocks.1.4.norm2"].shape) == (1, 197, 448)
    assert tuple(outputs["blocks.2.revert_projs.1.2"].shape) == (1, 1, 448)


def test_unknown_layer_lists_closest_names(registry):
    spec = registry.spec("model", "timm:resnet18")
    bad = spec.model_copy(update={"layers": ("layer1", "layer5"),
                                  "parameters": {**spec.parameters, "pretrained": False}})
    with pytest.raises(SpecError) as info:
        build(bad)
    message = str(info.value)
    assert "unknown layer 'layer5' for model 'timm:resnet18'" in message
    assert "'layer1'" in message and "named_modules" in message


def test_container_layer_is_rejected():
    import timm

    module = timm.create_model("crossvit_tiny_240", pretrained=False)
    with pytest.raises(SpecError, match="ModuleList.*never fires.*'norm.0'"):
        check_layers(module, ["norm"], "timm:crossvit_tiny_240")


def test_committed_layer_is_checked(registry):
    spec = registry.spec("model", "timm:resnet18")
    bad = spec.model_copy(update={"region_layers": {"IT": "layer4.1.conv3"},
                                  "parameters": {**spec.parameters, "pretrained": False}})
    with pytest.raises(SpecError, match="unknown committed layer 'layer4.1.conv3'.*layer4.1.conv"):
        build(bad)
