"""What a plan may not do and what it reaches: the removals refused, what destroy keeps, and the other
environments an organization-wide change reaches at once."""

from __future__ import annotations

from typing import Any

from securecart_tf.iam.limits import Limits
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


CUSTOMIZATION_MODULE = "module.customization-"
"""How the address of a customization's resource starts: its module block is named after it."""


def customizations_reaching(stack: Stack, changes: list[ResourceChange], own: str) -> list[str]:
    """A note for each customization these planned changes touch whose targets span other environments too.

    A customization is a module in each account's own stack, so it is staged: `own` changes its accounts, and
    the others receive it as the revision is promoted. The note says where it goes from here.
    """
    table = stack.reach.get("customization", {})
    touched = {
        c.address.removeprefix(CUSTOMIZATION_MODULE).split(".", 1)[0]
        for c in changes
        if c.address.startswith(CUSTOMIZATION_MODULE)
    }
    notes = []
    for name in sorted(touched):
        others = [env for env in table.get(name, []) if env != own]
        if others:
            notes.append(
                f"customization '{name}' reaches {', '.join(sorted({own, *others}))}: this plan changes it in "
                f"{own}; {', '.join(others)} receive it when the revision is promoted there"
            )
    return notes


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


SLOTS = {"SERVICE_CONTROL_POLICY": ("SCP", "scps_per_target"), "RESOURCE_CONTROL_POLICY": ("RCP", "rcps_per_target")}
"""Policy type → how a message names it, and the limit on how many one root, OU or account may have."""


def matrix_attachments(inputs: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(policy type, target key) → how many of the organization stack's policies it attaches there.

    SCPs and RCPs have slots of their own: an RCP never takes an SCP's slot."""
    wanted: dict[tuple[str, str], int] = {}
    for attachment in inputs["attachments"].values():
        policy_type = inputs["guardrails"][attachment["policy"]].get("type", "SERVICE_CONTROL_POLICY")
        key = (policy_type, attachment["target"])
        wanted[key] = wanted.get(key, 0) + 1
    return wanted


def managed_policy_ids(state: dict[str, Any] | None) -> set[str]:
    """IDs of the policies the organization stack's state holds: attached by the matrix, whatever their name now."""
    return {
        str((instance.get("attributes") or {}).get("id"))
        for r in (state or {}).get("resources", [])
        if r.get("type") == "aws_organizations_policy" and r.get("mode") == "managed"
        for instance in r.get("instances", [])
    }


def slots_refusal(
    wanted: dict[tuple[str, str], int], outside: dict[tuple[str, str], list[str]], limits: Limits
) -> str | None:
    """Why the matrix's policies do not fit beside those attached outside it on the same target, or None."""
    problems = []
    for (policy_type, target), count in sorted(wanted.items()):
        kind, limit = SLOTS[policy_type]
        others = outside.get((policy_type, target), [])
        if count + len(others) > limits[limit]:
            problems.append(
                f"more than {limits[limit]} {kind}s would be attached directly to {target} "
                f"({count} from the matrix + {', '.join(others)})"
            )
    if not problems:
        return None
    return (
        f"refused: {'; '.join(problems)}; the ones not in the matrix were attached by someone else and take slots too"
    )
