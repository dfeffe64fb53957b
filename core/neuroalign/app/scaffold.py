"""``neuroalign new-plugin NAME --kind KIND``: a working, pip-installable plugin package.

The package has the shape every neuroalign plugin has (``plugin.py`` with the hooks only,
``specs.py`` with the specs, runtime modules named for what they hold, ``tests/`` with the
conformance kit), and its tests pass as generated. The files come from the templates shipped
in ``neuroalign/app/template`` (``string.Template`` placeholders such as ``${name}``).
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import SpecError

__all__ = ["KINDS", "new_plugin"]

#: kind -> (hook kinds registered, runtime modules, extra dependencies)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "model": (("model",), ("model",), ('"torch>=2.1"',)),
    "metric": (("metric",), ("metric",), ('"numpy>=1.24"', '"xarray>=2023.6"')),
    "dataset": (("dataset",), ("data", "synthetic"), ('"numpy>=1.24"', '"xarray>=2023.6"')),
    "benchmark": (("dataset", "benchmark"), ("data", "synthetic", "benchmarks"),
                  ('"numpy>=1.24"', '"xarray>=2023.6"', '"neuroalign-neural>=0.1"')),
}
_SPEC_TYPES = {"model": "ModelSpec", "metric": "MetricSpec", "dataset": "DatasetSpec",
               "benchmark": "BenchmarkSpec"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _plugin_py(dist: str, name: str, hooks: tuple[str, ...]) -> str:
    types = sorted(_SPEC_TYPES[h] for h in hooks)
    lines = [f'"""Hooks of ``{dist}`` (entry point ``{name}`` of group ``neuroalign``)."""', "",
             "from __future__ import annotations", "", "from collections.abc import Callable", "",
             f"from neuroalign import {', '.join(types)}, hookimpl", "",
             f"from .specs import {', '.join(f'{h}_specs' for h in hooks)}", ""]
    for hook in hooks:
        lines += ["", "@hookimpl",
                  f"def register_{hook}s(register: Callable[[{_SPEC_TYPES[hook]}], None]) -> None:",
                  f'    """Register this plugin\'s {hook}s (specs only: cheap, no I/O)."""',
                  f"    for spec in {hook}_specs():", "        register(spec)", ""]
    return "\n".join(lines)


def new_plugin(name: str, kind: str, directory: str | os.PathLike[str] = ".", *,
               overwrite: bool = False) -> Path:
    """Write the plugin package ``neuroalign-<name>`` into ``directory``; return its folder.

    Parameters
    ----------
    name : str
        Short name, lower_snake_case (``mylab``): distribution ``neuroalign-mylab``, import
        ``neuroalign_mylab``, entry point ``mylab``, ids ``mylab:...`` / ``Mylab.*``.
    kind : {"model", "benchmark", "metric", "dataset"}
        What the package starts with (a benchmark comes with its dataset).
    directory : path
        Where the folder ``neuroalign-<name>`` is created.
    overwrite : bool
        Replace an existing folder (never done silently).
    """
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise SpecError(f"plugin name {name!r} must be lower_snake_case, e.g. 'mylab'")
    if kind not in KINDS:
        raise SpecError(f"unknown kind {kind!r}; choose one of {sorted(KINDS)}")
    hooks, runtime, dependencies = KINDS[kind]
    dist, module = f"neuroalign-{name.replace('_', '-')}", f"neuroalign_{name}"
    family = "".join(part.capitalize() for part in name.split("_"))
    values = {"name": name, "dist": dist, "module": module, "kind": kind, "Family": family,
              "runtime": runtime[-1], "spec_type": _SPEC_TYPES[kind],
              "description": f"{family}'s {kind} for neuroalign.",
              "dependencies": "".join(f"    {d},\n" for d in dependencies)}
    target = Path(directory) / dist
    if target.exists() and not overwrite:
        raise SpecError(f"{target} already exists; choose another name or pass --overwrite")
    template = resources.files("neuroalign.app") / "template"

    def render(relative: str) -> str:
        return Template((template / relative).read_text()).substitute(values)

    files = {
        "pyproject.toml": render("pyproject.toml.tmpl"),
        "README.md": render("README.md.tmpl"),
        f"src/{module}/__init__.py": render("src/__init__.py.tmpl"),
        f"src/{module}/plugin.py": _plugin_py(dist, name, hooks),
        f"src/{module}/specs.py": render(f"src/specs_{kind}.py.tmpl"),
        "tests/test_conformance.py": render("tests/test_conformance.py.tmpl"),
        f"tests/test_{kind}.py": render(f"tests/test_{kind}.py.tmpl"),
    }
    for part in runtime:
        files[f"src/{module}/{part}.py"] = render(f"src/{part}.py.tmpl")
    # written beside the target, then moved into place: never a half-written package
    Path(directory).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dist}-", dir=directory))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
