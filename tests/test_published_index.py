"""The published registry index is up to date with the plugins in this repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuroalign.plugins.manager import PluginManager
from neuroalign.app.index_tools import build_index

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "registry" / "index.json"
PACKAGED = ROOT / "core" / "neuroalign" / "data" / "index.json"
REBUILD = ("NEUROALIGN_DISABLE_PLUGINS=example neuroalign registry build && "
           "cp registry/index.json core/neuroalign/data/index.json")


def _comparable(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in ("generated", "description")}


def test_packaged_copy_is_the_published_index():
    assert PACKAGED.read_bytes() == PUBLISHED.read_bytes(), f"stale packaged index; run: {REBUILD}"


def test_published_index_lists_what_the_repository_plugins_register(monkeypatch):
    monkeypatch.setenv("NEUROALIGN_DISABLE_PLUGINS", "example")
    manager = PluginManager(autoload=True)
    failed = [name for name, info in manager.plugins.items() if info.status == "failed"]
    if failed:
        pytest.fail(f"plugins failed to load, cannot compare the index: {failed}")
    built = json.loads(build_index(manager).to_json())
    published = json.loads(PUBLISHED.read_text())
    assert _comparable(published) == _comparable(built), f"registry/index.json is stale; run: {REBUILD}"
