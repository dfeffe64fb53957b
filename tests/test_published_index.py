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


def repository_plugins() -> list[str]:
    """Entry-point names of the plugins under plugins/ (read from their pyproject.toml; the
    ``[project.entry-points.neuroalign]`` table, without tomllib, which Python 3.10 lacks)."""
    import re

    names = []
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        section = re.search(r"^\[project\.entry-points\.neuroalign\]\n(.*?)(?=^\[|\Z)",
                            pyproject.read_text(), re.S | re.M)
        if section:
            names += re.findall(r"^\s*([\w-]+)\s*=", section.group(1), re.M)
    return names


def test_published_index_lists_what_the_repository_plugins_register(monkeypatch):
    # only this repository's plugins: a third-party plugin installed in the same environment
    # (a lab's own package under development) must not make the published index look stale
    names = [name for name in repository_plugins() if name != "example"]
    assert "majaj2015" in names and "timm" in names
    monkeypatch.setenv("NEUROALIGN_LOAD_PLUGINS", ",".join(names))
    monkeypatch.delenv("NEUROALIGN_DISABLE_PLUGINS", raising=False)
    manager = PluginManager(autoload=True)
    outside = sorted(name for name, info in manager.plugins.items()
                     if info.status == "loaded" and name not in names and name != "builtin")
    assert not outside, f"plugins from outside this repository were loaded: {outside}"
    failed = [name for name, info in manager.plugins.items() if info.status == "failed"]
    if failed:
        pytest.fail(f"plugins failed to load, cannot compare the index: {failed}")
    built = json.loads(build_index(manager).to_json())
    published = json.loads(PUBLISHED.read_text())
    assert _comparable(published) == _comparable(built), f"registry/index.json is stale; run: {REBUILD}"
