"""Every fenced code block of the documentation is what it says: run, checked, or marked output.

The rule per fence language and the ``<!-- doc-test: ... -->`` directives are in
``tests/doc_blocks.py``. Blocks run in a temporary ``NEUROALIGN_HOME``, offline
(``NEUROALIGN_OFFLINE=1``), in a work folder holding ``demo-store/``: the synthetic demo store and
results that ``neuroalign demo --quick`` builds for the ground-truth network on the Majaj-Hong
and example benchmarks (built once per session; ``NEUROALIGN_STORE`` points at its store). Python
blocks of one page run in order in one interpreter (a page reads like a notebook), each shell
command in its own ``bash``. A console command whose shown output starts with ``error:`` must
fail with that message (``…``/``...`` match anything); ``$ echo $?`` must print the status shown.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import doc_blocks  # noqa: E402
from doc_blocks import ROOT, Block  # noqa: E402

BLOCKS = doc_blocks.blocks()
#: the reduced demo every `neuroalign demo` block runs as (see the blocks' replace markers)
DEMO = ("neuroalign demo --quick -o demo-store -m synthetic:groundtruth -b 'MajajHong2015*' "
        "-b 'Example.*'")

#: setups a block names with ``<!-- doc-test: given NAME -->`` (Python, or shell for shell blocks)
GIVEN = {
    "stimulus_arrays": """
        import numpy as np
        ids = ["a", "b", "c", "d", "e", "f"]
        images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
        names, levels = ["car", "dog"] * 3, [0, 3, 6] * 2
    """,
    "my_module": """
        import torch
        import neuroalign

        class MyNet(torch.nn.Module):
            '''A small 4-block CNN standing in for the reader's network (narrow layers: the
            PCA of its activations is cheap).'''
            def __init__(self):
                super().__init__()
                for i, (a, b, k) in enumerate([(3, 4, 8), (4, 8, 4), (8, 16, 2), (16, 16, 2)], 1):
                    setattr(self, f"block{i}", torch.nn.Sequential(
                        torch.nn.Conv2d(a, b, k, stride=k), torch.nn.ReLU()))
                self.pool = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
            def forward(self, x):
                return self.pool(self.block4(self.block3(self.block2(self.block1(x)))))

        torch.manual_seed(0)
        my_module = MyNet()
        torch.save(MyNet().state_dict(), "my_weights.pt")
    """,
    "assemblies": """
        from neuroalign.testing import synthetic_assembly
        source = synthetic_assembly(120, 30, seed=1)
        target = synthetic_assembly(120, 8, seed=2)
        trials = synthetic_assembly(120, 8, seed=2, repetitions=4, noise=0.5)
    """,
    "asset_spec": "from neuroalign import AssetSpec\n",
    "example_plugin": "import neuroalign\nimport neuroalign_example.plugin\n",
    "imagenet_csv": "printf 'model,imagenet_top1\\nsynthetic:groundtruth,0.5\\n' > imagenet.csv",
}


# ------------------------------------------------------------------------------ environment


@pytest.fixture(scope="session")
def doc_env(tmp_path_factory):
    """``(work folder, environment)``: the demo store built once, a private home, offline."""
    work = tmp_path_factory.mktemp("doc-work")
    bin_dir = str(Path(sys.executable).parent)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("NEUROALIGN_", "PYTEST_"))}
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), OMP_NUM_THREADS="1",
               NEUROALIGN_HOME=str(work / "home"), NEUROALIGN_OFFLINE="1",
               NEUROALIGN_STORE=str(work / "demo-store" / "store"), HF_HUB_OFFLINE="1",
               COLUMNS="160", VIRTUAL_ENV=str(Path(sys.executable).parents[1]))
    run = subprocess.run(DEMO, shell=True, cwd=work, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"building the demo store failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
    return work, env


def _bash(command: str, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600)


def _expected_error(shown: str) -> re.Pattern[str]:
    first = shown.splitlines()[0]
    parts = re.split(r"…|\.\.\.", first)
    return re.compile(".*".join(re.escape(p) for p in parts))


# ------------------------------------------------------------------------------------ the rule


def test_every_block_is_runnable_checked_or_marked_output():
    wrong = doc_blocks.violations(BLOCKS)
    assert not wrong, "\n".join(wrong)
    counts = {}
    for block in BLOCKS:
        counts[block.category] = counts.get(block.category, 0) + 1
    assert counts.get("run", 0) >= 30, counts


def test_an_unmarked_or_mislabelled_block_is_named_with_its_fix(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```\nneuroalign list benchmarks\n```\n\n```text\n$ neuroalign demo\n```\n"
                    "\n<!-- doc-test: network -->\n```json\n{}\n```\n")
    wrong = doc_blocks.violations(doc_blocks.blocks([page]))
    assert [w.split(": ")[0] for w in wrong] == [f"{page}:3", f"{page}:7", f"{page}:12"]
    assert "```text for output" in wrong[0] and "<!-- doc-test: network -->" in wrong[0]
    assert "holds commands" in wrong[1] and "marker on a ```json" in wrong[2]
    with pytest.raises(AssertionError, match="unknown doc-test directive 'netwrok'"):
        page.write_text("<!-- doc-test: netwrok -->\n```bash\nls\n```\n")
        doc_blocks.blocks([page])


def _ids(blocks: list[Block]) -> list[str]:
    return [b.where for b in blocks]


# ------------------------------------------------------------------------------------ data

PYPROJECTS = [b for b in BLOCKS if b.lang == "toml" and "[project]" in b.body]
DATA = [b for b in BLOCKS if b.lang in ("json", "toml")]


@pytest.mark.parametrize("block", DATA, ids=_ids(DATA))
def test_data_block_parses(block):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    if block.lang == "json":
        json.loads(block.body)
    else:
        tomllib.loads(block.body)


@pytest.mark.parametrize("block", PYPROJECTS, ids=_ids(PYPROJECTS))
def test_pyproject_snippet_builds_as_shown(block, tmp_path):
    body = block.body
    name = re.search(r'^name\s*=\s*"([^"]+)"', body, re.M)
    version = re.search(r'^version\s*=\s*"([^"]+)"', body, re.M)
    assert name and version, f"{block.where}: a [project] needs name and version to install"
    module = name.group(1).replace("-", "_")
    (tmp_path / "pyproject.toml").write_text(body)
    package = tmp_path / "src" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text("")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                          "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, f"{block.where}: {run.stderr[-2000:]}"
    wheels = [p.name for p in (tmp_path / "dist").glob("*.whl")]
    assert wheels == [f"{module}-{version.group(1)}-py3-none-any.whl"], wheels


# ------------------------------------------------------------------------ not run: checked

CHECKED = [b for b in BLOCKS if b.lang in doc_blocks.RUN_LANGS and not b.runs]


@pytest.mark.parametrize("block", CHECKED, ids=_ids(CHECKED))
def test_block_that_cannot_run_here_is_checked_offline(block):
    if block.lang == "python":
        doc_blocks.check_python_offline(block.where, block.code())
        return
    for command, shown in doc_blocks.commands(block):
        doc_blocks.check_command_offline(block.where, command,
                                         ids=not (shown or "").startswith("error:"))


# ------------------------------------------------------------------------------------ run

SHELL = [b for b in BLOCKS if b.runs and b.lang != "python"]
PYTHON = [b for b in BLOCKS if b.runs and b.lang == "python" and "pytest" not in b.flags]
PYTEST = [b for b in BLOCKS if b.runs and "pytest" in b.flags]


@pytest.mark.parametrize("block", SHELL, ids=_ids(SHELL))
def test_shell_block_runs(block, doc_env):
    work, env = doc_env
    for name in block.given:
        assert _bash(GIVEN[name], work, env).returncode == 0
    status = None
    steps = doc_blocks.commands(block)
    for index, (command, shown) in enumerate(steps):
        if command.strip() == "echo $?":
            assert shown is not None and shown.strip() == str(status), (
                f"{block.where}: `echo $?` shows {shown!r}, the status was {status}")
            continue
        run = _bash(command, work, env)
        status = run.returncode
        if shown is not None and shown.startswith("error:"):
            assert run.returncode == 2, f"{block.where}: `{command}` should fail: {run.stdout}"
            assert _expected_error(shown).search(run.stderr.replace("\n", " ")), (
                f"{block.where}: `{command}` printed\n{run.stderr}\nnot\n{shown}")
        elif index + 1 < len(steps) and steps[index + 1][0].strip() == "echo $?":
            continue  # the block shows the status next
        else:
            assert run.returncode == 0, (
                f"{block.where}: `{command}` exited {run.returncode}:\n{run.stdout[-2000:]}\n"
                f"{run.stderr[-3000:]}\n(fix the docs, or {doc_blocks.FIX})")


_DRIVER = textwrap.dedent("""
    import json, sys, traceback
    blocks = json.load(open(sys.argv[1]))
    results, namespace = {}, {"__name__": "__main__"}
    for where, setup, code in blocks:
        try:
            exec(compile(setup, where + " (given)", "exec"), namespace)
            exec(compile(code, where, "exec"), namespace)
            results[where] = None
        except BaseException:
            results[where] = traceback.format_exc()
    json.dump(results, open(sys.argv[2], "w"))
