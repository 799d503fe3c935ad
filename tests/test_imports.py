"""The package's import graph: no cycles among its modules (imports inside functions count),
and no module imports another module's private name."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "mockloop"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _imports(name: str, path: Path):
    """(module imported, names taken from it) for every import in the file, nested ones too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[
                    : len(name.split(".")) - node.level + (path.stem == "__init__")
                ]
                base = ".".join(anchor + ([base] if base else []))
            yield base, [a.name for a in node.names]


def _resolve(name: str, mods: dict[str, Path]) -> str:
    while name and name not in mods:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name


def test_no_import_cycles():
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = graph.setdefault(name, set())
        for base, names in _imports(name, path):
            for target in [base] + [f"{base}.{n}" for n in names]:
                found = _resolve(target, mods) if target.startswith("mockloop") else ""
                if found and found not in ("mockloop", name) and not name.startswith(found + "."):
                    deps.add(found)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' → '.join(exc.args[1])}")


def test_no_module_imports_another_modules_private_name():
    taken = [
        (name, n)
        for name, path in _modules().items()
        for base, names in _imports(name, path)
        if base.startswith("mockloop") and base != name
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert taken == []
