"""The ``neuroalign`` command, on a fresh plugin manager with one in-test plugin."""

from __future__ import annotations

import hashlib
import math
import json
import subprocess
import sys
import textwrap
import types
import uuid
from pathlib import Path

import neuroalign
import pytest
from click.testing import CliRunner
from neuroalign import hookimpl
from neuroalign.app.cli import cli
from neuroalign.errors import NeuroalignError
from neuroalign.specs import (
    AssetSpec,
    AttackSpec,
    BenchmarkSpec,
    DatasetSpec,
    MetricSpec,
    ModelSpec,
)
from neuroalign.plugins.manager import PluginManager
from neuroalign.plugins.lookup import use_plugin_manager
from neuroalign.scoring.results import ResultsDatabase
from neuroalign.scores import Provenance, Score


class TinyPlugin:
    """One component of every kind; the dataset's asset is a local file."""

    asset_path = None

    @hookimpl
    def register_models(self, register):
        register(ModelSpec(id="test:tiny", factory="tests.tiny:Model", layers=("a", "b"),
                           region_layers={"IT": "b"}))

    @hookimpl
    def register_datasets(self, register):
        data = self.asset_path.read_bytes()
        register(DatasetSpec(id="Tiny2024.public", factory="tests.tiny:Data", assets=(
            AssetSpec(name="assembly", url=str(self.asset_path), format="other",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data)),)))

    @hookimpl
    def register_metrics(self, register):
        register(MetricSpec(id="pls", factory="tests.tiny:Pls", description="PLS regression"))
        register(MetricSpec(id="split_half", factory="tests.tiny:Ceil", kind="ceiling"))

    @hookimpl
    def register_attacks(self, register):
        register(AttackSpec(id="fgsm", factory="tests.tiny:Fgsm", norm="linf"))

    @hookimpl
    def register_benchmarks(self, register):
        for region in ("IT", "V4"):
            register(BenchmarkSpec(id=f"Tiny2024.{region}-pls", factory="tests.tiny:B",
                                   dataset="Tiny2024.public", metric="pls", region=region,
                                   ceiling="split_half", description=f"{region} sites"))


class BrokenPlugin:
    @hookimpl
    def register_models(self, register):
        raise RuntimeError("the hook exploded")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROALIGN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEUROALIGN_RESULTS", raising=False)
    monkeypatch.delenv("NEUROALIGN_STORE", raising=False)
    monkeypatch.delenv("NEUROALIGN_DEBUG", raising=False)
    asset = tmp_path / "tiny.bin"
    asset.write_bytes(b"tiny assembly bytes")
    plugin = TinyPlugin()
    plugin.asset_path = asset
    manager = PluginManager(autoload=False)
    manager.register(plugin, name="tiny", distribution="neuroalign-tiny", version="0.0.1")
    old = use_plugin_manager(manager)
    yield types.SimpleNamespace(manager=manager, tmp=tmp_path, asset=asset)
    use_plugin_manager(old)


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)


