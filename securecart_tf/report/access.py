"""Effective access, from the matrix alone: for every principal and account, how far it gets and how.

A *seat* is a session in one account: a permission set's role (Identity Center) or an IAM role. Each seat
is evaluated once: the policies that grant, the boundary that caps, the denies that take away (identity
policies, boundary, and the SCPs inherited along the account's OU path), giving a level.

A *principal* (group, role, service role, vendor account, CI identity) enters some seats directly, then
follows role trust: a seat may assume a role whose trust policy names it (its permission set, its role
or its account) when its own policies, boundary and SCPs allow `sts:AssumeRole` on that role. Each cell
keeps every way in: the chain of hops, the conditions gathered on the way (MFA, ExternalId, expiry, OIDC
subject, session length) and the seat it ends at.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import (
    AccessMatrix,
    PermissionSet,
    PolicyRef,
    Role,
    ServicePrincipal,
    ServiceRole,
    TrustedPrincipal,
    iso_duration_hours,
    ou_paths,
    service_principal,
)
from securecart_tf.iam import documents
from securecart_tf.iam.aws_managed import aws_managed_document, aws_managed_name
from securecart_tf.iam.escalation import allowed_resources, escalations
from securecart_tf.iam.lint import ROLE_CREATION_ACTIONS, unbounded_creation
from securecart_tf.model import ORGANIZATION, Model, access_stack, build_model
from securecart_tf.report.actions import Level, catalogue, highest, lowest
from securecart_tf.report.policies import (
    AWS_MANAGED,
    PRINCIPAL_ARN,
    Document,
    KnownPolicy,
    Statement,
    as_text_list,
    document_level,
    principal_matcher,
    principal_scope,
)

# A policy as a seat holds it: kind (aws-managed, customer-managed, inline), name, document (None when the report
# does not know it), the managed-policy table's entry, and a summary.
PolicySpec = tuple[str, str, Document | None, KnownPolicy | None, str]


class PrincipalKind(StrEnum):
    group = "group"
    role = "role"
    service_role = "service-role"
    vendor = "vendor"
    ci = "ci"


_REGISTER = "ecs:RegisterTaskDefinition"
"""What a seat needs to run a task as a role it may pass."""

_ESCALATION_STARTS = tuple(a.lower() for a in (*ROLE_CREATION_ACTIONS, "lambda:UpdateFunctionCode", _REGISTER))
"""The actions without one of which no escalation path of the lint rules opens."""

KIND_TITLES = {
    PrincipalKind.group: "Identity Center groups",
    PrincipalKind.role: "Roles",
    PrincipalKind.service_role: "Service roles",
    PrincipalKind.vendor: "Vendors (external accounts)",
    PrincipalKind.ci: "CI/CD identities (OIDC)",
}


@dataclass(frozen=True)
class Principal:
    id: str
    kind: PrincipalKind
    name: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "name": self.name, "description": self.description}


@dataclass(frozen=True)
class Seat:
    """A session in one account: a permission set's role or an IAM role."""

    kind: str  # permission-set | role | service-role
    name: str
    account: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}@{self.account}"


@dataclass(frozen=True)
class Hop:
    """One step of a way in."""

    kind: str  # group | permission-set | role | service-role | oidc | external | service | account
    name: str
    account: str | None = None

    def text(self) -> str:
        if self.kind in ("permission-set", "role", "service-role"):
            return f"{self.name} @{self.account}"
        if self.kind == "oidc":
            return f"OIDC sub {self.name}"
        if self.kind == "external":
            return f"account {self.name}"
        if self.kind == "account":
            return f"any principal of {self.name}"
        return self.name

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "account": self.account}


@dataclass(frozen=True)
class Conditions:
    """What must hold for a way in to work."""

    mfa: str | None = None
    external_id: str | None = None
    expires: dt.date | None = None
    oidc_subject: str | None = None
    source_account: str | None = None
    session: str | None = None

    def merge(self, other: Conditions) -> Conditions:
        expires = min((d for d in (self.expires, other.expires) if d), default=None)
        return Conditions(
            mfa=other.mfa or self.mfa,
            external_id=other.external_id or self.external_id,
            expires=expires,
            oidc_subject=other.oidc_subject or self.oidc_subject,
            source_account=other.source_account or self.source_account,
            session=other.session or self.session,
        )

    def items(self) -> list[str]:
        out = []
        if self.mfa:
            out.append(self.mfa)
        if self.external_id:
            out.append(f"ExternalId {self.external_id}")
        if self.oidc_subject:
            out.append(f"OIDC subject {self.oidc_subject}")
        if self.expires:
            out.append(f"expires {self.expires.isoformat()}")
        if self.source_account:
            out.append(f"only from its own account ({self.source_account})")
        if self.session:
            out.append(f"sessions up to {self.session}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "mfa": self.mfa,
            "external_id": self.external_id,
            "expires": self.expires.isoformat() if self.expires else None,
            "oidc_subject": self.oidc_subject,
            "source_account": self.source_account,
            "session": self.session,
        }


@dataclass
class Grant:
    """A policy that grants, and the level it reaches within the boundary and denies."""

    kind: str  # aws-managed | customer-managed | inline
    name: str
    level: Level
    summary: str = ""
    note: str = ""
    assumes_roles: bool = False
    """It allows sts:AssumeRole: the trust chains in the report follow it."""

    @property
    def level_text(self) -> str:
        if self.level == Level.none and self.assumes_roles:
            return "assume role only"
        return self.level.value

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "level": self.level.value,
            "summary": self.summary,
            "note": self.note,
            "assumes_roles": self.assumes_roles,
        }


@dataclass
class Boundary:
    kind: str
    name: str
    allows: Level
    """The most the boundary allows on its own."""
    lowered: bool
    """Whether it lowers what the grants would reach without it."""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "allows": self.allows.value, "lowered": self.lowered}


@dataclass
class ScpEffect:
    """One SCP on a seat's OU path, and whether it restricts that seat."""

    name: str
    guardrail: str
    attached_at: str
    status: str  # restricts | exempt | does-not-apply | not-enforced
    restrictions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "guardrail": self.guardrail,
            "attached_at": self.attached_at,
            "status": self.status,
            "restrictions": self.restrictions,
        }


