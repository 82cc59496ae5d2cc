"""The policy checks `validate` runs after cross-references: AWS limits, policy lint and lockout.

Every finding names its subject (guardrail, policy, role or permission set) so that a suppression in the
matrix stays attached to the same thing across edits, and points at the YAML line the problem comes from.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.limits import check_limits
from securecart_tf.checks.needs import Need, break_glass_needs, deployment_needs, request_region
from securecart_tf.checks.rcp import rcp_denied, rcp_issues
from securecart_tf.checks.rules import finding
from securecart_tf.config.load import Project
from securecart_tf.config.schema import PolicyRef, Role, ServiceRole
from securecart_tf.errors import Location
from securecart_tf.findings import Finding, Severity
from securecart_tf.iam.aws_managed import aws_managed_iam_document
from securecart_tf.iam.documents import partition_of
from securecart_tf.iam.escalation import escalations
from securecart_tf.iam.lint import (
    AWS_MANAGED,
    Issue,
    Kind,
    as_list,
    aws_managed_name,
    grant_issues,
    parliament_issues,
    shorten,
    statement_covers,
    statement_label,
    statements,
    unbounded_creation,
)
from securecart_tf.iam.lockout import Request, applies, exemption_hint, role_arn


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


class _Findings:
    """Collects findings once each: the same problem rendered into several accounts is one finding."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, f: Finding) -> None:
        key = (f.rule, f.subject, f.message)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(f)

    def issues(self, issues: Iterable[Issue], prefix: str, location: Location, subject: str) -> None:
        for issue in issues:
            message = f"{prefix} {issue.message}" if prefix else issue.message
            self.add(finding(issue.rule, message, location, issue.fix, subject, issue.severity))


# ------------------------------------------------------------------------------------------------- lint


def check_policy_lint(project: Project) -> list[Finding]:
    ctx = Context.of(project)
    out = _Findings()
    for i, g in enumerate(ctx.matrix.guardrails):
        document = ctx.guardrail_document(g)
        issues = parliament_issues(document, Kind.scp)
        if g.type == "rcp":
            issues = [*issues, *rcp_issues(document)]
        out.issues(issues, f"guardrail '{g.name}'", ctx.guardrail_location(i), g.name)
    _customer_policies(ctx, out)
    for i, r in enumerate(ctx.matrix.roles):
        _role(ctx, out, i, r)
    for i, s in enumerate(ctx.matrix.service_roles):
        _service_role(ctx, out, i, s)
    _permission_sets(ctx, out)
    return out.items


def _policy_users(ctx: Context) -> dict[str, list[tuple[str, bool, bool]]]:
    """policy name → (who uses it, as a boundary?, marked admin?) for every use."""
    users: dict[str, list[tuple[str, bool, bool]]] = {}

    def use(ref: PolicyRef | None, who: str, boundary: bool, admin: bool) -> None:
        if ref is not None and ref.policy:
            users.setdefault(ref.policy, []).append((who, boundary, admin))

    for r in ctx.matrix.roles:
        use(r.permissions_boundary, f"role {r.name}", True, r.admin)
        for ref in r.managed_policies:
            use(ref, f"role {r.name}", False, r.admin)
    for s in ctx.matrix.service_roles:
        use(s.permissions_boundary, f"service role {s.name}", True, False)
        for ref in s.managed_policies:
            use(ref, f"service role {s.name}", False, False)
    ic = ctx.matrix.identity_center
    for ps in ic.permission_sets if ic else []:
        use(ps.permissions_boundary, f"permission set {ps.name}", True, ps.admin)
        for name in ps.customer_managed_policies:
            use(PolicyRef(policy=name), f"permission set {ps.name}", False, ps.admin)
    return users


def _customer_policies(ctx: Context, out: _Findings) -> None:
    users = _policy_users(ctx)
    for p in ctx.matrix.policies:
        uses = users.get(p.name, [])
        document = ctx.policy_document(p.name)
        where = ctx.policy_location(p.name)
        only_boundary = bool(uses) and all(boundary for _, boundary, _ in uses)
        out.issues(
            parliament_issues(document, Kind.boundary if only_boundary else Kind.identity),
            f"policy '{p.name}'",
            where,
            p.name,
        )
        grantees = list(dict.fromkeys(who for who, boundary, admin in uses if not boundary and not admin))
        if grantees:
            issues = grant_issues(document, name=f"policy '{p.name}'")
            for issue in issues:
                message = f"{issue.message} (attached to {', '.join(grantees)})"
                out.add(finding(issue.rule, message, where, issue.fix, p.name, issue.severity))


