"""The fenced code blocks of the documentation, what each is, and the offline checks of those
that cannot run here (used by ``test_doc_snippets.py``).

The rule, per fence language:

* ``python``, ``bash``/``sh``/``shell``, ``console`` (lines starting ``$ `` are commands, the
  rest is their output) are **run**, unless the HTML comment on the line above the fence says
  otherwise: ``<!-- doc-test: DIRECTIVE[; DIRECTIVE...] -->`` with DIRECTIVE one of

  - ``network`` / ``gpu`` / ``cluster`` (optionally ``network (why)``): needs what this test
    does not have; *checked* offline instead: Python is compiled and its imports resolved and
    the ids it passes to ``score``/``get_model``/... looked up; shell commands are parsed by
    the ``neuroalign`` CLI (command, options, ids looked up), ``pip install`` requirements named
    (this repository's distributions and extras must exist), ``python -m`` modules found;
  - ``ci (why)``: the command runs a test suite or a benchmark script that CI or its author runs
    on its own: checked (paths exist, modules found), not run;
  - ``fragment``: Python that is part of a module or class (a hook body, a signature, a method
    line): compiled and its absolute imports resolved, not run;
  - ``given NAME[, NAME]``: run after the setup the test defines under NAME (``GIVEN``);
  - ``replace "OLD" with "NEW" because WHY``: run with OLD replaced by NEW (a smaller model, a
    local path), and WHY says why;
  - ``pytest``: Python that is a test module: written to a file and run by pytest.
* ``text`` is output, a tree or a message: never run. ``json`` must parse. ``toml`` must parse;
  one holding ``[project]`` must build a wheel with the name and version it shows.
* A fence without a language, or with another one, is an error: say what it is.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"),
               *(ROOT / "plugins").glob("*/README.md")])
RUN_LANGS = {"python", "bash", "sh", "shell", "console"}
DATA_LANGS = {"json", "toml"}
OUTPUT_LANGS = {"text"}
NOT_RUN = ("network", "gpu", "cluster", "ci", "fragment")
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[^\s`]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.S | re.M)
MARKER = re.compile(r"<!--[ \t]*doc-test:[ \t]*(?P<body>[^\n]*?)[ \t]*-->[ \t]*\n[ \t]*$")
REPLACE = re.compile(r'replace\s+"(?P<old>[^"]+)"\s+with\s+"(?P<new>[^"]*)"\s+because\s+\S')
FIX = ("mark it: ```text for output (or a tree, a message); <!-- doc-test: network --> (or gpu, "
       "cluster, ci) on the line above for a block that cannot run offline; <!-- doc-test: "
       "fragment --> for Python that is part of a module; <!-- doc-test: given NAME --> or "
       "<!-- doc-test: replace \"OLD\" with \"NEW\" because WHY --> to run it with a setup or a "
       "smaller stand-in (see tests/doc_blocks.py)")


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    body: str
    marker: str | None
    flags: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    replace: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in RUN_LANGS and not set(self.flags) & set(NOT_RUN)

    @property
    def category(self) -> str:
        if self.lang in OUTPUT_LANGS:
            return "output"
        if self.lang in DATA_LANGS:
            return "data"
        if self.runs:
            return "run"
        return next(f for f in self.flags if f in NOT_RUN)

    def code(self) -> str:
        """The body with the marker's replacements made."""
        body = self.body
        for old, new in self.replace:
            assert old in body, f"{self.where}: the marker replaces {old!r}, not in the block"
            body = body.replace(old, new)
        return body


def parse_marker(where: str, text: str) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    flags, given, replace = [], [], []
    for part in (p.strip() for p in re.split(
            r";\s*(?=(?:replace|given|network|gpu|cluster|ci|fragment|pytest)\b)", text)):
        if not part:
            continue
        if part.startswith("replace"):
            match = REPLACE.fullmatch(part) or REPLACE.match(part)
            assert match, (f'{where}: write `replace "OLD" with "NEW" because WHY`, not {part!r}')
            replace.append((match["old"], match["new"]))
        elif part.startswith("given "):
            given += [name.strip() for name in part[6:].split(",")]
        else:
            word = part.split()[0].rstrip(":")
            assert word in NOT_RUN + ("pytest",), f"{where}: unknown doc-test directive {part!r}"
            flags.append(word)
    return flags, given, replace


def blocks(paths: list[Path] | None = None) -> list[Block]:
    """Every fenced block of ``paths`` (default :data:`DOCS`), with its marker parsed."""
    found = []
    for path in DOCS if paths is None else paths:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            before = text[:match.start()]
            above = "\n".join(before.split("\n")[-2:])  # the line above the fence, whole
            marker = MARKER.search(above)
            assert marker or "doc-test" not in above, (
                f"{path}:{text.count(chr(10), 0, match.start()) + 1}: the line above the fence "
                f"looks like a doc-test marker but does not parse: {above.strip()[:200]!r}")
            line = text.count("\n", 0, match.start()) + 1
            body = "\n".join(row[len(match["indent"]):] for row in match["body"].splitlines())
            block = Block(path, line, match["lang"], body + "\n", marker and marker["body"])
            if marker:
                block.flags, block.given, block.replace = parse_marker(block.where, marker["body"])
            found.append(block)
    return found


