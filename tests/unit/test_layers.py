"""The package's imports follow the floors written in the README's Layout section: down only, no cycles.

Every import counts, also those inside functions (a lazy import is still a
dependency). A module may import its own unit and any unit on a lower floor;
an import of a unit on its own floor or above fails, naming the file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "doppel"
README = PACKAGE.parents[1] / "README.md"
# The package's own entry points sit above everything they expose.
EXEMPT = {"__init__", "__main__"}


def floors() -> dict[str, int]:
    """{unit: floor} from the README's "Floors, bottom up:" line (floors split by '|')."""
    text = README.read_text()
    match = re.search(r"Floors, bottom up:\s+`([^`]+)`", text)
    assert match, "README.md's Layout section must state the floors: Floors, bottom up: `a, b | c | ...`"
    return {
        unit.strip(): level
        for level, floor in enumerate(match.group(1).split("|"))
        for unit in floor.split(",")
        if unit.strip()
    }


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str]]:
    """(importing unit, imported unit, file) for every doppel import between different units."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        here = unit_of(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    package = module.split(".")[: -node.level + (path.name == "__init__.py") or None]
                    names = [".".join([*package, *([node.module] if node.module else [])])]
                else:
                    names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.startswith("doppel.") and unit_of(name) != here:
                    found.append((here, unit_of(name), str(path.relative_to(PACKAGE))))
    return found


def test_every_unit_has_a_floor():
    units = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
    }
    missing = sorted(units - EXEMPT - set(floors()))
    assert not missing, f"add these to the README's floors: {missing}"


def test_imports_only_go_down():
    level = floors()
    upward = sorted(
        {
            f"{file}: {src} (floor {level[src]}) imports {dst} (floor {level[dst]})"
            for src, dst, file in imports()
            if src not in EXEMPT and level[dst] >= level[src]
        }
    )
    assert not upward, "imports that run up or sideways:\n" + "\n".join(upward)


def module_graph() -> dict[str, set[str]]:
    """{module: modules of the package it imports}; ``from a import b`` counts a.b when b is a module."""
    paths = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[module] |= {n for n in names if n in paths and n != module}
    return graph


def test_no_module_imports_itself_back_through_others():
    graph = module_graph()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(path[path.index(module) :] + [module])
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
