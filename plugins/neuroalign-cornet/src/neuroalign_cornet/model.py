"""CORnet-Z in torch, and the factory that builds ``cornet:z`` with or without pretrained weights.

Architecture (Kubilius et al. 2018): four areas, each a convolution, a ReLU and a 3x3 max-pool
with stride 2 -- V1: 7x7 conv, stride 2, 64 channels; V2: 3x3, 128; V4: 3x3, 256; IT: 3x3, 512
-- then a decoder: global average pool, flatten, linear 512 -> 1000. Parameter names
(``V1.conv.weight``, ..., ``decoder.linear.bias``) match the authors' published checkpoint once
its ``module.`` prefix (from ``nn.DataParallel``) is removed, so those weights load unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError, SpecError
from neuroalign import AssetSpec, ModelSpec
from torch import nn

__all__ = ["CORblockZ", "CORnetZ", "build", "load_weights", "map_keys", "weights_path"]

_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z]+$")


class CORblockZ(nn.Module):
    """One CORnet-Z area: conv -> ReLU -> max-pool(3, stride 2); ``output`` is a hook point."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=kernel_size // 2)
        self.nonlin = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.output = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.pool(self.nonlin(self.conv(x))))


class CORnetZ(nn.Module):
    """CORnet-Z: areas ``V1``, ``V2``, ``V4``, ``IT`` and a ``decoder`` (avgpool, flatten, linear).

    Parameters
    ----------
    num_classes : int
        Outputs of the decoder's linear layer (1000 ImageNet classes).
    """

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.V1 = CORblockZ(3, 64, kernel_size=7, stride=2)
        self.V2 = CORblockZ(64, 128)
        self.V4 = CORblockZ(128, 256)
        self.IT = CORblockZ(256, 512)
        self.decoder = nn.Sequential()
        self.decoder.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
        self.decoder.add_module("flatten", nn.Flatten())
        self.decoder.add_module("linear", nn.Linear(512, num_classes))
        self.decoder.add_module("output", nn.Identity())
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.IT(self.V4(self.V2(self.V1(x)))))