def violations(found: list[Block]) -> list[str]:
    """Blocks that break the rule, each as ``file:line: what is wrong and the fix``."""
    wrong = []
    for block in found:
        if not block.lang:
            wrong.append(f"{block.where}: a fence without a language: {FIX}")
        elif block.lang not in RUN_LANGS | DATA_LANGS | OUTPUT_LANGS:
            wrong.append(f"{block.where}: fence language {block.lang!r} is none of "
                         f"{sorted(RUN_LANGS | DATA_LANGS)} or text: {FIX}")
        elif block.lang == "text" and re.search(
                r"^(\$ |neuroalign [a-z]|pip install |import |from \w+ import )", block.body, re.M):
            wrong.append(f"{block.where}: this ```text block holds commands or code: make it "
                         "```console/```bash/```python (run, or marked as needing network), "
                         "or show only output")
        elif block.marker and block.lang not in RUN_LANGS | {"toml"}:
            wrong.append(f"{block.where}: a doc-test marker on a ```{block.lang} block")
        elif "fragment" in block.flags and block.lang != "python":
            wrong.append(f"{block.where}: only Python can be a fragment")
    return wrong


# ------------------------------------------------------------------------------- shell


def commands(block: Block, body: str | None = None) -> list[tuple[str, str | None]]:
    """``(command line, output shown after it or None)`` of a shell or console block."""
    body = block.code() if body is None else body
    out: list[tuple[str, str | None]] = []
    if block.lang == "console":
        rows = body.splitlines()
        pending: list[list] = []
        i = 0
        while i < len(rows):
            if rows[i].startswith("$ "):
                command = [rows[i][2:]]
                while command[-1].rstrip().endswith("\\") and i + 1 < len(rows):
                    i += 1
                    command.append(rows[i])
                pending.append(["\n".join(command), []])
            else:
                assert pending, f"{block.where}: a console block starts with a `$ command` line"
                pending[-1][1].append(rows[i])
            i += 1
        return [(command, "\n".join(shown) if shown else None) for command, shown in pending]
    logical = ""
    for row in body.splitlines():
        logical += row + "\n"
        if row.rstrip().endswith("\\"):
            continue
        if logical.strip() and not logical.lstrip().startswith("#"):
            out.append((logical.rstrip("\n"), None))
        logical = ""
    return out


def argv_of(command: str) -> tuple[dict[str, str], list[str]]:
    """Environment assignments and argv of one command line (comments dropped)."""
    words = shlex.split(command.replace("\\\n", " "), comments=True)
    env = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def check_command_offline(where: str, command: str, *, ids: bool = True) -> str:
    """Check what can be checked of a command without running it; return what was checked.
    ``ids=False``: the command is shown failing on an unknown id; only parse it."""
    env, argv = argv_of(command)
    if not argv:
        return "empty"
    program = Path(argv[0]).name
    if program == "neuroalign":
        return check_cli(where, argv[1:], ids=ids)
    if program == "pip" or argv[1:3] == ["-m", "pip"]:
        return check_pip(where, argv[argv.index("install") + 1:] if "install" in argv else [])
    if program.startswith("python"):
        if len(argv) > 2 and argv[1] == "-m":
            if argv[2] == "pytest":
                return check_paths(where, argv[3:])
            assert importlib.util.find_spec(argv[2]), f"{where}: no module {argv[2]!r}"
            return f"module {argv[2]} found"
        return check_paths(where, argv[1:2])
    if program == "pytest":
        return check_paths(where, argv[1:])
    if program == "bash" and argv[1:2] == ["dev"]:
        cases = re.findall(r"^  (\w+)\)", (ROOT / "dev").read_text(), re.M)
        assert argv[2] in cases, f"{where}: `bash dev {argv[2]}`: dev knows {cases}"
        return f"dev {argv[2]} exists"
    return f"{program}: not checked"


def check_paths(where: str, args: list[str]) -> str:
    paths = [a for a in args if not a.startswith("-")][:1]
    for path in paths:
        assert (ROOT / path).exists(), f"{where}: {path} does not exist in the repository"
    return f"{paths} exist"


def _distributions() -> dict[str, Path]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    found = {}
    for pyproject in [ROOT / "pyproject.toml", *ROOT.glob("plugins/*/pyproject.toml")]:
        found[tomllib.loads(pyproject.read_text())["project"]["name"]] = pyproject
    return found


