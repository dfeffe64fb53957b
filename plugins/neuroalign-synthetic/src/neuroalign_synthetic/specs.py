"""The registered spec of ``neuroalign-synthetic`` (cheap: no torch, no numpy)."""

from __future__ import annotations

from .network import model_spec

__all__ = ["model_spec"]
