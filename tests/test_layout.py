"""The house rules of the source tree: imports run one way, and stages/ shows the flow."""

import ast
import graphlib
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


def test_the_graph_holds_lazy_imports_too():
    graph = import_graph()
    assert "stages.io.shard_writer" in graph["pipeline.views"]  # imported inside functions only
    assert "pipeline.flow" in graph["pipeline.plan"] and "stages.runtime.base" in graph["stages.fetch"]


def test_no_import_circle():
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None


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
