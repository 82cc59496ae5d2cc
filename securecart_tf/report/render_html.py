"""The report as one self-contained HTML page: a grid of principals by accounts, grouped by OU, and the OU tree.

Everything is inline (CSS, a small script, no fonts or images from elsewhere), so the page can be attached
to a pull request or archived as it is. The grid is not written out cell by cell: the page carries the
levels and ways in as compact JSON and its script draws the part of the grid on screen, so a report of
1,000 accounts stays a few megabytes and opens at once.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape

from securecart_tf.report.access import KIND_TITLES, Cell, Grant, OUNode, Path, Report, SeatAccess
from securecart_tf.report.actions import Level
from securecart_tf.report.diff import AccessDiff, ChangeKind
from securecart_tf.report.render_md import GRANT_KIND, scp_line

LEVELS = list(Level)
RANK = {lv: i for i, lv in enumerate(LEVELS)}

# what a cell's ways in require, as bits the page's script turns into marks (report.js: BADGES)
MFA, EXTERNAL_ID, OIDC, EXPIRES, BLOCKED = 1, 2, 4, 8, 16

OPEN_TREE_UP_TO = 40
"""Organizations with at most this many accounts show the OU tree and the grid's OU groups expanded."""

NOTES_OPEN_UP_TO = 5
"""At most this many notes about trust that does not work are shown open; more are folded away."""


class _Strings:
    """Each distinct text once: the page refers to it by its index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.items)
            self.items.append(text)
        return found


def _mask(cell: Cell) -> int:
    """The marks a grid cell carries for what its ways in require."""
    mask = 0
    for p in cell.active_paths:
        c = p.conditions
        mask |= (MFA if c.mfa else 0) | (EXTERNAL_ID if c.external_id else 0) | (OIDC if c.oidc_subject else 0)
        mask |= EXPIRES if c.expires else 0
    if cell.inactive_paths and not cell.active_paths:
        mask |= BLOCKED
    return mask


def _groups(tree: OUNode) -> list[OUNode]:
    """The OUs that hold accounts directly, in the order of the tree: one column group each."""
    found = [tree] if tree.accounts else []
    for child in tree.children:
        found += _groups(child)
    return found


def _ou_paths(tree: OUNode) -> list[str]:
    return [tree.path, *(p for child in tree.children for p in _ou_paths(child))]


class _Packer:
    """The report as the compact JSON the page's script reads (report.js describes each field)."""

    def __init__(self, report: Report, diff: AccessDiff | None) -> None:
        self.report = report
        self.strings = _Strings()
        self.seats: dict[tuple[Any, ...], int] = {}
        self.seat_index: dict[str, int] = {}
        self.accounts = {a.name: a for a in report.accounts}
        self.grant_texts: dict[tuple[str, str, Level, bool], str] = {}
        self.scp_texts: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self.changes = {(c.principal.id, c.account): c.kind.value for c in diff.changes} if diff else {}

    def seat(self, key: str) -> int:
        """The index of a seat's details, the same details stored once whichever seats share them."""
        if key in self.seat_index:
            return self.seat_index[key]
        access = self.report.seats.get(key)
        index = -1 if access is None else self._details(access)
        self.seat_index[key] = index
        return index

    def _details(self, access: SeatAccess) -> int:
        s = self.strings
        grants = ", ".join(self.grant_text(g) for g in access.grants)
        b = access.boundary
        boundary = (
            f"{b.name} (allows at most {b.allows.value}{', lowers the grants' if b.lowered else ''})" if b else "none"
        )
        details = (
            s(grants or "nothing"),
            s(boundary),
            s(self.scp_text(access)),
            tuple(s(d) for d in access.denies),
            tuple(s(n) for n in access.notes),
        )
        if details not in self.seats:
            self.seats[details] = len(self.seats)
        return self.seats[details]

    def grant_text(self, grant: Grant) -> str:
        # the same policy at the same level reads the same in every seat that holds it: written once
        key = (grant.kind, grant.name, grant.level, grant.assumes_roles)
        text = self.grant_texts.get(key)
        if text is None:
            name = grant.name.rsplit("/", 1)[-1]
            text = self.grant_texts[key] = f"{name} ({GRANT_KIND.get(grant.kind, grant.kind)}, {grant.level_text})"
        return text

    def scp_text(self, access: SeatAccess) -> str:
        """What the SCPs above a seat do to it: the same text for every seat with the same effects and path."""
        if not access.scps_apply:
            return scp_line(self.report, access)  # the management account: no path to look up
        effects = tuple(sorted({(e.status, e.name) for e in access.scps}))
        key = (access.seat.account, effects)
        if key not in self.scp_texts:
            account = self.accounts[access.seat.account]
            path = " → ".join(at.rsplit("/", 1)[-1] for at, _ in account.scp_path)
            parts = []
            for status, title in (
                ("restricts", "restrict"),
                ("exempt", "exempt"),
                ("does-not-apply", "not this principal"),
            ):
                names = [name for st, name in effects if st == status]
                if names:
                    parts.append(f"{title}: {', '.join(names)}")
            self.scp_texts[key] = f"SCPs ({path}): " + ("; ".join(parts) if parts else "none attached")
        return self.scp_texts[key]

    def path(self, path: Path) -> list[Any]:
        s = self.strings
        return [
            s(path.way_in()),
            RANK[path.level],
            s(path.status),
            s(path.reason),
            s("; ".join(path.conditions.items())),
            self.seat(path.seat),
        ]

    def pack(self) -> dict[str, Any]:
        report, s = self.report, self.strings
        groups = _groups(report.ou_tree)
        by_name = {a.name: a for a in report.accounts}
        order = [n for g in groups for n in g.accounts if n in by_name]
        order += [a.name for a in report.accounts if a.name not in set(order)]
        column = {name: i for i, name in enumerate(order)}
        group_of = {n: gi for gi, g in enumerate(groups) for n in g.accounts}
        environments = sorted({a.environment for a in report.accounts if a.environment})
        kinds = list(dict.fromkeys(p.kind for p in report.principals))
        row = {p.id: i for i, p in enumerate(report.principals)}
        matrix = [["0"] * len(order) for _ in report.principals]
        cells: list[list[Any]] = []
        for (pid, account), cell in report.cells.items():
            if pid not in row or account not in column:
                continue
            matrix[row[pid]][column[account]] = str(RANK[cell.level])
            change = self.changes.get((pid, account))
            if cell.paths or change:
                paths = [self.path(p) for p in cell.paths]
                cells.append([row[pid], column[account], _mask(cell), change or "", paths])
        for (pid, account), change in self.changes.items():
            if (pid, account) not in report.cells and pid in row and account in column:
                cells.append([row[pid], column[account], 0, change, []])
        return {
            "levels": [lv.value for lv in LEVELS],
            "groups": [[g.path, "root" if g.path == "/" else g.path] for g in groups] + [["?", "other"]],
            "accounts": [
                [n, group_of.get(n, len(groups)), by_name[n].environment or "", int(by_name[n].management)]
                for n in order
            ],
            "ous": _ou_paths(report.ou_tree),
            "environments": environments,
            "kinds": [KIND_TITLES[k] for k in kinds],
            "principals": [[p.id, kinds.index(p.kind), p.name, p.description] for p in report.principals],
            "matrix": ["".join(r) for r in matrix],
            "cells": cells,
            "seats": [list(d) for d in self.seats],
            "strings": s.items,
            "open": len(order) <= OPEN_TREE_UP_TO,
        }


