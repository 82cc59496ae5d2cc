"""The report as normalised JSON: every seat, policy, evaluation and SCP path listed once, referenced by id.

At 1,000 accounts a permission set sits in hundreds of accounts and an SCP path covers hundreds of them;
writing each seat's grants and SCP restrictions out in full made the file tens of megabytes. Here a seat
names its evaluation (what its policies give under its SCP path), an evaluation names its policies and its
SCP effects, and an account names its SCP path. `report.schema.json` beside this module describes the
document; `securecart-tf report --schema` prints it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from securecart_tf.report.access import Cell, Conditions, Grant, Hop, Path, Report, SeatAccess
from securecart_tf.report.actions import Level
from securecart_tf.report.diff import AccessDiff

FORMAT = "securecart-tf/report/2"
"""Names the document's shape; it changes when a field is removed or means something else."""


def schema_text() -> str:
    """The JSON Schema of the document `document` returns."""
    return resources.files("securecart_tf.report").joinpath("report.schema.json").read_text(encoding="utf-8")


class _Table:
    """Values listed once, each under an id made of a prefix and its position: equal values share an id."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[str, str] = {}
        self.rows: dict[str, Any] = {}

    def ref(self, value: Any) -> str:
        key = json.dumps(value, sort_keys=True)
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = f"{self.prefix}{len(self.ids) + 1}"
            self.rows[found] = value
        return found


def hop_ref(hop: Hop) -> str:
    """A hop as one string: a seat's key (`role:Name@account`) or `kind:name` for where a way in starts."""
    if hop.account is not None:
        return f"{hop.kind}:{hop.name}@{hop.account}"
    return f"{hop.kind}:{hop.name}"


def _conditions(c: Conditions) -> dict[str, str]:
    return {k: v for k, v in c.to_json().items() if v is not None}


def _path(p: Path) -> dict[str, Any]:
    out: dict[str, Any] = {
        "chain": [hop_ref(h) for h in p.chain],
        "seat": p.seat,
        "level": p.level.value,
        "status": p.status,
    }
    if p.reason:
        out["reason"] = p.reason
    conditions = _conditions(p.conditions)
    if conditions:
        out["conditions"] = conditions
    return out


