"""Where the templates, modules and the SecureCart example live: in the wheel, or in a source checkout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_TOOL_FILES: ContextVar[Path | None] = ContextVar("securecart_tool_files", default=None)
"""The folder `tool_files` names for the code running inside it; None: this install's."""


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


@contextmanager
def tool_files(root: Path) -> Iterator[None]:
    """Render with the templates/ and modules/ under `root` instead of this install's.

    A rollback renders an older revision with the modules and templates stored with it, so that it
    re-renders byte for byte as the revision it was.
    """
    token = _TOOL_FILES.set(root)
    try:
        yield
    finally:
        _TOOL_FILES.reset(token)


def templates_dir() -> Path:
    return (_TOOL_FILES.get() or data_root()) / "templates"


def modules_dir() -> Path:
    return (_TOOL_FILES.get() or data_root()) / "modules"


def example_dir() -> Path:
    """The SecureCart example project: access-matrix.yaml, environments/ and policies/."""
    root = data_root()
    return root / "example" if (root / "example").is_dir() else root