@dataclass
class SeatAccess:
    seat: Seat
    principal_arn: str
    level: Level
    grants: list[Grant]
    boundary: Boundary | None
    scps: list[ScpEffect]
    scps_apply: bool
    denies: list[str]
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""
    """A digest of the documents that grant and cap here: it changes when any of them does."""
    escalation: list[str] = field(default_factory=list)
    """Paths by which this seat can make itself an administrator; any makes it admin-equivalent."""
    # kept for chain evaluation, not reported
    documents: list[Document | None] = field(default_factory=list, repr=False)
    boundary_document: Document | None = field(default=None, repr=False)
    hard_denies: list[Statement] = field(default_factory=list, repr=False)
    resource_denies: list[Statement] = field(default_factory=list, repr=False)
    profile: tuple[str, ...] = field(default=(), repr=False)
    """Which set of policies it holds: seats with the same profile hold the same policies."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seat": self.seat.key,
            "kind": self.seat.kind,
            "name": self.seat.name,
            "account": self.seat.account,
            "principal_arn": self.principal_arn,
            "level": self.level.value,
            "grants": [g.to_json() for g in self.grants],
            "boundary": self.boundary.to_json() if self.boundary else None,
            "scps_apply": self.scps_apply,
            "scps": [s.to_json() for s in self.scps],
            "denies": self.denies,
            "notes": self.notes,
            "escalation": self.escalation,
            "fingerprint": self.fingerprint,
        }


@dataclass
class Path:
    """One way in to a cell: the chain of hops, what it requires, and the seat it ends at."""

    chain: list[Hop]
    seat: str
    conditions: Conditions
    level: Level
    status: str = "active"  # active | expired | blocked
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.status == "active"

    def way_in(self) -> str:
        return " → ".join(h.text() for h in self.chain)

    def to_json(self) -> dict[str, Any]:
        return {
            "way_in": self.way_in(),
            "chain": [h.to_json() for h in self.chain],
            "seat": self.seat,
            "conditions": self.conditions.to_json(),
            "level": self.level.value,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class Cell:
    principal: str
    account: str
    paths: list[Path] = field(default_factory=list)

    @property
    def level(self) -> Level:
        return highest(p.level for p in self.paths if p.active)

    @property
    def active_paths(self) -> list[Path]:
        return [p for p in self.paths if p.active]

    @property
    def inactive_paths(self) -> list[Path]:
        return [p for p in self.paths if not p.active]

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "account": self.account,
            "level": self.level.value,
            "paths": [p.to_json() for p in self.paths],
        }


@dataclass
class AccountInfo:
    name: str
    ou: str
    environment: str | None
    management: bool
    scp_path: list[tuple[str, list[str]]]
    """(attach point, SCP names attached there) from the root down to the account."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ou": self.ou,
            "environment": self.environment,
            "management": self.management,
            "scps_apply": not self.management,
            "scp_path": [{"at": at, "scps": names} for at, names in self.scp_path],
        }


@dataclass
class OUNode:
    path: str
    name: str
    scps: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    children: list[OUNode] = field(default_factory=list)
    rcps: list[str] = field(default_factory=list)
    """Resource control policies attached here: they cap what may be done to the resources below."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "scps": self.scps,
            "rcps": self.rcps,
            "accounts": self.accounts,
            "children": [c.to_json() for c in self.children],
        }


@dataclass
class GuardrailInfo:
    name: str
    guardrail: str
    description: str
    statements: list[str]
    attached: list[str]
    type: str = "scp"
    """scp or rcp."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "guardrail": self.guardrail,
            "description": self.description,
            "statements": self.statements,
            "attached": self.attached,
        }


@dataclass
class Report:
    organization: str
    revision: str | None
    as_of: dt.date
    accounts: list[AccountInfo]
    principals: list[Principal]
    cells: dict[tuple[str, str], Cell]
    seats: dict[str, SeatAccess]
    guardrails: dict[str, GuardrailInfo]
    ou_tree: OUNode
    management_account: str
    notes: list[str] = field(default_factory=list)

    def cell(self, principal: str, account: str) -> Cell:
        return self.cells.get((principal, account)) or Cell(principal, account)

    def level(self, principal: str, account: str) -> Level:
        return self.cell(principal, account).level

    @property
    def account_names(self) -> list[str]:
        return [a.name for a in self.accounts]

    def only(self, accounts: list[str]) -> Report:
        """The same report with only these account columns."""
        keep = set(accounts)
        return replace(
            self,
            accounts=[a for a in self.accounts if a.name in keep],
            cells={k: c for k, c in self.cells.items() if k[1] in keep},
            seats={k: s for k, s in self.seats.items() if s.seat.account in keep},
        )

    def _cell_json(self, cell: Cell) -> dict[str, Any]:
        data = cell.to_json()
        data["scps_apply"] = cell.account != self.management_account
        if cell.account == self.management_account:
            data["note"] = "SCPs do not apply in the management account: nothing above these principals caps them"
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "revision": self.revision,
            "as_of": self.as_of.isoformat(),
            "management_account": self.management_account,
            "levels": [lv.value for lv in Level],
            "accounts": [a.to_json() for a in self.accounts],
            "principals": [p.to_json() for p in self.principals],
            "matrix": {p.id: {a.name: self.level(p.id, a.name).value for a in self.accounts} for p in self.principals},
            "cells": [self._cell_json(c) for c in self.cells.values() if c.paths],
            "seats": {k: s.to_json() for k, s in self.seats.items()},
            "guardrails": {k: g.to_json() for k, g in self.guardrails.items()},
            "ou_tree": self.ou_tree.to_json(),
            "notes": self.notes,
        }


# ----------------------------------------------------------------------------------------------- helpers


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g}h"


def _ps_session(ps: PermissionSet) -> str:
    return f"{iso_duration_hours(ps.session_duration):g}h"


