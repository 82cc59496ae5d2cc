"""The lower layers keep their shape: config, iam and checks import only downwards, hold no module-level state
behind `global`, and keep every function short enough to read at once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import securecart_tf

PACKAGE = Path(securecart_tf.__file__).parent
BASE = {"errors", "findings", "resources"}
"""The base vocabulary every layer may use."""
ALLOWED = {
    "config": ("config",),
    "iam": ("config", "iam"),
    "checks": ("config", "iam", "model", "checks"),
}
MAX_LINES = 80


def _modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every securecart_tf import, those inside functions included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names if name.startswith("securecart_tf")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("securecart_tf")]
    return found


def _allowed(name: str, packages: tuple[str, ...]) -> bool:
    parts = name.split(".")
    return len(parts) == 1 or parts[1] in {*BASE, "__version__", *packages}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_itself_and_the_layers_below(package: str) -> None:
    upward = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in _modules(package)
        for line, name in _imports(ast.parse(path.read_text()))
        if not _allowed(name, ALLOWED[package])
    ]
    assert upward == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_keeps_no_module_state_behind_global(package: str) -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} global {', '.join(node.names)}"
        for path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Global)
    ]
    assert found == []


@pytest.mark.parametrize("package", [*sorted(ALLOWED), "errors.py", "findings.py"])
def test_no_function_is_longer_than_80_lines(package: str) -> None:
    paths = _modules(package) if (PACKAGE / package).is_dir() else [PACKAGE / package]
    long = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} is {node.end_lineno - node.lineno + 1} lines"
        for path in paths
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]
    assert long == []
