#!/usr/bin/env python3
"""Print the import graph of the installed namespace ``ecgdash``: cycles and floor violations.

Reads the source (every ``import`` and ``from ... import``, including those inside functions),
maps files to modules through ``[tool.setuptools] package-dir`` in pyproject.toml, and reports:

* cycles between files (strongly connected components of the module graph);
* cycles between units (``ecgdash.core``, ``ecgdash.timescale``, ..., each shell module);
* imports that go up a floor (``[tool.ecgdash.layers]``: a unit imports only lower ranks) or
  that a rule forbids (``[tool.ecgdash.forbidden]``);
* private names (``_x``) imported from another unit.

``--check`` exits 1 when any of these is found. ``--json`` prints the graph.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_config() -> tuple[dict[str, Path], dict[str, int], dict[str, list[str]]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = {pkg: ROOT / d for pkg, d in cfg["tool"]["setuptools"]["package-dir"].items()}
    ours = cfg["tool"].get("ecgdash", {})
    return mapping, dict(ours.get("layers", {})), dict(ours.get("forbidden", {}))


def modules(mapping: dict[str, Path]) -> dict[str, Path]:
    """Module name -> file, for every .py file under each mapped package folder."""
    out: dict[str, Path] = {}
    # the longest mapping wins: ecgdash.ingest maps ingest/, not ecgdash/ingest
    roots = sorted(mapping.items(), key=lambda kv: -len(kv[0]))
    for pkg, folder in roots:
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder)
            if any(part in {"node_modules", "__pycache__"} for part in rel.parts):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([pkg, *parts])
            out.setdefault(name, path)
    return out


def _resolve(name: str, known: set[str]) -> str | None:
    """The module of ours that `name` denotes (a module, or an attribute of one)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(mod: str, path: Path, known: set[str]) -> list[tuple[str, str | None, int]]:
    """(imported module of ours, name imported from it or None, line) of each import in `path`."""
    tree = ast.parse(path.read_text(), str(path))
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                target = _resolve(a.name, known)
                if target:
                    out.append((target, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                sub = f"{base}.{a.name}"
                if sub in known:
                    out.append((sub, None, node.lineno))
                else:
                    target = _resolve(base, known)
                    if target:
                        out.append((target, a.name, node.lineno))
    return out


def unit_of(mod: str, layers: dict[str, int]) -> str:
    """The unit (floor member) a module belongs to: the longest layer prefix, else the module."""
    best = ""
    for unit in layers:
        if (mod == unit or mod.startswith(unit + ".")) and len(unit) > len(best):
            best = unit
    return best or mod


def sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node, or a node importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def analyse() -> dict[str, object]:
    mapping, layers, forbidden = load_config()
    mods = modules(mapping)
    known = set(mods)
    graph: dict[str, set[str]] = defaultdict(set)
    units: dict[str, set[str]] = defaultdict(set)
    upward, banned, private = [], [], []
    for mod, path in mods.items():
        graph[mod]
        u = unit_of(mod, layers)
        for target, name, line in imports(mod, path, known):
            if target != mod:
                graph[mod].add(target)
            t = unit_of(target, layers)
            where = f"{path.relative_to(ROOT)}:{line}"
            if t == u:
                continue
            units[u].add(t)
            if u in layers and t in layers and layers[t] >= layers[u]:
                upward.append(f"{where}: {mod} ({u}, floor {layers[u]}) imports {target} "
                              f"({t}, floor {layers[t]})")
            if any(t == f or t.startswith(f + ".") for f in forbidden.get(u, [])):
                banned.append(f"{where}: {mod} imports {target}, forbidden for {u}")
            if name and name.startswith("_") and not name.startswith("__"):
                private.append(f"{where}: {mod} imports private {target}.{name}")
    return {
        "modules": len(mods),
        "edges": sum(len(v) for v in graph.values()),
        "file_cycles": sccs(graph),
        "unit_cycles": sccs(units),
        "upward_imports": upward,
        "forbidden_imports": banned,
        "private_imports": private,
        "graph": {k: sorted(v) for k, v in sorted(graph.items())},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 on any cycle or violation")
    ap.add_argument("--json", action="store_true", help="print the whole graph as JSON")
    args = ap.parse_args()
    res = analyse()
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['modules']} modules, {res['edges']} import edges")
    bad = 0
    for key in ("file_cycles", "unit_cycles", "upward_imports", "forbidden_imports",
                "private_imports"):
        items = res[key]
        assert isinstance(items, list)
        print(f"{key.replace('_', ' ')}: {len(items)}")
        for it in items:
            print("  " + (f"{len(it)} in a cycle: " + ", ".join(it) if isinstance(it, list) else it))
        bad += len(items)
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