def _mfa_text(matrix: AccessMatrix) -> str | None:
    ic = matrix.identity_center
    if ic is None:
        return None
    mode = ic.identity_source.mfa
    if mode == "required":
        return f"MFA at sign-in ({ic.identity_source.provider.value} via Identity Center)"
    if mode == "context-aware":
        return f"context-aware MFA at sign-in ({ic.identity_source.provider.value})"
    return None


def _trust_conditions(role: Role, principal: TrustedPrincipal, subject: str | None) -> Conditions:
    # mirrors documents.trust_statement: MFA keys exist only on IAM sessions, not on Identity Center or OIDC
    human_iam = principal.kind in ("role", "account", "external")
    return Conditions(
        mfa="aws:MultiFactorAuthPresent" if role.trust.require_mfa and human_iam else None,
        external_id=principal.external.external_id if principal.external is not None else None,
        expires=role.trust.expires,
        oidc_subject=subject,
    )


class _Builder:
    def __init__(self, project: Project, model: Model, as_of: dt.date):
        self.project = project
        self.model = model
        self.m = project.matrix
        self.as_of = as_of
        self.mgmt = self.m.organization.management_account
        self.partition = documents.partition_of(self.m.organization.home_region)
        self.accounts = {a.name: a for a in self.m.accounts}
        self.roles = {r.name: r for r in self.m.roles}
        self.service_roles = {s.name: s for s in self.m.service_roles}
        ic = self.m.identity_center
        self.permission_sets = {ps.name: ps for ps in ic.permission_sets} if ic else {}
        self.policies = {p.name: p for p in self.m.policies}
        self.mfa = _mfa_text(self.m)
        self.seat_cache: dict[str, SeatAccess] = {}
        self.evaluating: set[str] = set()
        """Seats being evaluated: a seat that asks what another may do never waits on itself."""
        self.doc_cache: dict[str, PolicySpec] = {}
        self.notes: list[str] = []
        # What depends on the policies alone is computed once per distinct set of policies, what depends on
        # the SCPs above once per distinct SCP path: a permission set assigned in 500 accounts is read once.
        self.profiles: dict[tuple[str, ...], _Profile] = {}
        self.scp_cache: dict[tuple[Any, ...], tuple[list[ScpEffect], list[Statement], list[Statement]]] = {}
        self.grant_cache: dict[tuple[Any, ...], _Granted] = {}
        self.escalation_cache: dict[tuple[Any, ...], list[str]] = {}
        self.path_cache: dict[str, list[tuple[str, list[str]]]] = {}
        self.attached_path: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        """Account → the points of its SCP path with SCPs attached, as a key."""
        self.assume_cache: dict[tuple[str, str, bool], tuple[bool, str]] = {}
        self.level_memo: LevelMemo = {}
        self._scp_documents()
        self.scp_conditions = _arn_conditions(self.scp_docs.values())

    # --- SCPs along OU paths, from the organization stack's inputs (exactly what is attached)

    def _scp_documents(self) -> None:
        org = self.model.stacks[ORGANIZATION].inputs
        self.scp_docs: dict[str, Document] = {}
        self.guardrail_of: dict[str, str] = {}
        for guardrail, parts in self.model.scp_parts.items():
            for part in parts:
                self.guardrail_of[part] = guardrail
        descriptions = {g.name: g.description or _library_summary(g.builtin) for g in self.m.guardrails}
        self.guardrails: dict[str, GuardrailInfo] = {}
        for part, spec in org["guardrails"].items():
            document = Document.from_json(json.loads(spec["content"]))
            self.scp_docs[part] = document
            guardrail = self.guardrail_of.get(part, part)
            self.guardrails[part] = GuardrailInfo(
                name=part,
                guardrail=guardrail,
                description=descriptions.get(guardrail) or spec["description"],
                statements=[s.explain() for s in document.statements],
                attached=[],
                type="rcp" if spec.get("type") == "RESOURCE_CONTROL_POLICY" else "scp",
            )
        self.attached: dict[str, list[str]] = {}
        self.rcp_attached: dict[str, list[str]] = {}  # RCPs cap resources, not seats: kept apart
        rcps = {part for part, spec in org["guardrails"].items() if spec.get("type") == "RESOURCE_CONTROL_POLICY"}
        for att in org["attachments"].values():
            by_target = self.rcp_attached if att["policy"] in rcps else self.attached
            by_target.setdefault(att["target"], []).append(att["policy"])
            target = att["target"]
            label = "root" if target == "root" else target.split(":", 1)[1]
            self.guardrails[att["policy"]].attached.append(label)

    def scp_path(self, account: str) -> list[tuple[str, list[str]]]:
        path = self.path_cache.get(account)
        if path is None:
            path = self.path_cache[account] = self._scp_path(account)
        return path

    def _scp_path(self, account: str) -> list[tuple[str, list[str]]]:
        ou = self.accounts[account].ou
        points = [("root", "root")]
        if ou != "/":
            parts = ou.split("/")
            points += [("/".join(parts[: i + 1]), "ou:" + "/".join(parts[: i + 1])) for i in range(len(parts))]
        points.append((account, f"account:{account}"))
        return [(label, sorted(self.attached.get(key, []))) for label, key in points]

    # --- seats

    def principal_arn(self, seat: Seat) -> str:
        account_id = self.model.directory(seat.account)
        if seat.kind == "permission-set":
            # the real suffix is random; SCP conditions match it with a wildcard
            return (
                f"arn:{self.partition}:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/"
                f"AWSReservedSSO_{seat.name}_0123456789abcdef"
            )
        # the partition's ARN, as the guardrails' exemptions name it
        return f"arn:{self.partition}:iam::{account_id}:role/{seat.name}"

    def _customer_document(self, name: str) -> dict[str, Any] | None:
        policy = self.policies.get(name)
        if policy is None:
            return None
        if policy.document is not None:
            doc: dict[str, Any] = policy.document.model_dump(mode="json", exclude_none=True)
            return doc
        file = self.project.policy_files.get(str(policy.file))
        return file.document if file else None

    def _resolve(self, ref: PolicyRef | str) -> PolicySpec:
        key = ref if isinstance(ref, str) else ref.label
        if key not in self.doc_cache:
            self.doc_cache[key] = self._resolve_uncached(ref)
        return self.doc_cache[key]

    def _resolve_uncached(self, ref: PolicyRef | str) -> PolicySpec:
        arn = ref if isinstance(ref, str) else ref.arn
        if arn is not None:
            name = aws_managed_name(arn)
            known = AWS_MANAGED.get(name) if name else None
            raw = aws_managed_document(arn) if name else None
            summary = known.summary if known else ""
            if raw is None and known is None:
                summary = "document unknown to the report; assumed to write"
            return (
                ("aws-managed" if name else "managed"),
                arn,
                (Document.from_json(raw) if raw else None),
                known,
                summary,
            )
        assert not isinstance(ref, str) and ref.policy is not None
        raw = self._customer_document(ref.policy)
        policy = self.policies.get(ref.policy)
        return (
            "customer-managed",
            ref.policy,
            Document.from_json(raw) if raw is not None else None,
            None,
            policy.description if policy else "",
        )

    def _seat_policies(self, seat: Seat) -> tuple[list[PolicySpec], PolicyRef | None]:
        grants: list[PolicySpec] = []
        if seat.kind == "permission-set":
            ps = self.permission_sets[seat.name]
            grants += [self._resolve(arn) for arn in ps.managed_policies]
            grants += [self._resolve(PolicyRef(policy=n)) for n in ps.customer_managed_policies]
            if ps.inline_policy is not None:
                raw = ps.inline_policy.model_dump(mode="json", exclude_none=True)
                grants.append(("inline", "inline policy", Document.from_json(raw), None, ""))
            return grants, ps.permissions_boundary
        role: Role | ServiceRole = self.roles[seat.name] if seat.kind == "role" else self.service_roles[seat.name]
        grants += [self._resolve(ref) for ref in role.managed_policies]
        scope = "scoped to named resources" if seat.kind == "service-role" else ""
        for name, text in self._inline(seat).items():
            grants.append(("inline", name, Document.from_json(json.loads(text)), None, scope))
        return grants, role.permissions_boundary

    def _inline(self, seat: Seat) -> dict[str, str]:
        """A role's inline policies as rendered for its account (they may name the account)."""
        if seat.kind == "permission-set":
            return {}
        stack = self.model.stacks.get(access_stack(seat.account))
        inline: dict[str, str] = stack.inputs["roles"][seat.name]["inline_policies"] if stack else {}
        return inline

    def profile(self, seat: Seat) -> _Profile:
        """The seat's policies, read once for every account where the same policies sit."""
        key = (seat.kind, seat.name, *(f"{name}\n{text}" for name, text in sorted(self._inline(seat).items())))
        found = self.profiles.get(key)
        if found is None:
            specs, boundary_ref = self._seat_policies(seat)
            found = self.profiles[key] = _Profile.of(key, specs, boundary_ref, self._resolve)
        return found

    def _scp_key(self, seat: Seat, arn: str) -> tuple[Any, ...]:
        """The SCP path above the seat, whether SCPs apply there, and how their conditions see the caller."""
        enforced = seat.account != self.mgmt
        path = self.attached_path.get(seat.account)
        if path is None:  # the same for every seat of the account
            path = tuple((at, tuple(names)) for at, names in self.scp_path(seat.account) if names)
            self.attached_path[seat.account] = path
        return (path, enforced, _arn_vector(self.scp_conditions, arn) if enforced else ())

    def _scp_effects(self, key: tuple[Any, ...], arn: str) -> tuple[list[ScpEffect], list[Statement], list[Statement]]:
        """The SCPs above a seat, once per distinct SCP path and caller (as the SCPs' conditions see it)."""
        found = self.scp_cache.get(key)
        if found is None:
            found = self.scp_cache[key] = self._scp_effects_uncached(key[0], key[1], arn)
        return found

    def _scp_effects_uncached(
        self, path: tuple[tuple[str, tuple[str, ...]], ...], enforced: bool, arn: str
    ) -> tuple[list[ScpEffect], list[Statement], list[Statement]]:
        effects: list[ScpEffect] = []
        hard: list[Statement] = []
        resource: list[Statement] = []
        for at, names in path:
            for name in names:
                doc = self.scp_docs[name]
                if not enforced:
                    effects.append(ScpEffect(name, self.guardrail_of.get(name, name), at, "not-enforced"))
                    continue
                restrictions: list[str] = []
                statuses = set()
                for st in doc.denies:
                    status, remaining = principal_scope(st.condition, arn)
                    statuses.add(status)
                    if status != "applies":
                        continue
                    restrictions.append(st.explain(remaining))
                    if not remaining:
                        (hard if st.every_resource else resource).append(st)
                if restrictions:
                    status_text = "restricts"
                elif "exempt" in statuses:
                    status_text = "exempt"
                else:
                    status_text = "does-not-apply"
                effects.append(ScpEffect(name, self.guardrail_of.get(name, name), at, status_text, restrictions))
        return effects, hard, resource

    def seat(self, seat: Seat) -> SeatAccess:
        """What a session of this seat can do, evaluated once."""
        access = self.seat_cache.get(seat.key)
        if access is None:
            self.evaluating.add(seat.key)
            try:
                access = self.seat_cache[seat.key] = self._evaluate(seat)
            finally:
                self.evaluating.discard(seat.key)
        return access

    def _granted(self, seat: Seat, profile: _Profile, arn: str) -> _Granted:
        """The grants within the boundary and the denies: once per policies, SCP path and caller."""
        scp_key = self._scp_key(seat, arn)
        key = (profile.key, _arn_vector(profile.conditions, arn), scp_key)
        found = self.grant_cache.get(key)
        if found is None:
            effects = self._scp_effects(scp_key, arn)
            found = self.grant_cache[key] = _Granted.of(profile, arn, effects, self.level_memo)
        return found

    def _evaluate(self, seat: Seat) -> SeatAccess:
        arn = self.principal_arn(seat)
        profile = self.profile(seat)
        granted = self._granted(seat, profile, arn)
        level = granted.level
        notes = list(granted.notes)
        flagged = self._admin_flag(seat)
        escalation = [] if level == Level.admin else self._escalation(seat, profile)
        if escalation:
            level = Level.admin
            notes.append("admin-equivalent: it can escalate: " + "; ".join(escalation))
        elif level == Level.admin:
            notes.append(
                "marked `admin: true` in the matrix" if flagged else "administrator access not marked `admin: true`"
            )
        return SeatAccess(
            fingerprint=profile.fingerprint,
            seat=seat,
            principal_arn=arn,
            level=level,
            grants=granted.grants,
            boundary=granted.boundary,
            scps=granted.scps,
            scps_apply=seat.account != self.mgmt,
            denies=granted.denies,
            notes=notes,
            escalation=escalation,
            documents=profile.documents,
            boundary_document=profile.boundary_doc,
            hard_denies=granted.hard,
            resource_denies=granted.resource,
            profile=profile.key,
        )

    def _escalation(self, seat: Seat, profile: _Profile) -> list[str]:
        """The paths by which the seat can grant itself anything: the lint rules' own analysis."""
        if profile.boundary_ref is not None and profile.boundary_doc is None:
            return []  # a boundary whose document is not known here: nothing to prove either way
        if not profile.may_escalate:
            return []
        admins = self._admin_task_roles(seat.account) if profile.registers else {}
        key = (profile.key, tuple(sorted((name, p.key) for name, p in admins.items())))
        found = self.escalation_cache.get(key)
        if found is None:
            found = self.escalation_cache[key] = _escalation_paths(profile, admins)
        return found

    def _admin_task_roles(self, account: str) -> dict[str, _Profile]:
        """ECS task roles placed in the account whose sessions are administrators, with their policies."""
        out: dict[str, _Profile] = {}
        for name, role in self.service_roles.items():
            seat = self.role_seat(name, account)
            if role.service != ServicePrincipal.ecs_tasks or seat is None or seat.key in self.evaluating:
                continue
            access = self.seat(seat)
            if access.level == Level.admin:
                out[name] = self.profile(seat)
        return out

    def role_seat(self, name: str, account: str) -> Seat | None:
        """The seat of a role or service role placed in an account; None if it is not placed there."""
        if name in self.roles and account in self.model.placements.get(name, []):
            return Seat("role", name, account)
        if name in self.service_roles and account in self.model.placements.get(name, []):
            return Seat("service-role", name, account)
        return None

    def _admin_flag(self, seat: Seat) -> bool:
        if seat.kind == "permission-set":
            return self.permission_sets[seat.name].admin
        if seat.kind == "role":
            return self.roles[seat.name].admin
        return False

    def may_assume(self, source: SeatAccess, target: Seat, same_account_principal: bool) -> tuple[bool, str]:
        """Whether a session of `source` can call sts:AssumeRole on `target` (its trust allows it already)."""
        key = (source.seat.key, target.key, same_account_principal)
        found = self.assume_cache.get(key)
        if found is None:
            found = self.assume_cache[key] = self._may_assume(source, target, same_account_principal)
        return found

    def _may_assume(self, source: SeatAccess, target: Seat, same_account_principal: bool) -> tuple[bool, str]:
        action = "sts:assumerole"
        arn = self.principal_arn(target)
        any_account = target.account not in self.model.directory.ids
        if not same_account_principal:
            granted = False
            for doc, grant in zip(source.documents, source.grants, strict=True):
                if doc is None:
                    granted = granted or grant.level.rank >= Level.write.rank
                elif doc.allows_on(action, arn, any_account):
                    granted = True
            if not granted:
                return False, (
                    f"{source.seat.name} @{source.seat.account} is trusted by {target.name}, but none of its policies "
                    "allows sts:AssumeRole on it"
                )
            bdoc = source.boundary_document
            if source.boundary is not None and bdoc is not None and not bdoc.allows_on(action, arn, any_account):
                return False, (
                    f"{source.seat.name} @{source.seat.account} is trusted by {target.name}, but its boundary "
                    f"{source.boundary.name} does not allow sts:AssumeRole on it"
                )
        for st in source.hard_denies + source.resource_denies:
            if st.names(action) and st.covers(arn, any_account):
                return False, (
                    f"{source.seat.name} @{source.seat.account} is trusted by {target.name}, but sts:AssumeRole on it "
                    f"is denied ({st.sid or st.summary()})"
                )
        return True, ""


