"""Imports run one way (docs/architecture.md): each package of tierzero imports only the
packages below it, so policy never depends on model code and no door holds workflow logic."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tierzero"
# Lowest first; a package may import itself and anything before it.
LAYERS = (
    "ingest",
    "correlate",
    "store",
    "tools",
    "guardrails",
    "settings",
    "agents",
    "usecases",
    "evals",
    "service",
    "cli",
)
# Leaf modules that import nothing of tierzero's, usable from any layer.
LEAVES = {"clock", "config", "prompts"}


def _imports(path: Path) -> set[str]:
    """The tierzero packages one module imports (at any depth, type-checking blocks included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tierzero" and len(parts) > 1:
                found.add(parts[1])
    return found


def _package(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def test_every_package_is_in_a_layer() -> None:
    packages = {_package(p) for p in PACKAGE.rglob("*.py")}
    assert packages - set(LAYERS) - LEAVES == {"__init__", "__main__"}


def test_imports_run_one_way() -> None:
    wrong: list[str] = []
    known = set(LAYERS) | LEAVES
    for path in sorted(PACKAGE.rglob("*.py")):
        package = _package(path)
        if package not in LAYERS:
            continue
        allowed = set(LAYERS[: LAYERS.index(package) + 1]) | LEAVES
        for imported in _imports(path) & known:
            if imported not in allowed:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports tierzero.{imported}")
    assert wrong == []


def test_leaves_import_nothing_of_tierzero() -> None:
    for leaf in LEAVES:
        paths = [PACKAGE / f"{leaf}.py"] if (PACKAGE / f"{leaf}.py").exists() else []
        paths += sorted((PACKAGE / leaf).rglob("*.py")) if (PACKAGE / leaf).is_dir() else []
        assert paths, leaf
        for path in paths:
            assert _imports(path) - {leaf} == set(), path


def test_only_llm_imports_openai() -> None:
    importers = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(
            isinstance(n, ast.Import | ast.ImportFrom)
            and any(
                name.split(".")[0] == "openai"
                for name in (
                    [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
                )
            )
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert importers == ["agents/llm.py"]


def test_only_the_model_client_imports_the_http_client() -> None:
    """httpx2 (the SDK's transport) and the limits on it are the model client's own: offline
    runs never load them, and the endpoint is reached only through the client that holds each
    call to its deadline and size cap."""
    http = {"httpx2", "httpcore2", "tierzero.agents.llm_limits"}
    importers = {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""])
        if name in http or name.split(".")[0] in http
    }
    assert importers <= {"agents/llm.py", "agents/llm_limits.py"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_between_modules() -> None:
    """Not even through ``if TYPE_CHECKING:`` imports: a cycle means two modules that cannot be
    read, or moved, one without the other."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in modules)
        graph[name] = deps - {name}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == []
