"""The package import graph is the architecture (DESIGN.md, "Layout of the edge").

Built with ``ast`` over ``src/lionrock``: every ``import`` and ``from … import`` of a Lion Rock
module, wherever it stands (module level, inside a function, under ``TYPE_CHECKING``), so a
function-level import cannot dodge a cycle or an upward arrow: it counts like any other.

The allowed order, bottom first; a package may import packages of its own layer or below, never
above, and the packages never import each other in a cycle:

====  ==========================================================  =====================================
layer packages                                                    what
====  ==========================================================  =====================================
0     kernel, rules                                               shared kernel and the rulebook
1     listing, offering, trading, clearing, connect               the pure core (bounded contexts)
2     engine                                                      sequencer, Journal port, memory journal
3     storage                                                     SQLite / PostgreSQL journals, SQL store
4     readmodel                                                   projector and queries over the read store
5     service                                                     composition root, writer, hub, auth, policy
6     gateways, scale, files, sim, analytics, cli                 the ways in and the tools on top
====  ==========================================================  =====================================
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "lionrock"
LAYERS: dict[str, int] = {
    "kernel": 0,
    "rules": 0,
    "listing": 1,
    "offering": 1,
    "trading": 1,
    "clearing": 1,
    "connect": 1,
    "engine": 2,
    "storage": 3,
    "readmodel": 4,
    "service": 5,
    "gateways": 6,
    "scale": 6,
    "files": 6,
    "sim": 6,
    "analytics": 6,
    "cli": 6,
}
TOP = ""  # lionrock/__init__.py (the version): importable by all, imports nothing


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else TOP


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The Lion Rock modules ``path`` imports (``from a.b import c`` is ``a.b.c`` when that is a module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:  # ``import a.b.c`` of a name inside a module
                name = name.rpartition(".")[0]
            if name.startswith("lionrock") and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    known = set(files)
    return {module: _imports(path, module, known) for module, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            if _package(target) != _package(module):
                packages[_package(module)].add(_package(target))
    return packages


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for m in _graph()} - {TOP}
    assert packages <= set(LAYERS), f"packages without a layer in tests/test_layers.py: {sorted(packages - set(LAYERS))}"


def test_no_import_points_up_a_layer() -> None:
    upward = [
        f"{module} imports {target} (layer {LAYERS[_package(target)]} above {LAYERS[_package(module)]})"
        for module, targets in sorted(_graph().items())
        if _package(module) in LAYERS
        for target in sorted(targets)
        if _package(target) in LAYERS and LAYERS[_package(target)] > LAYERS[_package(module)]
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


KNOWN_CORE_CYCLE = ["clearing", "connect", "trading"]
"""The one package cycle left, in the core and owned there (December 2026): trading observes
connect's ``SouthboundOrderAdmitted`` (``trading._venue`` imports ``connect.events``) while
connect and clearing import trading's commands and events. The edge has none. This is pinned
exactly: a new cycle fails, and so does this one's removal (then delete this constant)."""


def test_packages_import_each_other_in_no_cycle() -> None:
    assert _cycles(_package_graph(_graph())) == [KNOWN_CORE_CYCLE], f"package import cycles: {_cycles(_package_graph(_graph()))}"


def test_modules_of_the_edge_import_each_other_in_no_cycle() -> None:
    """Module cycles in the edge's layers (storage and up), function-level imports included."""
    graph = _graph()
    edge = {
        m: {t for t in targets if LAYERS.get(_package(t), -1) >= LAYERS["storage"]}
        for m, targets in graph.items()
        if LAYERS.get(_package(m), -1) >= LAYERS["storage"]
    }
    assert not _cycles(edge), f"module import cycles: {_cycles(edge)}"


def test_the_graph_sees_function_level_imports() -> None:
    """The checker itself: an import inside a function body is an edge like any other."""
    source = "def f():\n    from lionrock.gateways.rest import app\n"
    tree_path = ROOT / "readmodel" / "__init__.py"
    known = {"lionrock.gateways.rest.app", "lionrock.gateways.rest", "lionrock.readmodel"}
    scratch = tree_path.with_name("_layers_probe.py")
    scratch.write_text(source)
    try:
        assert _imports(scratch, "lionrock.readmodel._layers_probe", known) == {"lionrock.gateways.rest.app"}
    finally:
        scratch.unlink()
