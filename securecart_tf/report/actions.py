"""IAM actions and access levels: which actions a pattern names, and whether each one reads or writes.

The catalogue is parliament's copy of the AWS Service Authorization Reference. Its "access level" is
mapped to two levels: Read and List are read; Write, Permissions management and Tagging are write.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from pathlib import Path


class Level(StrEnum):
    """How much a principal can do in an account, from nothing to everything."""

    none = "none"
    read = "read"
    write = "write"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def label(self) -> str:
        return {"none": "none", "read": "read-only", "write": "write", "admin": "admin"}[self.value]


_RANK = {Level.none: 0, Level.read: 1, Level.write: 2, Level.admin: 3}


def highest(levels: Iterable[Level]) -> Level:
    return max(levels, key=_RANK.__getitem__, default=Level.none)


def lowest(*levels: Level) -> Level:
    return min(levels, key=lambda lv: lv.rank)


# Assuming a role is how a trust chain moves on, not access to the account: the report follows these as hops.
HOP_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithwebidentity",
        "sts:assumerolewithsaml",
        "sts:setsourceidentity",
        "sts:tagsession",
    }
)

# The reference marks a few reads of permissions (quicksight:DescribeDataSetPermissions) as "Permissions
# management"; an action named for reading only reads.
_READ_VERBS = ("get", "list", "describe", "view", "search", "lookup")
_WRITE_LEVELS = {"Write", "Permissions management", "Tagging"}


CATALOGUE_FORMAT = 1
"""Changes when `_from_parliament` keeps something else: the cached copies of the old shape are not read."""


@cache
def catalogue() -> dict[str, str]:
    """Every known action, lower-cased 'service:action' → the reference's access level.

    parliament keeps the reference in a 10 MB file that importing it reads whole: a quarter of a second of
    every report. The 13,000 levels the report needs are kept in the cache folder (the lint's, see
    `lint_cache`), under a name that changes with that file, and read from there on the next run."""
    path = _catalogue_file()
    if path is not None:
        with contextlib.suppress(OSError, ValueError):
            cached = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(cached, dict) and cached:
                return cached
    levels = _from_parliament()
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            # written aside, then renamed: a report running at the same time reads the old file or the new
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(levels, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)
    return levels


def _from_parliament() -> dict[str, str]:
    from securecart_tf.iam.lint import load_parliament  # without pkg_resources' scan of every distribution

    levels: dict[str, str] = {}
    for service in load_parliament().iam_definition:
        prefix = service["prefix"].lower()
        for privilege in service["privileges"]:
            levels[f"{prefix}:{privilege['privilege'].lower()}"] = privilege["access_level"]
    return levels


def _catalogue_file() -> Path | None:
    """Where the catalogue of the installed parliament is cached; None with the cache off or no parliament."""
    from securecart_tf.iam.lint_cache import cache_dir

    folder = cache_dir()
    spec = importlib.util.find_spec("parliament")  # finds the package without importing it
    if folder is None or spec is None or spec.origin is None:
        return None
    try:
        st = (Path(spec.origin).parent / "iam_definition.json").stat()
    except OSError:
        return None
    source = f"{CATALOGUE_FORMAT} {st.st_size} {st.st_mtime_ns}"
    return folder / f"actions-{hashlib.sha256(source.encode()).hexdigest()[:20]}.json"


@cache
def _by_service() -> dict[str, tuple[str, ...]]:
    services: dict[str, list[str]] = {}
    for action in catalogue():
        services.setdefault(action.split(":", 1)[0], []).append(action)
    return {k: tuple(v) for k, v in services.items()}


@cache
def all_actions() -> frozenset[str]:
    return frozenset(catalogue())


@cache
def glob(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern (`*` and `?`) as a case-insensitive regular expression."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


@cache
def expand(pattern: str) -> frozenset[str]:
    """The known actions a pattern names. A name the catalogue lacks is kept as it is, lower-cased."""
    p = pattern.strip().lower()
    if p == "*":
        return all_actions()
    if ":" not in p:
        return frozenset()
    service, _ = p.split(":", 1)
    if "*" not in p and "?" not in p:
        return frozenset({p})
    pool: Iterable[str] = catalogue() if ("*" in service or "?" in service) else _by_service().get(service, ())
    if p.endswith("*") and "*" not in p[:-1] and "?" not in p:
        # most patterns name a prefix (`s3:get*`): compared as text, without compiling an expression for each
        prefix = p[:-1]
        found = frozenset(a for a in pool if a.startswith(prefix))
    else:
        rx = glob(p)
        found = frozenset(a for a in pool if rx.match(a))
    return found or frozenset({p})


def action_level(action: str) -> Level:
    """read or write for one action (lower-cased); actions the catalogue lacks are judged by their verb."""
    name = action.split(":", 1)[-1]
    if name.startswith(_READ_VERBS):
        return Level.read
    known = catalogue().get(action)
    if known is None:
        return Level.write  # an unknown verb may change something
    return Level.write if known in _WRITE_LEVELS else Level.read


def level_of(actions: Iterable[str]) -> Level:
    """write if any action writes, read if any remain, none otherwise. Role-assumption hops do not count."""
    level = Level.none
    for action in actions:
        if action in HOP_ACTIONS:
            continue
        if action_level(action) == Level.write:
            return Level.write
        level = Level.read
    return level


@cache
def permissions_management() -> frozenset[str]:
    """IAM's permissions-management actions: whoever keeps all of them can grant themselves anything."""
    return frozenset(a for a, lv in catalogue().items() if a.startswith("iam:") and lv == "Permissions management")
