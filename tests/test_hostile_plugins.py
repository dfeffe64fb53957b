"""Hostile or broken plugins: sys.exit at import, a hanging import, a contested id
(issue 10, items 8 and 9)."""

from __future__ import annotations

import itertools
import sys
import textwrap
import warnings

import pytest
from click.testing import CliRunner

from neuroalign import DuplicateIdError, PluginLoadWarning, PluginManager

_counter = itertools.count()


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """``make(dist, entry_point, body)``: an installed distribution on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created = []

    def make(dist: str, entry_point: str, body: str) -> str:
        module = f"hostile_plugin_{next(_counter)}"
        (site / f"{module}.py").write_text("from neuroalign import *\n" + textwrap.dedent(body))
        info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[neuroalign]\n{entry_point} = {module}\n")
        created.append(module)
        return module

    yield make
    for module in created:
        sys.modules.pop(module, None)


def _load(monkeypatch, names: str) -> tuple[PluginManager, list[str]]:
    monkeypatch.setenv("NEUROALIGN_LOAD_PLUGINS", names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = PluginManager(autoload=True)
        manager.registry  # noqa: B018 - hooks run here
    return manager, [str(w.message) for w in caught if w.category is PluginLoadWarning]


GOOD = """
@hookimpl
def register_benchmarks(register):
    register(BenchmarkSpec(id="Good.IT-x", factory="m:f"))
"""


@pytest.mark.parametrize("body", ["import sys\nsys.exit(3)\n", "raise SystemExit('bye')\n",
                                  "raise GeneratorExit()\n"])
def test_sys_exit_at_import_is_isolated(fake_dist, monkeypatch, body):
    fake_dist("neuroalign-good", "good", GOOD)
    fake_dist("neuroalign-quitter", "quitter", body)
    manager, messages = _load(monkeypatch, "good,quitter")
    assert manager.registry.ids("benchmark") == ["Good.IT-x"]
    assert manager.plugins["quitter"].status == "failed"
    (message,) = messages
    assert "'neuroalign-quitter' failed to import" in message


def test_sys_exit_in_a_hook_is_isolated(fake_dist, monkeypatch):
    fake_dist("neuroalign-good", "good", GOOD)
    fake_dist("neuroalign-quitter", "quitter", """
        @hookimpl
        def register_models(register):
            raise SystemExit(1)
    """)
    manager, messages = _load(monkeypatch, "good,quitter")
    assert manager.registry.ids("benchmark") == ["Good.IT-x"]
    assert "'neuroalign-quitter' failed while registering: SystemExit" in messages[0]


def test_the_plugins_command_survives_sys_exit(fake_dist, monkeypatch):
    from neuroalign.app.cli import cli
    from neuroalign.plugins.lookup import use_plugin_manager

    fake_dist("neuroalign-quitter", "quitter", "import sys\nsys.exit(0)\n")
    monkeypatch.setenv("NEUROALIGN_LOAD_PLUGINS", "quitter")
    old = use_plugin_manager(None)
    try:
        result = CliRunner().invoke(cli, ["plugins"])
    finally:
        use_plugin_manager(old)
    assert result.exit_code == 0, result.output
    assert "quitter" in result.stdout and "failed" in result.stdout and "SystemExit" in \
        result.stdout


def test_a_slow_import_is_named_on_stderr(fake_dist, monkeypatch, capfd):
    fake_dist("neuroalign-slow", "slow", "import time\ntime.sleep(0.8)\n" + GOOD)
    monkeypatch.setenv("NEUROALIGN_PLUGIN_PROGRESS", "0.2")
    manager, _ = _load(monkeypatch, "slow")
    assert manager.registry.ids("benchmark") == ["Good.IT-x"]
    err = capfd.readouterr().err
    assert "neuroalign: still importing plugin 'slow' (module hostile_plugin_" in err
    assert "distribution neuroalign-slow" in err and "NEUROALIGN_DISABLE_PLUGINS" in err


def test_a_fast_import_prints_nothing(fake_dist, monkeypatch, capfd):
    fake_dist("neuroalign-fast", "fast", GOOD)
    _load(monkeypatch, "fast")
    assert "still importing" not in capfd.readouterr().err


def test_a_duplicate_id_refuses_only_that_id(fake_dist, monkeypatch):
    """A third party claiming one Majaj id loads first (alphabetical) and knocked out the rest."""
    fake_dist("aaa-thirdparty", "aaa", """
        @hookimpl
        def register_benchmarks(register):
            register(BenchmarkSpec(id="MajajHong2015.IT-pls", factory="m:f"))
            register(BenchmarkSpec(id="Third.V4-own", factory="m:f"))
    """)
    fake_dist("neuroalign-majajlike", "majajlike", """
        @hookimpl
        def register_benchmarks(register):
            for region in ("V4", "IT"):
                for metric in ("pls", "ridge"):
                    register(BenchmarkSpec(id=f"MajajHong2015.{region}-{metric}", factory="m:f"))
    """)
    manager, messages = _load(monkeypatch, "aaa,majajlike")
    registry = manager.registry
    for identifier in ("MajajHong2015.V4-pls", "MajajHong2015.V4-ridge", "MajajHong2015.IT-ridge"):
        assert registry.entry("benchmark", identifier).distribution == "neuroalign-majajlike"
    assert registry.entry("benchmark", "Third.V4-own").distribution == "aaa-thirdparty"
    with pytest.raises(DuplicateIdError, match=r"\['aaa-thirdparty', 'neuroalign-majajlike'\]"):
        registry.entry("benchmark", "MajajHong2015.IT-pls")
    (message,) = messages
    assert "'MajajHong2015.IT-pls' is registered by both 'aaa-thirdparty' and " \
           "'neuroalign-majajlike'" in message and "only this id is refused" in message
    assert {n: i.status for n, i in manager.plugins.items() if i.status != "disabled"} == {
        "builtin": "loaded", "aaa": "loaded", "majajlike": "loaded"}
    assert manager.plugins["majajlike"].registered == 3
    assert manager.plugins["aaa"].registered == 2  # its claim was added before the clash
    assert any("MajajHong2015.IT-pls" in note for note in manager.plugins["aaa"].refused)
    assert any("MajajHong2015.IT-pls" in note for note in manager.plugins["majajlike"].refused)


def test_an_id_registered_twice_by_one_plugin_refuses_only_that_id(fake_dist, monkeypatch):
    fake_dist("neuroalign-twice", "twice", """
        @hookimpl
        def register_benchmarks(register):
            register(BenchmarkSpec(id="Twice.IT-x", factory="m:f"))
            register(BenchmarkSpec(id="Twice.IT-x", factory="m:g"))
            register(BenchmarkSpec(id="Twice.V4-y", factory="m:f"))
    """)
    manager, messages = _load(monkeypatch, "twice")
    assert manager.registry.ids("benchmark") == ["Twice.V4-y"]
    with pytest.raises(DuplicateIdError, match="registered twice by 'neuroalign-twice'"):
        manager.registry.entry("benchmark", "Twice.IT-x")
    assert len(messages) == 1 and "registered twice" in messages[0]
