"""The pipeline's modules import one another one way: no cycle in the import graph of models/uae (and the
top-level modules beside it), counting imports inside functions too, which hide a cycle from Python
without removing it."""
import ast
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"


def module_names():
    """{dotted module name: file} for models/uae/*.py and models/*.py."""
    out = {p.stem: p for p in MODELS.glob("*.py")}
    for p in (MODELS / "uae").glob("*.py"):
        out["uae" if p.stem == "__init__" else f"uae.{p.stem}"] = p
    return out


def imported(name, path, known):
    """The known modules that `path` (module `name`) imports anywhere in its body -> set of names."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found = set()

    def add(target):
        if target in known and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            add(base)
            for alias in node.names:   # `from . import hardneg`: a submodule
                add(f"{base}.{alias.name}" if base else alias.name)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__"
              and node.args and isinstance(node.args[0], ast.Constant)):
            add(node.args[0].value)
    return found


def import_graph():
    known = module_names()
    return {name: imported(name, path, known) for name, path in known.items()}


def find_cycle(graph):
    """One import cycle as [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_module_level_and_function_local_imports():
    graph = import_graph()
    assert "uae.checkpoints" in graph["uae.bundle"] and "uae.config" in graph["uae.bundle"]
    assert "grpo_ref" in graph["uae.rl"]
    assert "uae.hardneg" in graph["uae.train"]          # imported inside train_scorer
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_pipeline():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