def _library_summary(builtin: str | None) -> str:
    from securecart_tf.iam.guardrails import LIBRARY

    entry = LIBRARY.get(builtin) if builtin else None
    return entry.summary if entry else ""


def _grant_level(
    doc: Document | None,
    known: KnownPolicy | None,
    has_boundary: bool,
    boundary: Document | None,
    denied: Callable[[str], bool],
) -> Level:
    if doc is None:
        level = known.level if known else Level.write
        if has_boundary:
            level = lowest(level, Level.write if boundary is None else document_level(boundary, denied=denied))
        return level
    level = document_level(doc, boundary, denied, capped=has_boundary)
    return lowest(level, known.level) if known else level


def _identity_denies(docs: list[Document | None], arn: str) -> tuple[list[Statement], list[Statement]]:
    """The denies of a seat's own policies and boundary that apply to it whatever else holds: those on every
    resource, and those on some."""
    hard: list[Statement] = []
    resource: list[Statement] = []
    for doc in docs:
        if doc is None:
            continue
        for st in doc.denies:
            status, remaining = principal_scope(st.condition, arn)
            if status == "applies" and not remaining:
                (hard if st.every_resource else resource).append(st)
    return hard, resource


def _denied_by(hard: list[Statement]) -> Callable[[str], bool]:
    """Whether an action is denied on every resource by one of these statements."""
    denied_known = frozenset().union(*(st.action_set for st in hard))
    catalogued = catalogue()

    def denied(action: str) -> bool:
        if action in catalogued:
            return action in denied_known
        return any(st.names(action) for st in hard)

    return denied


