"""neuroalign hook implementations of the ``neuroalign-timm`` plugin (entry point ``timm``)."""

from __future__ import annotations

from collections.abc import Callable

from neuroalign import ModelSpec, hookimpl

from .specs import model_specs


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register every timm architecture of the shipped catalog as ``timm:<name>``.

    Cheap by design: reads one JSON file and builds specs; imports neither torch nor timm.
    """
    for spec in model_specs():
        register(spec)
