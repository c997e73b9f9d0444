"""The house rules of the source tree: imports run one way, and stages/ shows the flow."""

import ast
from pathlib import Path

from pipeline.flow import FLOW, STAGES

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("stages", "pipeline", "schemas")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, lazy imports inside functions included."""
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
            else:
                continue
            targets |= {target for target in map(resolve, names) if target and target != module}
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_stages_never_import_the_driver():
    upward = {module: sorted(t for t in targets if t.startswith("pipeline")) for module, targets in import_graph().items() if module.startswith("stages")}
    assert {module: targets for module, targets in upward.items() if targets} == {}


def test_stages_top_level_holds_stages_and_two_subpackages():
    """Every top-level module or package of stages/ holds a stage of the flow, except io/ (sources,
    stores and the shard writer) and runtime/ (what every worker shares)."""
    top_level = {path.stem for path in (REPO / "stages").iterdir() if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()}
    homes = {stage.__module__.split(".")[1] for stage in STAGES.values()}
    assert top_level - homes == {"io", "runtime"}
    assert {name for name, _ in FLOW} <= set(STAGES)
