"""A live trust policy as the matrix's trust shapes, when the policy securecart-tf renders from them is the
live one; otherwise None, and the role keeps its document through `trust: {policy_file: ...}`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from securecart_tf.adopt.compare import same_policy
from securecart_tf.adopt.inventory import Document
from securecart_tf.config.schema import EXTERNAL_ID, TrustedPrincipal
from securecart_tf.iam import documents
from securecart_tf.iam.lint import as_list
from securecart_tf.iam.lint import statements as policy_statements

_ROOT = re.compile(r"^(?:arn:[a-z-]+:iam::)?([0-9]{12})(?::root)?$")
_ROLE = re.compile(r"^arn:[a-z-]+:iam::([0-9]{12}):role/(.+)$")
_SSO_ROLE = re.compile(r"^aws-reserved/sso\.amazonaws\.com/(?:[a-z0-9-]+/)?AWSReservedSSO_(.+)_[0-9a-f]+$")
_SSO_PATTERN = re.compile(
    r"^arn:[a-z-]+:iam::([0-9]{12}):role/aws-reserved/sso\.amazonaws\.com/\*AWSReservedSSO_(.+)_\*$"
)
_GITHUB = re.compile(rf"^arn:[a-z-]+:iam::([0-9]{{12}}):oidc-provider/{re.escape(documents.GITHUB_OIDC_HOST)}$")
_EXPIRY = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T00:00:00Z$")
_SSO_ACTIONS = {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}

Principal = dict[str, Any]
"""One entry of `trust.principals`, as YAML data."""


@dataclass(frozen=True)
class TrustContext:
    """What a trust policy in one account is read against."""

    account_ids: dict[str, str]
    """Matrix account name → its ID, for every account of the organization the matrix lists."""
    names: dict[str, str]
    """The inverse of account_ids."""
    organization_ids: frozenset[str]
    """Every account of the organization, those the matrix leaves out (suspended ones) included."""
    self_account: str
    partition: str
    permission_sets: frozenset[str] = frozenset()
    environment: str | None = None


@dataclass
class MappedTrust:
    trust: dict[str, Any]
    """The value of the role's `trust:` key."""
    audience: str
    rewrites: list[str] = field(default_factory=list)
    """What the first apply rewrites in the trust policy, though what it allows stays the same."""


def principal_yaml(kind: str, value: Any) -> Principal:
    """The YAML of one trust principal: `{kind: value}`. Every shape is written here (and the file escape hatch
    in `policy_file_yaml`), so a change to the schema's shapes changes this module alone:
    `{account: NAME}`, `{role: {role, account}}`, `{identity_center: {permission_set, account}}`,
    `{oidc: {provider: github, subject}}`, `{external: {account_id, external_id?}}`, `{service: PRINCIPAL}`."""
    return {kind: value}


def policy_file_yaml(path: str) -> dict[str, Any]:
    """The `trust:` of a role whose live trust policy is kept as it is, in the JSON file `path`."""
    return {"policy_file": path}


def _condition(statement: dict[str, Any], operator: str, key: str) -> Any:
    return ((statement.get("Condition") or {}).get(operator) or {}).get(key)


def _aws_principal(arn: str, statement: dict[str, Any], ctx: TrustContext) -> tuple[Principal, bool] | None:
    """An `AWS` principal; True with it when the shape renders it in another, equivalent form."""
    names = ctx.names
    if (root := _ROOT.match(arn)) is not None:
        account_id = root.group(1)
        if account_id not in names:
            if account_id in ctx.organization_ids:
                return None  # in the organization, so no vendor, but not in the matrix either
            external_id = _condition(statement, "StringEquals", "sts:ExternalId")
            if external_id is not None and not (isinstance(external_id, str) and re.match(EXTERNAL_ID, external_id)):
                return None
            external = {"account_id": account_id, **({"external_id": external_id} if external_id else {})}
            return principal_yaml("external", external), False
        sso = _SSO_PATTERN.match(str(_condition(statement, "ArnLike", "aws:PrincipalArn") or ""))
        if sso is not None and sso.group(2) in ctx.permission_sets:
            sessions = {"permission_set": sso.group(2), "account": names[account_id]}
            return principal_yaml("identity_center", sessions), False
        return principal_yaml("account", names[account_id]), False
    role = _ROLE.match(arn)
    if role is None or role.group(1) not in names:
        return None
    account = names[role.group(1)]
    sso_role = _SSO_ROLE.match(role.group(2))
    if sso_role is not None:
        if sso_role.group(1) not in ctx.permission_sets:
            return None
        return principal_yaml("identity_center", {"permission_set": sso_role.group(1), "account": account}), True
    if "/" in role.group(2):
        return None
    return principal_yaml("role", {"role": role.group(2), "account": account}), False