LevelMemo = dict[tuple[int, ...], Level]
"""Levels already computed in one report, by the identities of the documents, boundary and denies involved."""


def _grants(
    grant_specs: list[PolicySpec],
    has_boundary: bool,
    boundary: Document | None,
    hard: list[Statement],
    memo: LevelMemo | None = None,
) -> tuple[list[Grant], bool, list[str]]:
    """Each policy's grant within the boundary and denies; whether the boundary lowered any; notes on them.

    `memo` keeps each level by the objects it was computed from, which outlive the report's computation: a
    policy shared by many permission sets under the same denies is classified once."""
    notes: list[str] = []
    grants: list[Grant] = []
    lowered = False
    memo = {} if memo is None else memo
    denied = _denied_by(hard)
    denies = tuple(id(st) for st in hard)

    def level(doc: Document | None, known: KnownPolicy | None, bounded: bool, cap: Document | None) -> Level:
        key = (id(doc), id(known), bounded, id(cap), *denies)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _grant_level(doc, known, bounded, cap, denied)
        return found

    for kind, name, doc, known, summary in grant_specs:
        capped = level(doc, known, has_boundary, boundary)
        free = level(doc, known, False, None)
        lowered = lowered or capped.rank < free.rank
        note = ""
        if doc is None:
            note = "level from the managed-policy table" if known else "unknown document: assumed to write"
            if known is None:
                notes.append(f"{name}: the report does not know this policy's document; it assumes write")
        assumes = doc is not None and doc.allows_action("sts:assumerole")
        grants.append(Grant(kind, name, capped, summary, note, assumes))
    return grants, lowered, notes


