"""Shared test setup: every test runs isolated from the developer's neuroalign environment.

The reusable fixtures (``neuroalign_plugin_manager``, ``neuroalign_memory_fs``,
``neuroalign_home``, ``neuroalign_synthetic_store``) come from :mod:`neuroalign.testing.fixtures`,
a pytest plugin installed with neuroalign. This file only adds the autouse isolation below.
"""

from __future__ import annotations

import pytest

#: variables that would make a test depend on the machine it runs on
_ENVIRONMENT = ("NEUROALIGN_LOAD_PLUGINS", "NEUROALIGN_DISABLE_PLUGINS", "NEUROALIGN_STORE",
                "NEUROALIGN_OFFLINE", "NEUROALIGN_MIRROR", "NEUROALIGN_REGISTRY",
                "NEUROALIGN_REGISTRY_MAX_AGE", "NEUROALIGN_FIND_ON_MISS")


@pytest.fixture(autouse=True)
def _isolated_neuroalign(tmp_path_factory, monkeypatch):
    """A private NEUROALIGN_HOME, none of the selection variables, the plugin manager restored."""
    from neuroalign.plugins.lookup import use_plugin_manager

    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path_factory.mktemp("neuroalign-home")))
    old = use_plugin_manager(None)
    use_plugin_manager(old)
    yield
    use_plugin_manager(old)


def _installed_distributions() -> set[str]:
    from importlib import metadata

    return {f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()}


@pytest.fixture(scope="session", autouse=True)
def _environment_unchanged():
    """No test may install into (or remove from) the environment the suite runs in: a doc block
    or a plugin test that runs `pip install` must target a folder or a fresh venv."""
    before = _installed_distributions()
    yield
    after = _installed_distributions()
    added, removed = sorted(after - before), sorted(before - after)
    assert not added and not removed, (
        f"the test run changed the installed distributions: added {added}, removed {removed}; "
        "install into a --target folder or a fresh venv in tests")