def run_json(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_help_and_version():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("list", "info", "plugins", "fetch", "cache", "results", "report", "registry",
                    "score", "demo"):
        assert f"  {command} " in result.output
    result = run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"neuroalign, version {neuroalign.__version__}"


def test_list(env):
    result = run("list", "benchmarks")
    assert result.exit_code == 0
    assert "Tiny2024.IT-pls" in result.stdout and "neuroalign-tiny" in result.stdout
    assert [e["id"] for e in run_json("list", "benchmarks", "*V4*")] == ["Tiny2024.V4-pls"]
    data = run_json("list", "benchmarks")
    assert data[0]["region"] == "IT" and data[0]["provided_by"] == {
        "distribution": "neuroalign-tiny", "version": "0.0.1", "plugin": "tiny"}
    assert [e["id"] for e in run_json("list", "metrics")] == ["pls"]
    assert [e["id"] for e in run_json("list", "ceilings")] == ["split_half"]
    assert [e["id"] for e in run_json("list", "aggregators")] == ["mean", "meanrank", "zmean"]
    assert [e["id"] for e in run_json("list", "models")] == ["test:tiny"]
    assert [e["id"] for e in run_json("list", "attacks")] == ["fgsm"]
    assert run_json("list", "datasets")[0]["assets"][0]["name"] == "assembly"
    assert run_json("list", "models", "nothing*") == []
    bad = run("list", "benchmark")
    assert bad.exit_code == 2 and "'benchmarks'" in bad.output


def test_info(env):
    data = run_json("info", "Tiny2024.IT-pls")
    assert (data["component"], data["id"], data["version"], data["kind"]) == (
        "benchmark", "Tiny2024.IT-pls", 1, "neural")
    assert data["provided_by"]["distribution"] == "neuroalign-tiny"
    result = run("info", "test:tiny")
    assert result.exit_code == 0
    assert "model test:tiny" in result.stdout and "neuroalign-tiny 0.0.1" in result.stdout
    assert run_json("info", "split_half")["component"] == "ceiling"
    assert run_json("info", "mean", "--kind", "aggregator")["id"] == "mean"


def test_info_unknown_id_suggests(env):
    result = run("info", "Tiny2024.IT-pl")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: unknown id 'Tiny2024.IT-pl'; did you mean 'Tiny2024.IT-pls' (benchmark), "
        "'Tiny2024.V4-pls' (benchmark) or 'Tiny2024.public' (dataset)? (list the valid ids with: neuroalign list KIND, KIND one "
        "of aggregators, attacks, benchmarks, ceilings, datasets, figures, metrics, models)")
    assert "Traceback" not in result.output
    result = run("info", "Tiny2024.IT-pl", "--kind", "benchmark")
    assert result.exit_code == 2
    assert "did you mean 'Tiny2024.IT-pls'" in result.stderr
    assert "(list the valid ids with: neuroalign list benchmarks)" in result.stderr
    result = run("info", "pls", "--kind", "ceiling")
    assert result.exit_code == 2 and "'pls' is a metric, not a ceiling; use --kind metric" in result.stderr


def test_info_ambiguous_id(env):
    class Clash:
        @hookimpl
        def register_metrics(self, register):
            register(MetricSpec(id="mean", factory="tests.tiny:M"))

    env.manager.register(Clash(), name="clash", distribution="neuroalign-clash")
    result = run("info", "mean")
    assert result.exit_code == 2
    assert "'mean' is registered as several kinds ['metric', 'aggregator']" in result.stderr
    assert "--kind metric" in result.stderr


def test_debug_shows_the_exception(env, monkeypatch):
    result = run("--debug", "info", "nope")
    assert isinstance(result.exception, NeuroalignError)
    monkeypatch.setenv("NEUROALIGN_DEBUG", "1")
    assert isinstance(run("info", "nope").exception, NeuroalignError)


def test_plugins_lists_failed_with_reason_and_warns_once(env):
    env.manager.register(BrokenPlugin(), name="broken", distribution="neuroalign-broken")
    result = run("plugins")
    assert result.exit_code == 0
    assert "failed" in result.stdout and "the hook exploded" in result.stdout
    warnings_seen = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings_seen) == 1 and "neuroalign-broken" in warnings_seen[0]
    data = {p["name"]: p for p in run_json("plugins")}
    assert data["tiny"]["status"] == "loaded" and data["tiny"]["registered"] == 7
    assert data["broken"]["status"] == "failed"
    assert data["broken"]["error"] == "RuntimeError: the hook exploded"


def test_fetch(env):
    data = run_json("fetch", "Tiny2024.public")
    assert data["dataset"] == "Tiny2024.public"
    path = data["assets"]["assembly"]
    assert Path(path).read_bytes() == b"tiny assembly bytes"
    result = run("fetch", "Tiny2024.privat")
    assert result.exit_code == 2
    assert "unknown dataset 'Tiny2024.privat'; did you mean 'Tiny2024.public'?" in result.stderr


def test_cache_ls_and_clear(env):
    from neuroalign.store import cache_dir, write_meta

    for key in ("alpha", "beta"):
        item = cache_dir("activations") / key
        item.write_bytes(b"x" * 10)
        write_meta(item, kind="activations", key=key, description=f"{key} activations")
    entries = run_json("cache", "ls")
    assert [(e["kind"], e["key"], e["size"]) for e in entries] == [
        ("activations", "alpha", 10), ("activations", "beta", 10)]
    assert run_json("cache", "ls", "--kind", "assets") == []
    result = run("cache", "clear", "alpha", input="n\n")
    assert result.exit_code == 1 and len(run_json("cache", "ls")) == 2  # declined: nothing removed
    assert run_json("cache", "clear", "alpha", "--yes") == {"removed": 1, "kind": None,
                                                            "pattern": "alpha"}
    assert [e["key"] for e in run_json("cache", "ls")] == ["beta"]


def _store_results(path=None):
    results = ResultsDatabase(path)
    for model, value in (("test:tiny", 0.5), ("test:other", 0.25)):
        for bench in ("Tiny2024.IT-pls", "Tiny2024.V4-pls"):
            results.put(Score(value=value, error=0.01, layer="b", provenance=Provenance(
                model_id=model, benchmark_id=bench, benchmark_version=1)))
    results.close()


def test_results(env):
    result = run("results")
    assert result.exit_code == 0 and "no stored results" in result.stderr
    _store_results()
    data = run_json("results", "--model", "test:tiny")
    assert [(r["model"], r["benchmark"], r["value"]) for r in data] == [
        ("test:tiny", "Tiny2024.IT-pls", 0.5), ("test:tiny", "Tiny2024.V4-pls", 0.5)]
    csv = run("results", "--csv", "--benchmark", "*IT*").stdout.splitlines()
    assert csv[0].startswith("model,weights_hash,benchmark,version,request,value")
    assert len(csv) == 3
    table = run("results").stdout
    assert "test:other" in table and "0.25" in table
    # a run with a forced layer is listed only when asked for, with its request
    results = ResultsDatabase()
    results.put(Score(value=0.75, layer="a", attrs={"request": "layers=a"}, provenance=Provenance(
        model_id="test:tiny", benchmark_id="Tiny2024.IT-pls", benchmark_version=1)))
    results.close()
    assert [r["value"] for r in run_json("results", "-m", "test:tiny", "-b", "*IT*")] == [0.5]
    forced = run_json("results", "-m", "test:tiny", "-b", "*IT*", "--request", "layers=*")
    assert [(r["request"], r["value"]) for r in forced] == [("layers=a", 0.75)]
    table = run("results", "--request", "*").stdout
    assert "layers=a" in table and "0.75" in table


def test_report(env):
    _store_results(env.tmp / "r.sqlite")
    html = env.tmp / "report.html"
    result = run("report", "--db", str(env.tmp / "r.sqlite"), "--html", str(html))
    assert result.exit_code == 0, result.output
    assert result.stdout.index("test:tiny") < result.stdout.index("test:other")
    assert "test:tiny" in html.read_text()
    data = run_json("report", "--db", str(env.tmp / "r.sqlite"), "--aggregator", "meanrank")
    assert data["aggregator"] == "meanrank"
    assert [r["model"] for r in data["rows"]] == ["test:tiny", "test:other"]
    bad = run("report", "--db", str(env.tmp / "r.sqlite"), "--aggregator", "meen")
    assert bad.exit_code == 2 and "did you mean 'mean'" in bad.stderr


def test_registry_build_and_search(env):
    url = f"memory://cli-{uuid.uuid4().hex}/index.json"
    result = run("registry", "build", "--output", url)
    assert result.exit_code == 0, result.output
    assert f"wrote {url}: 1 plugins, 2 benchmarks, 1 datasets" in result.stderr
    hits = run_json("registry", "search", "v4", "--index", url)
    assert [(h["benchmark"], h["pip"], h["installed"]) for h in hits] == [
        ("Tiny2024.V4-pls", "pip install neuroalign-tiny", False)]
    result = run("registry", "search", "tiny", "--index", url)
    assert result.exit_code == 0 and "pip install neuroalign-tiny" in result.stdout
    result = run("registry", "search", "nothing", "--index", url)
    assert result.exit_code == 0 and "no benchmark matches 'nothing'" in result.stderr
    missing = run("registry", "search", "x", "--index", f"memory://nothing-{uuid.uuid4().hex}.json")
    assert missing.exit_code == 2 and "no registry index at" in missing.stderr


def test_score_calls_the_scoring_engine(env, monkeypatch):
    calls = []

    def fake_score(model, benchmark, *, layers=None, pretrained=True, use_cache=True):
        calls.append((model, benchmark, layers, pretrained, use_cache))
        return Score(value=0.61, raw=0.5, ceiling=0.82, error=0.02, layer="b",
                     layers={"a": 0.3, "b": 0.61},
                     provenance=Provenance(model_id=model, benchmark_id=benchmark))

    monkeypatch.setitem(sys.modules, "neuroalign.scoring.engine",
                        types.SimpleNamespace(score=fake_score))
    result = run("score", "test:tiny", "Tiny2024.IT-pls")
    assert result.exit_code == 0, result.output
    assert calls == [("test:tiny", "Tiny2024.IT-pls", None, True, True)]
    assert "0.6100 ± 0.0200" in result.stdout and "layer b" in result.stdout
    assert "chosen" in result.stdout and "0.3" in result.stdout
    calls.clear()
    data = run_json("score", "test:tiny", "Tiny2024.IT-pls", "Tiny2024.V4-pls", "--layer", "a",
                    "--random-weights", "--no-cache")
    assert calls == [("test:tiny", "Tiny2024.IT-pls", ["a"], False, False),
                     ("test:tiny", "Tiny2024.V4-pls", ["a"], False, False)]
    assert [Score.model_validate(d).value for d in data] == [0.61, 0.61]


def test_score_error_is_one_red_line(env, monkeypatch):
    def fake_score(model, benchmark, **kwargs):
        neuroalign.get_benchmark(benchmark)

    monkeypatch.setitem(sys.modules, "neuroalign.scoring.engine", types.SimpleNamespace(score=fake_score))
    result = run("score", "test:tiny", "Tiny2024.IT-pl")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [(
        "error: unknown benchmark 'Tiny2024.IT-pl'; did you mean 'Tiny2024.IT-pls' or "
        "'Tiny2024.V4-pls'? (list the valid ids with: neuroalign list benchmarks)")]


def test_demo_passes_options(env, monkeypatch):
    calls = []

    def fake_run(output=None, models=None, quick=False, benchmarks=None):
        calls.append((output, models, quick, benchmarks))

    monkeypatch.setitem(sys.modules, "neuroalign.app.demo", types.SimpleNamespace(run=fake_run))
    assert run("demo", "--output", "out", "-m", "timm:a", "-m", "timm:b").exit_code == 0
    assert run("demo").exit_code == 0
    assert run("demo", "--quick", "-b", "A.*", "--benchmarks", "B").exit_code == 0
    assert calls == [("out", ["timm:a", "timm:b"], False, None), (None, None, False, None),
                     (None, None, True, ["A.*", "B"])]


CHECK_IMPORTS = textwrap.dedent("""
    import sys
    from neuroalign.app.cli import main
    try:
        main({argv!r})
    except SystemExit as exit:
        code = exit.code
    heavy = sorted(m for m in ("torch", "timm", "numpy", "xarray", "pandas", "s3fs", "gcsfs", "boto3")
                   if m in sys.modules)
    sys.stderr.write("HEAVY=" + ",".join(heavy) + " CODE=" + str(code) + "\\n")
""")


