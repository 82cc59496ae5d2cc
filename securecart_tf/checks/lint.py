"""Policy lint of the whole matrix: every document as rendered, checked by the lint engine and our rules.

Every finding names its subject (guardrail, policy, role or permission set) so that a suppression in the
matrix stays attached to the same thing across edits, and points at the YAML line the problem comes from.
"""

from __future__ import annotations

import json

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.escalation import Holder, aws_managed_grants, escalation
from securecart_tf.checks.rcp import rcp_issues
from securecart_tf.checks.roles import role_lint, service_role_lint
from securecart_tf.checks.rules import FindingSet, finding
from securecart_tf.config.schema import PolicyRef
from securecart_tf.findings import Finding
from securecart_tf.iam.lint import Kind, grant_issues, parliament_issues


def check_policy_lint(ctx: Context) -> list[Finding]:
    out = FindingSet()
    for i, g in enumerate(ctx.matrix.guardrails):
        document = ctx.guardrail_document(g)
        issues = parliament_issues(document, Kind.scp)
        if g.type == "rcp":
            issues = [*issues, *rcp_issues(document)]
        out.issues(issues, f"guardrail '{g.name}'", ctx.guardrail_location(i), g.name)
    _customer_policies(ctx, out)
    for i, r in enumerate(ctx.matrix.roles):
        role_lint(ctx, out, i, r)
    for i, s in enumerate(ctx.matrix.service_roles):
        service_role_lint(ctx, out, i, s)
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


def _customer_policies(ctx: Context, out: FindingSet) -> None:
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


def _permission_sets(ctx: Context, out: FindingSet) -> None:
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
        holder = Holder(owner, ps.name, base)
        entries = [((*base, "managed_policies", j), arn) for j, arn in enumerate(ps.managed_policies)]
        aws_managed_grants(ctx, out, holder, entries)
        managed = [*ps.managed_policies, *ps.customer_managed_policies]
        escalation(ctx, out, holder, managed, ps.permissions_boundary, [inline] if inline is not None else [])
