"""What a plan may not do and what it reaches: the removals refused, what destroy keeps, and the other
environments an organization-wide change reaches at once."""

from __future__ import annotations

from typing import Any

from securecart_tf.model import ORGANIZATION, SECURITY, Stack
from securecart_tf.run.terraform import ResourceChange

RESOURCE_KINDS = {
    "aws_organizations_policy": "guardrail",
    "aws_organizations_policy_attachment": "attachment",
    "aws_organizations_organizational_unit": "unit",
    "aws_organizations_account": "account",
    "aws_ssoadmin_permission_set": "permission_set",
    "aws_ssoadmin_managed_policy_attachment": "permission_set",
    "aws_ssoadmin_customer_managed_policy_attachment": "permission_set",
    "aws_ssoadmin_permission_set_inline_policy": "permission_set",
    "aws_ssoadmin_permissions_boundary_attachment": "permission_set",
    "aws_ssoadmin_account_assignment": "assignment",
    "aws_identitystore_group": "group",
}


def reached_environments(stack: Stack, changes: list[ResourceChange], own: str) -> list[str]:
    """Environments other than `own` that these planned changes of an organization-wide stack reach at once."""
    if not stack.reach:
        return []
    found: set[str] = set()
    for change in changes:
        kind = RESOURCE_KINDS.get(change.resource_type)
        if kind is None or change.index is None:
            continue
        key = str(change.index)
        table = stack.reach.get(kind, {})
        # sub-resources are keyed "<parent>|...": a permission set's policy attachment reaches what the set does
        found.update(table.get(key) or table.get(key.split("|", 1)[0]) or [])
    found.discard(own)
    return sorted(found)


KEPT_BY_DESTROY = {
    ORGANIZATION: (
        "aws_organizations_organization",
        "aws_organizations_organizational_unit",
        "aws_organizations_account",
    ),
    SECURITY: (
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_lifecycle_configuration",
    ),
}
NEVER_DESTROYED = (
    "destroy never destroys the organization, its OUs and accounts, or the security account's log bucket and its "
    "KMS key: they stay in AWS and leave Terraform's state. Close an account with closing: true; "
    "the sandbox is discarded with `securecart-tf sandbox down`"
)


def split_for_destroy(layer: str, state: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """The stack's managed resources as (addresses destroy may destroy, addresses it keeps)."""
    kept_types = KEPT_BY_DESTROY.get(layer, ())
    destroyable: list[str] = []
    kept: list[str] = []
    for r in (state or {}).get("resources", []):
        if r.get("mode") != "managed" or not r.get("instances"):
            continue
        address = ".".join(p for p in (r.get("module"), r.get("type"), r.get("name")) if p)
        (kept if r.get("type") in kept_types else destroyable).append(address)
    return destroyable, kept


def removal_refusal(changes: list[ResourceChange], state: dict[str, Any] | None) -> str | None:
    """Why a plan that deletes the organization, or removes or replaces an account, may not go ahead."""
    closing: dict[Any, bool] = {}
    for r in (state or {}).get("resources", []):
        if r.get("type") == "aws_organizations_account":
            for instance in r.get("instances", []):
                attributes = instance.get("attributes") or {}
                closing[instance.get("index_key")] = attributes.get("close_on_deletion") is True
    problems = []
    for c in changes:
        if c.action not in ("delete", "replace"):
            continue
        if c.resource_type == "aws_organizations_organization":
            problems.append("delete the organization")
        elif c.resource_type == "aws_organizations_account" and not closing.get(c.index, False):
            verb = "replace" if c.action == "replace" else "remove"
            problems.append(f"{verb} account '{c.index}'")
    if not problems:
        return None
    return (
        f"refused: the plan would {', '.join(problems)}. A changed email or name replaces an account, and removing "
        "one calls RemoveAccountFromOrganization, which AWS refuses for accounts without standalone billing and "
        "for delegated administrators. To close an account on purpose, set closing: true on it and apply, then "
        "remove it; otherwise restore its name and email"
    )
