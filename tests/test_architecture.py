"""The package's shape: no import cycle, no argparse outside ``specir.scripts``, size limits.

Import edges are read from the source (``ast``), not by importing, so the test is fast and
sees every module, imported or not. BOTH module-level and function-level imports count: a
function-local import only postpones the cycle to the first call (the issue-15 cycle
``train`` ↔ ``evaluate`` hid behind seven of them), and for a reader the two modules still
depend on each other. Imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

import ast
from pathlib import Path

import pytest

import specir

PACKAGE = Path(specir.__file__).parent
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield ".".join(parts), path


def _type_checking_nodes(tree):
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def _imported_names(module, path, tree):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip = _type_checking_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def import_graph():
    """``{module: set of specir modules it imports}`` (module- and function-level)."""
    sources = dict(_modules())
    graph = {}
    for module, path in sources.items():
        edges = set()
        for name in _imported_names(module, path, ast.parse(path.read_text())):
            while name and name not in sources:  # `from specir.x import name` -> specir.x
                name = name.rpartition(".")[0]
            # a submodule's own package (its __init__) is imported by Python anyway: no edge
            if name and name != module and not module.startswith(name + "."):
                edges.add(name)
        graph[module] = edges
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_graph_sees_function_level_imports():
    graph = import_graph()
    # specir.predict imports specir.spectra inside predict_ir only
    assert "specir.spectra" in graph["specir.predict"]
    assert "specir.scoring" in graph["specir.train"] and "specir.train" in graph["specir.evaluate"]


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_argparse_only_in_scripts():
    for module, path in _modules():
        if module.startswith("specir.scripts"):
            continue
        names = set(_imported_names(module, path, ast.parse(path.read_text())))
        assert "argparse" not in names, f"{module} imports argparse: move it to specir.scripts"


def _function_code_lines(node):
    body = node.body
    doc = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        doc = body[0].end_lineno - body[0].lineno + 1
    return node.end_lineno - node.lineno + 1 - doc, ast.get_docstring(node) or ""


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_file_and_function_sizes(path):
    rel = path.relative_to(PACKAGE).as_posix()
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_FILE_LINES, f"{rel}: split it into modules"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines, doc = _function_code_lines(node)
            assert lines <= MAX_FUNCTION_LINES or "Long because" in doc, (
                f"{rel}:{node.lineno} {node.name} has {lines} lines of code: split it, or say "
                "why not in its docstring ('Long because ...')"
            )
