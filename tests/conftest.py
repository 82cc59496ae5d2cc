"""Shared fixtures: the repository root and the SecureCart example project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_MATRIX = ROOT / "access-matrix.yaml"


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A copy of the SecureCart example in a temporary folder; returns the matrix path."""
    for name in ("access-matrix.yaml", "environments", "policies"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy2(src, tmp_path / name)
    return tmp_path / "access-matrix.yaml"