def _aws_managed_grants(
    ctx: Context, out: _Findings, owner: str, subject: str, entries: list[tuple[PathT, str]]
) -> None:
    """Our grant rules on the AWS-managed policies we know, for an owner not marked admin."""
    for path, arn in entries:
        known = AWS_MANAGED.get(arn)
        if known is not None:
            for issue in grant_issues(known, name=f"{owner}: AWS-managed {aws_managed_name(arn)}"):
                message = f"{issue.message}, and it is not marked admin: true"
                out.add(finding(issue.rule, message, ctx.at(*path), issue.fix, subject, issue.severity))


def _identity_documents(ctx: Context, refs: Iterable[PolicyRef | str]) -> list[dict[str, Any]]:
    docs = []
    for ref in refs:
        if isinstance(ref, str):
            ref = PolicyRef(arn=ref) if ref.startswith("arn:") else PolicyRef(policy=ref)
        if ref.policy:
            docs.append(ctx.policy_document(ref.policy))
        elif ref.arn is not None and (document := _aws_managed_document(str(ref.arn))) is not None:
            docs.append(document)
    return docs


def _aws_managed_document(arn: str) -> dict[str, Any] | None:
    """The few AWS-managed policies the rules know by heart, or else the IAM part of AWS's own document."""
    return AWS_MANAGED.get(arn) or aws_managed_iam_document(arn)


def _escalation(
    ctx: Context,
    out: _Findings,
    owner: str,
    subject: str,
    base: PathT,
    managed: Iterable[PolicyRef | str],
    boundary: PolicyRef | None,
    extra: list[dict[str, Any]],
) -> None:
    identity = [*_identity_documents(ctx, managed), *extra]
    boundary_doc: dict[str, Any] | None = None
    reason = "it has no permissions boundary"
    if boundary is not None:
        if boundary.policy:
            boundary_doc = ctx.policy_document(boundary.policy)
            reason = f"its boundary {boundary.policy} does not require iam:PermissionsBoundary on what it creates"
        elif (boundary_doc := _aws_managed_document(str(boundary.arn))) is not None:
            # Its statements decide: a finding below means it allows creation without iam:PermissionsBoundary.
            reason = f"its boundary {aws_managed_name(str(boundary.arn))} is AWS-managed and cannot force boundaries"
        else:
            return  # an AWS-managed policy no copy of which we have; nothing to prove either way
    _service_escalation(ctx, out, owner, subject, base, managed, boundary_doc)
    actions = unbounded_creation(identity, boundary_doc)
    if not actions:
        return
    where = (*base, "permissions_boundary") if boundary is not None else (*base, "name")
    out.add(
        finding(
            "privilege-escalation-without-boundary",
            f"{owner} can {', '.join(actions)}, but {reason}, so it can create something more powerful than itself",
            ctx.at(*where),
            "give it a permissions boundary that allows these actions only with a Condition on "
            "iam:PermissionsBoundary (or denies them)",
            subject,
        )
    )


