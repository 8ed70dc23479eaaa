"""The package layout holds: one package per lifecycle step, no import cycle, public surfaces only.

The layers themselves are import-linter contracts in pyproject.toml (`lint-imports`, run by
`make test`); these tests add what import-linter does not check: imports inside functions
count for cycles, the top level holds only packages, and one package reaches another only
through what that package exports.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gitml"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(SRC.rglob("*.py"))}
PACKAGES = sorted(name for name, path in MODULES.items() if path.name == "__init__.py" and name.count(".") == 1)


def _imports(name: str) -> set[str]:
    """Every gitml module `name` imports, anywhere in its body (functions and TYPE_CHECKING blocks too)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from .x import y` inside package `package`
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parents + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {target for target in found if target in MODULES and target != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_import_cycle_even_inside_functions() -> None:
    assert _cycles(GRAPH) == []


def test_no_package_import_cycle() -> None:
    def package(name: str) -> str:
        return ".".join(name.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        packages.setdefault(package(name), set()).update(package(t) for t in targets if package(t) != package(name))
    assert _cycles(packages) == []


def test_the_top_level_holds_only_packages() -> None:
    files = sorted(p.name for p in SRC.iterdir() if p.is_file() and p.suffix == ".py")
    assert files == ["__init__.py", "__main__.py"]
    folders = [p for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__" and not p.name.startswith(".")]
    assert all((folder / "__init__.py").is_file() for folder in folders), "every folder of src/gitml is a package"


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_exports_exactly_its_public_modules_or_names(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == sorted(exported), "keep __all__ sorted"
    folder = SRC / package.split(".")[1]
    public_modules = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
    public_modules += sorted(p.name for p in folder.iterdir() if (p / "__init__.py").is_file())
    names = [name for name in exported if name not in public_modules]
    for name in names:  # a package may re-export names (gitml.config does): they must exist
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which it does not define"
    if not names:
        assert exported == sorted(public_modules), f"{package}.__all__ must list every public module"


def test_packages_reach_each_other_only_through_public_surfaces() -> None:
    problems = []
    for name, targets in GRAPH.items():
        source = ".".join(name.split(".")[:2])
        for target in targets:
            parts = target.split(".")
            if ".".join(parts[:2]) == source or len(parts) < 2:
                continue
            if any(part.startswith("_") for part in parts[2:]):
                problems.append(f"{name} imports the private module {target}")
            elif len(parts) > 2 and parts[2] not in importlib.import_module(".".join(parts[:2])).__all__:
                problems.append(f"{name} imports {target}, which {'.'.join(parts[:2])}.__all__ does not export")
    assert problems == []
