"""Plugins from remote registries: find on a miss, install on request, publish (loopback only).

Stores are a moto S3 server or an HTTP server on 127.0.0.1; every in-process test refuses any
connection beyond it (``neuroalign_loopback_only``), and pip never sees an index
(``PIP_NO_INDEX=1``; the install test's subprocess refuses non-loopback sockets too).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import neuroalign
import pytest
from click.testing import CliRunner
from neuroalign.app.cli import cli
from neuroalign.errors import AssetError, ChecksumMismatchError, NeuroalignError, OfflineError
from neuroalign.plugins import install as install_module
from neuroalign.plugins.providers import find_providers
from neuroalign.store.index import INDEX_FORMAT
from neuroalign.testing.servers import FAKE_AWS, loopback_http_server, moto_s3_server

DIST = "neuroalign-fakeplug"
WHEEL = "neuroalign_fakeplug-0.2.0-py3-none-any.whl"


def _wheel(directory: Path) -> Path:
    """A real (tiny) wheel of neuroalign-fakeplug 0.2.0: importable, registers nothing."""
    path = directory / WHEEL
    info = "neuroalign_fakeplug-0.2.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("neuroalign_fakeplug/__init__.py", "VALUE = 1\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: neuroalign-fakeplug\n"
                                             "Version: 0.2.0\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                                          "Root-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


def _index(wheel: dict | None = None, **plugin: object) -> dict:
    entry = {"distribution": DIST, "version": "0.2.0", "pip": f"pip install {DIST}",
             "benchmarks": ["Fake.IT-x"], "datasets": ["Fake.data"], "models": ["fake:net"],
             "description": "a fake plugin", **plugin}
    if wheel is not None:
        entry["wheel"] = wheel
    return {"format": INDEX_FORMAT, "plugins": [entry],
            "datasets": [{"id": "Fake.data", "version": 1, "distribution": DIST,
                          "license": "Fake Data Access Agreement: accept it first"}],
            "benchmarks": [{"id": "Fake.IT-x", "version": 1, "distribution": DIST, "kind": "neural",
                            "region": "IT", "citation": "@article{fake}"}]}


def _wheel_entry(path: Path, sha256: str | None = None) -> dict:
    entry = {"name": "wheel", "url": f"wheels/{path.name}", "format": "other",
             "sha256": sha256 or hashlib.sha256(path.read_bytes()).hexdigest()}
    return entry


@pytest.fixture
def pip_calls(monkeypatch):
    """pip is never really run in-process: the commands it would have run are recorded."""
    calls: list[list[str]] = []
    monkeypatch.setattr(install_module, "_run_pip", lambda step: calls.append(step.command))
    monkeypatch.setattr(install_module, "reload_plugins", lambda distributions=(): None)
    return calls


@pytest.fixture
def s3_store(monkeypatch, tmp_path, neuroalign_loopback_only):
    """``put(index, files) -> "s3://plugins"``: a public bucket on a loopback moto server."""
    with moto_s3_server() as s3:
        monkeypatch.setenv("NEUROALIGN_S3_ENDPOINT_URL", s3.endpoint_url)

        def put(index: dict, files: dict[str, bytes] | None = None, bucket: str = "plugins"):
            content = {"index.json": json.dumps(index).encode(), **(files or {})}
            return s3.public_bucket(bucket, content)

        put.server = s3
        yield put


# ------------------------------------------------------------------------------ find on a miss
def test_a_miss_names_the_distribution_the_registry_lists(s3_store, monkeypatch, tmp_path):
    wheel = _wheel(tmp_path)
    url = s3_store(_index(_wheel_entry(wheel)), {f"wheels/{WHEEL}": wheel.read_bytes()})
    monkeypatch.setenv("NEUROALIGN_REGISTRY", url)
    with pytest.raises(neuroalign.UnknownIdError) as caught:
        neuroalign.get_benchmark("Fake.IT-x")
    error = caught.value
    assert (error.distribution, error.distribution_version, error.registry,
            error.install_command) == (DIST, "0.2.0", url, f"neuroalign install {DIST}")
    assert (f"'Fake.IT-x' is provided by '{DIST}' 0.2.0 (registry {url}); install it with: "
            f"neuroalign install {DIST}") in str(error)
    # the same hint from compose, score, info and models
    with pytest.raises(neuroalign.UnknownIdError, match="neuroalign install neuroalign-fakeplug"):
        neuroalign.compose({"IT": ["Fake.IT-x"]}).check_members()
    with pytest.raises(neuroalign.UnknownIdError) as model_miss:
        neuroalign.get_model("fake:net")
    assert model_miss.value.distribution == DIST
    shown = CliRunner().invoke(cli, ["info", "Fake.IT-x"])
    assert shown.exit_code == 2 and "neuroalign install neuroalign-fakeplug" in shown.output
    shown = CliRunner().invoke(cli, ["score", "example:linear", "Fake.IT-x"])
    assert shown.exit_code == 2 and "neuroalign install neuroalign-fakeplug" in shown.output
    # an id no registry lists keeps the plain message
    with pytest.raises(neuroalign.UnknownIdError) as plain_miss:
        neuroalign.get_benchmark("Nowhere.IT-x")
    assert plain_miss.value.distribution is None and "neuroalign list" in str(plain_miss.value)


def test_a_miss_reads_the_cache_and_never_refreshes_it(tmp_path, monkeypatch,
                                                       neuroalign_loopback_only):
    (tmp_path / "index.json").write_text(json.dumps(_index()))
    with loopback_http_server(tmp_path) as (base, hits):
        monkeypatch.setenv("NEUROALIGN_REGISTRY", base)
        monkeypatch.setenv("NEUROALIGN_REGISTRY_MAX_AGE", "0")  # always stale
        assert [p.distribution for p in find_providers("benchmark", "Fake.IT-x")] == [DIST]
        gets = lambda: sum(method == "GET" for method, _ in hits.requests)
        assert gets() == 1  # no copy yet: fetched once
        for _ in range(3):
            with pytest.raises(neuroalign.UnknownIdError, match="index cached"):
                neuroalign.get_benchmark("Fake.IT-x")
        assert gets() == 1  # stale, but a miss never refreshes
        result = CliRunner().invoke(cli, ["registry", "refresh"])
        assert result.exit_code == 0, result.output
        assert gets() == 2 and "fetched" in result.output
    # offline (and the server gone): the cached copy still answers, saying how old it is
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(neuroalign.UnknownIdError, match=r"index cached \d+ seconds? ago"):
        neuroalign.get_benchmark("Fake.IT-x")
    shown = CliRunner().invoke(cli, ["registry", "search", "fake"])
    assert shown.exit_code == 0 and "Fake.IT-x" in shown.output
    assert f"registry {base}, cached copy from" in shown.output


def test_offline_without_a_cached_copy_is_a_plain_miss(monkeypatch, neuroalign_loopback_only):
    monkeypatch.setenv("NEUROALIGN_REGISTRY", "https://registry.invalid/index.json")
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(neuroalign.UnknownIdError) as caught:
        neuroalign.get_benchmark("Fake.IT-x")
    assert caught.value.providers == [] and not neuroalign_loopback_only


def test_a_damaged_cached_copy_is_not_trusted(tmp_path, monkeypatch, neuroalign_loopback_only):
    from neuroalign.store.registries import registry_indexes

    (tmp_path / "index.json").write_text(json.dumps(_index()))
    with loopback_http_server(tmp_path) as (base, _):
        monkeypatch.setenv("NEUROALIGN_REGISTRY", base)
        (found,) = registry_indexes(refresh="always")
        assert found.source == "fetched"
    copy = next((neuroalign.store.home() / "registries").rglob("index.json"))
    copy.write_text(copy.read_text().replace("a fake plugin", "an edited plugin"))
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    (again,) = registry_indexes()
    assert again.index is None and "does not match the sha256" in again.problem


# ------------------------------------------------------------------------------ install
def test_install_downloads_the_wheel_through_the_store_and_runs_pip_on_it(s3_store, tmp_path,
                                                                         monkeypatch, pip_calls):
    wheel = _wheel(tmp_path)
    url = s3_store(_index(_wheel_entry(wheel)), {f"wheels/{WHEEL}": wheel.read_bytes()})
    shown: list[str] = []
    result = neuroalign.install("Fake.IT-x", registries=url, yes=True, show=shown.append)
    (step,) = result.steps
    assert step.source == "wheel" and step.wheel_url == f"{url}/wheels/{WHEEL}"
    assert pip_calls == [step.command]
    assert step.command[1:4] == ["-m", "pip", "install"] and step.command[-1] == step.wheel_path
    assert Path(step.wheel_path).read_bytes() == wheel.read_bytes()
    assert any("will run:" in line and step.wheel_path in line for line in shown)
    # a local registry: the wheel is verified and installed where it is
    (tmp_path / "index.json").write_text(json.dumps(_index(_wheel_entry(wheel) | {"url": WHEEL})))
    (local,) = neuroalign.install(DIST, registries=str(tmp_path), yes=True,
                                  show=lambda line: None).steps
    assert local.wheel_path == str(wheel) and pip_calls[-1] == local.command
    wheel.write_bytes(wheel.read_bytes() + b"x")
    with pytest.raises(ChecksumMismatchError):
        neuroalign.install(DIST, registries=str(tmp_path), yes=True, show=lambda line: None)
    assert len(pip_calls) == 2


def test_a_wheel_whose_bytes_differ_from_the_index_hash_is_refused(s3_store, tmp_path,
                                                                   pip_calls):
    wheel = _wheel(tmp_path)
    entry = _wheel_entry(wheel)
    url = s3_store(_index(entry), {f"wheels/{WHEEL}": wheel.read_bytes() + b"tampered"})
    with pytest.raises(ChecksumMismatchError):
        neuroalign.install(DIST, registries=url, yes=True, show=lambda line: None)
    assert pip_calls == []
    cached = neuroalign.store.cache_path(neuroalign.AssetSpec(
        name="wheel", url=f"{url}/wheels/{WHEEL}", sha256=entry["sha256"], format="other"))
    assert not cached.exists()


@pytest.mark.parametrize("field, value, expected", [
    ("distribution", "neuroalign-fakeplug[/x]", "plugins[0].distribution"),
    ("version", "0.2.0 --extra-index-url http://evil.example", "plugins[0].version"),
    ("requirement", "neuroalign-fakeplug==0.2.0 --extra-index-url http://evil.example",
     "plugins[0].requirement"),
    ("requirement", "neuroalign-fakeplug @ http://evil.example/x.whl", "plugins[0].requirement"),
])
def test_an_index_with_markup_or_options_is_refused(s3_store, pip_calls, field, value, expected):
    url = s3_store(_index(**{field: value}))
    with pytest.raises(NeuroalignError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        neuroalign.install("Fake.IT-x", registries=url, yes=True, show=lambda line: None)
    assert pip_calls == []


def test_a_local_wheel_url_or_one_without_hash_is_refused(s3_store, tmp_path, pip_calls):
    wheel = _wheel(tmp_path)
    local = {"name": "wheel", "url": f"file://{wheel}", "format": "other"}
    url = s3_store(_index(local))
    with pytest.raises(NeuroalignError, match=r"plugins\[0\]\.wheel\.url.*file://"):
        neuroalign.install(DIST, registries=url, yes=True, show=lambda line: None)
    other = s3_store(_index({"name": "wheel", "url": f"wheels/{WHEEL}", "format": "other"}),
                     bucket="nohash")
    with pytest.raises(AssetError, match=r"plugins\[0\]\.wheel.*needs a sha256"):
        neuroalign.install(DIST, registries=other, yes=True, show=lambda line: None)
    # a local index may point at a local wheel, but never at one without a hash
    (tmp_path / "index.json").write_text(json.dumps(_index({"name": "wheel", "format": "other",
                                                             "url": WHEEL})))
    with pytest.raises(AssetError, match="has no sha256"):
        neuroalign.install(DIST, registries=str(tmp_path), yes=True, show=lambda line: None)
    assert pip_calls == []


def test_package_index_entries_install_name_equals_version(tmp_path, monkeypatch, pip_calls):
    (tmp_path / "index.json").write_text(json.dumps(_index()))
    monkeypatch.setenv("NEUROALIGN_REGISTRY", str(tmp_path / "index.json"))
    result = CliRunner().invoke(cli, ["install", "fake:net", "--dry-run"])
    assert result.exit_code == 0 and pip_calls == []
    assert "pip install --disable-pip-version-check --no-input neuroalign-fakeplug==0.2.0" \
        in result.output
    assert "data Fake.data: Fake Data Access Agreement: accept it first" in result.output
    result = CliRunner().invoke(cli, ["install", DIST], input="n\n")
    assert result.exit_code == 2 and "cancelled" in result.output and pip_calls == []
    result = CliRunner().invoke(cli, ["install", DIST], input="y\n")
    assert result.exit_code == 0, result.output
    assert pip_calls[0][-1] == "neuroalign-fakeplug==0.2.0"
    with pytest.raises(NeuroalignError, match="no registry lists 'Nowhere.x'"):
        neuroalign.install("Nowhere.x", yes=True, show=lambda line: None)


def test_offline_install_says_it_cannot_reach_the_store(tmp_path, monkeypatch, pip_calls,
                                                        neuroalign_loopback_only):
    (tmp_path / "wheels").mkdir()
    wheel = _wheel(tmp_path / "wheels")
    (tmp_path / "index.json").write_text(json.dumps(_index(_wheel_entry(wheel))))
    with loopback_http_server(tmp_path) as (base, _):
        monkeypatch.setenv("NEUROALIGN_REGISTRY", base)
        with pytest.raises(neuroalign.UnknownIdError):
            neuroalign.get_benchmark("Fake.IT-x")  # caches the index
    # the server is gone: the index comes from the cache, the wheel cannot be downloaded
    with pytest.raises(AssetError, match=f"cannot reach the store of registry '{base}'"):
        neuroalign.install(DIST, yes=True, show=lambda line: None)
    monkeypatch.setenv("NEUROALIGN_OFFLINE", "1")
    with pytest.raises(OfflineError, match="cannot reach the store.*NEUROALIGN_OFFLINE=1"):
        neuroalign.install(DIST, yes=True, show=lambda line: None)
    assert pip_calls == []


# ------------------------------------------------------------------------------ publish
def test_publish_never_overwrites_different_bytes_and_writes_the_index_last(tmp_path,
                                                                            monkeypatch):
    from neuroalign.app.publish import publish
    from neuroalign.testing.fixtures import write_synthetic_store

    spec = neuroalign.get_spec("dataset", "Example.toy")
    monkeypatch.setenv("NEUROALIGN_STORE", str(write_synthetic_store([spec], tmp_path / "syn")))
    root = Path(__file__).resolve().parents[1] / "plugins" / "neuroalign-example"
    store = tmp_path / "store"
    (store / "data" / "Example.toy" / "v1").mkdir(parents=True)
    (store / "data" / "Example.toy" / "v1" / "stimuli.nc").write_bytes(b"something else")
    with pytest.raises(AssetError, match="already published with different bytes"):
        publish(str(store), [str(root)], show=lambda line: None)
    assert not (store / "index.json").exists()  # the index comes last: nothing points there
    assert not [p for p in store.rglob("*") if ".tmp-" in p.name]
    (store / "data" / "Example.toy" / "v1" / "stimuli.nc").unlink()
    first = publish(str(store), [str(root)], show=lambda line: None)
    again = publish(str(store), ["neuroalign-example"], show=lambda line: None)
    assert first.uploaded[-1] == "index.json" and again.uploaded == ["index.json"]
    assert sorted(again.unchanged) == ["data/Example.toy/v1/responses.nc",
                                       "data/Example.toy/v1/stimuli.nc",
                                       "wheels/neuroalign_example-0.1.0-py3-none-any.whl"]
    index = neuroalign.store.load_index(str(store))
    (plugin,) = index.plugins
    assert plugin.wheel is not None and plugin.wheel.url.startswith(str(store) + "/wheels/")
    assert plugin.requirement == "neuroalign-example==0.1.0" and plugin.license == "MIT"
    (dataset,) = index.datasets
    assert dataset.license == "CC0-1.0" and dataset.size == sum(a.size for a in dataset.assets)
    assert {b.id: b.region for b in index.benchmarks} == {
        "Example.IT-corr": "IT", "Example.V4-corr": "V4", "Example.neural-mean": None}
    wheel = Path(plugin.wheel.url)
    wheel.write_bytes(wheel.read_bytes() + b"x")
    with pytest.raises(AssetError, match="bump the plugin's version"):
        publish(str(store), [str(root)], show=lambda line: None)


def test_publish_to_s3_then_the_index_resolves(tmp_path, monkeypatch, s3_store, pip_calls):
    from neuroalign.app.publish import publish
    from neuroalign.testing.fixtures import write_synthetic_store

    spec = neuroalign.get_spec("dataset", "Example.toy")
    monkeypatch.setenv("NEUROALIGN_STORE", str(write_synthetic_store([spec], tmp_path / "syn")))
    s3_store.server.client().create_bucket(Bucket="pub", ACL="public-read")
    credentials = {"key": FAKE_AWS["aws_access_key_id"],
                   "secret": FAKE_AWS["aws_secret_access_key"],
                   "endpoint_url": s3_store.server.endpoint_url}
    root = Path(__file__).resolve().parents[1] / "plugins" / "neuroalign-example"
    result = publish("s3://pub", [str(root)], storage_options=credentials,
                     show=lambda line: None)
    assert result.index == "s3://pub/index.json" and result.uploaded[-1] == "index.json"
    # the command, with credentials from the environment: the same bytes, nothing re-uploaded
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name.upper(), value)
    shown = CliRunner().invoke(cli, ["registry", "publish", "s3://pub", str(root), "--json"])
    assert shown.exit_code == 0, shown.output
    assert "3 already there" in shown.output and '"uploaded": [\n    "index.json"\n  ]' in shown.output
    monkeypatch.delenv("NEUROALIGN_STORE")
    plan = install_module.plan_install(["Example.IT-corr"], registries=["s3://pub"])
    assert plan[0].source == "wheel" and plan[0].wheel_url.startswith("s3://pub/wheels/")
    # neuroalign-example 0.1.0 is installed here: nothing to do, pip is not run
    result = neuroalign.install("Example.IT-corr", registries="s3://pub", yes=True,
                                show=lambda line: None)
    assert not result.installed and pip_calls == []
    assert result.resolved == {"Example.IT-corr": "benchmark"}


def test_cli_publish_needs_plugins_and_shows_them(tmp_path):
    result = CliRunner().invoke(cli, ["registry", "publish", str(tmp_path)])
    assert result.exit_code == 2 and "PLUGIN" in result.output
    result = CliRunner().invoke(cli, ["registry", "publish", str(tmp_path), "not-a-plugin"])
    assert result.exit_code == 2 and "neither a plugin folder" in result.output
    shutil.rmtree(tmp_path, ignore_errors=True)


# ------------------------------------------------------------------------------ end to end
_FRESH_SCRIPT = r'''
import json, socket, sys
real_connect = socket.socket.connect
def connect(self, address):  # this process may reach 127.0.0.1 only
    if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
        raise OSError(f"tried to reach {address!r}")
    return real_connect(self, address)
socket.socket.connect = connect

import neuroalign
from neuroalign.app.cli import cli
registry = sys.argv[1]
out = {"core": neuroalign.__file__}
try:
    neuroalign.get_benchmark("Example.IT-corr")
except neuroalign.UnknownIdError as error:
    out["hint"] = str(error)
    out["fields"] = [error.distribution, error.distribution_version, error.registry,
                     error.install_command]
try:
    cli.main(["install", "neuroalign-example", "--registry", registry, "--yes"],
             prog_name="neuroalign", standalone_mode=False)
except SystemExit as stop:
    out["exit"] = stop.code
import neuroalign_example
out["plugin"] = neuroalign_example.__file__
score = neuroalign.score("example:linear", "Example.IT-corr")
out["score"] = float(score.value)
print("RESULT " + json.dumps(out))
'''


def _fresh_venv(tmp_path: Path) -> Path:
    """A venv with only the core installed; third-party libraries through a path file."""
    import subprocess
    import sys
    import sysconfig
    import venv

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    # this environment's libraries (pip, numpy, s3fs, ...) but none of its neuroalign packages
    shadow = tmp_path / "third-party"
    shadow.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("neuroalign", "__editable__", "_neuroalign")) \
                and not entry.name.endswith(".pth"):
            (shadow / entry.name).symlink_to(entry)
    Path(site, "_third_party.pth").write_text(f"{shadow}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-build-isolation", "--no-index",
                    str(Path(__file__).resolve().parents[1])],
                   check=True, capture_output=True, text=True)
    return python


@pytest.mark.slow
def test_publish_then_a_fresh_environment_gets_the_hint_installs_and_scores(tmp_path,
                                                                            monkeypatch):
    import os
    import subprocess

    from neuroalign.app.publish import publish
    from neuroalign.testing.fixtures import write_synthetic_store

    spec = neuroalign.get_spec("dataset", "Example.toy")
    monkeypatch.setenv("NEUROALIGN_STORE", str(write_synthetic_store([spec], tmp_path / "syn")))
    python = _fresh_venv(tmp_path)
    with moto_s3_server() as s3:
        s3.client().create_bucket(Bucket="neuroalign-plugins", ACL="public-read")
        publish("s3://neuroalign-plugins", [Path(__file__).resolve().parents[1] / "plugins" /
                                            "neuroalign-example"],
                storage_options={"key": FAKE_AWS["aws_access_key_id"],
                                 "secret": FAKE_AWS["aws_secret_access_key"],
                                 "endpoint_url": s3.endpoint_url}, show=lambda line: None)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("NEUROALIGN_", "PYTHON"))}
        env.update(NEUROALIGN_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1",
                   NEUROALIGN_REGISTRY="s3://neuroalign-plugins",
                   NEUROALIGN_STORE="s3://neuroalign-plugins",  # its data too
                   NEUROALIGN_S3_ENDPOINT_URL=s3.endpoint_url, PIP_NO_INDEX="1",
                   PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
        run = subprocess.run([python, "-c", _FRESH_SCRIPT, "s3://neuroalign-plugins"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    out = json.loads(lines[0][len("RESULT "):])
    site = str(python.parent.parent)
    assert out["core"].startswith(site) and out["plugin"].startswith(site)
    assert out["fields"] == ["neuroalign-example", "0.1.0", "s3://neuroalign-plugins",
                             "neuroalign install neuroalign-example"]
    assert ("'Example.IT-corr' is provided by 'neuroalign-example' 0.1.0 (registry "
            "s3://neuroalign-plugins") in out["hint"]
    assert "will run:" in run.stderr and "neuroalign_example-0.1.0-py3-none-any.whl" in run.stderr
    assert "installed neuroalign-example 0.1.0" in run.stderr
    # the same data (fetched from the store) and code give the score this environment gets
    expected = neuroalign.score("example:linear", "Example.IT-corr", use_cache=False)
    assert out["score"] == pytest.approx(float(expected.value), abs=1e-6)


def test_reload_drops_the_modules_of_the_installed_distributions():
    import sys

    import neuroalign_example.plugin  # noqa: F401 - loaded, as after a first install

    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "neuroalign_example"}
    try:
        before = neuroalign.get_plugin_manager()
        install_module.reload_plugins(["neuroalign-example"])
        assert not [k for k in sys.modules if k.split(".")[0] == "neuroalign_example"]
        assert "neuroalign" in sys.modules  # nothing else is touched
        assert neuroalign.get_plugin_manager() is not before
        assert "Example.IT-corr" in neuroalign.list_benchmarks()  # loads (again) from disk
    finally:  # later tests keep the module objects they imported
        sys.modules.update(saved)


def test_an_unreachable_registry_is_not_retried_on_every_miss(tmp_path, monkeypatch,
                                                              neuroalign_loopback_only):
    from neuroalign.store import registries

    monkeypatch.setattr(registries, "_FAILED", {})
    with loopback_http_server(tmp_path, fail_with=503) as (base, hits):
        monkeypatch.setenv("NEUROALIGN_REGISTRY", base)
        for _ in range(3):
            with pytest.raises(neuroalign.UnknownIdError) as caught:
                neuroalign.get_benchmark("Fake.IT-x")
            assert caught.value.providers == []
        tried = hits.count
        assert tried >= 1
        (found,) = registries.registry_indexes()
        assert "not retried" in found.problem and hits.count == tried
        result = CliRunner().invoke(cli, ["registry", "refresh"])  # explicit: tries again
        assert result.exit_code == 2 and "could not be read" in result.output
        assert hits.count > tried