def map_keys(checkpoint: Any) -> dict[str, torch.Tensor]:
    """The state dict of a published checkpoint in :class:`CORnetZ`'s key layout.

    Accepts the authors' format (``{"state_dict": {"module.V1.conv.weight": ...}, ...}``), a bare
    state dict, and keys with or without the ``module.`` prefix of ``nn.DataParallel``.
    """
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SpecError(
            f"CORnet-Z checkpoint must be a state dict or a dict with a 'state_dict' entry of "
            f"tensors; found {type(checkpoint).__name__} with keys "
            f"{sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else '-'}"
        )
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_weights(module: CORnetZ, path: str | os.PathLike[str]) -> None:
    """Load a CORnet-Z checkpoint file into ``module`` (``torch.load(weights_only=True)``).

    Raises
    ------
    neuroalign.SpecError
        The file is not a CORnet-Z state dict: names the missing / unexpected keys.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SpecError(
            f"cannot read CORnet-Z weights {str(path)!r} with torch.load(weights_only=True): "
            f"{type(error).__name__}: {str(error).splitlines()[0]}; is it a torch checkpoint?"
        ) from error
    state = map_keys(checkpoint)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        raise SpecError(
            f"{str(path)!r} is not a CORnet-Z checkpoint: missing keys {missing[:6]}, unexpected "
            f"keys {unexpected[:6]}, wrong shapes {wrong[:6]}; expected keys like "
            "'module.V1.conv.weight' (see neuroalign_cornet.model.CORnetZ)"
        )
    module.load_state_dict(state)


def _help(model_id: str) -> str:
    return (f"To get them: run once with network access (unset NEUROALIGN_OFFLINE), or download "
            f"the file elsewhere and pass "
            f"parameters={{'weights_url': 'file:///path/to/file.pth'}}, "
            f"or mirror the URL (NEUROALIGN_MIRROR='https://s3.amazonaws.com/cornet-models/="
            f"file:///mirror/'). To score random weights instead: "
            f"neuroalign.get_model({model_id!r}, pretrained=False) (CLI: --random-weights).")


def _fetch_by_prefix(url: str, resolved: str, prefix: str, model_id: str) -> Path:
    """Download ``resolved`` into the neuroalign cache, verified against a sha256 prefix."""
    from neuroalign import store

    dest = store.cache_dir("weights") / os.path.basename(url.split("?", 1)[0])
    if dest.is_file():
        return dest  # only verified downloads are ever moved into place
    if store.is_offline():
        raise OfflineError(
            f"pretrained weights of {model_id!r} ({url}) are not in the cache ({str(dest)!r}) and "
            f"NEUROALIGN_OFFLINE=1 forbids downloading them. " + _help(model_id)
        )
    if not resolved.lower().startswith(("http://", "https://")):
        raise AssetError(
            f"{resolved!r} (for {url!r}) has no full sha256, and only http(s) URLs can be fetched "
            "by sha256 prefix; pass parameters={'weights_sha256': '<64 hex>'} to fetch it "
            "through neuroalign.store"
        )
    from torch.hub import download_url_to_file

    with store.file_lock(dest):
        if dest.is_file():
            return dest
        try:  # torch.hub verifies the prefix before moving the temp file into place
            download_url_to_file(resolved, str(dest), hash_prefix=prefix, progress=False)
        except RuntimeError as error:
            if "invalid hash value" in str(error):
                raise ChecksumMismatchError(
                    f"checksum mismatch for {resolved!r}: its sha256 must start with {prefix} "
                    f"({error}); the download was deleted. If the source changed, pass the new "
                    "file's parameters={'weights_sha256': ...}; otherwise retry or use a mirror"
                ) from error
            raise
        except Exception as error:
            raise AssetError(
                f"cannot download pretrained weights of {model_id!r} from {resolved!r} "
                f"({type(error).__name__}: {error}). " + _help(model_id)
            ) from error
        store.write_meta(dest, kind="weights", key=url, description=f"{model_id} weights",
                         url=resolved, sha256=store.sha256_file(dest), sha256_prefix=prefix)
    return dest


def weights_path(spec: ModelSpec) -> Path:
    """A local, verified copy of the weights named by ``spec.parameters``.

    With ``weights_sha256`` (or a local ``file://`` URL) the weights are an
    :class:`~neuroalign.AssetSpec` fetched through :func:`neuroalign.store.fetch` (mirrors, cache,
    full sha256, offline mode). A remote URL without a full digest is accepted only if its file
    name carries a sha256 prefix (``name-<hex>.pth``, as the public CORnet-Z file does) and is
    verified against that prefix.
    """
    from neuroalign import store

    url = str(spec.parameters.get("weights_url") or "")
    sha256 = spec.parameters.get("weights_sha256")
    if not url:
        raise SpecError(
            f"{spec.id!r} has no parameters['weights_url']; give one or pretrained=False")
    resolved = store.resolve_url(url)
    scheme = resolved.split("://", 1)[0].lower() if "://" in resolved else "file"
    name = os.path.basename(url.split("?", 1)[0])
    if sha256 or scheme in ("file", "memory"):
        # without a full digest only a local file is allowed: give the store the resolved URL
        local = url if sha256 else (resolved if "://" in resolved else f"file://{resolved}")
        asset = AssetSpec(name=name, url=local, sha256=sha256, format="pt")
        try:
            path = store.fetch(asset)
        except OfflineError as error:
            raise OfflineError(f"{error}. {_help(spec.id)}") from error
        found = _HASH_IN_NAME.search(name)
        if found and not sha256 and not store.sha256_file(path).startswith(found.group(1)):
            raise ChecksumMismatchError(
                f"{str(path)!r}: sha256 must start with {found.group(1)} (from the file name "
                f"{name!r}); got {store.sha256_file(path)}: a different or corrupt file"
            )
        return path
    found = _HASH_IN_NAME.search(name)
    if not found:
        raise SpecError(
            f"remote weights {url!r} of {spec.id!r} need a sha256: pass "
            "parameters={'weights_sha256': '<64 hex>'} (compute it with: sha256sum FILE)"
        )
    return _fetch_by_prefix(url, resolved, found.group(1), spec.id)


def build(spec: ModelSpec) -> Any:
    """Build ``cornet:z`` into a :class:`neuroalign.extraction.torch_model.TorchModel` in eval mode.

    Parameters
    ----------
    spec : neuroalign.ModelSpec
        :data:`neuroalign_cornet.CORNET_Z`, possibly with overrides: ``pretrained`` (default
        True), ``weights_url``, ``weights_sha256``, ``seed`` (random init when not pretrained).

    Raises
    ------
    neuroalign.OfflineError, neuroalign.AssetError
        The weights cannot be had; the message says how to get them or score random weights.
    """
    from neuroalign.extraction.torch_model import TorchModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.parameters.get("seed", 0)))
        module = CORnetZ()
    if spec.parameters.get("pretrained", True):
        load_weights(module, weights_path(spec))
    return TorchModel(spec, module.eval(), preprocessing=spec.preprocessing)
