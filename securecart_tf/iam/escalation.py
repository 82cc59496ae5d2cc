"""Escalation through what a more privileged role runs: changing a function's code, or handing a role to a
task definition. Such an identity acts as the role behind the code, so it holds that role's permissions.

A path counts when an Allow of the identity grants it, its boundary (if any) allows it, and no
unconditional Deny blocks it. Two kinds:

- `lambda:UpdateFunctionCode` on any function (Resource "*" or a wildcard over function names): the code
  then runs as each function's execution role, whatever that role may do;
- `ecs:RegisterTaskDefinition` with `iam:PassRole` over a role that may do what the identity may not:
  the task then runs as that role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from securecart_tf.iam import iam_data
from securecart_tf.iam.iam_data import wildcard
from securecart_tf.iam.lint import action_matches, as_list, shorten, statement_dicts

Doc = dict[str, Any]


@dataclass(frozen=True)
class Escalation:
    actions: tuple[str, ...]
    via: str
    """What the identity ends up acting as: "any Lambda function's execution role", "role checkout-service"."""

    def text(self) -> str:
        return f"{' + '.join(self.actions)} → acts as {self.via}"


def _statements(docs: Iterable[Doc | None]) -> list[dict[str, Any]]:
    return [s for d in docs if d for s in statement_dicts(d)]


def _resources(statement: dict[str, Any]) -> list[str]:
    return ["*"] if "NotResource" in statement else [str(r) for r in as_list(statement.get("Resource"))]


@dataclass(frozen=True)
class _Cover:
    """The actions one statement's Action (or NotAction) element applies to, listed once.

    Patterns over a known service are expanded into the action names they stand for, so a known action is
    looked up rather than matched against every pattern; a pattern `expand` cannot list (a wildcard service)
    and any action the IAM data does not know are matched as written."""

    names: frozenset[str]
    loose: tuple[str, ...]
    written: tuple[str, ...]
    negated: bool

    @classmethod
    def of(cls, statement: dict[str, Any]) -> _Cover:
        negated = "NotAction" in statement
        written = tuple(str(p) for p in as_list(statement["NotAction"] if negated else statement.get("Action")))
        names: set[str] = set()
        loose = []
        for pattern in written:
            listed = iam_data.expand(pattern)
            names.update(a.name.lower() for a in listed)
            if not listed:
                loose.append(pattern)
        return cls(frozenset(names), tuple(loose), written, negated)

    def covers(self, action: str) -> bool:
        if iam_data.action(action) is None:
            hit = any(action_matches(p, action) for p in self.written)
        else:
            hit = action.lower() in self.names or any(action_matches(p, action) for p in self.loose)
        return hit != self.negated


class _Grants:
    """An identity's statements and its boundary's, each with its `_Cover`, asked about one action at a time."""

    def __init__(self, identity: Sequence[Doc], boundary: Doc | None) -> None:
        self.own = [(s, _Cover.of(s)) for s in _statements(identity)]
        self.caps = [(s, _Cover.of(s)) for s in _statements([boundary])]
        self.bounded = boundary is not None

    def resources(self, action: str) -> list[str]:
        denied = any(
            s.get("Effect") == "Deny" and "Condition" not in s and "*" in _resources(s) and c.covers(action)
            for s, c in [*self.own, *self.caps]
        )
        if denied:
            return []
        granted = [r for s, c in self.own if s.get("Effect") == "Allow" and c.covers(action) for r in _resources(s)]
        if not self.bounded:
            return granted
        capped = [r for s, c in self.caps if s.get("Effect") == "Allow" and c.covers(action) for r in _resources(s)]
        return _intersect(granted, capped)


def allowed_resources(identity: Sequence[Doc], boundary: Doc | None, action: str) -> list[str]:
    """The resources an Allow grants `action` on, if the boundary allows it and no unconditional Deny blocks it."""
    return _Grants(identity, boundary).resources(action)


def _intersect(granted: list[str], capped: list[str]) -> list[str]:
    """The resources both lists allow: the narrower pattern of each pair where one covers the other."""
    out = []
    for g in granted:
        for c in capped:
            if _covers(c, g):
                out.append(g)
            elif _covers(g, c):
                out.append(c)
    return list(dict.fromkeys(out))


def _covers(pattern: str, resource: str) -> bool:
    return wildcard(pattern, False).fullmatch(resource) is not None


def _any_function(resource: str) -> bool:
    return resource == "*" or resource.split(":function:", 1)[-1].startswith("*")


def allowed_actions(docs: Sequence[Doc], boundary: Doc | None = None) -> set[str]:
    """Every known action some Allow grants (boundary and unconditional Denies applied)."""
    out: set[str] = set()
    for s in _statements(docs):
        if s.get("Effect") == "Allow" and "NotAction" not in s:
            for pattern in as_list(s.get("Action")):
                out.update(a.name for a in iam_data.expand(str(pattern)))
    grants = _Grants(docs, boundary)
    return {a for a in out if grants.resources(a)}


def allows_everything(docs: Sequence[Doc]) -> bool:
    """An unconditional Allow of every action on every resource: an administrator's policy.

    `allowed_actions` lists actions by service, so it cannot list what "*" stands for; this says it."""
    return any(
        s.get("Effect") == "Allow"
        and "Condition" not in s
        and "*" in _resources(s)
        and any(str(a) in ("*", "*:*") for a in as_list(s.get("Action")))
        for s in _statements(docs)
    )


def escalations(
    identity: Sequence[Doc],
    boundary: Doc | None,
    passable: Mapping[str, Sequence[Doc]],
) -> list[Escalation]:
    """The identity's paths to what a more privileged role runs. `passable`: role name → its policies."""
    out: list[Escalation] = []
    if any(_any_function(r) for r in allowed_resources(identity, boundary, "lambda:UpdateFunctionCode")):
        out.append(Escalation(("lambda:UpdateFunctionCode on *",), "any Lambda function's execution role"))
    if not allowed_resources(identity, boundary, "ecs:RegisterTaskDefinition"):
        return out
    passes = allowed_resources(identity, boundary, "iam:PassRole")
    if any(r == "*" or r.endswith(":role/*") for r in passes):
        out.append(Escalation(("ecs:RegisterTaskDefinition", "iam:PassRole on *"), "any role, admin roles included"))
        return out
    own = allowed_actions(identity, boundary)
    for name, docs in passable.items():
        if not any(r.endswith(f":role/{name}") or r.endswith(":role/*") for r in passes):
            continue
        if allows_everything(docs):
            out.append(
                Escalation(
                    ("ecs:RegisterTaskDefinition", f"iam:PassRole on {name}"), f"role {name}, which may do anything"
                )
            )
            continue
        more = sorted(allowed_actions(docs) - own)
        if more:
            out.append(
                Escalation(
                    ("ecs:RegisterTaskDefinition", f"iam:PassRole on {name}"),
                    f"role {name}, which may also {shorten(more, 3)}",
                )
            )
    return out