@pytest.mark.parametrize("argv", [["--help"], ["list", "benchmarks"], ["list", "models", "x*"]])
def test_cold_commands_do_not_import_torch(argv):
    """Runs with every installed plugin, in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", CHECK_IMPORTS.format(argv=argv)],
                          capture_output=True, text=True, timeout=120, check=False)
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "HEAVY= CODE=0", proc.stderr


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_command_lets_idle_openmp_threads_sleep(given, expected):
    """OMP_WAIT_POLICY=PASSIVE unless set, before torch (and OpenMP) loads; see docs/attacks.md."""
    import os

    code = ("import os, sys\n"
            "from neuroalign.app.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split()[-2:] == [expected, "False"]


def test_score_checks_every_id_before_scoring_anything(env, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "neuroalign.scoring.engine", types.SimpleNamespace(
        score=lambda model, benchmark, **kwargs: calls.append(benchmark)))
    result = run("score", "test:tiny", "Tiny2024.IT-pls", "Tiny2024.bogus")
    assert result.exit_code == 2 and "unknown benchmark 'Tiny2024.bogus'" in result.stderr
    assert calls == []  # the good id was not scored first
    result = run("score", "test:nothing", "Tiny2024.IT-pls")
    assert result.exit_code == 2 and calls == []


def test_score_passes_device_batch_size_and_params(env, monkeypatch):
    calls = []

    def fake_score(model, benchmark, **kwargs):
        calls.append(kwargs)
        return Score(value=0.5, provenance=Provenance(model_id=model, benchmark_id=benchmark))

    monkeypatch.setitem(sys.modules, "neuroalign.scoring.engine",
                        types.SimpleNamespace(score=fake_score))
    result = run("score", "test:tiny", "Tiny2024.IT-pls", "--device", "cpu", "--batch-size", "8",
                 "--param", "benchmark.n_splits=5", "--param", "model.width=[1, 2]",
                 "--param", "benchmark.name=abc")
    assert result.exit_code == 0, result.output
    assert calls == [{"layers": None, "pretrained": True, "use_cache": True, "device": "cpu",
                      "batch_size": 8, "model_parameters": {"width": [1, 2]},
                      "benchmark_parameters": {"n_splits": 5, "name": "abc"}}]
    bad = run("score", "test:tiny", "Tiny2024.IT-pls", "--param", "n_splits=5")
    assert bad.exit_code == 2 and "neither model 'test:tiny'" in bad.stderr
    bad = run("score", "test:tiny", "Tiny2024.IT-pls", "--param", "novalue")
    assert bad.exit_code == 2 and "expected KEY=VALUE" in bad.stderr
    bad = run("score", "test:tiny", "Tiny2024.IT-pls", "--batch-size", "0")
    assert bad.exit_code == 2


def test_results_json_and_csv_conflict(env):
    result = run("results", "--json", "--csv")
    assert result.exit_code == 2 and "mutually exclusive" in result.stderr


def test_results_show_weights_and_data_and_never_mix_them(env):
    results = ResultsDatabase()
    for weights, data, value in (("random 1111aaaa", "synthetic /s", 0.2),
                                 ("pretrained:a1 2222bbbb", "real", 0.6)):
        results.put(Score(value=value, provenance=Provenance(
            model_id="test:tiny", benchmark_id="Tiny2024.IT-pls", benchmark_version=1,
            model_weights_sha256=weights.split()[-1] * 8, weights=weights, data_source=data)))
    results.put(Score(value=0.4, provenance=Provenance(
        model_id="test:tiny", benchmark_id="Tiny2024.V4-pls", benchmark_version=1,
        model_weights_sha256="2222bbbb" * 8, weights="pretrained:a1 2222bbbb",
        data_source="real")))
    rows = run_json("results")
    assert sorted((r["weights"], r["data"], r["benchmark"]) for r in rows) == [
        ("pretrained:a1 2222bbbb", "real", "Tiny2024.IT-pls"),
        ("pretrained:a1 2222bbbb", "real", "Tiny2024.V4-pls"),
        ("random 1111aaaa", "synthetic /s", "Tiny2024.IT-pls")]
    table = run("results").stdout
    assert "random 1111aaaa" in table and "synthetic /s" in table
    array = results.to_xarray()
    assert sorted(map(str, array["model"].values)) == [
        "test:tiny [pretrained:a1 2222bbbb, real]", "test:tiny [random 1111aaaa, synthetic /s]"]
    real = array.sel(model="test:tiny [pretrained:a1 2222bbbb, real]")
    assert float(real.sel(benchmark="Tiny2024.IT-pls")) == 0.6
    assert float(real.sel(benchmark="Tiny2024.V4-pls")) == 0.4
    random = array.sel(model="test:tiny [random 1111aaaa, synthetic /s]")
    assert math.isnan(float(random.sel(benchmark="Tiny2024.V4-pls")))  # not filled from the other
    board = run_json("report")
    assert sorted((r["model"], r["weights"], r["data"]) for r in board["rows"]) == [
        ("test:tiny [pretrained:a1 2222bbbb, real]", "pretrained:a1 2222bbbb", "real"),
        ("test:tiny [random 1111aaaa, synthetic /s]", "random 1111aaaa", "synthetic /s")]
    results.close()


def test_info_rejects_an_unknown_tag(env):
    env.manager.register(TaggedPlugin(), name="tagged", distribution="neuroalign-tagged")
    assert run_json("info", "tag:net.good")["parameters"]["tag"] == "good"
    result = run("info", "tag:net.bda")
    assert result.exit_code == 2
    assert "unknown pretrained tag 'bda' for 'tag:net'" in result.stderr
    assert "did you mean 'bad'" in result.stderr or "valid tags: good, bad" in result.stderr


class TaggedPlugin:
    @hookimpl
    def register_models(self, register):
        register(ModelSpec(id="tag:net", factory="tests.tiny:Model", accepts_tags=True,
                           metadata={"tags": ["good", "bad"]}))


def test_demo_ends_with_the_next_commands(tmp_path):
    from neuroalign.app.demo import next_commands

    commands = next_commands(tmp_path / "out dir", tmp_path / "out dir" / "store",
                             "timm:resnet18", "MajajHong2015.IT-pls")
    offline = commands[0][1]
    assert offline.startswith(f"NEUROALIGN_STORE='{tmp_path}/out dir/store' NEUROALIGN_OFFLINE=1 "
                              f"NEUROALIGN_RESULTS='{tmp_path}/out dir/results.sqlite' neuroalign "
                              "score timm:resnet18 MajajHong2015.IT-pls --random-weights")
    assert commands[-1][1] == "neuroalign score timm:resnet18 MajajHong2015public.IT-pls"


def test_a_store_path_holding_a_store_one_level_down_names_it(tmp_path, monkeypatch):
    from neuroalign.errors import AssetError
    from neuroalign.store.assets import _store_index

    (tmp_path / "demo-store" / "store").mkdir(parents=True)
    (tmp_path / "demo-store" / "store" / "index.json").write_text("{}")
    with pytest.raises(AssetError) as info:
        _store_index(str(tmp_path / "demo-store"))
    assert f"set NEUROALIGN_STORE={tmp_path}/demo-store/store" in str(info.value)
    assert "registry build" not in str(info.value)


def test_plugins_add_commands_through_entry_points(monkeypatch):
    """Group ``neuroalign.cli``: listed in --help, loaded only when run, never over a built-in."""
    from types import SimpleNamespace

    import click
    from click.testing import CliRunner
    from neuroalign.app import cli as cli_module

    loaded = []

    @click.command("hello")
    def hello():
        click.echo("hello from a plugin")

    def load():
        loaded.append(True)
        return hello

    entries = {"hello": SimpleNamespace(name="hello", value="lab.cli:hello", load=load),
               "score": SimpleNamespace(name="score", value="evil:score", load=load),
               "broken": SimpleNamespace(name="broken", value="lab.cli:broken",
                                         load=lambda: 42)}
    monkeypatch.setattr(cli_module, "_plugin_commands", lambda: entries)
    runner = CliRunner()
    listing = runner.invoke(cli_module.cli, ["--help"]).output
    assert "hello" in listing and not loaded  # listed without importing the plugin
    result = runner.invoke(cli_module.cli, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n" and loaded
    assert cli_module.cli.get_command(click.Context(cli_module.cli), "score").name == "score"
    assert len(loaded) == 1  # the built-in score won: the plugin's was never loaded
    broken = runner.invoke(cli_module.cli, ["broken"])
    assert broken.exit_code == 1 and "is not a click command" in broken.output


def test_nsd_prepare_is_mounted_from_its_plugin():
    from click.testing import CliRunner
    from neuroalign.app.cli import cli

    result = CliRunner().invoke(cli, ["nsd", "prepare", "--help"])
    assert result.exit_code == 0 and "Data Access Agreement" in result.output
