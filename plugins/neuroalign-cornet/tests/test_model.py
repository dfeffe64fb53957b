"""cornet:z: registration, architecture, seeded random weights, and pretrained weights served
from a loopback HTTP server in the authors' checkpoint layout (never the real network)."""

from __future__ import annotations

import hashlib
import pickle

import pytest
import torch
from neuroalign.errors import ChecksumMismatchError, OfflineError, SpecError
from neuroalign.extraction.torch_model import state_dict_sha256
from neuroalign.testing.servers import loopback_http_server
from neuroalign_cornet import CORNET_Z, WEIGHTS_SHA256, WEIGHTS_SHA256_PREFIX, WEIGHTS_URL
from neuroalign_cornet.model import CORnetZ

KEYS = ["V1.conv.weight", "V1.conv.bias", "V2.conv.weight", "V2.conv.bias", "V4.conv.weight",
        "V4.conv.bias", "IT.conv.weight", "IT.conv.bias", "decoder.linear.weight",
        "decoder.linear.bias"]


def _fake_checkpoint(path, seed=7, prefix="module."):
    """A checkpoint in the authors' layout: {"state_dict": {"module.V1.conv.weight": ...}, ...}."""
    torch.manual_seed(seed)
    source = CORnetZ()
    state = {prefix + k: v for k, v in source.state_dict().items()}
    torch.save({"epoch": 1, "arch": "CORnet_Z", "state_dict": state}, path)
    return source, hashlib.sha256(path.read_bytes()).hexdigest()


def test_registered_with_commitments(registry):
    spec = registry.spec("model", "cornet:z")
    assert spec == CORNET_Z
    assert spec.region_layers == {"V1": "V1", "V2": "V2", "V4": "V4", "IT": "IT",
                                  "behavior": "decoder.avgpool"}
    assert spec.parameters["weights_url"] == WEIGHTS_URL
    assert WEIGHTS_URL.endswith(f"cornet_z-{WEIGHTS_SHA256_PREFIX}.pth")
    assert WEIGHTS_SHA256 is None  # only the 8-hex prefix is published; see specs.py


def test_architecture_matches_the_paper():
    module = CORnetZ().eval()
    assert list(module.state_dict()) == KEYS
    assert sum(p.numel() for p in module.parameters()) == 2_071_656
    assert module.V1.conv.kernel_size == (7, 7) and module.V1.conv.stride == (2, 2)
    shapes = {}
    hooks = [dict(module.named_modules())[n].register_forward_hook(
        lambda _m, _i, out, n=n: shapes.__setitem__(n, tuple(out.shape)))
        for n in CORNET_Z.layers]
    with torch.no_grad():
        logits = module(torch.zeros(2, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    assert shapes == {"V1": (2, 64, 56, 56), "V2": (2, 128, 28, 28), "V4": (2, 256, 14, 14),
                      "IT": (2, 512, 7, 7), "decoder.avgpool": (2, 512, 1, 1)}
    assert tuple(logits.shape) == (2, 1000)


def test_random_weights_are_seeded(registry):
    first = registry.build("model", "cornet:z", {"pretrained": False})
    again = registry.build("model", "cornet:z", {"pretrained": False})
    other = registry.build("model", "cornet:z", {"pretrained": False, "seed": 1})
    assert first.weights_hash() == again.weights_hash() != other.weights_hash()
    assert first.preprocessing.crop_pct == 0.875 and first.visual_degrees == 8.0
    assert pickle.loads(pickle.dumps(first)).weights_hash() == first.weights_hash()


def test_offline_error_says_how_to_fix(registry, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        registry.build("model", "cornet:z", None)  # pretrained=True is the default
    message = str(info.value)
    assert WEIGHTS_URL in message and "NEUROALIGN_OFFLINE=1" in message
    assert "weights_url" in message and "NEUROALIGN_MIRROR" in message
    assert "--random-weights" in message and "pretrained=False" in message


def test_weights_with_full_sha256_go_through_the_store(registry, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    source, digest = _fake_checkpoint(served / "cornet_z-fake.pth")
    with loopback_http_server(served) as (base, hits):
        params = {"weights_url": f"{base}/cornet_z-fake.pth", "weights_sha256": digest}
        model = registry.build("model", "cornet:z", params)
        assert model.weights_hash() == state_dict_sha256(source)
        registry.build("model", "cornet:z", params)  # second time: from the cache
        assert hits.count == 1
    cached = list((tmp_path / "neuroalign" / "assets").rglob("cornet_z-fake.pth"))
    assert len(cached) == 1 and hashlib.sha256(cached[0].read_bytes()).hexdigest() == digest


def test_weights_verified_by_the_prefix_in_their_name(registry, tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    scratch = tmp_path / "scratch.pth"
    source, digest = _fake_checkpoint(scratch)
    name = f"cornet_z-{digest[:8]}.pth"
    (served / name).write_bytes(scratch.read_bytes())
    with loopback_http_server(served) as (base, hits):
        model = registry.build("model", "cornet:z", {"weights_url": f"{base}/{name}"})
        assert model.weights_hash() == state_dict_sha256(source)
        monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")  # the verified copy is reused offline
        again = registry.build("model", "cornet:z", {"weights_url": f"{base}/{name}"})
        assert again.weights_hash() == model.weights_hash() and hits.count == 1


def test_public_url_is_checked_against_the_published_prefix(registry, tmp_path, monkeypatch):
    """The real URL, mirrored to loopback, serving a file that is not the authors' -> mismatch."""
    served = tmp_path / "served"
    served.mkdir()
    _, digest = _fake_checkpoint(served / "cornet_z-5c427c9c.pth")
    assert not digest.startswith(WEIGHTS_SHA256_PREFIX)
    with loopback_http_server(served) as (base, hits):
        monkeypatch.setenv("NEUROALIGN_MIRROR", f"https://s3.amazonaws.com/cornet-models/={base}/")
        with pytest.raises(ChecksumMismatchError, match="must start with 5c427c9c"):
            registry.build("model", "cornet:z", None)
        assert hits.requests == [("GET", "/cornet_z-5c427c9c.pth")]
    assert not list((tmp_path / "neuroalign").rglob("cornet_z-5c427c9c.pth"))  # nothing kept


def test_local_file_and_bare_state_dict(registry, tmp_path):
    source, _ = _fake_checkpoint(tmp_path / "mine.pth", seed=3, prefix="")
    model = registry.build("model", "cornet:z", {"weights_url": f"file://{tmp_path / 'mine.pth'}"})
    assert model.weights_hash() == state_dict_sha256(source)


def test_wrong_checkpoint_names_the_keys(registry, tmp_path):
    torch.save({"state_dict": {"module.V1.conv.weight": torch.zeros(64, 3, 7, 7),
                               "module.fc.weight": torch.zeros(3)}}, tmp_path / "bad.pth")
    with pytest.raises(SpecError) as info:
        registry.build("model", "cornet:z", {"weights_url": str(tmp_path / "bad.pth")})
    message = str(info.value)
    assert "missing keys ['IT.conv.bias'" in message and "unexpected keys ['fc.weight']" in message


def test_remote_url_without_any_hash_is_refused(registry):
    with pytest.raises(SpecError, match="need a sha256"):
        registry.build("model", "cornet:z", {"weights_url": "https://127.0.0.1:9/weights.pth"})
