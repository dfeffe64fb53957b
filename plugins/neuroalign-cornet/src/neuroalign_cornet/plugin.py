"""neuroalign hook implementations of ``neuroalign-cornet`` (entry point ``cornet``)."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import ModelSpec, hookimpl

from .specs import CORNET_Z


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register ``cornet:z`` with its V1/V2/V4/IT/behavior commitments (no torch import)."""
    register(CORNET_Z)
