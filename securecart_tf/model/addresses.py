"""Addresses of the resources the modules declare, and the `import` blocks that adopt one, with the provider's
import IDs. Rendering writes them for an adopted organization; drift suggests them for what it finds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

ORGANIZATION_MODULE = "module.organization"
SCP_MODULE = "module.service_control_policies"
IDENTITY_CENTER_MODULE = "module.identity_center"
ACCOUNT_IAM_MODULE = "module.account_iam"
SECURITY_MODULE = "module.security_baseline"
CONFIG_SERVICE = "config.amazonaws.com"


def tf_index(key: str | int) -> str:
    """A for_each key as Terraform writes it in an address: ["name"] or [0]."""
    return f"[{json.dumps(key)}]"


@dataclass(frozen=True)
class ImportBlock:
    """A Terraform `import` block for one resource in one stack's rendered root."""

    stack: str
    to: str
    id: str

    def hcl(self) -> str:
        return f"import {{\n  to = {self.to}\n  id = {json.dumps(self.id)}\n}}\n"


def scp_attachment_imports(
    policy: str, target_key: str, policy_id: str, target_id: str, *, policy_managed: bool
) -> list[ImportBlock]:
    """Import blocks for an SCP attachment (and the SCP itself when no stack manages it yet).

    The attachment's import ID is `<target_id>:<policy_id>`; the policy's is its ID.
    """
    blocks = []
    if not policy_managed:
        blocks.append(
            ImportBlock("organization", f"{SCP_MODULE}.aws_organizations_policy.this{tf_index(policy)}", policy_id)
        )
    blocks.append(
        ImportBlock(
            "organization",
            f"{SCP_MODULE}.aws_organizations_policy_attachment.this{tf_index(f'{policy}|{target_key}')}",
            f"{target_id}:{policy_id}",
        )
    )
    return blocks


def role_policy_key(arn: str, customer_policies: dict[str, str]) -> str:
    """The key access.tf.j2 gives a role's managed policy: the ARN, or `policy:<name>` for one of the matrix's."""
    name = customer_policies.get(arn)
    return f"policy:{name}" if name else arn


def role_attachment_import(stack: str, role: str, arn: str, customer_policies: dict[str, str]) -> ImportBlock:
    """A managed policy attached to a role. Import ID: `<role>/<policy arn>`."""
    key = role_policy_key(arn, customer_policies)
    return ImportBlock(
        stack, f"module.role{tf_index(role)}.aws_iam_role_policy_attachment.this{tf_index(key)}", f"{role}/{arn}"
    )


def role_inline_import(stack: str, role: str, name: str) -> ImportBlock:
    """An inline policy of a role. Import ID: `<role>:<policy name>`."""
    return ImportBlock(stack, f"module.role{tf_index(role)}.aws_iam_role_policy.this{tf_index(name)}", f"{role}:{name}")


def role_imports(
    stack: str, role: str, attached: Iterable[str], inline: Iterable[str], customer_policies: dict[str, str]
) -> list[ImportBlock]:
    """A whole role: the role (ID: its name), its managed policy attachments and its inline policies."""
    blocks = [ImportBlock(stack, f"module.role{tf_index(role)}.aws_iam_role.this", role)]
    blocks += [role_attachment_import(stack, role, arn, customer_policies) for arn in sorted(attached)]
    blocks += [role_inline_import(stack, role, name) for name in sorted(inline)]
    return blocks


def assignment_import(
    group: str,
    permission_set: str,
    account: str,
    *,
    principal_id: str,
    principal_type: str,
    account_id: str,
    permission_set_arn: str,
    instance_arn: str,
) -> ImportBlock:
    """A permission-set assignment. Import ID: principal_id,principal_type,target_id,target_type,ps_arn,instance_arn."""
    return ImportBlock(
        "identity-center",
        f"{IDENTITY_CENTER_MODULE}.aws_ssoadmin_account_assignment.this{tf_index(f'{group}|{permission_set}|{account}')}",
        ",".join([principal_id, principal_type, account_id, "AWS_ACCOUNT", permission_set_arn, instance_arn]),
    )
