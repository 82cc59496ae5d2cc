"""Policy documents as the report reads them: statements, what they allow or deny, and AWS managed policies.

The report over-approximates: an Allow counts whatever its conditions, and a Deny takes actions away only
when nothing but the caller's ARN conditions it and it covers every resource. So a level is what a
principal may reach at most, never an optimistic guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from securecart_tf.iam.aws_managed import aws_managed_document, aws_managed_name
from securecart_tf.report.actions import (
    Level,
    all_actions,
    catalogue,
    expand,
    glob,
    level_of,
    permissions_management,
)

# ------------------------------------------------------------------------------------------ AWS managed


@dataclass(frozen=True)
class KnownPolicy:
    level: Level
    summary: str


# The AWS managed policies people attach most, with the level AWS designed them for. A policy's computed
# level never exceeds its entry here (the reference calls a few reads of permissions "Permissions
# management"). Policies not listed are classified from moto's bundled copy of their document.
AWS_MANAGED: dict[str, KnownPolicy] = {
    "AdministratorAccess": KnownPolicy(Level.admin, "every action on every resource"),
    "PowerUserAccess": KnownPolicy(Level.write, "every service except IAM, Organizations and Account"),
    "ReadOnlyAccess": KnownPolicy(Level.read, "read every service, data included (S3 objects, table items)"),
    "ViewOnlyAccess": KnownPolicy(Level.read, "list and describe resources, no data"),
    "SecurityAudit": KnownPolicy(Level.read, "read security configuration and metadata"),
    "IAMReadOnlyAccess": KnownPolicy(Level.read, "read IAM"),
    "IAMFullAccess": KnownPolicy(Level.write, "all of IAM, permissions management included"),
    "AmazonS3ReadOnlyAccess": KnownPolicy(Level.read, "read S3"),
    "AmazonS3FullAccess": KnownPolicy(Level.write, "all of S3"),
    "Billing": KnownPolicy(Level.write, "view and change billing and cost settings"),
    "SystemAdministrator": KnownPolicy(Level.write, "operate compute, storage and monitoring"),
    "DatabaseAdministrator": KnownPolicy(Level.write, "operate database services"),
    "NetworkAdministrator": KnownPolicy(Level.write, "operate network services"),
}


# ------------------------------------------------------------------------------------------ conditions

PRINCIPAL_ARN = "aws:principalarn"


def as_text_list(value: Any) -> list[str]:
    """A condition's value or values, as text."""
    return _as_list(value)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _glob_body(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@cache
def _arn_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(f"^{_glob_body(pattern)}$", re.DOTALL)


def matches_principal(operator: str, patterns: list[str], arn: str) -> bool:
    """Whether a condition operator on aws:PrincipalArn, with these patterns, matches the caller's ARN."""
    return principal_matcher(operator, tuple(patterns))(arn)


@cache
def principal_matcher(operator: str, patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """`matches_principal` for one operator and its patterns, made once: the report asks it of every seat."""
    base = operator.split(":")[-1].removesuffix("IfExists")
    if not base.endswith("Like"):
        return frozenset(patterns).__contains__
    if not patterns:
        return _never
    # the patterns as one expression: one match per ARN rather than one per pattern
    either = re.compile(f"^(?:{'|'.join(_glob_body(p) for p in patterns)})$", re.DOTALL)
    return lambda arn: either.match(arn) is not None


def principal_scope(condition: Mapping[str, Any], principal_arn: str) -> tuple[str, dict[str, Any]]:
    """Evaluate the aws:PrincipalArn conditions of a statement for one caller.

    Returns a status and the conditions left once the caller's ARN is settled. The status is `applies`
    (the statement can apply to this caller; with no conditions left it always does), `exempt` (a
    negated condition such as ArnNotLike leaves this caller out) or `other` (the statement names other
    callers only).
    """
    remaining: dict[str, Any] = {}
    status = "applies"
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            remaining[operator] = keys
            continue
        for key, values in keys.items():
            if key.lower() != PRINCIPAL_ARN:
                remaining.setdefault(operator, {})[key] = values
                continue
            matched = matches_principal(operator, _as_list(values), principal_arn)
            negated = "Not" in operator.split(":")[-1]
            if matched == negated:
                status = "exempt" if negated else ("other" if status == "applies" else status)
    return status, ({} if status != "applies" else remaining)


def _principal_names(values: list[str]) -> str:
    names = []
    for v in values:
        role = re.match(r"^arn:aws[a-z-]*:iam::\*:role/(.+)$", v)
        names.append(
            role.group(1) if role else ("the root user" if re.match(r"^arn:aws[a-z-]*:iam::\*:root$", v) else v)
        )
    return ", ".join(names)


def describe_condition(condition: Mapping[str, Any]) -> str:
    """A condition block in words: 'when aws:RequestedRegion StringNotEquals us-east-1, eu-west-1'.

    Caller-ARN conditions read as who they spare or target: 'except for BreakGlassRole', 'only for the root
    user'. Returns '' for no condition.
    """
    when, who = [], []
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            when.append(f"{operator} {keys}")
            continue
        for key, values in keys.items():
            if key.lower() == PRINCIPAL_ARN:
                negated = "Not" in operator.split(":")[-1]
                who.append(f"{'except for' if negated else 'only for'} {_principal_names(_as_list(values))}")
            else:
                when.append(f"{key} {operator} {', '.join(_as_list(values))}")
    parts = ([f"when {'; '.join(when)}"] if when else []) + who
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------ statements


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The statement as IAM reads it, for the analyses that work on policy JSON."""
        out: dict[str, Any] = {"Effect": self.effect}
        out["NotAction" if self.not_action else "Action"] = list(self.actions)
        out["NotResource" if self.not_resource else "Resource"] = list(self.resources)
        if self.condition:
            out["Condition"] = self.condition
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Statement:
        not_action = "NotAction" in data
        not_resource = "NotResource" in data
        return cls(
            sid=str(data.get("Sid", "")),
            effect=str(data.get("Effect", "Allow")),
            actions=tuple(_as_list(data.get("NotAction" if not_action else "Action"))),
            not_action=not_action,
            resources=tuple(_as_list(data.get("NotResource" if not_resource else "Resource", "*"))),
            not_resource=not_resource,
            condition=dict(data.get("Condition") or {}),
        )

    @cached_property
    def _named(self) -> frozenset[str]:
        return frozenset().union(*(expand(a) for a in self.actions)) if self.actions else frozenset()

    def names(self, action: str) -> bool:
        """Whether the statement's Action (or NotAction) covers an action (lower-case)."""
        if action in catalogue():
            return (action in self._named) != self.not_action
        # an action the catalogue lacks: match the patterns themselves
        return any(glob(a).match(action) for a in self.actions) != self.not_action

    @cached_property
    def action_set(self) -> frozenset[str]:
        return all_actions() - self._named if self.not_action else self._named

    @property
    def every_resource(self) -> bool:
        return not self.not_resource and "*" in self.resources

    @property
    def every_action(self) -> bool:
        return not self.not_action and "*" in self.actions

    def covers(self, arn: str, any_account: bool = False) -> bool:
        """Whether the statement's Resource (or NotResource) covers an ARN."""
        hit = any(_arn_glob(_any_account(p) if any_account else p).match(arn) for p in self.resources)
        return hit != self.not_resource

    def explain(self, condition: Mapping[str, Any] | None = None) -> str:
        """The statement in one line, with its conditions (or `condition`, what is left of them)."""
        words = describe_condition(self.condition if condition is None else condition)
        return self.summary() + (f" {words}" if words else "")

    def summary(self, limit: int = 4) -> str:
        """'Deny organizations:LeaveOrganization', 'Deny every action except 43 (iam:*, ...)'."""
        shown = ", ".join(self.actions[:limit]) + (
            f", … ({len(self.actions)} in all)" if len(self.actions) > limit else ""
        )
        if self.not_action:
            what = f"every action other than {shown}"
        elif self.every_action:
            what = "every action"
        else:
            what = shown
        text = f"{self.effect} {what}"
        if not self.every_resource:
            text += f" on {', '.join(self.resources[:2])}" + ("…" if len(self.resources) > 2 else "")
        return text


def _any_account(arn_pattern: str) -> str:
    parts = arn_pattern.split(":", 5)
    if len(parts) == 6 and parts[4]:
        parts[4] = "*"
    return ":".join(parts)


@dataclass(frozen=True)
class Document:
    """One policy document, parsed once."""

    statements: tuple[Statement, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Document:
        if not data:
            return cls(())
        raw = data.get("Statement", [])
        items: Sequence[Any] = [raw] if isinstance(raw, Mapping) else list(raw)
        return cls(tuple(Statement.from_json(s) for s in items if isinstance(s, Mapping)))

    def to_json(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [s.to_json() for s in self.statements]}

    @property
    def allows(self) -> list[Statement]:
        return [s for s in self.statements if s.effect == "Allow"]

    @property
    def denies(self) -> list[Statement]:
        return [s for s in self.statements if s.effect == "Deny"]

    @cached_property
    def allowed_actions(self) -> frozenset[str]:
        """Every action some Allow names, on any resource, under any condition."""
        return frozenset().union(*(s.action_set for s in self.allows)) if self.allows else frozenset()

    @property
    def full_access(self) -> bool:
        """An unconditional Allow of every action on every resource."""
        return any(s.every_action and s.every_resource and not s.condition for s in self.allows)

    def allows_action(self, action: str) -> bool:
        return any(s.names(action) for s in self.allows)

    def within(self, actions: frozenset[str]) -> frozenset[str]:
        """The actions this document (a boundary) allows, of these: `allows_action` for each, by set algebra.

        A catalogued action is allowed exactly when some Allow's action set holds it; others are matched
        against the patterns as written."""
        return (actions & self.allowed_actions) | frozenset(a for a in actions - all_actions() if self.allows_action(a))

    def allows_on(self, action: str, arn: str, any_account: bool = False) -> bool:
        return any(s.names(action) and s.covers(arn, any_account) for s in self.allows)


def _never(action: str) -> bool:
    return False


def document_level(
    doc: Document,
    boundary: Document | None = None,
    denied: Callable[[str], bool] = _never,
    capped: bool | None = None,
) -> Level:
    """The level a document grants, within a boundary and after unconditional denies.

    admin needs an unconditional Allow of `*` on `*` that no boundary caps and no deny takes IAM
    permissions management from; otherwise write if any remaining action writes, read if any remain.
    """
    capped = boundary is not None if capped is None else capped
    uncapped = not capped or (boundary is not None and boundary.full_access)
    if doc.full_access and uncapped and not any(denied(a) for a in permissions_management()):
        return Level.admin
    actions = doc.allowed_actions
    if capped and boundary is not None:
        actions = boundary.within(actions)
    return level_of(a for a in actions if not denied(a))


def managed_policy_level(arn: str) -> Level | None:
    """The level of an AWS managed policy on its own: the table's, else from moto's copy; None if unknown."""
    name = aws_managed_name(arn)
    if name is None:
        return None
    raw = aws_managed_document(arn)
    known = AWS_MANAGED.get(name)
    if raw is None:
        return known.level if known else None
    level = document_level(Document.from_json(raw))
    return min((level, known.level), key=lambda lv: lv.rank) if known else level
