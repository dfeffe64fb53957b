"""Code blocks of the documentation run as shown.

* every ```toml block holding a ``[project]`` table (the ``pyproject.toml`` snippets of the plugin
  guide and the CORnet walk-through) builds a wheel, offline, with the name and version it shows;
* every ```python block preceded by ``<!-- doc-test -->`` runs as is in a fresh interpreter
  (``<!-- doc-test: network -->`` marks one that needs the internet: collected, then skipped
  with that reason, so the list of what is not run stays visible).

Mark a block that is meant to run; leave fragments (``...``, a function body shown alone)
unmarked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
               *(ROOT / "plugins").glob("*/README.md")])
FENCE = re.compile(r"(?P<marker><!-- doc-test(?::\s*(?P<flag>[\w-]+))? -->\s*\n)?"
                   r"```(?P<lang>\w+)[^\n]*\n(?P<body>.*?)```", re.S)


def blocks(lang: str) -> list[tuple[str, str, str | None, bool]]:
    """``(id, body, flag, marked)`` of every fenced block in ``lang``."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match["lang"] != lang:
                continue
            line = text.count("\n", 0, match.start("body"))
            found.append((f"{path.relative_to(ROOT)}:{line}", match["body"], match["flag"],
                          match["marker"] is not None))
    return found


PYPROJECTS = [(i, body) for i, body, _, _ in blocks("toml") if "[project]" in body]
PYTHON = [(i, body, flag) for i, body, flag, marked in blocks("python") if marked]


def test_the_docs_have_snippets_to_check():
    assert len(PYPROJECTS) >= 2 and PYTHON


@pytest.mark.parametrize("where, body", PYPROJECTS, ids=[i for i, _ in PYPROJECTS])
def test_pyproject_snippet_builds_as_shown(where, body, tmp_path):
    name = re.search(r'^name\s*=\s*"([^"]+)"', body, re.M)
    version = re.search(r'^version\s*=\s*"([^"]+)"', body, re.M)
    assert name and version, f"{where}: a [project] needs name and version to install"
    module = name.group(1).replace("-", "_")
    (tmp_path / "pyproject.toml").write_text(body)
    package = tmp_path / "src" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text("")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                          "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, f"{where}: {run.stderr[-2000:]}"
    wheels = [p.name for p in (tmp_path / "dist").glob("*.whl")]
    assert wheels == [f"{module}-{version.group(1)}-py3-none-any.whl"], wheels


@pytest.mark.parametrize("where, body, flag", PYTHON, ids=[i for i, _, _ in PYTHON])
def test_python_snippet_runs(where, body, flag, tmp_path):
    if flag == "network":
        # cannot run offline: it must still be valid Python that names importable modules
        import ast
        import importlib

        tree = ast.parse(body, where)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                importlib.import_module(node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
        return
    run = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1",
                              "NEUROALIGN_HOME": str(tmp_path / "home")})
    assert run.returncode == 0, f"{where} failed:\n{body}\n{run.stderr[-3000:]}"