# ------------------------------------------------------------------------------- computed once, shared


ArnCondition = Callable[[str], bool]
"""A condition on aws:PrincipalArn (an operator and the patterns it names), as a test of a caller's ARN."""


def _arn_conditions(docs: Iterable[Document]) -> tuple[ArnCondition, ...]:
    """Every caller-ARN condition of these documents' denies: all that `principal_scope` reads of a caller."""
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    for doc in docs:
        for st in doc.denies:
            for operator, keys in st.condition.items():
                if not isinstance(keys, Mapping):
                    continue
                for key, values in keys.items():
                    if key.lower() == PRINCIPAL_ARN:
                        found[(operator, tuple(as_text_list(values)))] = None
    return tuple(principal_matcher(operator, patterns) for operator, patterns in found)


def _arn_vector(conditions: tuple[ArnCondition, ...], arn: str) -> tuple[bool, ...]:
    """Which of these conditions the caller's ARN matches: two callers alike here are alike to the documents."""
    return tuple(matches(arn) for matches in conditions)


@dataclass
class _Profile:
    """A seat's policies, whatever account it sits in: resolved, parsed and fingerprinted once."""

    key: tuple[str, ...]
    specs: list[PolicySpec]
    boundary_ref: PolicyRef | None
    boundary_kind: str
    boundary_name: str
    boundary_doc: Document | None
    conditions: tuple[ArnCondition, ...]
    fingerprint: str

    @classmethod
    def of(
        cls,
        key: tuple[str, ...],
        specs: list[PolicySpec],
        boundary_ref: PolicyRef | None,
        resolve: Callable[[PolicyRef], PolicySpec],
    ) -> _Profile:
        boundary_doc: Document | None = None
        boundary_kind = boundary_name = ""
        if boundary_ref is not None:
            boundary_kind, boundary_name, boundary_doc, _, _ = resolve(boundary_ref)
        documents = [g[2] for g in specs]
        basis = (documents, boundary_doc)
        return cls(
            key=key,
            specs=specs,
            boundary_ref=boundary_ref,
            boundary_kind=boundary_kind,
            boundary_name=boundary_name,
            boundary_doc=boundary_doc,
            conditions=_arn_conditions(d for d in [*documents, boundary_doc] if d is not None),
            fingerprint=hashlib.sha256(repr(basis).encode()).hexdigest()[:16],
        )

    @property
    def documents(self) -> list[Document | None]:
        return [g[2] for g in self.specs]

    @cached_property
    def identity_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.documents if d is not None]

    @cached_property
    def boundary_json(self) -> dict[str, Any] | None:
        return self.boundary_doc.to_json() if self.boundary_doc is not None else None

    def _allows_any(self, actions: Iterable[str]) -> bool:
        """Whether some Allow of its own policies names one of these actions (lower-case), on any resource."""
        return any(doc.allows_action(a) for doc in self.documents if doc is not None for a in actions)

    @cached_property
    def registers(self) -> bool:
        """Whether it may register ECS task definitions, and so run a task as a role it may pass."""
        if not self._allows_any([_REGISTER.lower()]):
            return False
        return bool(allowed_resources(self.identity_json, self.boundary_json, _REGISTER))

    @cached_property
    def may_escalate(self) -> bool:
        """Whether its policies allow any action an escalation path starts with: else there is nothing to prove.

        Every path the lint rules know needs an Allow of one of these, so a profile without one is skipped
        without running them."""
        return self._allows_any(_ESCALATION_STARTS)


@dataclass
class _Granted:
    """What a profile grants under one SCP path, for one caller: shared by every seat alike in both."""

    grants: list[Grant]
    boundary: Boundary | None
    scps: list[ScpEffect]
    notes: list[str]
    level: Level
    denies: list[str]
    hard: list[Statement]
    resource: list[Statement]

    @classmethod
    def of(
        cls,
        profile: _Profile,
        arn: str,
        effects: tuple[list[ScpEffect], list[Statement], list[Statement]],
        memo: LevelMemo,
    ) -> _Granted:
        scps, scp_hard, scp_resource = effects
        identity_hard, identity_resource = _identity_denies([*profile.documents, profile.boundary_doc], arn)
        hard = identity_hard + scp_hard
        bounded = profile.boundary_ref is not None
        grants, lowered, notes = _grants(profile.specs, bounded, profile.boundary_doc, hard, memo)
        boundary = None
        if bounded:
            allows = document_level(profile.boundary_doc) if profile.boundary_doc else Level.write
            boundary = Boundary(profile.boundary_kind, profile.boundary_name, allows, lowered)
        denies = [
            f"{st.sid or 'Deny'}: {st.summary()}" for st in identity_hard + identity_resource if st.effect == "Deny"
        ]
        return cls(
            grants=grants,
            boundary=boundary,
            scps=scps,
            notes=notes,
            level=highest(g.level for g in grants),
            denies=denies,
            hard=hard,
            resource=identity_resource + scp_resource,
        )


