"""Plugin loading: entry points from fake distributions, isolation of broken plugins, env vars."""

from __future__ import annotations

import itertools
import sys
import textwrap
import warnings
from importlib import metadata

import pytest

import neuroalign
from neuroalign import DuplicateIdError, PluginLoadWarning, PluginManager

_counter = itertools.count()

SPEC_IMPORTS = "from neuroalign import *\n"


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """``make(dist, entry_point, body) -> module name``: an installed distribution on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created = []

    def make(dist: str, entry_point: str, body: str) -> str:
        module = f"fake_plugin_{next(_counter)}"
        (site / f"{module}.py").write_text(SPEC_IMPORTS + textwrap.dedent(body))
        info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[neuroalign]\n{entry_point} = {module}\n")
        created.append(module)
        return module

    yield make
    for module in created:
        sys.modules.pop(module, None)


GOOD = """
@hookimpl
def register_benchmarks(register):
    register(BenchmarkSpec(id="Fake.IT-good", factory="m:f"))
"""
DUPLICATE = """
@hookimpl
def register_benchmarks(register):
    register(BenchmarkSpec(id="Fake.IT-shared", factory="m:f"))
"""


def _load(monkeypatch, names: str) -> tuple[PluginManager, list[str]]:
    monkeypatch.setenv("NEUROALIGN_LOAD_PLUGINS", names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = PluginManager(autoload=True)
        manager.registry  # noqa: B018 - hooks run here
    return manager, [str(w.message) for w in caught if w.category is PluginLoadWarning]


def test_broken_plugins_warn_and_the_others_still_load(fake_dist, monkeypatch):
    fake_dist("neuroalign-good", "good", GOOD)
    fake_dist("neuroalign-noimport", "noimport", "import does_not_exist_anywhere\n")
    fake_dist("neuroalign-raises", "raises", """
        @hookimpl
        def register_models(register):
            raise RuntimeError("boom in the hook")
    """)
    fake_dist("neuroalign-dup-a", "dup_a", DUPLICATE)
    fake_dist("neuroalign-dup-b", "dup_b", DUPLICATE)
    manager, messages = _load(monkeypatch, "good,noimport,raises,dup_a,dup_b")

    assert len(messages) == 3, messages
    noimport, raises, duplicate = sorted(messages, key=lambda m: ("import" not in m, "boom" not in m))
    assert "'neuroalign-noimport' failed to import: ModuleNotFoundError" in noimport
    assert "does_not_exist_anywhere" in noimport
    assert "'neuroalign-raises' failed while registering: RuntimeError: boom in the hook" in raises
    assert "registered by both 'neuroalign-dup-a' and 'neuroalign-dup-b'" in duplicate

    assert manager.registry.ids("benchmark") == ["Fake.IT-good", "Fake.IT-shared"]
    entry = manager.registry.entry("benchmark", "Fake.IT-good")
    assert (entry.distribution, entry.version, entry.plugin) == ("neuroalign-good", "1.2.3", "good")
    with pytest.raises(DuplicateIdError, match=r"several distributions \['neuroalign-dup-a', 'neuroalign-dup-b'\]"):
        manager.registry.entry("benchmark", "Fake.IT-shared")
    status = {name: info.status for name, info in manager.plugins.items() if info.status != "disabled"}
    # a duplicate id refuses that id only: both claimants stay loaded, their other ids resolve
    assert status == {"builtin": "loaded", "good": "loaded", "noimport": "failed",
                      "raises": "failed", "dup_a": "loaded", "dup_b": "loaded"}
    assert manager.plugins["dup_b"].refused and manager.plugins["dup_a"].refused
    assert manager.plugins["raises"].error == "RuntimeError: boom in the hook"


def test_registering_the_wrong_spec_type_fails_that_plugin_only(fake_dist, monkeypatch):
    fake_dist("neuroalign-good", "good", GOOD)
    fake_dist("neuroalign-wrong", "wrong", """
        @hookimpl
        def register_models(register):
            register(DatasetSpec(id="Fake.data", factory="m:f"))
    """)
    manager, messages = _load(monkeypatch, "good,wrong")
    assert len(messages) == 1
    assert "'neuroalign-wrong' failed while registering: TypeError: plugin 'wrong': " \
           "register_models must register ModelSpec objects; found DatasetSpec" in messages[0]
    assert manager.registry.ids("benchmark") == ["Fake.IT-good"]
    assert manager.registry.ids("dataset") == []


def test_disable_and_load_plugins_environment(fake_dist, monkeypatch):
    fake_dist("neuroalign-good", "good", GOOD)
    fake_dist("neuroalign-dup-a", "dup_a", DUPLICATE)
    manager, _ = _load(monkeypatch, "good")
    assert manager.registry.ids("benchmark") == ["Fake.IT-good"]
    assert "dup_a" in manager.plugins and manager.plugins["dup_a"].status == "disabled"

    monkeypatch.setenv("NEUROALIGN_DISABLE_PLUGINS", "neuroalign-good")  # a distribution name works
    manager, _ = _load(monkeypatch, "good,dup_a")
    assert manager.registry.ids("benchmark") == ["Fake.IT-shared"]
    assert manager.plugins["good"].status == "disabled"
    assert "NEUROALIGN_DISABLE_PLUGINS" in manager.plugins["good"].error


def test_builtin_aggregators_always_load(monkeypatch):
    manager, _ = _load(monkeypatch, "no-such-plugin")
    assert manager.registry.ids("aggregator") == ["mean", "meanrank", "zmean"]
    assert manager.registry.entry("aggregator", "mean").distribution == "neuroalign"


def test_example_plugin_is_found_through_its_entry_point(monkeypatch):
    (entry_point,) = metadata.entry_points(group="neuroalign", name="example")
    assert entry_point.value == "neuroalign_example.plugin"
    assert entry_point.dist.metadata["Name"] == "neuroalign-example"
    manager, messages = _load(monkeypatch, "example")
    assert messages == []
    entry = manager.registry.entry("benchmark", "Example.IT-corr")
    assert (entry.distribution, entry.version) == ("neuroalign-example", "0.1.0")


def test_register_by_hand_and_unregister():
    class Plugin:
        @neuroalign.hookimpl
        def register_benchmarks(self, register):
            register(neuroalign.BenchmarkSpec(id="Hand.V4-x", factory="m:f"))

    manager = PluginManager(autoload=False)
    manager.register(Plugin(), name="hand", distribution="neuroalign-hand", version="9")
    assert manager.registry.entry("benchmark", "Hand.V4-x").version == "9"
    with pytest.raises(DuplicateIdError, match="a plugin named 'hand' is already registered"):
        manager.register(Plugin(), name="hand")
    manager.unregister("hand")
    assert manager.registry.ids("benchmark") == []
    assert "hand" not in manager.plugins


def test_fresh_manager_fixture_is_installed_and_restored(neuroalign_plugin_manager):
    from neuroalign.plugins.lookup import get_plugin_manager

    assert get_plugin_manager() is neuroalign_plugin_manager
    assert list(neuroalign_plugin_manager.plugins) == ["builtin"]


def test_a_duplicated_id_stays_unresolvable_after_the_registry_is_rebuilt():
    def make(identifier):
        class Plugin:
            @neuroalign.hookimpl
            def register_benchmarks(self, register):
                register(neuroalign.BenchmarkSpec(id=identifier, factory="m:f"))
        return Plugin()

    manager = PluginManager(autoload=False)
    manager.register(make("Dup.IT-x"), name="a", distribution="neuroalign-a")
    manager.register(make("Dup.IT-x"), name="b", distribution="neuroalign-b")
    with pytest.warns(PluginLoadWarning, match="registered by both 'neuroalign-a' and 'neuroalign-b'"):
        manager.registry  # noqa: B018
    manager.register(make("Other.V4-y"), name="c", distribution="neuroalign-c")  # rebuilds
    with pytest.raises(DuplicateIdError, match=r"\['neuroalign-a', 'neuroalign-b'\]"):
        manager.registry.entry("benchmark", "Dup.IT-x")
    manager.unregister("b")  # once the other claimant is gone, the id resolves again
    assert manager.registry.entry("benchmark", "Dup.IT-x").distribution == "neuroalign-a"


def test_two_distributions_with_the_same_entry_point_name(fake_dist, monkeypatch):
    fake_dist("neuroalign-first", "same", GOOD)
    fake_dist("neuroalign-second", "same", DUPLICATE)
    manager, messages = _load(monkeypatch, "same")
    assert len(messages) == 1
    assert "entry point name 'same' is already used by distribution" in messages[0]
    assert len(manager.registry.ids("benchmark")) == 1  # the first one found still loads