""")
_PAGES: dict[Path, dict[str, str | None]] = {}


def _page_results(path: Path, work: Path, env: dict[str, str]) -> dict[str, str | None]:
    """Run the Python blocks of one page in order, in one interpreter; ``where -> traceback``."""
    if path not in _PAGES:
        todo = [(b.where, "".join(textwrap.dedent(GIVEN[n]) for n in b.given), b.code())
                for b in PYTHON if b.path == path]
        folder = work / "pages" / path.relative_to(ROOT).as_posix().replace("/", "_")
        folder.mkdir(parents=True)
        (folder / "blocks.json").write_text(json.dumps(todo))
        run = subprocess.run([sys.executable, "-c", _DRIVER, "blocks.json", "results.json"],
                             cwd=folder, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        _PAGES[path] = json.loads((folder / "results.json").read_text())
    return _PAGES[path]


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_block_runs(block, doc_env):
    work, env = doc_env
    error = _page_results(block.path, work, env)[block.where]
    assert error is None, f"{block.where} failed:\n{block.code()}\n{error}\n(fix the docs, or " \
                          f"{doc_blocks.FIX})"


@pytest.mark.parametrize("block", PYTEST, ids=_ids(PYTEST))
def test_test_module_block_passes(block, doc_env, tmp_path):
    _, env = doc_env
    setup = "".join(textwrap.dedent(GIVEN[n]) for n in block.given)
    (tmp_path / "test_doc_block.py").write_text(setup + block.code())
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_doc_block.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{block.where}:\n{run.stdout[-3000:]}{run.stderr[-2000:]}"


def _help_examples() -> list[tuple[str, str]]:
    """``(command path, example line)`` of every ``Examples:`` section in ``neuroalign --help``
    and its commands' help."""
    import click

    from neuroalign.app.cli import cli

    found = []

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        text = command.get_help(ctx)
        for section in re.findall(r"Examples?:\n((?:[ \t]+\S.*\n?)+)", text):
            found.extend((path, line.strip()) for line in section.splitlines()
                         if line.strip().startswith("neuroalign "))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")

    walk(cli, click.Context(cli, info_name="neuroalign"), "neuroalign")
    return found


def test_help_examples_parse_and_name_real_ids():
    examples = _help_examples()
    assert len(examples) >= 4, examples
    for path, line in examples:
        doc_blocks.check_command_offline(f"`{path} --help` example", line)