def _escalation_paths(profile: _Profile, admins: Mapping[str, _Profile]) -> list[str]:
    """How a profile can make itself an administrator, given the administrator task roles it could pass."""
    identity, boundary = profile.identity_json, profile.boundary_json
    paths = []
    creates = unbounded_creation(identity, boundary)
    if creates:
        paths.append(f"{' + '.join(creates)} with no boundary forced on what it creates")
    passable = {name: admin.identity_json for name, admin in admins.items()}
    for e in escalations(identity, boundary, passable):
        if e.via.startswith("any role"):
            paths.append(e.text())
        elif (passed := e.actions[-1].removeprefix("iam:PassRole on ")) in admins:
            paths.append(f"{' + '.join(e.actions)} → acts as role {passed}, an administrator here")
    return paths


# --------------------------------------------------------------------------------------------- principals


@dataclass
class _Entry:
    chain: list[Hop]
    seat: Seat
    conditions: Conditions
    blocked: str = ""


@dataclass
class _Trust:
    """Who trusts whom: for each seat, the role seats it may move on to (with the conditions on the way and
    whether its role is named in a same-account trust), and the ways in that start outside the seats."""

    successors: dict[str, list[tuple[Seat, Conditions, bool]]] = field(default_factory=dict)
    roles: dict[str, list[_Entry]] = field(default_factory=dict)
    """Role name → every way in its trust policy allows."""
    external: dict[str, list[_Entry]] = field(default_factory=dict)
    """External account ID → the ways in it has."""
    oidc: dict[tuple[str, str], list[_Entry]] = field(default_factory=dict)
    """(OIDC provider, subject) → the ways in it has."""

    def follow(self, source: Seat, target: Seat, conditions: Conditions, same_account: bool) -> None:
        self.successors.setdefault(source.key, []).append((target, conditions, same_account))


def _seats_in(model: Model, m: AccessMatrix) -> dict[str, list[Seat]]:
    """Every seat that exists, by account."""
    seats_in: dict[str, list[Seat]] = {a.name: [] for a in m.accounts}
    for ps, acc in sorted({(ps, acc) for _, ps, acc in model.assignments}):
        seats_in[acc].append(Seat("permission-set", ps, acc))
    for r in m.roles:
        for acc in model.placements[r.name]:
            seats_in[acc].append(Seat("role", r.name, acc))
    for s in m.service_roles:
        for acc in model.placements[s.name]:
            seats_in[acc].append(Seat("service-role", s.name, acc))
    return seats_in


def _trusted(
    b: _Builder, trust: _Trust, seats_in: dict[str, list[Seat]], r: Role, target: Seat, p: TrustedPrincipal
) -> None:
    """One principal of a role's trust policy: the way in it opens, and where it can be blocked."""
    session = Conditions(session=_hours(r.max_session_duration))
    env = b.accounts[target.account].environment if target.account in b.accounts else None
    subject = documents.substitute(p.oidc.subject, environment=env, account=target.account) if p.oidc else None
    cond = _trust_conditions(r, p, subject).merge(session)
    role_hop = Hop("role", r.name, target.account)
    entry_hop: Hop
    blocked = ""
    if p.identity_center is not None:
        src = Seat("permission-set", p.identity_center.permission_set, p.identity_center.account)
        entry_hop = Hop("permission-set", src.name, src.account)
        if src in seats_in.get(src.account, []):
            trust.follow(src, target, cond, False)
            ok, why = b.may_assume(b.seat(src), target, False)
            blocked = "" if ok else why
        else:
            blocked = f"{r.name} trusts {src.name} @{src.account}, but no group is assigned it there"
    elif p.role is not None:
        src_seat = b.role_seat(p.role.role, p.role.account)
        entry_hop = Hop("role", p.role.role, p.role.account)
        if src_seat is not None:
            same = p.role.account == target.account
            trust.follow(src_seat, target, cond, same)
            ok, why = b.may_assume(b.seat(src_seat), target, same)
            blocked = "" if ok else why
        else:
            blocked = f"{r.name} trusts {p.role.role} @{p.role.account}, but that role is not placed there"
    elif p.account is not None:
        entry_hop = Hop("account", p.account)
        for src_seat in seats_in.get(p.account, []):
            if src_seat != target:
                trust.follow(src_seat, target, cond, False)
    elif p.oidc is not None:
        assert subject is not None
        entry_hop = Hop("oidc", subject)
        trust.oidc.setdefault((p.oidc.provider, p.oidc.subject), []).append(_Entry([entry_hop, role_hop], target, cond))
    elif p.service is not None:
        entry_hop = Hop("service", service_principal(p.service))
    else:
        assert p.external is not None
        entry_hop = Hop("external", p.external.account_id)
        trust.external.setdefault(p.external.account_id, []).append(_Entry([entry_hop, role_hop], target, cond))
    trust.roles.setdefault(r.name, []).append(_Entry([entry_hop, role_hop], target, cond, blocked))


def _trust(b: _Builder, seats_in: dict[str, list[Seat]]) -> _Trust:
    """Every role's trust policy, followed from each principal it names."""
    trust = _Trust()
    for r in b.m.roles:
        for acc in b.model.placements[r.name]:
            for p in r.trust.principals:
                _trusted(b, trust, seats_in, r, Seat("role", r.name, acc), p)
    return trust


