"""Lockout: guardrail statements that could deny the platform roles, or the tool's state, what they need.

The deployment role needs what securecart-tf's Terraform does in each member account; the break-glass role
needs what it takes to recover one. Each SCP and RCP Deny is evaluated against those requests as AWS would.
"""

from __future__ import annotations

from typing import Any

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.needs import Need, break_glass_needs, deployment_needs, request_region
from securecart_tf.checks.rcp import rcp_denied
from securecart_tf.checks.rules import FindingSet, finding
from securecart_tf.findings import Finding
from securecart_tf.iam.documents import partition_of
from securecart_tf.iam.lint import as_list, shorten, statement_covers, statement_label, statements
from securecart_tf.iam.lockout import Request, applies, exemption_hint, role_arn


def check_lockout(ctx: Context) -> list[Finding]:
    out = FindingSet()
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


def _rcp_lockout(ctx: Context, out: FindingSet, i: int, index: int, statement: dict[str, Any]) -> None:
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


def _management_note(ctx: Context, out: FindingSet, i: int) -> None:
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
    out: FindingSet,
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