def check_pip(where: str, args: list[str]) -> str:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    from packaging.requirements import Requirement

    ours = _distributions()
    checked = []
    it = iter(args)
    for arg in it:
        if arg in ("-e", "--editable"):
            path = next(it)
            if Path(path).name.replace("-", "_") in READER_PACKAGES:
                continue
            assert (ROOT / path / "pyproject.toml").is_file(), f"{where}: {path} is no project"
            checked.append(path)
        elif arg.startswith("-"):
            continue
        else:
            requirement = Requirement(arg)
            if requirement.name.startswith("neuroalign"):
                assert requirement.name in ours, (
                    f"{where}: {requirement.name!r} is none of this repository's distributions")
                extras = tomllib.loads(ours[requirement.name].read_text())["project"].get(
                    "optional-dependencies", {})
                assert requirement.extras <= set(extras), (
                    f"{where}: {arg}: extras {sorted(requirement.extras - set(extras))} unknown")
            checked.append(requirement.name)
    return f"pip install {checked}"


_KINDS = {"model": "model", "models": "model", "benchmark": "benchmark",
          "benchmarks": "benchmark", "dataset": "dataset"}


def check_cli(where: str, args: list[str], *, ids: bool = True) -> str:
    """Parse ``neuroalign ARGS`` with the CLI (unknown commands and options fail) and look up the
    ids it names."""
    import click

    from neuroalign.app.cli import cli
    from neuroalign.plugins.lookup import get_spec

    import warnings

    ctx = cli.make_context("neuroalign", list(args))
    names = []
    while isinstance(ctx.command, click.Group):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = ctx.protected_args + ctx.args
        name, command, rest = ctx.command.resolve_command(ctx, rest)
        names.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    params = ctx.params
    if not ids:
        return "neuroalign " + " ".join(names) + " parsed"
    if names[:1] in (["score"], ["grid"]):
        models = [params["model"]] if "model" in params else list(params["models"])
        for model in models:
            get_spec("model", model)
        patterns = params.get("benchmarks") or params.get("patterns") or ()
        for pattern in patterns:
            for part in pattern.split(","):
                if any(c in part for c in "*?["):
                    assert _matches(part), f"{where}: no benchmark matches {part!r}"
                else:
                    get_spec("benchmark", part)
    elif names[:1] == ["fetch"]:
        get_spec("dataset", params["dataset"])
    elif names[:1] == ["info"]:
        assert any(_has(kind, params["identifier"]) for kind in
                   ("model", "benchmark", "dataset", "metric", "attack", "aggregator")), (
            f"{where}: unknown id {params['identifier']!r}")
    elif names[:1] == ["install"]:
        ours = _distributions()
        for name in params.get("names") or ():
            if name.replace("-", "_") in READER_PACKAGES:
                continue
            assert name in ours or _has("benchmark", name), f"{where}: {name!r} unknown"
    return "neuroalign " + " ".join(names) + " parsed, ids found"


def _matches(pattern: str) -> bool:
    from neuroalign.plugins.lookup import list_benchmarks

    return bool(list_benchmarks(pattern))


def _has(kind: str, identifier: str) -> bool:
    from neuroalign.plugins.lookup import get_spec

    try:
        get_spec(kind, identifier)
    except Exception:  # noqa: BLE001
        return False
    return True


# ------------------------------------------------------------------------------- python

#: the reader's own package in a walk-through (plugins/neuroalign-cornet/README.md): not importable
READER_PACKAGES = {"neuroalign_mylab"}
#: call name -> kinds of its literal string arguments, by position
_ID_ARGS = {"get_model": ("model",), "load_model": ("model",), "score": ("model", "benchmark"),
            "get_benchmark": ("benchmark",), "get_attack": ("attack",),
            "get_metric": ("metric",), "get_ceiling": ("metric",), "grid": ("model", "pattern"),
            "compose": ("benchmark",)}


def check_python_offline(where: str, code: str) -> str:
    """Compile ``code``, import every module it imports, look up the ids it passes by name."""
    tree = ast.parse(code, where)
    imported = []
    for node in ast.walk(tree):
        module_name = getattr(node, "module", None) or ""
        if module_name.split(".")[0] in READER_PACKAGES:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if _named_for_install(node.module, code):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if alias.name != "*" and not hasattr(module, alias.name):
                    importlib.import_module(f"{node.module}.{alias.name}")
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in READER_PACKAGES and \
                        not _named_for_install(alias.name, code):
                    importlib.import_module(alias.name)
                    imported.append(alias.name)
    ids = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        for kind, arg in zip(_ID_ARGS.get(name, ()), node.args):
            for value in _strings(arg):
                ids += 1
                if kind == "pattern" or any(c in value for c in "*?["):
                    assert _matches(value), f"{where}: no benchmark matches {value!r}"
                else:
                    assert _has(kind, value), f"{where}: {name}(...): unknown {kind} {value!r}"
    return f"compiled; imports {imported} resolved; {ids} ids found"


def _named_for_install(module: str, code: str) -> bool:
    """A third-party module that is not installed here but that the block says to pip install."""
    top = module.split(".")[0]
    if top.startswith("neuroalign") or importlib.util.find_spec(top) is not None:
        return False
    return bool(re.search(rf"pip install[^\n]*\b{re.escape(top.replace('_', '-'))}\b", code))


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [v for item in node.elts for v in _strings(item)]
    if isinstance(node, ast.Dict):
        return [v for item in node.values for v in _strings(item)]
    return []
