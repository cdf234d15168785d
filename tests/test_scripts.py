"""The scripts in scripts/ import only what the project still has (a refactor that moves a module breaks them
silently otherwise: they are run by hand, not by the suite)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("assistant", "ingest", "ui")


def _imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) of every `from <ours>... import name` in a file, also inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
            out += [(node.lineno, node.module, a.name) for a in node.names]
    return out


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "scripts").glob("*.py")))
def test_script_imports_resolve(script):
    missing = []
    for line, module, name in _imports(ROOT / "scripts" / script):
        if importlib.util.find_spec(module) is None:
            missing.append(f"scripts/{script}:{line}: no module {module}")
            continue
        if not hasattr(importlib.import_module(module), name) and importlib.util.find_spec(f"{module}.{name}") is None:
            missing.append(f"scripts/{script}:{line}: {module} has no {name}")
    assert not missing, "\n".join(missing)