def _tree(node: OUNode, report: Report, depth: int = 0) -> dict[str, Any]:
    envs = {a.name: a for a in report.accounts}
    return {
        "name": node.name,
        "path": node.path,
        "scps": node.scps,
        "rcps": node.rcps,
        "open": depth == 0 or len(report.accounts) <= OPEN_TREE_UP_TO,
        "count": _count(node),
        "accounts": [
            {
                "name": n,
                "environment": envs[n].environment if n in envs else None,
                "management": n == report.management_account,
            }
            for n in node.accounts
        ],
        "children": [_tree(c, report, depth + 1) for c in node.children],
    }


def _count(node: OUNode) -> int:
    return len(node.accounts) + sum(_count(c) for c in node.children)


def _json_script(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element: no `</` can close it early."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _view(report: Report, diff: AccessDiff | None) -> dict[str, Any]:
    counts = {lv.value: 0 for lv in Level}
    for cell in report.cells.values():
        counts[cell.level.value] += 1
    counts[Level.none.value] = len(report.principals) * len(report.accounts) - sum(
        n for lv, n in counts.items() if lv != Level.none.value
    )
    assets = resources.files("securecart_tf.report") / "templates"
    return {
        "report": report,
        "levels": [{"value": lv.value, "label": lv.label} for lv in Level],
        "counts": counts,
        "data": _json_script(_Packer(report, diff).pack()),
        "script": (assets / "report.js").read_text(encoding="utf-8"),
        "style": (assets / "report.css").read_text(encoding="utf-8"),
        "tree": _tree(report.ou_tree, report),
        "notes_open": len(report.notes) <= NOTES_OPEN_UP_TO,
        "guardrails": list(report.guardrails.values()),
        "diff": diff,
        "change_kinds": list(ChangeKind),
    }


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("securecart_tf.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_compiled_templates(),
    )


def _compiled_templates() -> BytecodeCache | None:
    """Where the page's template is kept compiled: parsing it into Python is a tenth of a report's time.

    The lint's cache folder (see `lint_cache`); Jinja names each entry by the template's source, so an
    edited template is compiled again. None, and compiled on every run, with the cache off or not writable."""
    from securecart_tf.iam.lint_cache import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    target = folder / "templates"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    # Jinja lets a failed write through: a folder it cannot write in is no cache
    return FileSystemBytecodeCache(str(target)) if os.access(target, os.W_OK) else None


def render(report: Report, diff: AccessDiff | None = None) -> str:
    """The whole page. With `diff`, changed cells are outlined and the changes are listed first."""
    return _environment().get_template("report.html.j2").render(**_view(report, diff))
