"""``neuroalign new-plugin``: every kind makes a package that installs and passes its own tests.

The packages are installed (not editable) into a fresh virtual environment that sees only the
core, neuroalign-neural (the benchmark kind's dependency) and, through a path file, the
third-party libraries of this environment; pip runs offline (``--no-index``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner
from neuroalign.app.cli import cli
from neuroalign.app.scaffold import KINDS, new_plugin
from neuroalign.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]


def test_bad_names_kinds_and_existing_folders_are_clear_errors(tmp_path):
    with pytest.raises(SpecError, match="lower_snake_case"):
        new_plugin("My-Lab", "model", tmp_path)
    with pytest.raises(SpecError, match="unknown kind 'brain'"):
        new_plugin("mylab", "brain", tmp_path)
    new_plugin("mylab", "metric", tmp_path)
    with pytest.raises(SpecError, match="already exists"):
        new_plugin("mylab", "model", tmp_path)
    assert new_plugin("mylab", "model", tmp_path, overwrite=True).name == "neuroalign-mylab"
    assert not (tmp_path / "neuroalign-mylab" / "src" / "neuroalign_mylab" / "metric.py").exists()


def test_the_package_has_the_plugin_shape(tmp_path):
    result = CliRunner().invoke(cli, ["new-plugin", "mylab", "--kind", "benchmark", "-d",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "neuroalign-mylab"
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "src/neuroalign_mylab/__init__.py",
                     "src/neuroalign_mylab/benchmarks.py", "src/neuroalign_mylab/data.py",
                     "src/neuroalign_mylab/plugin.py", "src/neuroalign_mylab/specs.py",
                     "src/neuroalign_mylab/synthetic.py", "tests/test_benchmark.py",
                     "tests/test_conformance.py"]
    plugin = (package / "src/neuroalign_mylab/plugin.py").read_text()
    assert "def register_datasets(register: Callable[[DatasetSpec], None]) -> None:" in plugin
    assert "def register_benchmarks(register: Callable[[BenchmarkSpec], None]) -> None:" in plugin
    assert 'mylab = "neuroalign_mylab.plugin"' in (package / "pyproject.toml").read_text()


@pytest.mark.slow
def test_every_kind_installs_and_passes_its_tests_in_a_fresh_venv(tmp_path):
    packages = [new_plugin(f"lab_{kind}", kind, tmp_path / "src") for kind in KINDS]
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                  "['purelib'])"], capture_output=True, text=True,
                                 check=True).stdout.strip()
    # third-party libraries (numpy, torch, ...) from this environment, never neuroalign itself
    Path(target_site, "_third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
               "--no-deps", "--no-build-isolation", "--no-index", str(ROOT),
               str(ROOT / "plugins" / "neuroalign-neural"), *map(str, packages)]
    subprocess.run(install, check=True, capture_output=True, text=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    for package in packages:
        module = package.name.replace("-", "_")
        where = subprocess.run([python, "-c", f"import neuroalign, {module}; "
                                f"print(neuroalign.__file__); print({module}.__file__)"],
                               capture_output=True, text=True, check=True, env=env).stdout
        assert all(line.startswith(target_site) for line in where.split()), where
        run = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                             cwd=package, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert " passed" in run.stdout and "skipped" not in run.stdout
    listed = subprocess.run([python, "-m", "neuroalign.app.cli", "list", "models"],
                            capture_output=True, text=True, check=True,
                            env={**env, "NEUROALIGN_LOAD_PLUGINS": "lab_model"}).stdout
    assert "lab_model:tiny-cnn" in listed
