"""Hooks of ``neuroalign-robust``: the adversarially trained ResNet-50 models."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import ModelSpec, hookimpl


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``robust:resnet50_l2_eps{0,...,5}`` and ``robust:resnet50_linf_eps{0.5,...,8}``."""
    from .specs import model_specs

    for spec in model_specs():
        register(spec)
