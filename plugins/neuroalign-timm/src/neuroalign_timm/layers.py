"""Candidate layers of timm models, computed from the built module, and layer-name checks.

Defaults per family (the family is the timm module an architecture is defined in):

* most families (ResNet, ConvNeXt, EfficientNet, ViT/DeiT, Swin, RegNet, ...): the modules in
  timm's ``feature_info`` (stage outputs for CNNs, every block for ViT-like models), then the
  pooled representation (``global_pool``, ``head.global_pool``, ``pre_logits``, or the final
  ``norm`` of ViT-like models);
* ``vgg``: every max-pooling layer of ``features``, then ``pre_logits``;
* ``crossvit``: each branch of each multi-scale block (``blocks.<i>.blocks.<branch>``), then the
  final per-branch norms (``norm.0``, ``norm.1``); ``blocks.<i>`` itself returns a list of
  tensors and so is not a candidate;
* anything else: the top-level children.

Containers that are never called (``ModuleList``, ``ModuleDict``) are dropped, since a forward
hook on them never fires. Published region commitments are always added to the candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neuroalign.errors import SpecError, closest

__all__ = ["candidate_layers", "check_layers", "module_names"]

#: where timm keeps the pooled representation, in order of preference
_POOLED = ("global_pool", "head.global_pool", "pre_logits", "head.pre_logits", "fc_norm", "norm")


def module_names(module: Any) -> list[str]:
    """Names of every sub-module of ``module`` (``named_modules`` order, root excluded)."""
    return [name for name, _ in module.named_modules() if name]


def _hookable(modules: dict[str, Any], name: str) -> bool:
    from torch import nn

    sub = modules.get(name)
    return sub is not None and not isinstance(sub, (nn.ModuleList, nn.ModuleDict))


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def candidate_layers(module: Any, family: str) -> list[str]:
    """Default candidate layers of a built timm ``module`` of ``family``.

    Parameters
    ----------
    module : torch.nn.Module
        The instantiated timm model.
    family : str
        The timm module the architecture is defined in (``resnet``, ``vgg``, ``crossvit``, ...),
        as recorded in the shipped catalog.

    Returns
    -------
    list of str
        Module names, shallow to deep, each of which exists in ``module`` and can be hooked.
    """
    from torch import nn

    modules = dict(module.named_modules())
    if family == "vgg":
        pools = [n for n, m in modules.items()
                 if n.startswith("features.") and isinstance(m, nn.MaxPool2d)]
        names = pools + ["pre_logits"]
    elif family == "crossvit":
        branches = sorted(
            (n for n in modules if n.count(".") == 3 and n.startswith("blocks.")
             and ".blocks." in n),
            key=lambda n: tuple(int(p) for p in n.split(".")[1::2]),
        )
        names = branches + [n for n in ("norm.0", "norm.1") if n in modules]
    else:
        info = getattr(module, "feature_info", None)
        names = []
        if isinstance(info, list):
            names = [entry.get("module", "") for entry in info if isinstance(entry, dict)]
        elif info is not None and hasattr(info, "module_name"):  # FeatureInfo object
            names = list(info.module_name())
        names = [n for n in names if n]
        if not names:
            names = [n for n, _ in module.named_children()]
        pooled = next((n for n in _POOLED
                       if n in modules and not isinstance(modules[n], nn.Identity)), None)
        if pooled is not None:
            names.append(pooled)
    return [n for n in _unique(names) if _hookable(modules, n)]


def check_layers(module: Any, layers: Iterable[str], model_id: str, what: str = "layer") -> None:
    """Raise if any of ``layers`` is not a hookable module of ``module``.

    Raises
    ------
    neuroalign.SpecError
        Naming the bad layer, the closest module names and how to list them all.
    """
    modules = dict(module.named_modules())
    for layer in layers:
        if _hookable(modules, layer):
            continue
        if layer in modules:
            raise SpecError(
                f"{what} {layer!r} of model {model_id!r} is a {type(modules[layer]).__name__}, "
                "a container that is never called, so a forward hook on it never fires; "
                f"pick one of its children, e.g. {layer + '.0'!r}"
            )
        near = closest(layer, [n for n in modules if n], n=5)
        hint = f"the closest module names are {near}" if near else "no module name is close"
        raise SpecError(
            f"unknown {what} {layer!r} for model {model_id!r}: {hint} "
            f"(list them all with: [n for n, _ in neuroalign.get_model({model_id!r}, "
            "pretrained=False).module().named_modules()])"
        )
