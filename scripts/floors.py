"""Count what breaks the floors: imports that run up a floor, and import circles.

    python scripts/floors.py [-v]

The floors are read from pyproject's import-linter "floors" contract (one source of truth);
its ignore_imports are NOT applied, so this measures the code as it is. An up-import is a
direct import from a module to a module on a higher floor, or to an independent sibling on
the same floor ("a | b"). A circle is a strongly connected component of more than one
module in peyvand's import graph (migrations left out). -v lists both.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def read_floors() -> list[tuple[list[str], bool]]:
    """The layers, lowest first: (module names, siblings independent)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "floors"]
    (container,) = contract["containers"]
    floors = []
    for layer in reversed(contract["layers"]):
        names = [f"{container}.{name.strip().strip('()')}" for name in re.split(r"[|:]", layer)]
        floors.append((names, "|" in layer))
    return floors


def place(module: str, owners: dict[str, tuple[int, str]]) -> tuple[int, str] | None:
    """(floor, top module) of the floor's module that contains this one, if any."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        found = owners.get(".".join(parts[:length]))
        if found:
            return found
    return None


def up_imports(graph: grimp.ImportGraph, modules: set[str]) -> list[tuple[str, str]]:
    floors = read_floors()
    owners = {name: (level, name) for level, (names, _) in enumerate(floors) for name in names}
    found = []
    for importer in sorted(modules):
        below = place(importer, owners)
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & modules):
            above = place(imported, owners)
            if below is None or above is None or below[1] == above[1]:
                continue
            sideways = below[0] == above[0] and floors[below[0]][1]
            if above[0] > below[0] or sideways:
                found.append((importer, imported))
    return found


def circles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.find_modules_directly_imported_by(node) & modules:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(modules)))
    for node in sorted(modules):
        if node not in index:
            visit(node)
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list them")
    verbose = parser.parse_args().verbose
    graph = grimp.build_graph("peyvand", cache_dir=None)
    modules = {m for m in graph.modules if ".migrations" not in m}
    ups = up_imports(graph, modules)
    rings = circles(graph, modules)
    print(f"imports up a floor: {len(ups)}")
    if verbose:
        for importer, imported in ups:
            print(f"  {importer} -> {imported}")
    print(f"import circles: {len(rings)}")
    if verbose:
        for ring in rings:
            print(f"  ({len(ring)}) " + ", ".join(ring))
    return 0


if __name__ == "__main__":
    sys.exit(main())
