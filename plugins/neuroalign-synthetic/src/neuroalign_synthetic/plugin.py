"""Hooks of ``neuroalign-synthetic``: registers the ground-truth network."""

from __future__ import annotations

from neuroalign import hookimpl


@hookimpl
def register_models(register):
    """Register the ground-truth network ``synthetic:groundtruth``."""
    from .network import model_spec

    register(model_spec())
