"""Fixtures: a fresh plugin manager with only neuroalign-cornet, and no traffic beyond 127.0.0.1."""

from __future__ import annotations

import pytest
from neuroalign.plugins.manager import PluginManager
from neuroalign.plugins.lookup import use_plugin_manager


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, neuroalign_loopback_only):
    """Empty caches, Hugging Face Hub offline, and any non-loopback connection is an error."""
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "neuroalign"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("NEUROALIGN_OFFLINE", raising=False)
    monkeypatch.delenv("NEUROALIGN_MIRROR", raising=False)
    yield


@pytest.fixture
def registry():
    """A registry filled by a fresh manager holding only neuroalign-cornet (autoload off)."""
    import neuroalign_cornet.plugin

    manager = PluginManager(autoload=False, builtin=False)
    manager.register(neuroalign_cornet.plugin, name="cornet", distribution="neuroalign-cornet")
    old = use_plugin_manager(manager)
    yield manager.registry
    manager.unregister("cornet")
    use_plugin_manager(old)