def _principals(b: _Builder, trust: _Trust) -> tuple[list[Principal], dict[str, list[_Entry]]]:
    """Every principal of the report, in the order it shows them, with the ways in each starts from."""
    m, model = b.m, b.model
    principals: list[Principal] = []
    entries: dict[str, list[_Entry]] = {}
    assigned: dict[str, list[tuple[str, str]]] = {}
    for grp, ps, acc in model.assignments:
        assigned.setdefault(grp, []).append((ps, acc))
    ic = m.identity_center
    for g in ic.groups if ic is not None else []:
        pid = f"group:{g.name}"
        principals.append(Principal(pid, PrincipalKind.group, g.name, g.description))
        entries[pid] = [
            _Entry(
                [Hop("group", g.name), Hop("permission-set", ps, acc)],
                Seat("permission-set", ps, acc),
                Conditions(mfa=b.mfa, session=_ps_session(b.permission_sets[ps])),
            )
            for ps, acc in assigned.get(g.name, [])
        ]
    for r in m.roles:
        pid = f"role:{r.name}"
        description = r.description
        if r.trust.policy_file is not None:  # its own words: who they let in is not followed here
            description = "; ".join(filter(None, [description, f"custom trust policy ({r.trust.policy_file})"]))
            b.notes.append(
                f"role {r.name} has a custom trust policy ({r.trust.policy_file}): who may assume it is not shown"
            )
        principals.append(Principal(pid, PrincipalKind.role, r.name, description))
        entries[pid] = trust.roles.get(r.name, [])
    for s in m.service_roles:
        pid = f"service-role:{s.name}"
        principals.append(Principal(pid, PrincipalKind.service_role, s.name, s.description))
        service = documents.SERVICE_PRINCIPALS[s.service]
        entries[pid] = [
            _Entry(
                [Hop("service", service), Hop("service-role", s.name, acc)],
                Seat("service-role", s.name, acc),
                Conditions(source_account=acc, session="1h"),
            )
            for acc in model.placements[s.name]
        ]
    for account_id, found in sorted(trust.external.items()):
        reached = sorted({e.seat.name for e in found})
        describe = "; ".join(dict.fromkeys(b.roles[n].description for n in reached if b.roles[n].description))
        pid = f"vendor:{account_id}"
        name = f"{account_id} (external)"
        principals.append(Principal(pid, PrincipalKind.vendor, name, f"via {', '.join(reached)}. {describe}"))
        entries[pid] = found
    for (provider, subject), found in sorted(trust.oidc.items()):
        reached = sorted({e.seat.name for e in found})
        pid = f"ci:{provider}:{subject}"
        label = {"github": "GitHub Actions"}.get(provider, provider)
        principals.append(Principal(pid, PrincipalKind.ci, f"{label} {subject}", f"via {', '.join(reached)}"))
        entries[pid] = found
    return principals, entries


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then as it was.

    The report, and each rendering of it, allocates many small objects and frees none until it is done: the
    collector's full passes over them and the IAM catalogue would find nothing, and cost a quarter of the
    time at 1,000 accounts. Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_report(
    project: Project, *, as_of: dt.date | None = None, revision: str | None = None, model: Model | None = None
) -> Report:
    """Effective access of every principal in every account of a reference-checked project."""
    with collector_paused():
        return _build_report(project, as_of=as_of, revision=revision, model=model)


def _build_report(project: Project, *, as_of: dt.date | None, revision: str | None, model: Model | None) -> Report:
    model = model or build_model(project)
    as_of = as_of or dt.date.today()
    b = _Builder(project, model, as_of)
    m = project.matrix
    trust = _trust(b, _seats_in(model, m))
    principals, entries = _principals(b, trust)
    cells: dict[tuple[str, str], Cell] = {}
    for principal in principals:
        for path in _walk(b, entries[principal.id], trust.successors):
            account = path.chain[-1].account or ""
            cells.setdefault((principal.id, account), Cell(principal.id, account)).paths.append(path)

    # a trust that cannot be used is worth a line at the top: the matrix says one thing, AWS will do another
    for principal in principals:
        for e in entries[principal.id]:
            if e.blocked:
                b.notes.append(e.blocked)
    b.notes = list(dict.fromkeys(b.notes))
    accounts = [AccountInfo(a.name, a.ou, a.environment, a.name == b.mgmt, b.scp_path(a.name)) for a in m.accounts]
    return Report(
        organization=m.organization.name,
        revision=revision,
        as_of=as_of,
        accounts=accounts,
        principals=principals,
        cells=cells,
        seats=dict(sorted(b.seat_cache.items())),
        guardrails=b.guardrails,
        ou_tree=_ou_tree(b, m),
        management_account=b.mgmt,
        notes=b.notes,
    )


def _walk(b: _Builder, starts: list[_Entry], successors: dict[str, list[tuple[Seat, Conditions, bool]]]) -> list[Path]:
    """Every way a principal reaches a seat, breadth first; each seat is expanded once."""
    paths: list[Path] = []
    expanded: set[str] = set()
    queue: deque[_Entry] = deque(starts)
    while queue:
        entry = queue.popleft()
        access = b.seat(entry.seat)
        expires = entry.conditions.expires
        if entry.blocked:
            paths.append(Path(entry.chain, entry.seat.key, entry.conditions, access.level, "blocked", entry.blocked))
            continue
        if expires is not None and expires <= b.as_of:
            paths.append(
                Path(entry.chain, entry.seat.key, entry.conditions, access.level, "expired", f"trust ended {expires}")
            )
            continue
        paths.append(Path(entry.chain, entry.seat.key, entry.conditions, access.level))
        if entry.seat.key in expanded:
            continue
        expanded.add(entry.seat.key)
        visited = {(h.kind, h.name, h.account) for h in entry.chain}
        for target, cond, same in successors.get(entry.seat.key, []):
            if (target.kind, target.name, target.account) in visited:
                continue
            ok, why = b.may_assume(access, target, same)
            hop = Hop(target.kind, target.name, target.account)
            queue.append(_Entry([*entry.chain, hop], target, entry.conditions.merge(cond), "" if ok else why))
    return paths


def _ou_tree(b: _Builder, m: AccessMatrix) -> OUNode:
    root = OUNode("/", "Root", sorted(b.attached.get("root", [])), rcps=sorted(b.rcp_attached.get("root", [])))
    nodes = {"/": root}
    for path, _, _ in ou_paths(m.organization.units):
        parent = path.rsplit("/", 1)[0] if "/" in path else "/"
        key = f"ou:{path}"
        node = OUNode(
            path,
            path.rsplit("/", 1)[-1],
            sorted(b.attached.get(key, [])),
            rcps=sorted(b.rcp_attached.get(key, [])),
        )
        nodes[parent].children.append(node)
        nodes[path] = node
    for a in m.accounts:
        nodes[a.ou].accounts.append(a.name)
    return root
