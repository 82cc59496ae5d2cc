"""What a principal not marked admin could grant itself: our grant rules on the AWS-managed policies it holds,
creating roles or attaching policies with no boundary forced on them, and changing what a more privileged
role runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from securecart_tf.checks.context import Context, PathT
from securecart_tf.checks.rules import FindingSet, finding
from securecart_tf.config.schema import PolicyRef
from securecart_tf.iam.aws_managed import aws_managed_iam_document, aws_managed_name, known_iam_document
from securecart_tf.iam.escalation import escalations
from securecart_tf.iam.lint import grant_issues, unbounded_creation


@dataclass(frozen=True)
class Holder:
    """A principal whose policies are checked, as findings name it."""

    owner: str
    """How messages name it: "role 'Deploy'", "permission set 'Admin'"."""
    subject: str
    base: PathT
    """Where it is declared in the matrix."""


def aws_managed_grants(ctx: Context, out: FindingSet, holder: Holder, entries: list[tuple[PathT, str]]) -> None:
    """Our grant rules on the AWS-managed policies we know, for a holder not marked admin."""
    for path, arn in entries:
        known = known_iam_document(arn)
        if known is not None:
            for issue in grant_issues(known, name=f"{holder.owner}: AWS-managed {aws_managed_name(arn)}"):
                message = f"{issue.message}, and it is not marked admin: true"
                out.add(finding(issue.rule, message, ctx.at(*path), issue.fix, holder.subject, issue.severity))


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
    return known_iam_document(arn) or aws_managed_iam_document(arn)


def escalation(
    ctx: Context,
    out: FindingSet,
    holder: Holder,
    managed: Iterable[PolicyRef | str],
    boundary: PolicyRef | None,
    extra: list[dict[str, Any]],
) -> None:
    """Both escalation rules for a holder of `managed` policies (and `extra` inline ones) within `boundary`."""
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
    _service_escalation(ctx, out, holder, managed, boundary_doc)
    actions = unbounded_creation(identity, boundary_doc)
    if not actions:
        return
    where = (*holder.base, "permissions_boundary") if boundary is not None else (*holder.base, "name")
    out.add(
        finding(
            "privilege-escalation-without-boundary",
            f"{holder.owner} can {', '.join(actions)}, but {reason}, so it can create something more powerful "
            "than itself",
            ctx.at(*where),
            "give it a permissions boundary that allows these actions only with a Condition on "
            "iam:PermissionsBoundary (or denies them)",
            holder.subject,
        )
    )


def _passable(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Every role and service role of the matrix, with the policies it runs with."""
    roles: dict[str, list[dict[str, Any]]] = {}
    for r in ctx.matrix.roles:
        roles[r.name] = [*_identity_documents(ctx, r.managed_policies), *service_inline_documents(ctx, r.name)]
    for s in ctx.matrix.service_roles:
        roles[s.name] = [*_identity_documents(ctx, s.managed_policies), *service_inline_documents(ctx, s.name)]
    return roles


def service_inline_documents(ctx: Context, name: str) -> list[dict[str, Any]]:
    """A service role's (or role's) inline policies, as rendered into the first account it is placed in."""
    return [json.loads(d) for _, spec in ctx.rendered_roles(name)[:1] for d in spec["inline_policies"].values()]


def _service_escalation(
    ctx: Context,
    out: FindingSet,
    holder: Holder,
    managed: Iterable[PolicyRef | str],
    boundary: dict[str, Any] | None,
) -> None:
    """A customer policy that lets its holder change what a more privileged role runs."""
    passable = {name: docs for name, docs in _passable(ctx).items() if name != holder.subject}
    for ref in managed:
        name = ref if isinstance(ref, str) else ref.policy
        if not name or name.startswith("arn:"):
            continue
        for path in escalations([ctx.policy_document(name)], boundary, passable):
            out.add(
                finding(
                    "service-role-escalation",
                    f"policy '{name}' lets {holder.owner} change what a more privileged role runs: {path.text()}",
                    ctx.policy_location(name),
                    "name the functions, task definitions and roles it may change (Resource ARNs), or mark the "
                    "holder admin: true",
                    name,
                )
            )