class _Writer:
    """Builds the document, filling the shared tables as seats refer to them."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.policies = _Table("pol-")
        self.scp_paths = _Table("path-")
        self.scp_effects = _Table("scps-")
        self.evaluations = _Table("eval-")
        self.by_identity: dict[tuple[Any, ...], str] = {}

    def grant(self, g: Grant) -> dict[str, Any]:
        policy = self.policies.ref({"kind": g.kind, "name": g.name, "summary": g.summary})
        out: dict[str, Any] = {"policy": policy, "level": g.level.value}
        if g.note:
            out["note"] = g.note
        if g.assumes_roles:
            out["assumes_roles"] = True
        return out

    def evaluation(self, s: SeatAccess) -> str:
        """What a seat's policies give under its SCPs, without what belongs to the seat alone."""
        # seats that share an evaluation share its objects: those are written out once, by identity
        same = (id(s.grants), id(s.boundary), id(s.scps), id(s.denies), s.scps_apply, s.fingerprint)
        found = self.by_identity.get(same)
        if found is None:
            found = self.by_identity[same] = self._evaluation(s)
        return found

    def _evaluation(self, s: SeatAccess) -> str:
        value: dict[str, Any] = {
            "grants": [self.grant(g) for g in s.grants],
            "boundary": s.boundary.to_json() if s.boundary else None,
            "scps_apply": s.scps_apply,
            "scp_effects": self.scp_effects.ref([e.to_json() for e in s.scps]),
            "denies": s.denies,
            "fingerprint": s.fingerprint,
        }
        return self.evaluations.ref(value)

    def seat(self, s: SeatAccess) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": s.seat.kind,
            "name": s.seat.name,
            "account": s.seat.account,
            "principal_arn": s.principal_arn,
            "level": s.level.value,
            "evaluation": self.evaluation(s),
        }
        if s.notes:
            out["notes"] = s.notes
        if s.escalation:
            out["escalation"] = s.escalation
        return out

    def cell(self, cell: Cell, level: Level) -> dict[str, Any]:
        out: dict[str, Any] = {
            "principal": cell.principal,
            "account": cell.account,
            "level": level.value,
            "scps_apply": cell.account != self.report.management_account,
            "paths": [_path(p) for p in cell.paths],
        }
        return out

    def document(self) -> dict[str, Any]:
        r = self.report
        accounts = []
        for a in r.accounts:
            # the path down to the account's OU is shared by every account there; what is attached to the
            # account itself is the account's own
            *above, (_, own) = a.scp_path
            path = self.scp_paths.ref([{"at": at, "scps": names} for at, names in above])
            accounts.append(
                {
                    "name": a.name,
                    "ou": a.ou,
                    "environment": a.environment,
                    "management": a.management,
                    "scps_apply": not a.management,
                    "scp_path": path,
                    "scps": own,
                }
            )
        # a cell's level is worked out from its ways in on each ask: asked once here, for the grid and the cell
        cells = [(c, c.level) for c in r.cells.values() if c.paths]
        matrix: dict[str, dict[str, str]] = {p.id: {} for p in r.principals}
        for c, level in cells:
            if level != Level.none and c.principal in matrix:
                matrix[c.principal][c.account] = level.value
        order = {a.name: i for i, a in enumerate(r.accounts)}
        for pid, row in matrix.items():
            matrix[pid] = dict(sorted(row.items(), key=lambda kv: order.get(kv[0], len(order))))
        seats = {key: self.seat(s) for key, s in r.seats.items()}
        return {
            "format": FORMAT,
            "organization": r.organization,
            "revision": r.revision,
            "as_of": r.as_of.isoformat(),
            "management_account": r.management_account,
            "levels": [lv.value for lv in Level],
            "notes": r.notes,
            "accounts": accounts,
            "principals": [p.to_json() for p in r.principals],
            "matrix": matrix,
            "cells": [self.cell(c, level) for c, level in cells],
            "seats": seats,
            "evaluations": self.evaluations.rows,
            "policies": self.policies.rows,
            "scp_effects": self.scp_effects.rows,
            "scp_paths": self.scp_paths.rows,
            "guardrails": {k: g.to_json() for k, g in r.guardrails.items()},
            "ou_tree": r.ou_tree.to_json(),
        }


def document(report: Report) -> dict[str, Any]:
    """The report as one normalised JSON document (see `report.schema.json`)."""
    return _Writer(report).document()


def diff_document(diff: AccessDiff) -> dict[str, Any]:
    """How access changed, with the head revision's whole report under `report`."""
    return {"format": FORMAT, **diff.to_json(), "report": document(diff.head)}


_ENCODER = json.JSONEncoder(ensure_ascii=False)
"""One encoder for the tens of thousands of entries: `json.dumps` with an option makes a new one per call."""


def dumps(data: dict[str, Any]) -> str:
    """JSON with one line per top-level field and per entry of each table: diffable, and fast to write.

    Python's JSON encoder runs in C only without indentation, so each entry is written compactly on a line
    of its own rather than indenting the whole document."""
    encode = _ENCODER.encode
    lines = ["{"]
    fields = list(data.items())
    for i, (key, value) in enumerate(fields):
        comma = "," if i < len(fields) - 1 else ""
        name = json.dumps(key)
        if isinstance(value, dict) and value and key != "ou_tree":
            entries = [f"  {json.dumps(k)}: {encode(v)}" for k, v in value.items()]
            lines += [f"{name}: {{", ",\n".join(entries), f"}}{comma}"]
        elif isinstance(value, list) and value:
            entries = [f"  {encode(v)}" for v in value]
            lines += [f"{name}: [", ",\n".join(entries), f"]{comma}"]
        else:
            lines.append(f"{name}: {encode(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"
