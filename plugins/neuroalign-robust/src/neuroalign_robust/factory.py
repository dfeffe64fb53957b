"""Download a robustness-library checkpoint, extract its weights, build the model through timm.

A checkpoint of the MadryLab ``robustness`` library is a torch pickle ``{"model": state_dict,
"optimizer": ..., "schedule": ..., "epoch": ...}`` whose state dict holds the network twice, as
``module.model.<name>`` and ``module.attacker.model.<name>``, plus the input normaliser's
``module.normalizer.new_mean`` / ``new_std`` (and the attacker's copy). :func:`extract_state_dict`
keeps the ``module.model.`` entries without that prefix (the torchvision/timm ResNet names) and
checks that the normaliser is the one the model spec declares.

Files (all written atomically, under ``torch.hub.get_dir()/checkpoints``, where timm keeps the
weights it downloads): ``<name>.ckpt`` as downloaded, ``<name>.ckpt.sha256`` with its sha256
(trust on first use: the authors publish none; a ``sha256`` parameter pins one instead), and
``<name>.state_dict.pt`` with the extracted weights, which neuroalign-timm loads as its
``pretrained_file``.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from neuroalign import Model, ModelSpec, store
from neuroalign.errors import AssetError, ChecksumMismatchError, OfflineError, SpecError

__all__ = ["build", "checkpoint_path", "extract_state_dict", "download", "PREFIX",
           "ATTACKER_PREFIX"]

PREFIX = "module.model."
ATTACKER_PREFIX = "module.attacker.model."
_TRUE = {"1", "true", "yes", "on"}


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE
               for v in ("NEUROALIGN_OFFLINE", "HF_HUB_OFFLINE"))


def _directory() -> Path:
    import torch.hub

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _help(spec: ModelSpec) -> str:
    return (f"To score {spec.id} offline, download {spec.parameters['url']} on a machine with "
            f"network access and copy it to {_directory() / _file_name(spec)}; to score the "
            f"architecture with random weights: neuroalign score {spec.id} ... --random-weights "
            f"(neuroalign.get_model({spec.id!r}, pretrained=False))")


def _file_name(spec: ModelSpec) -> str:
    url = str(spec.parameters["url"])
    return os.path.basename(url.split("?", 1)[0])


def download(url: str, destination: Path) -> None:
    """Fetch ``url`` to ``destination`` atomically (a partial download never appears there)."""
    with store.atomic_path(destination) as tmp:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - https/http URL
            expected = response.headers.get("Content-Length")
            written = 0
            with open(tmp, "wb") as handle:
                while chunk := response.read(1 << 20):
                    handle.write(chunk)
                    written += len(chunk)
        if expected is not None and written != int(expected):
            raise AssetError(f"download of {url} is truncated: {written} of {expected} bytes")


def checkpoint_path(spec: ModelSpec) -> Path:
    """The verified local checkpoint of ``spec`` (downloaded on first use).

    Raises
    ------
    OfflineError
        Not downloaded yet and ``NEUROALIGN_OFFLINE=1``.
    AssetError
        The URL cannot be read.
    ChecksumMismatchError
        The file's sha256 is not the pinned one (``parameters["sha256"]``) or the one recorded
        when it was first downloaded.
    """
    url = str(spec.parameters["url"])
    path = _directory() / _file_name(spec)
    record = path.with_name(path.name + ".sha256")
    with store.file_lock(path):
        if not path.is_file():
            if _offline():
                raise OfflineError(f"the checkpoint of {spec.id} is not downloaded and "
                                   f"NEUROALIGN_OFFLINE=1 forbids downloading it. {_help(spec)}")
            try:
                download(url, path)
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise AssetError(f"could not download the checkpoint of {spec.id} from {url} "
                                 f"({type(error).__name__}: {error}). {_help(spec)}") from error
        digest = store.sha256_file(path)
        pinned = spec.parameters.get("sha256")
        recorded = record.read_text().strip() if record.is_file() else None
        expected = pinned or recorded
        if expected is not None and digest != expected:
            source = "the spec pins" if pinned else "its first download recorded"
            raise ChecksumMismatchError(
                f"{path} has sha256 {digest}, but {source} {expected}; delete {path} (and "
                f"{record}) to download it again")
        if recorded is None:
            with store.atomic_path(record) as tmp:
                Path(tmp).write_text(digest + "\n")
    return path


def extract_state_dict(checkpoint: dict[str, Any], *, expect_mean=None,
                       expect_std=None) -> dict[str, Any]:
    """The network's weights from a robustness-library checkpoint (``module.model.`` stripped).

    Parameters
    ----------
    checkpoint : dict
        The unpickled checkpoint (``{"model": state_dict, ...}``) or its state dict.
    expect_mean, expect_std : sequence of float, optional
        The normalisation the model spec applies; checked against the checkpoint's normaliser
        buffers when it has them.
    """
    import torch

    state = checkpoint.get("model", checkpoint.get("state_dict", checkpoint))
    if not isinstance(state, dict):
        raise SpecError(f"the checkpoint holds no state dict under 'model' (keys: "
                        f"{sorted(checkpoint)[:8]})")
    weights = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not weights:
        raise SpecError(f"no '{PREFIX}' entries in the checkpoint's state dict (first keys: "
                        f"{list(state)[:5]}); is it a robustness-library checkpoint?")
    for key, wanted in (("module.normalizer.new_mean", expect_mean),
                        ("module.normalizer.new_std", expect_std)):
        if wanted is not None and key in state:
            found = torch.as_tensor(state[key]).flatten().tolist()
            if any(abs(a - b) > 1e-4 for a, b in zip(found, wanted)) or len(found) != len(wanted):
                raise SpecError(f"the checkpoint normalises with {key.rsplit('.', 1)[1]} {found}, "
                                f"but the model spec's preprocessing says {list(wanted)}")
    return weights


def _state_dict_file(spec: ModelSpec) -> Path:
    import argparse

    import torch

    checkpoint = checkpoint_path(spec)
    digest = checkpoint.with_name(checkpoint.name + ".sha256").read_text().strip()
    target = checkpoint.with_name(f"{checkpoint.stem}.{digest[:12]}.state_dict.pt")
    if target.is_file():
        return target
    with torch.serialization.safe_globals([argparse.Namespace]):
        loaded = torch.load(checkpoint, map_location="cpu", weights_only=True)
    pre = spec.preprocessing
    weights = extract_state_dict(loaded, expect_mean=pre.mean if pre else None,
                                 expect_std=pre.std if pre else None)
    with store.atomic_path(target) as tmp:
        torch.save(weights, tmp)
    return target


def build(spec: ModelSpec) -> Any:
    """Build ``spec`` (a ``robust:`` spec) as a ``TorchModel``.

    ``parameters["pretrained"] = False`` builds the architecture with random weights and
    downloads nothing; otherwise the checkpoint is fetched and verified
    (:func:`checkpoint_path`), its weights extracted, and neuroalign-timm builds the
    architecture from that file (``pretrained_file``), with this spec's preprocessing.
    """
    from neuroalign_timm.factory import build as timm_build

    params = dict(spec.parameters)
    architecture = str(params.get("architecture", "resnet50"))
    timm_parameters: dict[str, Any] = {"architecture": architecture,
                                       "pretrained": bool(params.get("pretrained", True)),
                                       "seed": int(params.get("seed", 0))}
    if timm_parameters["pretrained"]:
        timm_parameters["pretrained_file"] = str(_state_dict_file(spec))
    timm_spec = spec.model_copy(update={"parameters": timm_parameters,
                                        "factory": "neuroalign_timm.factory:build"})
    built = timm_build(timm_spec)
    # the robustness library's preprocessing (bilinear 256 -> 224 crop), not timm's resnet50 cfg
    return Model.from_module(
        built.module(), identifier=spec.id, preprocessing=spec.preprocessing or built.preprocessing,
        layers=tuple(built.layers), region_layers=dict(spec.region_layers),
        visual_degrees=spec.visual_degrees,
        metadata={**spec.metadata, "pretrained": timm_parameters["pretrained"],
                  "weights_file": timm_parameters.get("pretrained_file")})
