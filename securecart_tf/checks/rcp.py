"""Resource control policies: what AWS accepts in one, and what one must never deny the tool.

An RCP restricts what may be done to the resources of member accounts, whoever asks. AWS accepts only Deny
statements (Allow is reserved for RCPFullAWSAccess), with `Principal: "*"`, on actions of the services RCPs
apply to (the IAM data's list). Its lockout check is the SCP one turned around: no Deny may keep the
deployment role from the resources its Terraform manages (the security baseline's bucket and key, the
role it assumes) or from the tool's Terraform state bucket.
"""

from __future__ import annotations

import re
from typing import Any

from securecart_tf.checks.context import Context
from securecart_tf.checks.needs import Need, deployment_needs, request_region
from securecart_tf.config.environments import S3Backend
from securecart_tf.iam import iam_data
from securecart_tf.iam.documents import partition_of
from securecart_tf.iam.lint import Issue, as_list, shorten, statement_label, statements
from securecart_tf.iam.lockout import Request, applies, role_arn

_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")


def rcp_issues(document: dict[str, Any]) -> list[Issue]:
    """What AWS refuses in an RCP: Allow, a Principal other than "*", actions of services RCPs do not cover."""
    supported = set(iam_data.rcp_services())
    issues = []
    for index, statement in enumerate(statements(document)):
        if not isinstance(statement, dict):
            continue
        label = statement_label(statement, index)
        if statement.get("Effect") != "Deny":
            issues.append(
                Issue(
                    "rcp-syntax", f"{label}: an RCP may only Deny; Allow is reserved for RCPFullAWSAccess", "use Deny"
                )
            )
        if statement.get("Principal") != "*" or "NotPrincipal" in statement:
            issues.append(
                Issue(
                    "rcp-syntax",
                    f'{label}: an RCP statement must have Principal "*"; narrow it with Condition keys instead',
                    'set "Principal": "*" and use aws:PrincipalArn or aws:PrincipalOrgID conditions',
                )
            )
        patterns = [str(a) for a in as_list(statement.get("Action", statement.get("NotAction")))]
        outside = [p for p in patterns if p.split(":", 1)[0].lower() not in supported]
        if outside:
            issues.append(
                Issue(
                    "rcp-unsupported-service",
                    f"{label}: RCPs do not apply to {shorten(outside)}; AWS rejects the policy",
                    f"use actions of the services RCPs support: {shorten(sorted(supported), 8)}",
                )
            )
    return issues


def _org_id(ctx: Context, parameters: dict[str, Any], statement: dict[str, Any]) -> str | None:
    """The organization's ID as the RCP knows it: a parameter, or an ID the statement compares with."""
    given = parameters.get("organization_id")
    if isinstance(given, str):
        return given
    condition = statement.get("Condition") or {}
    for block in condition.values() if isinstance(condition, dict) else []:
        for key, raw in block.items() if isinstance(block, dict) else []:
            if key.lower().endswith("orgid"):
                found = [str(v) for v in as_list(raw) if _ORG_ID.match(str(v))]
                if found:
                    return found[0]
    return None


def state_needs(ctx: Context) -> list[Need]:
    """The tool's Terraform state: every environment's S3 backend bucket and its objects."""
    needs: list[Need] = []
    partition = partition_of(ctx.matrix.organization.home_region)
    for env in ctx.project.environments.values():
        backend = env.backend
        if isinstance(backend, S3Backend):
            bucket = f"arn:{partition}:s3:::{backend.bucket}"
            needs += [("s3:ListBucket", bucket), ("s3:GetObject", f"{bucket}/{backend.key_prefix}/x")]
            needs += [("s3:PutObject", f"{bucket}/{backend.key_prefix}/x")]
    return needs


def rcp_denied(ctx: Context, g_index: int, statement: dict[str, Any]) -> dict[str, list[str]]:
    """action → accounts where the statement can deny the deployment role (or the state) what it needs."""
    g = ctx.matrix.guardrails[g_index]
    org = ctx.matrix.organization
    home = org.home_region
    org_id = _org_id(ctx, g.parameters, statement)
    supported = set(iam_data.rcp_services())
    denied: dict[str, list[str]] = {}
    members = [a for a in ctx.model.expand(g.targets) if a != org.management_account]
    caller = role_arn(ctx.account_id(org.management_account), org.deployment_role)
    for acc in members:
        arn = role_arn(ctx.account_id(acc), org.deployment_role)
        needs = [(a, r, arn) for a, r in deployment_needs(ctx.model, acc)]
        needs.append(("sts:AssumeRole", arn, caller))  # the tool's session becomes the deployment role
        needs += [(a, r, caller) for a, r in state_needs(ctx)]
        for action, resource, principal in needs:
            if action.split(":", 1)[0] not in supported or acc in denied.get(action, []):
                continue
            request = Request(principal, action, resource, request_region(action, home), org_id)
            if applies(statement, request) is not False:
                denied.setdefault(action, []).append(acc)
    return denied
