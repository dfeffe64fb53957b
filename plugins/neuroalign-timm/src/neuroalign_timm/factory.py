"""Build a registered ``timm:<name>[.<tag>]`` spec into a :class:`neuroalign.extraction.torch_model.TorchModel`.

Spec parameters read here (all JSON-able; pass overrides with
``neuroalign.get_model(id, pretrained=..., parameters={...})``):

``architecture`` : str
    timm architecture name (set at registration).
``tag`` : str, optional
    pretrained tag (``timm:resnet50.a1_in1k`` sets it); default: timm's default tag.
``pretrained`` : bool, default True
    load pretrained weights through timm's own loader (Hugging Face Hub cache, ``HF_HOME``).
``pretrained_file`` : str, optional
    a local weights file (``.safetensors``/``.pth``) passed to timm as
    ``pretrained_cfg_overlay=dict(file=...)``; implies ``pretrained=True``.
``seed`` : int, default 0
    seed of the random initialisation when ``pretrained=False`` (same seed, same weights hash).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuroalign.errors import AssetError, OfflineError, SpecError
from neuroalign import ModelSpec, Preprocessing

from .specs import catalog
from .layers import candidate_layers, check_layers

__all__ = ["WEIGHTS_HELP", "build", "is_offline", "preprocessing_from_cfg"]

_TRUE = {"1", "true", "yes", "on"}

WEIGHTS_HELP = (
    "To get them: run once with network access (unset NEUROALIGN_OFFLINE / HF_HUB_OFFLINE) so "
    "timm caches them; or set HF_HOME to a Hugging Face cache that already has them; or pass a "
    "local file with parameters={{'pretrained_file': '/path/to/weights.safetensors'}} "
    "(timm's pretrained_cfg_overlay=dict(file=...)). To score random weights instead: "
    "`neuroalign score {model_id} ... --random-weights`, or "
    "neuroalign.get_model({model_id!r}, pretrained=False)."
)


def is_offline() -> bool:
    """True when ``NEUROALIGN_OFFLINE`` or ``HF_HUB_OFFLINE`` asks for no network."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE
               for v in ("NEUROALIGN_OFFLINE", "HF_HUB_OFFLINE"))


@contextlib.contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """Make ``NEUROALIGN_OFFLINE=1`` imply Hugging Face Hub offline mode for this call.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once at import and checks the module constant
    before every request, so patching the constant is what actually blocks traffic.
    """
    if not offline:
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - timm >= 1.0 requires huggingface_hub
        yield
        return
    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old


def _weights_location(cfg: dict[str, Any]) -> str:
    if cfg.get("file"):
        return f"file {cfg['file']}"
    if cfg.get("hf_hub_id"):
        return f"Hugging Face Hub repo {cfg['hf_hub_id']!r}"
    return f"URL {cfg.get('url') or '<none>'}"


def _unavailable(model_id: str, cfg: dict[str, Any], offline: bool,
                 cause: BaseException | None) -> AssetError:
    where = _weights_location(cfg)
    state = ("are not in the local cache and neuroalign is offline "
             "(NEUROALIGN_OFFLINE=1 or HF_HUB_OFFLINE=1)" if offline
             else "could not be loaded")
    first_line = str(cause).splitlines()[0][:300] if cause and str(cause) else ""
    because = f" (cause: {type(cause).__name__}: {first_line})" if cause else ""
    message = (f"pretrained weights of {model_id!r} from {where} {state}{because}. "
               + WEIGHTS_HELP.format(model_id=model_id))
    return (OfflineError if offline else AssetError)(message)


def _is_download_error(error: BaseException) -> bool:
    """Errors that mean "could not get the weights", as opposed to a broken architecture."""
    import urllib.error

    module = type(error).__module__ or ""
    return (module.startswith(("huggingface_hub", "requests", "httpx", "urllib3"))
            or isinstance(error, (OSError, urllib.error.URLError, ConnectionError, TimeoutError)))


def _url_cached(url: str) -> bool:
    import torch.hub

    name = os.path.basename(url.split("?", 1)[0])
    return (Path(torch.hub.get_dir()) / "checkpoints" / name).exists()


def preprocessing_from_cfg(cfg: dict[str, Any]) -> tuple[Preprocessing, dict[str, Any]]:
    """A :class:`~neuroalign.Preprocessing` from a timm ``pretrained_cfg`` dict.

    Returns
    -------
    preprocessing : Preprocessing
        ``input_size`` is the larger side of timm's ``(C, H, W)`` (five non-square Sapiens2
        configs in timm 1.0.31); ``crop_pct`` is clipped to 1.0 (three VOLO configs use 1.15,
        i.e. resize larger then crop; neuroalign's placement does not upsample-then-crop).
        An interpolation neuroalign does not know (``random``) falls back to bicubic.
    notes : dict
        What timm said where the two differ (``crop_mode``, the original values), for metadata.
    """
    notes: dict[str, Any] = {}
    size = cfg.get("input_size") or (3, 224, 224)
    height, width = int(size[-2]), int(size[-1])
    if height != width:
        notes["timm_input_size"] = list(size)
    crop = float(cfg.get("crop_pct") or 1.0)
    if crop > 1.0:
        notes["timm_crop_pct"] = crop
        crop = 1.0
    interpolation = cfg.get("interpolation") or "bicubic"
    if interpolation not in ("bilinear", "bicubic", "nearest"):
        notes["timm_interpolation"] = interpolation
        interpolation = "bicubic"
    mean = tuple(float(v) for v in cfg.get("mean") or (0.485, 0.456, 0.406))
    std = tuple(float(v) for v in cfg.get("std") or (0.229, 0.224, 0.225))
    if len(mean) == 1:
        mean, std = mean * 3, std * 3
    if cfg.get("crop_mode") and cfg["crop_mode"] != "center":
        notes["timm_crop_mode"] = cfg["crop_mode"]
    return Preprocessing(input_size=max(height, width), mean=mean, std=std,
                         interpolation=interpolation, crop_pct=crop), notes


