"""Where the templates, modules and the SecureCart example live: in the wheel, or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """The folder holding templates/, modules/ and the example: package data when installed from a wheel."""
    packaged = _PACKAGE / "_data"
    if (packaged / "templates").is_dir():
        return packaged
    checkout = _PACKAGE.parent
    if (checkout / "templates").is_dir() and (checkout / "modules").is_dir():
        return checkout
    raise RuntimeError("securecart-tf is installed without its templates and modules")  # pragma: no cover


def templates_dir() -> Path:
    return data_root() / "templates"


def modules_dir() -> Path:
    return data_root() / "modules"


def example_dir() -> Path:
    """The SecureCart example project: access-matrix.yaml, environments/ and policies/."""
    root = data_root()
    return root / "example" if (root / "example").is_dir() else root
