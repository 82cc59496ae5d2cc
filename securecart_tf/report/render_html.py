"""The report as one self-contained HTML page: a colour-coded grid of principals by accounts and the OU tree.

Everything is inline (CSS, no scripts, no fonts or images from elsewhere), so the page can be attached to
a pull request or archived as it is.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from securecart_tf.report.access import KIND_TITLES, Cell, OUNode, Report
from securecart_tf.report.actions import Level
from securecart_tf.report.diff import AccessDiff, ChangeKind
from securecart_tf.report.render_md import GRANT_KIND, principal_summary, scp_line


def _anchor(*parts: str) -> str:
    return "c-" + re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-")


def _badges(cell: Cell) -> list[dict[str, str]]:
    """Small marks on a grid cell for what its ways in require."""
    badges: dict[str, dict[str, str]] = {}
    for p in cell.active_paths:
        c = p.conditions
        if c.mfa:
            badges["mfa"] = {"text": "MFA", "title": c.mfa}
        if c.external_id:
            badges["ext"] = {"text": "ExtID", "title": f"ExternalId {c.external_id}"}
        if c.oidc_subject:
            badges["oidc"] = {"text": "OIDC", "title": c.oidc_subject}
        if c.expires:
            badges["exp"] = {
                "text": f"until {c.expires.isoformat()}",
                "title": f"trust expires {c.expires.isoformat()}",
            }
    if cell.inactive_paths and not cell.active_paths:
        statuses = sorted({p.status for p in cell.inactive_paths})
        badges["blocked"] = {"text": "/".join(statuses), "title": "; ".join(p.reason for p in cell.inactive_paths)}
    return list(badges.values())


def _tooltip(cell: Cell) -> str:
    ways = [f"{p.way_in()} ({p.level.value})" for p in cell.active_paths]
    ways += [f"{p.status}: {p.way_in()} ({p.reason})" for p in cell.inactive_paths]
    return "\n".join(ways) or "no way in"


def _tree(node: OUNode, report: Report) -> dict[str, Any]:
    envs = {a.name: a for a in report.accounts}
    children = [_tree(c, report) for c in node.children]
    return {
        "weight": max(1, len(node.accounts) + sum(c["weight"] for c in children)),
        "name": node.name,
        "path": node.path,
        "scps": node.scps,
        "rcps": node.rcps,
        "accounts": [
            {
                "name": n,
                "environment": envs[n].environment if n in envs else None,
                "management": n == report.management_account,
            }
            for n in node.accounts
        ],
        "children": children,
    }


def _sections(report: Report, diff: AccessDiff | None) -> list[dict[str, Any]]:
    """The matrix: a section per kind of principal, a row per principal, a cell per account."""
    changed = {(c.principal.id, c.account): c for c in diff.changes} if diff else {}
    sections: list[dict[str, Any]] = []
    kind = None
    for p in report.principals:
        if p.kind != kind:
            kind = p.kind
            sections.append({"title": KIND_TITLES[kind], "rows": []})
        cells = []
        for a in report.account_names:
            cell = report.cell(p.id, a)
            change = changed.get((p.id, a))
            cells.append(
                {
                    "account": a,
                    "level": cell.level.value,
                    "label": cell.level.label if cell.level != Level.none else "—",
                    "badges": _badges(cell),
                    "title": _tooltip(cell),
                    "anchor": _anchor(p.id, a) if cell.paths else None,
                    "change": change.kind.value if change else None,
                }
            )
        sections[-1]["rows"].append({"principal": p, "cells": cells})
    return sections


def _details(report: Report) -> list[dict[str, Any]]:
    """Every way in of each principal, account by account."""
    details: list[dict[str, Any]] = []
    for p in report.principals:
        rows = []
        for a in report.account_names:
            cell = report.cell(p.id, a)
            if not cell.paths:
                continue
            ways = []
            for path in cell.paths:
                seat = report.seats.get(path.seat)
                ways.append(
                    {
                        "text": path.way_in(),
                        "level": path.level.value,
                        "status": path.status,
                        "reason": path.reason,
                        "conditions": path.conditions.items(),
                        "grants": [
                            {
                                "name": g.name.rsplit("/", 1)[-1],
                                "kind": GRANT_KIND.get(g.kind, g.kind),
                                "level": g.level_text,
                                "summary": g.summary,
                            }
                            for g in (seat.grants if seat else [])
                        ],
                        "boundary": seat.boundary if seat else None,
                        "denies": seat.denies if seat else [],
                        "scps": scp_line(report, seat) if seat else "",
                        "notes": seat.notes if seat else [],
                    }
                )
            rows.append({"account": a, "level": cell.level.value, "anchor": _anchor(p.id, a), "ways": ways})
        details.append({"principal": p, "summary": principal_summary(report, p), "rows": rows})
    return details


def _view(report: Report, diff: AccessDiff | None) -> dict[str, Any]:
    sections = _sections(report, diff)
    details = _details(report)
    counts = {lv.value: 0 for lv in Level}
    for p in report.principals:
        for a in report.account_names:
            counts[report.level(p.id, a).value] += 1
    return {
        "report": report,
        "levels": [{"value": lv.value, "label": lv.label} for lv in Level],
        "counts": counts,
        "sections": sections,
        "details": details,
        "tree": _tree(report.ou_tree, report),
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
    )


def render(report: Report, diff: AccessDiff | None = None) -> str:
    """The whole page. With `diff`, changed cells are outlined and the changes are listed first."""
    return _environment().get_template("report.html.j2").render(**_view(report, diff))
