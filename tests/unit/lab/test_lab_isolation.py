"""The lab (which can write to its own server) is never part of the scanner's code path."""

from __future__ import annotations

import ast
from pathlib import Path

import leakmap

PACKAGE = Path(leakmap.__file__).resolve().parent
ALLOWED = {PACKAGE / "commands" / "lab.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_scanner_module_imports_the_lab() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in ALLOWED or (PACKAGE / "lab") in path.parents:
            continue
        if any(n == "leakmap.lab" or n.startswith("leakmap.lab.") for n in _imports(path)):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_the_lab_never_imports_scanner_modules() -> None:
    for path in sorted((PACKAGE / "lab").glob("*.py")):
        for name in _imports(path):
            if name.startswith("leakmap."):
                assert name.split(".")[1] in {"lab", "errors"}, (path.name, name)