def _principal(statement: Any, ctx: TrustContext) -> tuple[Principal, bool] | None:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return None
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or len(principal) != 1:
        return None
    kind, value = next(iter(principal.items()))
    values = as_list(value)
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    if kind == "Service":
        return principal_yaml("service", values[0]), False
    if kind == "Federated":
        provider = _GITHUB.match(values[0])
        subject = _condition(statement, "StringEquals", f"{documents.GITHUB_OIDC_HOST}:sub")
        if provider is None or provider.group(1) != ctx.account_ids[ctx.self_account] or not isinstance(subject, str):
            return None
        return principal_yaml("oidc", {"provider": "github", "subject": subject}), False
    if kind == "AWS":
        return _aws_principal(values[0], statement, ctx)
    return None


def _service_statement(service: str, expires: str | None) -> dict[str, Any]:
    """What the `service` principal renders to: the service may assume the role."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if expires:
        statement["Condition"] = {"DateLessThan": {"aws:CurrentTime": expires}}
    return statement


def _sso_role_statement(live: dict[str, Any], expires: str | None) -> dict[str, Any] | None:
    """The live statement trusting an Identity Center role by its ARN, as it must be for the identity_center
    shape to allow the same sessions (the shape renders the account root with an ArnLike condition)."""
    actions = {str(a) for a in as_list(live.get("Action", []))}
    if "sts:AssumeRole" not in actions or not actions <= _SSO_ACTIONS:
        return None
    statement = {"Effect": "Allow", "Principal": live["Principal"], "Action": live["Action"]}
    if expires:
        statement["Condition"] = {"DateLessThan": {"aws:CurrentTime": expires}}
    return statement


def _render(principal: Principal, ctx: TrustContext, require_mfa: bool, expires: str | None) -> dict[str, Any]:
    if "service" in principal:
        return _service_statement(principal["service"], expires)
    rendered = documents.trust_statement(
        TrustedPrincipal.model_validate(principal),
        account_id=lambda name: ctx.account_ids[name],
        self_account_id=ctx.account_ids[ctx.self_account],
        environment=ctx.environment,
        self_account=ctx.self_account,
        require_mfa=require_mfa,
        expires=expires,
    )
    result: dict[str, Any] = documents.in_partition(rendered, ctx.partition)
    return result


_AUDIENCES = {"identity_center": "human", "oidc": "ci", "external": "vendor", "service": "service"}


def map_trust(doc: Document, ctx: TrustContext) -> MappedTrust | None:
    """The `trust:` of a role whose live trust policy is `doc`, in the matrix's shapes; None when no set of
    shapes renders `doc` (statement ids aside: the first apply rewrites those, and says so)."""
    statements = policy_statements(doc)
    parsed = [_principal(s, ctx) for s in statements]
    if not statements or doc.get("Version") != "2012-10-17":
        return None
    found = [p for p in parsed if p is not None]
    if len(found) != len(statements):
        return None
    dates = {
        m.group(1) for s in statements if (m := _EXPIRY.match(str(_condition(s, "DateLessThan", "aws:CurrentTime"))))
    }
    date = next(iter(dates)) if len(dates) == 1 else None
    expires = f"{date}T00:00:00Z" if date else None
    require_mfa = any(str(_condition(s, "Bool", "aws:MultiFactorAuthPresent")).lower() == "true" for s in statements)
    rendered: list[dict[str, Any]] = []
    rewrites: list[str] = []
    for statement, (principal, rewritten) in zip(statements, found, strict=True):
        expected = (
            _sso_role_statement(statement, expires) if rewritten else _render(principal, ctx, require_mfa, expires)
        )
        if expected is None:
            return None
        rendered.append(expected)
        if rewritten:
            ps = principal["identity_center"]["permission_set"]
            rewrites.append(
                f"{ps}'s Identity Center role is trusted through its account's root and an ArnLike condition"
            )
        elif "service" not in principal and statement.get("Sid", "") != expected.get("Sid", ""):
            rewrites.append(f"statement id {statement.get('Sid', '')!r} becomes {expected.get('Sid', '')!r}")
    if not same_policy({"Statement": rendered}, {"Statement": statements}, ignore_sids=True):
        return None
    trust: dict[str, Any] = {"principals": [p for p, _ in found]}
    if require_mfa:
        trust["require_mfa"] = True
    if date:
        trust["expires"] = date
    return MappedTrust(trust, _AUDIENCES.get(next(iter(found[0][0])), "platform"), rewrites)
