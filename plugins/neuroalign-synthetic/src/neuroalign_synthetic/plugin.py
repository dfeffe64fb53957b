"""Hooks of ``neuroalign-synthetic``: registers the ground-truth network."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import ModelSpec, hookimpl

from .specs import model_spec


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register the ground-truth network ``synthetic:groundtruth``."""
    register(model_spec())
