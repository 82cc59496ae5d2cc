"""Who gains what: how effective access changes between two revisions of the matrix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from securecart_tf.report.access import Cell, Principal, Report
from securecart_tf.report.actions import Level


class ChangeKind(StrEnum):
    gained = "gained"
    escalated = "escalated"
    changed = "changed"
    reduced = "reduced"
    lost = "lost"


ORDER = {
    ChangeKind.gained: 0,
    ChangeKind.escalated: 1,
    ChangeKind.changed: 2,
    ChangeKind.reduced: 3,
    ChangeKind.lost: 4,
}


@dataclass
class Change:
    principal: Principal
    account: str
    kind: ChangeKind
    before: Level
    after: Level
    ways_before: list[str]
    ways_after: list[str]
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal.id,
            "principal_name": self.principal.name,
            "principal_kind": self.principal.kind.value,
            "account": self.account,
            "change": self.kind.value,
            "before": self.before.value,
            "after": self.after.value,
            "ways_before": self.ways_before,
            "ways_after": self.ways_after,
            "detail": self.detail,
        }


@dataclass
class AccessDiff:
    base: Report
    head: Report
    changes: list[Change]

    @property
    def base_label(self) -> str:
        return self.base.revision or "base"

    @property
    def head_label(self) -> str:
        return f"working copy ({self.head.revision})" if self.head.revision else "working copy"

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base_label,
            "head": self.head_label,
            "summary": {k.value: self.count(k) for k in ChangeKind},
            "changes": [c.to_json() for c in self.changes],
        }


def _ways(cell: Cell) -> list[str]:
    """The active ways in, each with what it requires, so a changed condition shows as a change."""
    out = []
    for p in cell.active_paths:
        text = p.way_in()
        conditions = p.conditions.items()
        out.append(text + (f" [{'; '.join(conditions)}]" if conditions else ""))
    return sorted(set(out))


def _facets(report: Report, cell: Cell) -> dict[str, set[str]]:
    """What grants, caps and restricts at each seat the cell reaches, by facet.

    A policy edited on a role is a change to everyone who reaches the role. SCPs count by what they
    restrict, not where they are attached, so moving a guardrail up the tree without changing its effect
    is no change; the management account's SCPs never count.
    """
    facets: dict[str, set[str]] = {"policies": set(), "boundary": set(), "SCPs": set()}
    for p in cell.active_paths:
        seat = report.seats.get(p.seat)
        if seat is None:
            continue
        facets["policies"] |= {f"{p.seat} {g.name} {g.level.value}" for g in seat.grants}
        facets["policies"].add(f"{p.seat} {seat.fingerprint}")
        if seat.boundary is not None:
            facets["boundary"].add(f"{p.seat} {seat.boundary.name}")
        facets["SCPs"] |= {
            f"{p.seat} {s.name} {s.status} {s.restrictions}" for s in seat.scps if s.status != "not-enforced"
        }
    return facets


def _scp_names(report: Report, cell: Cell) -> dict[str, str]:
    out = {}
    for p in cell.active_paths:
        seat = report.seats.get(p.seat)
        for s in seat.scps if seat else []:
            if s.status != "not-enforced":
                out[s.name] = f"{s.status} {s.restrictions}"
    return out


def _what_changed(base: Report, before: Cell, head: Report, after: Cell) -> str:
    parts = []
    if _ways(before) != _ways(after):
        parts.append("ways in")
    old, new = _facets(base, before), _facets(head, after)
    for facet in ("policies", "boundary"):
        if old[facet] != new[facet]:
            parts.append(f"{facet}")
    if old["SCPs"] != new["SCPs"]:
        was, now = _scp_names(base, before), _scp_names(head, after)
        names = sorted(n for n in set(was) | set(now) if was.get(n) != now.get(n))
        parts.append(f"SCPs ({', '.join(names)})")
    text = ", ".join(parts) + " changed" if parts else ""
    gained = [e for e in _escalations(head, after) if e not in _escalations(base, before)]
    if gained:
        text = "; ".join([t for t in [text] if t] + [f"admin-equivalent, it can escalate: {'; '.join(gained)}"])
    return text


def _escalations(report: Report, cell: Cell) -> list[str]:
    """How the seats the cell reaches can make themselves administrators."""
    out: list[str] = []
    for p in cell.active_paths:
        seat = report.seats.get(p.seat)
        out += [f"{p.seat}: {e}" for e in (seat.escalation if seat else [])]
    return list(dict.fromkeys(out))


def diff_reports(base: Report, head: Report) -> AccessDiff:
    """Every (principal, account) whose level, ways in, policies, boundary or enforced SCPs differ."""
    principals: dict[str, Principal] = {p.id: p for p in base.principals}
    principals.update({p.id: p for p in head.principals})
    order = {p.id: i for i, p in enumerate(head.principals)}
    order.update({p.id: len(order) + i for i, p in enumerate(base.principals) if p.id not in order})
    accounts = {a: i for i, a in enumerate(dict.fromkeys(head.account_names + base.account_names))}
    # a (principal, account) with no way in on either side has nothing to compare: only cells are visited
    keys = {k for k, c in base.cells.items() if c.paths} | {k for k, c in head.cells.items() if c.paths}
    keys = {k for k in keys if k[0] in principals and k[1] in accounts}
    changes: list[Change] = []
    for pid, account in sorted(keys, key=lambda k: (order[k[0]], accounts[k[1]])):
        before_cell, after_cell = base.cell(pid, account), head.cell(pid, account)
        before, after = before_cell.level, after_cell.level
        ways_before, ways_after = _ways(before_cell), _ways(after_cell)
        if before.rank < after.rank:
            kind = ChangeKind.gained if before == Level.none else ChangeKind.escalated
        elif before.rank > after.rank:
            kind = ChangeKind.lost if after == Level.none else ChangeKind.reduced
        elif after != Level.none and (detail := _what_changed(base, before_cell, head, after_cell)):
            kind = ChangeKind.changed
        else:
            continue
        if kind != ChangeKind.changed:
            detail = _what_changed(base, before_cell, head, after_cell)
        changes.append(Change(principals[pid], account, kind, before, after, ways_before, ways_after, detail))
    changes.sort(key=lambda c: ORDER[c.kind])
    return AccessDiff(base, head, changes)
