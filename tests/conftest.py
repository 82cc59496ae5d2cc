"""Shared fixtures: the repository root and the SecureCart example project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, copy_example

EXAMPLE_MATRIX = ROOT / "access-matrix.yaml"


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    """A copy of the SecureCart example in a temporary folder; returns the matrix path."""
    return copy_example(tmp_path) / "access-matrix.yaml"
