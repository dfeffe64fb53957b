"""The core's import structure: no cycles, no plugin imports (read from the source with ast).

Imports under ``if TYPE_CHECKING:`` are typing only and do not count; imports inside functions
do (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import neuroalign

CORE = Path(neuroalign.__file__).parent
PLUGIN_PREFIXES = ("neuroalign_",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(module -> core modules it imports, module -> non-core top-level packages)``."""
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    external: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
                else:
                    stem = node.module or ""
                # ``from pkg import sub`` depends on the submodule when it is one
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem
                           for a in node.names]
            for target in targets:
                if target in modules:
                    if target != name:
                        edges[name].add(target)
                elif target.split(".")[0] != "neuroalign":
                    external[name].add(target.split(".")[0])
    return edges, external


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return cycles


def test_the_core_has_no_import_cycle():
    edges, _ = import_graph()
    assert len(edges) > 30  # the graph was really read
    assert find_cycles(edges) == []


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_core_imports_no_plugin():
    _, external = import_graph()
    offenders = {module: sorted(p for p in packages if p.startswith(PLUGIN_PREFIXES))
                 for module, packages in external.items()}
    assert {m: p for m, p in offenders.items() if p} == {}


def test_the_core_does_not_import_scikit_learn():
    """scikit-learn is a plugin dependency (neuroalign-neural), not the core's."""
    _, external = import_graph()
    assert sorted(m for m, packages in external.items() if "sklearn" in packages) == []


def test_the_abstract_layer_does_not_import_the_torch_implementation():
    edges, _ = import_graph()
    assert not any(t.startswith("neuroalign.extraction") for t in edges["neuroalign.interfaces"])
    assert not any(t.startswith("neuroalign.extraction") for t in edges["neuroalign.specs"])


def test_every_core_import_of_the_core_resolves():
    """A relative import that names no module of the core fails only when its line runs (many
    are inside functions): catch them all here."""
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    broken = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if target not in modules:
                    broken.append(f"{path.name}:{node.lineno} -> {target}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuroalign."):
                if node.module not in modules:
                    broken.append(f"{path.name}:{node.lineno} -> {node.module}")
    assert broken == []