def _create(spec: ModelSpec, arch: str, tag: str | None) -> Any:
    import timm
    import torch
    from timm.models import get_pretrained_cfg

    params = spec.parameters
    pretrained_file = params.get("pretrained_file")
    pretrained = bool(params.get("pretrained", True)) or bool(pretrained_file)
    entry = catalog().entry(arch)
    name = f"{arch}.{tag}" if tag else arch
    if pretrained and not pretrained_file and not entry.tags:
        raise SpecError(
            f"{spec.id!r} has no pretrained weights in timm {catalog().timm_version}; score it "
            f"with random weights: neuroalign.get_model({spec.id!r}, pretrained=False) "
            "(CLI: --random-weights), or pass parameters={'pretrained_file': '/path/to/weights'}"
        )
    overlay = None
    if pretrained_file:
        path = Path(str(pretrained_file)).expanduser()
        if not path.is_file():
            raise SpecError(
                f"pretrained_file {str(pretrained_file)!r} for {spec.id!r} does not exist; "
                "give the path of a .safetensors or .pth state dict of this architecture"
            )
        overlay = {"file": str(path)}
    offline = is_offline()
    cfg_obj = get_pretrained_cfg(name) if (pretrained and entry.tags) else None
    cfg = cfg_obj.to_dict() if cfg_obj is not None else {}
    if (pretrained and offline and not pretrained_file and not cfg.get("hf_hub_id")
            and cfg.get("url") and not _url_cached(cfg["url"])):
        raise _unavailable(spec.id, cfg, offline, None)  # torch.hub would go to the network
    seed = int(params.get("seed", 0))
    with torch.random.fork_rng(devices=[]), _hub_offline(offline):
        torch.manual_seed(seed)
        try:
            return timm.create_model(name, pretrained=pretrained, pretrained_cfg_overlay=overlay)
        except Exception as error:
            if pretrained and _is_download_error(error) and not pretrained_file:
                raise _unavailable(spec.id, cfg, offline, error) from error
            if pretrained_file:
                raise SpecError(
                    f"timm could not load pretrained_file {str(pretrained_file)!r} into "
                    f"{spec.id!r}: {type(error).__name__}: {error}; is it a state dict of "
                    f"architecture {arch!r}?"
                ) from error
            raise


def build(spec: ModelSpec) -> Any:
    """Build ``spec`` (a ``timm:<name>[.<tag>]`` spec) into a ``TorchModel`` in eval mode.

    Parameters
    ----------
    spec : neuroalign.ModelSpec
        A spec registered by this plugin, possibly with parameter overrides.

    Returns
    -------
    neuroalign.extraction.torch_model.TorchModel
        With preprocessing from the tag's ``pretrained_cfg``, the family's default candidate
        layers (or the spec's own), and the spec's region commitments checked against the module.

    Raises
    ------
    neuroalign.SpecError
        Unknown tag, unknown layer, or an architecture the installed timm does not have.
    neuroalign.OfflineError, neuroalign.AssetError
        Pretrained weights that cannot be had, with how to get them or score random weights.
    """
    arch = spec.parameters.get("architecture") or spec.id.partition(":")[2].partition(".")[0]
    cat = catalog()
    entry = cat.entry(arch)
    tag = spec.parameters.get("tag")
    if tag is not None:
        tag = cat.check_tag(arch, str(tag))
    import timm  # imported only once the id and tag are known to be valid

    if not timm.is_model(arch):
        raise SpecError(
            f"{spec.id!r} is in neuroalign-timm's catalog (generated with timm "
            f"{cat.timm_version}) but not in the installed timm {timm.__version__}; install "
            f"timm=={cat.timm_version} or regenerate the catalog: "
            "python -m neuroalign_timm.generate"
        )
    module = _create(spec, arch, tag).eval()
    preprocessing, notes = preprocessing_from_cfg(dict(getattr(module, "pretrained_cfg", {}) or {}))
    check_layers(module, spec.layers, spec.id)
    check_layers(module, spec.region_layers.values(), spec.id, what="committed layer")
    layers = list(spec.layers) or candidate_layers(module, entry.family)
    layers += [n for n in dict.fromkeys(spec.region_layers.values()) if n not in layers]
    resolved_tag = tag or (module.pretrained_cfg.get("tag") if spec.parameters.get(
        "pretrained", True) else None)
    data = spec.model_dump()
    data.update(layers=tuple(layers), preprocessing=preprocessing.model_dump())
    data["metadata"] = {**spec.metadata, **notes, "resolved_tag": resolved_tag,
                        "timm_installed": timm.__version__}
    resolved = ModelSpec.model_validate(data)
    from neuroalign.extraction.torch_model import TorchModel

    return TorchModel(resolved, module, preprocessing=preprocessing)