def _passable(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Every role and service role of the matrix, with the policies it runs with."""
    roles: dict[str, list[dict[str, Any]]] = {}
    for r in ctx.matrix.roles:
        roles[r.name] = _identity_documents(ctx, r.managed_policies)
    for s in ctx.matrix.service_roles:
        inline = [json.loads(d) for _, spec in ctx.rendered_roles(s.name)[:1] for d in spec["inline_policies"].values()]
        roles[s.name] = [*_identity_documents(ctx, s.managed_policies), *inline]
    return roles


def _service_escalation(
    ctx: Context,
    out: _Findings,
    owner: str,
    subject: str,
    base: PathT,
    managed: Iterable[PolicyRef | str],
    boundary: dict[str, Any] | None,
) -> None:
    """A customer policy that lets its holder change what a more privileged role runs."""
    passable = {name: docs for name, docs in _passable(ctx).items() if name != subject}
    for ref in managed:
        name = ref if isinstance(ref, str) else ref.policy
        if not name or name.startswith("arn:"):
            continue
        for path in escalations([ctx.policy_document(name)], boundary, passable):
            out.add(
                finding(
                    "service-role-escalation",
                    f"policy '{name}' lets {owner} change what a more privileged role runs: {path.text()}",
                    ctx.policy_location(name),
                    "name the functions, task definitions and roles it may change (Resource ARNs), or mark the "
                    "holder admin: true",
                    name,
                )
            )


def _permission_sets(ctx: Context, out: _Findings) -> None:
    ic = ctx.matrix.identity_center
    if ic is None:
        return
    for i, ps in enumerate(ic.permission_sets):
        base: PathT = ("identity_center", "permission_sets", i)
        rendered = ctx.rendered_permission_set(ps.name)
        inline = json.loads(rendered["inline_policy"]) if rendered and rendered["inline_policy"] else None
        owner = f"permission set '{ps.name}'"
        if inline is not None:
            where = ctx.at(*base, "inline_policy")
            out.issues(parliament_issues(inline, Kind.identity), f"{owner} inline policy", where, ps.name)
            if not ps.admin:
                out.issues(grant_issues(inline, name=f"{owner} inline policy"), "", where, ps.name)
        if ps.admin:
            continue
        entries = [((*base, "managed_policies", j), arn) for j, arn in enumerate(ps.managed_policies)]
        _aws_managed_grants(ctx, out, owner, ps.name, entries)
        _escalation(
            ctx,
            out,
            owner,
            ps.name,
            base,
            [*ps.managed_policies, *ps.customer_managed_policies],
            ps.permissions_boundary,
            [inline] if inline is not None else [],
        )


# ------------------------------------------------------------------------------------------------- roles


def _has_condition(statement: dict[str, Any], operators: tuple[str, ...], key: str, value: str | None = None) -> bool:
    condition = statement.get("Condition") or {}
    for op, block in condition.items():
        if op.lower() not in operators or not isinstance(block, dict):
            continue
        for k, v in block.items():
            if k.lower() == key.lower() and (
                value is None or value in [str(x).lower() for x in (v if isinstance(v, list) else [v])]
            ):
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
        for principal in aws if isinstance(aws, list) else [aws] if aws else []:
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


def _role(ctx: Context, out: _Findings, i: int, r: Role) -> None:
    base: PathT = ("roles", i)
    trust_path = (*base, "trust")
    rendered = ctx.rendered_roles(r.name)
    root_exposed: dict[int, list[str]] = {}
    mfa_missing: set[int] = set()
    shapes = _Shapes()
    # A role placed in many accounts renders few distinct trust policies: analyse each text once.
    analysed: dict[str, list[tuple[int, list[str]]]] = {}
    for acc, spec in rendered:
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
    if r.audience.value == "vendor" or any(p.external is not None for p in r.trust.principals):
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
    _developer_in_prod(ctx, out, i, r)
    if not r.admin:
        entries = [
            ((*base, "managed_policies", j), str(ref.arn)) for j, ref in enumerate(r.managed_policies) if ref.arn
        ]
        _aws_managed_grants(ctx, out, f"role '{r.name}'", r.name, entries)
        _escalation(ctx, out, f"role '{r.name}'", r.name, base, r.managed_policies, r.permissions_boundary, [])


def _service_role(ctx: Context, out: _Findings, i: int, s: ServiceRole) -> None:
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
    inline_docs = [
        json.loads(d) for _, spec in ctx.rendered_roles(s.name)[:1] for d in spec["inline_policies"].values()
    ]
    _escalation(
        ctx, out, f"service role '{s.name}'", s.name, base, s.managed_policies, s.permissions_boundary, inline_docs
    )


def _developer_in_prod(ctx: Context, out: _Findings, i: int, r: Role) -> None:
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


# ---------------------------------------------------------------------------------------------- lockout


def check_lockout(project: Project) -> list[Finding]:
    ctx = Context.of(project)
    out = _Findings()
    mgmt = ctx.matrix.organization.management_account
    for i, g in enumerate(ctx.matrix.guardrails):
        accounts = ctx.model.expand(g.targets)
        if mgmt in accounts:
            _management_note(ctx, out, i)
        members = [a for a in accounts if a != mgmt]
        for index, statement in enumerate(statements(ctx.guardrail_document(g))):
            if isinstance(statement, dict) and statement.get("Effect") == "Deny" and g.type == "rcp":
                _rcp_lockout(ctx, out, i, index, statement)
            elif isinstance(statement, dict) and statement.get("Effect") == "Deny":
                for what, role in ctx.platform_roles:
                    _statement_lockout(ctx, out, i, index, statement, (what, role), members)
    return out.items


def _rcp_lockout(ctx: Context, out: _Findings, i: int, index: int, statement: dict[str, Any]) -> None:
    g = ctx.matrix.guardrails[i]
    denied = rcp_denied(ctx, i, statement)
    if not denied:
        return
    role = ctx.matrix.organization.deployment_role
    partition = partition_of(ctx.matrix.organization.home_region)
    where = shorten(list(dict.fromkeys(a for accs in denied.values() for a in accs)))
    out.add(
        finding(
            "rcp-lockout",
            f"guardrail '{g.name}' {statement_label(statement, index)} can deny {role} (the deployment role) or the "
            f"Terraform state {shorten(list(denied))} on resources in {where}, which its Terraform needs",
            ctx.guardrail_location(i),
            f'add "ArnNotLike": {{"aws:PrincipalArn": "arn:{partition}:iam::*:role/{role}"}} to the statement\'s '
            "Condition, or compare aws:PrincipalOrgID with the organization's ID",
            g.name,
        )
    )


def _management_note(ctx: Context, out: _Findings, i: int) -> None:
    g = ctx.matrix.guardrails[i]
    mgmt = ctx.matrix.organization.management_account
    path: PathT = ("guardrails", i, "targets")
    for key, _, entry in ctx.target_entries(i):
        if key in ("root", f"account:{mgmt}"):
            path = entry
    how = " through the root" if path[-2] == "ous" else ""
    kind = g.type.upper()
    out.add(
        finding(
            "scp-management-account",
            f"guardrail '{g.name}' targets the management account '{mgmt}'{how}; {kind}s never restrict the "
            "management account, so it does not apply there",
            ctx.at(*path),
            "nothing to do; protect the management account by using it only to run the organization",
            g.name,
        )
    )


def _needs(ctx: Context, what: str, account: str) -> list[Need]:
    return deployment_needs(ctx.model, account) if what == "deployment role" else break_glass_needs()


def _denied(ctx: Context, statement: dict[str, Any], arn: str, needs: list[Need]) -> list[str]:
    """The needed actions the statement can deny this role session."""
    home = ctx.matrix.organization.home_region
    covered: dict[str, bool] = {}
    out = []
    for action, resource in needs:
        if action in out:
            continue
        if covered.setdefault(action, statement_covers(statement, action)):
            request = Request(arn, action, resource, request_region(action, home))
            if applies(statement, request) is not False:
                out.append(action)
    return out


def _statement_actions(statement: dict[str, Any]) -> str:
    if "NotAction" in statement:
        return f"every action except {shorten([str(a) for a in as_list(statement['NotAction'])])}"
    return shorten([str(a) for a in as_list(statement.get("Action"))])


def _statement_lockout(
    ctx: Context,
    out: _Findings,
    i: int,
    index: int,
    statement: dict[str, Any],
    role: tuple[str, str],
    members: list[str],
) -> None:
    """An error where the statement can deny the role what it needs; info where it merely binds the role."""
    g = ctx.matrix.guardrails[i]
    what, name = role
    label = f"guardrail '{g.name}' {statement_label(statement, index)}"
    denied: dict[str, list[str]] = {}
    bound: list[str] = []  # accounts where it binds the role, but denies nothing the role needs there
    partition = partition_of(ctx.matrix.organization.home_region)
    for acc in members:
        arn = role_arn(ctx.account_id(acc), name, partition)
        if applies(statement, Request(arn)) is False:
            continue
        actions = _denied(ctx, statement, arn, _needs(ctx, what, acc))
        for action in actions:
            denied.setdefault(action, []).append(acc)
        if not actions:
            bound.append(acc)
    if denied:
        where = shorten(list(dict.fromkeys(a for accs in denied.values() for a in accs)))
        need = "its Terraform needs" if what == "deployment role" else "it needs to recover an account"
        out.add(
            finding(
                "scp-lockout",
                f"{label} can deny {name} (the {what}) {shorten(list(denied))} in {where}, which {need}",
                ctx.guardrail_location(i),
                exemption_hint([r for _, r in ctx.platform_roles], partition),
                g.name,
            )
        )
    if bound:
        out.add(
            finding(
                "scp-binds-platform-role",
                f"{label} also binds {name} (the {what}): {_statement_actions(statement)} in {shorten(bound)}",
                ctx.guardrail_location(i),
                "nothing to do if the role never needs these; otherwise " + exemption_hint([name], partition),
                g.name,
            )
        )


CHECKS: list[Callable[[Project], list[Finding]]] = [check_limits, check_policy_lint, check_lockout]
