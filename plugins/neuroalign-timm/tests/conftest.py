"""Fixtures: a fresh plugin manager with only neuroalign-timm, and no traffic beyond 127.0.0.1."""

from __future__ import annotations

import pytest
from neuroalign.testing.fixtures import isolate_model_caches, plugin_registry


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, neuroalign_loopback_only):
    """Empty caches, Hugging Face Hub offline, and any non-loopback connection is an error."""
    isolate_model_caches(tmp_path, monkeypatch)


@pytest.fixture
def registry():
    """A registry filled by a fresh manager holding only neuroalign-timm (autoload off)."""
    import neuroalign_timm.plugin

    with plugin_registry(neuroalign_timm.plugin, "timm", "neuroalign-timm") as filled:
        yield filled
