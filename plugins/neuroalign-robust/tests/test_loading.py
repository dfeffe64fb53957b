"""Checkpoints in the robustness library's format, served on 127.0.0.1: download, verify, load."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import neuroalign
from neuroalign import store
from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError, SpecError
from neuroalign.plugins.lookup import get_registry
from neuroalign.testing.servers import loopback_http_server
from neuroalign_robust.factory import ATTACKER_PREFIX, PREFIX, build, extract_state_dict
from neuroalign_robust.specs import CHECKPOINTS, L2_EPSILONS, LINF_EPSILONS

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
#: a small architecture with timm's ResNet names stands in for resnet50 (same code path)
ARCH = "resnet10t"


def robustness_checkpoint(seed: int = 1) -> tuple[dict, dict]:
    """``(checkpoint, the network's own state dict)`` as the robustness library saves them."""
    import timm

    torch.manual_seed(seed)
    network = timm.create_model(ARCH, pretrained=False)
    own = {k: v.clone() for k, v in network.state_dict().items()}
    state = {}
    for key, value in own.items():
        state[PREFIX + key] = value
        state[ATTACKER_PREFIX + key] = value.clone()
    for prefix in ("module.normalizer.", "module.attacker.normalizer."):
        state[prefix + "new_mean"] = torch.tensor(MEAN).view(3, 1, 1)
        state[prefix + "new_std"] = torch.tensor(STD).view(3, 1, 1)
    return {"model": state, "optimizer": {"state": {}}, "schedule": None, "epoch": 90}, own


@pytest.fixture
def served(tmp_path, monkeypatch, neuroalign_home):
    """A checkpoint file on a loopback HTTP server, and torch.hub's folder in tmp."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.hub.set_dir(str(tmp_path / "torch" / "hub"))
    folder = tmp_path / "served"
    folder.mkdir()
    checkpoint, own = robustness_checkpoint()
    torch.save(checkpoint, folder / "resnet50_l2_eps3.ckpt")
    with loopback_http_server(folder) as (url, hits):
        yield url, hits, own, folder


def spec_at(url: str, **parameters):
    spec = get_registry().spec("model", "robust:resnet50_l2_eps3")
    return spec.with_parameters({"url": f"{url}/resnet50_l2_eps3.ckpt", "architecture": ARCH,
                                 **parameters})


def test_registered_checkpoints_and_urls():
    assert len(CHECKPOINTS) == len(L2_EPSILONS) + len(LINF_EPSILONS) == 15
    info = CHECKPOINTS["resnet50_linf_eps4.0"]
    assert info["url"] == ("https://huggingface.co/madrylab/robust-imagenet-models/resolve/main/"
                           "resnet50_linf_eps4.0.ckpt")
    assert info["eps"] == pytest.approx(4 / 255) and info["sha256"] is None
    spec = get_registry().spec("model", "robust:resnet50_l2_eps3")
    assert spec.parameters["architecture"] == "resnet50"
    assert spec.preprocessing.mean == MEAN and spec.metadata["eps"] == 3.0


def test_prefix_stripping_keeps_only_the_model():
    checkpoint, own = robustness_checkpoint()
    weights = extract_state_dict(checkpoint, expect_mean=MEAN, expect_std=STD)
    assert set(weights) == set(own)
    assert all(torch.equal(weights[k], own[k]) for k in own)
    with pytest.raises(SpecError, match="normalises with new_mean"):
        extract_state_dict(checkpoint, expect_mean=(0.5, 0.5, 0.5), expect_std=STD)
    with pytest.raises(SpecError, match="no 'module.model.' entries"):
        extract_state_dict({"model": own})


def test_download_verify_and_load_through_timm(served):
    url, hits, own, folder = served
    model = build(spec_at(url))
    loaded = model.module().state_dict()
    assert all(torch.equal(loaded[k], own[k]) for k in own)
    assert model.identifier == "robust:resnet50_l2_eps3" and model.preprocessing.crop_pct == 0.875
    assert hits.count == 1
    local = Path(torch.hub.get_dir()) / "checkpoints" / "resnet50_l2_eps3.ckpt"
    record = local.with_name(local.name + ".sha256")
    assert record.read_text().strip() == store.sha256_file(folder / "resnet50_l2_eps3.ckpt")
    build(spec_at(url))  # second use: verified against the record, no download
    assert hits.count == 1
    # the cached file changes: the recorded hash catches it
    local.write_bytes(local.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumMismatchError, match="first download recorded"):
        build(spec_at(url))


def test_pinned_hash_offline_and_unreachable(served, monkeypatch):
    url, hits, own, folder = served
    with pytest.raises(ChecksumMismatchError, match="the spec pins"):
        build(spec_at(url, sha256="0" * 64))
    local = Path(torch.hub.get_dir()) / "checkpoints"
    for path in local.glob("resnet50_l2_eps3*"):
        path.unlink()
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="--random-weights"):
        build(spec_at(url))
    monkeypatch.delenv("NEUROALIGN_OFFLINE")
    with pytest.raises(AssetError, match="could not download"):
        build(spec_at(url).with_parameters({"url": f"{url}/missing.ckpt"}))


def test_random_weights_download_nothing(served):
    url, hits, own, folder = served
    model = neuroalign.get_model("robust:resnet50_l2_eps3", pretrained=False)
    assert model.identifier == "robust:resnet50_l2_eps3" and hits.count == 0
    assert "layer4" in model.layers
