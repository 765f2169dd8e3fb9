"""The package rules each ``__init__`` states, checked on the import graph of bot/ and handlers/.

The graph is read with ``ast``, without importing anything: an edge for every ``import`` and
``from … import`` of one of our modules, at any depth (a function-local import is a dependency
too), except under ``if TYPE_CHECKING:`` (annotations only).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers")
MAX_LINES = 600

HANDLERS_MAY_IMPORT = ("bot.core", "bot.signup", "bot.faq.text", "bot.stations.places")
"""Besides each other: the core, the signup package's pure parts (validators, masking, texts,
occupations, the card), the FAQ text helpers and the pure place helpers."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Our modules that ``module`` imports (a name imported from a package counts as its
    submodule when there is one)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".") if is_package else module.split(".")[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in out if name in known}


def import_graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {name: _imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", known)
            for name, path in sources.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_graph_sees_imports() -> None:
    """The checks below are only as good as the graph: it must see the imports we know of."""
    graph = import_graph()
    assert "handlers.commands" in graph["bot.core.router"]
    assert {"bot.faq.index", "bot.faq.text", "bot.faq.knowledge"} <= graph["bot.faq.matcher"]
    assert "bot.faq.matcher" not in graph["bot.faq.knowledge"]  # annotation only (TYPE_CHECKING)


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    assert _cycles(import_graph()) == []


def test_no_module_over_600_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in _sources().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_handlers_import_only_the_core_validators_and_faq_text_helpers() -> None:
    wrong = {(name, dep) for name, deps in import_graph().items() if name.startswith("handlers")
             for dep in deps
             if not dep.startswith("handlers")
             and not any(dep == ok or dep.startswith(ok + ".") for ok in HANDLERS_MAY_IMPORT)}
    assert wrong == set()


def test_only_the_router_imports_handlers() -> None:
    importers = {name for name, deps in import_graph().items() if not name.startswith("handlers")
                 and any(dep == "handlers" or dep.startswith("handlers.") for dep in deps)}
    assert importers == {"bot.core.router"}


def test_the_conversation_types_import_nothing_of_ours() -> None:
    assert import_graph()["bot.core.conversation"] == set()


def test_the_faq_imports_nothing_of_ours_outside_it_and_its_text_helpers_nothing_at_all() -> None:
    graph = import_graph()
    outside = {(name, dep) for name, deps in graph.items() if name.startswith("bot.faq")
               for dep in deps if not dep.startswith("bot.faq")}
    assert outside == set()
    assert graph["bot.faq.text"] == set()


def test_every_package_states_its_dependency_rule() -> None:
    for package in [ROOT / "bot", ROOT / "handlers", *sorted(p.parent for p in (ROOT / "bot").glob("*/__init__.py"))]:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "Dependency rule:" in doc, package
