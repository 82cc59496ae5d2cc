"""Lint of roles and service roles: their trust policies as rendered, who they trust and on what terms, where
they are placed, and what their policies would let them grant themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.escalation import Holder, aws_managed_grants, escalation, service_inline_documents
from securecart_tf.checks.rules import FindingSet, finding
from securecart_tf.config.schema import Role, ServiceRole
from securecart_tf.findings import Severity
from securecart_tf.iam.lint import Kind, as_list, grant_issues, parliament_issues, shorten, statements


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


_ACCOUNT_ID = re.compile(r"\b\d{12}\b")


class _Shapes:
    """Documents rendered into many accounts differ only in account IDs; lint each shape once."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def new(self, text: str) -> bool:
        shape = _ACCOUNT_ID.sub("<account>", text)
        if shape in self._seen:
            return False
        self._seen.add(shape)
        return True


def _has_condition(statement: dict[str, Any], operators: tuple[str, ...], key: str, value: str | None = None) -> bool:
    condition = statement.get("Condition") or {}
    for op, block in condition.items():
        if op.lower() not in operators or not isinstance(block, dict):
            continue
        for k, v in block.items():
            if k.lower() == key.lower() and (value is None or value in [str(x).lower() for x in as_list(v)]):
                return True
    return False


def _trust_roots(r: Role, trust: dict[str, Any], mfa_missing: set[int]) -> list[tuple[int, list[str]]]:
    """(statement index, account IDs whose root it trusts with no ExternalId or PrincipalArn condition).

    Adds to `mfa_missing` the statements of a human role that trust IAM principals without requiring MFA.
    """
    roots: list[tuple[int, list[str]]] = []
    for j, statement in enumerate(statements(trust)):
        if not isinstance(statement, dict) or j >= len(r.trust.principals):
            continue
        aws = statement.get("Principal", {}).get("AWS") if isinstance(statement.get("Principal"), dict) else None
        accounts = []
        for principal in as_list(aws) if aws else []:
            if str(principal).endswith(":root"):
                account_id = str(principal).split(":")[4]
                if not _has_condition(statement, ("stringequals",), "sts:ExternalId") and not _has_condition(
                    statement, ("arnlike", "arnequals", "stringlike", "stringequals"), "aws:PrincipalArn"
                ):
                    accounts.append(account_id)
        if accounts:
            roots.append((j, accounts))
        kind = r.trust.principals[j].kind
        if (
            r.audience.value == "human"
            and kind in ("role", "account", "external")
            and not _has_condition(statement, ("bool", "boolifexists"), "aws:MultiFactorAuthPresent", "true")
        ):
            mfa_missing.add(j)
    return roots


def role_lint(ctx: Context, out: FindingSet, i: int, r: Role) -> None:
    """Every lint rule on one role of the matrix."""
    trust_path: PathT = ("roles", i, "trust")
    root_exposed, mfa_missing = _rendered_trust(ctx, out, r, trust_path)
    _root_exposure(ctx, out, r, trust_path, root_exposed)
    _mfa(ctx, out, r, trust_path, mfa_missing)
    _vendor_expiry(ctx, out, r, trust_path)
    _developer_in_prod(ctx, out, i, r)
    inline = _inline_lint(ctx, out, i, r)
    if not r.admin:
        base: PathT = ("roles", i)
        holder = Holder(f"role '{r.name}'", r.name, base)
        entries = [
            ((*base, "managed_policies", j), str(ref.arn)) for j, ref in enumerate(r.managed_policies) if ref.arn
        ]
        aws_managed_grants(ctx, out, holder, entries)
        escalation(ctx, out, holder, r.managed_policies, r.permissions_boundary, inline)


def _inline_lint(ctx: Context, out: FindingSet, i: int, r: Role) -> list[dict[str, Any]]:
    """Lint each inline policy of a role, as rendered; returns their documents (the first account's)."""
    documents: list[dict[str, Any]] = []
    shapes = _Shapes()
    for n, (_, spec) in enumerate(ctx.rendered_roles(r.name)):
        for j, policy in enumerate(r.inline_policies):
            text = spec["inline_policies"][policy.name]
            document = json.loads(text)
            documents += [document] if n == 0 else []
            if not shapes.new(text):
                continue
            owner = f"role '{r.name}' inline policy '{policy.name}'"
            where = ctx.at("roles", i, "inline_policies", j)
            out.issues(parliament_issues(document, Kind.identity), owner, where, r.name)
            if not r.admin:
                out.issues(grant_issues(document, name=owner), "", where, r.name)
    return documents


def _rendered_trust(ctx: Context, out: FindingSet, r: Role, trust_path: PathT) -> tuple[dict[int, list[str]], set[int]]:
    """Lint the role's trust policy as rendered in each account. Returns the statements that trust another
    account's root (with the accounts where they do) and the human-role statements that do not require MFA."""
    root_exposed: dict[int, list[str]] = {}
    mfa_missing: set[int] = set()
    shapes = _Shapes()
    # A role placed in many accounts renders few distinct trust policies: analyse each text once.
    analysed: dict[str, list[tuple[int, list[str]]]] = {}
    for acc, spec in ctx.rendered_roles(r.name):
        text = spec["trust_policy"]
        roots = analysed.get(text)
        if roots is None:
            trust = json.loads(text)
            if shapes.new(text):
                out.issues(
                    parliament_issues(trust, Kind.trust), f"role '{r.name}' trust policy", ctx.at(*trust_path), r.name
                )
            roots = analysed[text] = _trust_roots(r, trust, mfa_missing)
        self_id = ctx.account_id(acc)
        for j, accounts in roots:
            for account_id in accounts:
                if account_id != self_id:
                    root_exposed.setdefault(j, []).append(acc)
    return root_exposed, mfa_missing


