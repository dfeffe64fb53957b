"""Registration: every timm architecture, cheaply, without torch; tags resolve; catalog is fresh."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import resources

import pytest
from neuroalign.errors import SpecError, UnknownIdError
from neuroalign_timm import catalog
from neuroalign_timm.generate import build_catalog, render


def _shipped() -> dict:
    return json.loads(resources.files("neuroalign_timm").joinpath("timm_models.json").read_text())


def test_catalog_matches_installed_timm():
    import timm

    shipped = _shipped()
    if shipped["timm_version"] != timm.__version__:
        pytest.fail(
            f"timm_models.json was generated with timm {shipped['timm_version']} but timm "
            f"{timm.__version__} is installed; regenerate it: python -m neuroalign_timm.generate"
        )
    assert sorted(shipped["models"]) == sorted(timm.list_models())
    assert sum(len(m["tags"]) for m in shipped["models"].values()) == len(
        timm.list_models(pretrained=True))
    current = resources.files("neuroalign_timm").joinpath("timm_models.json").read_text()
    assert current == render(build_catalog()), "stale: python -m neuroalign_timm.generate"


def test_default_tag_comes_first():
    entry = catalog().entry("resnet50")
    # what timm.create_model("resnet50", pretrained=True) loads
    assert entry.default_tag == "a1_in1k"
    assert "tv_in1k" in entry.tags
    assert catalog().entry("crossvit_18_dagger_240").tags == ("in1k",)


def test_registers_every_architecture(registry):
    ids = registry.ids("model", "timm:*")
    assert len(ids) == len(_shipped()["models"]) == 1371  # timm 1.0.31
    assert "timm:resnet50" in ids and "timm:crossvit_18_dagger_240" in ids
    spec = registry.spec("model", "timm:resnet50")
    assert spec.accepts_tags is True
    assert spec.parameters == {"architecture": "resnet50", "pretrained": True}
    assert spec.preprocessing is None and spec.layers == ()  # resolved at build time
    assert spec.metadata["family"] == "resnet"


def test_registration_does_not_import_torch_or_timm():
    code = textwrap.dedent("""
        import sys
        from neuroalign.plugins import PluginManager
        import neuroalign_timm.plugin
        manager = PluginManager(autoload=False)
        manager.register(neuroalign_timm.plugin, name="timm", distribution="neuroalign-timm")
        ids = manager.registry.ids("model", "timm:*")
        spec = manager.registry.spec("model", "timm:resnet50.a1_in1k")
        heavy = sorted(m for m in ("torch", "timm", "torchvision", "huggingface_hub")
                       if m in sys.modules)
        print(len(ids), spec.parameters["tag"], heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1371", "a1_in1k", "[]"]


def test_tag_resolves_to_base_spec(registry):
    spec = registry.spec("model", "timm:resnet50.a1_in1k")
    assert spec.id == "timm:resnet50.a1_in1k"
    assert spec.parameters == {"architecture": "resnet50", "pretrained": True, "tag": "a1_in1k"}
    crossvit = registry.spec("model", "timm:crossvit_18_dagger_240.in1k")
    assert crossvit.region_layers["IT"] == "blocks.1.blocks.1.4.norm2"


def test_unknown_tag_lists_close_matches(registry):
    with pytest.raises(SpecError) as info:
        registry.build("model", "timm:resnet50.a1_in1kk", {"pretrained": False})
    message = str(info.value)
    assert "unknown pretrained tag 'a1_in1kk' for 'timm:resnet50'" in message
    assert "did you mean 'a1_in1k'" in message
    assert "tv_in1k" in message  # the valid tags are listed


def test_tag_of_architecture_without_weights(registry):
    assert catalog().entry("coatnet_0_224").tags == ()
    with pytest.raises(SpecError, match="'timm:coatnet_0_224' has no pretrained tags"):
        registry.build("model", "timm:coatnet_0_224.in1k", {"pretrained": False})


def test_unknown_architecture_suggests(registry):
    with pytest.raises(UnknownIdError) as info:
        registry.spec("model", "timm:resnet5O")
    assert "timm:resnet50" in info.value.matches


def test_crossvit_18_dagger_commitments_registered(registry):
    spec = registry.spec("model", "timm:crossvit_18_dagger_240")
    assert spec.region_layers == {
        "V1": "blocks.1.blocks.1.0.norm1",
        "V2": "blocks.1.blocks.1.0.norm1",
        "V4": "blocks.1.blocks.1.0.norm1",
        "IT": "blocks.1.blocks.1.4.norm2",
        "behavior": "blocks.2.revert_projs.1.2",
    }
    assert "Table 3" in spec.metadata["commitments_source"]
    assert "Berrios" in spec.metadata["citation"]