def _root_exposure(
    ctx: Context, out: FindingSet, r: Role, trust_path: PathT, root_exposed: dict[int, list[str]]
) -> None:
    for j, accounts in root_exposed.items():
        p = r.trust.principals[j]
        path = (*trust_path, "principals", j)
        if p.external is not None:
            out.add(
                finding(
                    "trust-root-without-external-id",
                    f"role '{r.name}' trusts the root of external account {p.external.account_id} without an "
                    "ExternalId, so anyone that account lets assume roles can (confused deputy)",
                    ctx.at(*path),
                    "set external_id: under the principal, to the value the vendor gives you",
                    r.name,
                )
            )
        else:
            out.add(
                finding(
                    "trust-root-without-external-id",
                    f"role '{r.name}' trusts the root of account '{p.account}' in {shorten(accounts)}: every "
                    "principal there that IAM lets assume it, with no ExternalId",
                    ctx.at(*path),
                    "trust a specific role (role: {role: ..., account: ...}) or an Identity Center permission set",
                    r.name,
                    Severity.warning,  # inside the organization: a wide trust, not a confused deputy
                )
            )


def _mfa(ctx: Context, out: FindingSet, r: Role, trust_path: PathT, mfa_missing: set[int]) -> None:
    for j in sorted(mfa_missing):
        out.add(
            finding(
                "trust-human-without-mfa",
                f"human role '{r.name}' trusts {r.trust.principals[j].kind} principal #{j + 1} without requiring MFA",
                ctx.at(*trust_path, "require_mfa") if ctx.has(*trust_path, "require_mfa") else ctx.at(*trust_path),
                "set trust.require_mfa: true",
                r.name,
            )
        )
    ic = ctx.matrix.identity_center
    if (
        r.audience.value == "human"
        and ic is not None
        and ic.identity_source.mfa == "disabled"
        and any(p.identity_center is not None for p in r.trust.principals)
    ):
        out.add(
            finding(
                "trust-human-without-mfa",
                f"human role '{r.name}' trusts Identity Center sessions, but identity_source.mfa is disabled",
                ctx.at("identity_center", "identity_source", "mfa"),
                "set identity_center.identity_source.mfa: required",
                r.name,
            )
        )


def _vendor_expiry(ctx: Context, out: FindingSet, r: Role, trust_path: PathT) -> None:
    if r.audience.value != "vendor" and not any(p.external is not None for p in r.trust.principals):
        return
    if r.trust.expires is None:
        out.add(
            finding(
                "vendor-role-expiry",
                f"vendor role '{r.name}' has no trust expiry, so the vendor's access never ends",
                ctx.at(*trust_path),
                "set trust.expires: to the end of the contract (YYYY-MM-DD)",
                r.name,
            )
        )
    elif r.trust.expires <= today():  # trust ends at 00:00 UTC on that date
        out.add(
            finding(
                "vendor-role-expiry",
                f"vendor role '{r.name}' expired on {r.trust.expires.isoformat()}; its trust no longer works",
                ctx.at(*trust_path, "expires"),
                "remove the role, or move trust.expires if the contract was renewed",
                r.name,
            )
        )


def _developer_in_prod(ctx: Context, out: FindingSet, i: int, r: Role) -> None:
    if r.name.lower() != "developerrole":
        return
    prod = [a for a in ctx.model.placements.get(r.name, []) if ctx.environment(a) == "prod"]
    if not prod:
        return
    base: PathT = ("roles", i)
    path: PathT = (*base, "name")
    for j, env in enumerate(r.environments):
        if env == "prod":
            path = (*base, "environments", j)
    for j, acc in enumerate(r.accounts):
        if acc in prod:
            path = (*base, "accounts", j)
    for j, ou in enumerate(r.ous):
        if set(ctx.model.accounts_under.get(ou, [])) & set(prod):
            path = (*base, "ous", j)
    out.add(
        finding(
            "developer-role-in-prod",
            f"DeveloperRole is placed in prod account(s) {shorten(prod)}; developers deploy to prod only through "
            "the pipeline",
            ctx.at(*path),
            "remove prod from the role's environments, accounts or OUs",
            r.name,
        )
    )


def service_role_lint(ctx: Context, out: FindingSet, i: int, s: ServiceRole) -> None:
    """Every lint rule on one service role of the matrix."""
    base: PathT = ("service_roles", i)
    where = ctx.at(*base, "name")
    shapes = _Shapes()
    for _, spec in ctx.rendered_roles(s.name):
        if shapes.new(spec["trust_policy"]):
            trust = json.loads(spec["trust_policy"])
            out.issues(parliament_issues(trust, Kind.trust), f"service role '{s.name}' trust policy", where, s.name)
        for doc in spec["inline_policies"].values():
            if not shapes.new(doc):
                continue
            inline = json.loads(doc)
            owner = f"service role '{s.name}' inline policy"
            out.issues(parliament_issues(inline, Kind.identity), owner, where, s.name)
            out.issues(grant_issues(inline, name=owner), "", where, s.name)
    holder = Holder(f"service role '{s.name}'", s.name, base)
    escalation(ctx, out, holder, s.managed_policies, s.permissions_boundary, service_inline_documents(ctx, s.name))
