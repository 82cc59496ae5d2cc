"""`imports.tf`: an `import` block for each object the adoption record lists that the stack's configuration holds,
and for each one-per-account object (a GuardDuty detector, a Config recorder, an OIDC provider per URL) the
account already had before the stack managed it.

An entry the matrix no longer describes has no resource to import into, and Terraform refuses an import block
whose address is not in the configuration: such entries are left out. Keys are the ones the modules' for_each
use, read from the stack's inputs; IDs are in the formats the AWS provider documents for each resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from securecart_tf.config.adoption import AdoptedAccount, AdoptedIdentityCenter, Adoption
from securecart_tf.iam.documents import partition_of
from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION, Model, Stack
from securecart_tf.model.addresses import (
    ACCOUNT_IAM_MODULE,
    IDENTITY_CENTER_MODULE,
    ORGANIZATION_MODULE,
    SCP_MODULE,
    ImportBlock,
    assignment_import,
    role_imports,
    role_policy_key,
    tf_index,
)
from securecart_tf.model.stack import ACCESS

IMPORTS_FILE = "imports.tf"
MARKER = "# Rendered by securecart-tf"
"""How a rendered imports.tf starts: a file that does not is the user's, and never rewritten."""
_HEADER = (
    f"{MARKER} from adopted.yaml and what the accounts hold: these blocks adopt what existed before\n"
    "# securecart-tf managed it. Once a stack's state holds an object, its block does nothing. Edit adopted.yaml,\n"
    "# not this file.\n"
)
_DELEGATED_SINGLETONS = {
    "guardduty.amazonaws.com": (
        "guardduty_admin_account",
        "module.home_region.aws_guardduty_organization_admin_account",
    ),
    "cloudtrail.amazonaws.com": ("cloudtrail_admin_account", "aws_cloudtrail_organization_delegated_admin_account"),
}
"""Services whose delegated administrator the organization module registers through the service's own API."""


def stack_imports(stack: Stack, model: Model) -> list[ImportBlock]:
    """The import blocks of `stack`, in a stable order: the adoption record's, then the singletons found live."""
    blocks = adoption_imports(stack, model)
    taken = {block.to for block in blocks}
    return blocks + [block for block in stack.adopts if block.to not in taken]


def adoption_imports(stack: Stack, model: Model) -> list[ImportBlock]:
    """The import blocks the adoption record gives `stack`; none without a record."""
    adoption = model.project.adoption
    if adoption is None:
        return []
    if stack.layer == ORGANIZATION:
        return list(_organization(stack, model, adoption))
    if stack.layer == IDENTITY_CENTER and adoption.identity_center is not None:
        return list(_identity_center(stack, model, adoption.identity_center))
    if stack.layer == ACCESS and stack.account in adoption.accounts:
        return list(_access(stack, model, adoption.accounts[stack.account]))
    return []


def imports_tf(blocks: list[ImportBlock]) -> str:
    return _HEADER + "".join(f"\n{block.hcl()}" for block in blocks)


def is_rendered(text: str) -> bool:
    """An imports.tf this module wrote (rather than one the user saved there)."""
    return text.startswith(MARKER)


# ---------------------------------------------------------------------------------------------- organization


def _organization(stack: Stack, model: Model, adoption: Adoption) -> Iterator[ImportBlock]:
    inputs = stack.inputs
    yield ImportBlock(
        stack.name, f"{ORGANIZATION_MODULE}.aws_organizations_organization.this", adoption.organization_id
    )
    for path, unit in inputs["units"].items():
        if path in adoption.units:
            to = f"{ORGANIZATION_MODULE}.aws_organizations_organizational_unit.level{unit['depth']}{tf_index(path)}"
            yield ImportBlock(stack.name, to, adoption.units[path])
    policies = {name: pid for name, pid in adoption.guardrails.items() if name in inputs["guardrails"]}
    for name, policy_id in policies.items():
        yield ImportBlock(stack.name, f"{SCP_MODULE}.aws_organizations_policy.this{tf_index(name)}", policy_id)
    for name, targets in adoption.guardrail_attachments.items():
        for target in targets:
            target_id = _target_id(target, model, adoption)
            if name in policies and f"{name}|{target}" in inputs["attachments"] and target_id:
                to = f"{SCP_MODULE}.aws_organizations_policy_attachment.this{tf_index(f'{name}|{target}')}"
                yield ImportBlock(stack.name, to, f"{target_id}:{policies[name]}")
    yield from _delegated_administrators(stack, model)


def _target_id(target: str, model: Model, adoption: Adoption) -> str | None:
    """The ID of a guardrail's target as the record names it: root, ou:<path> or account:<name>."""
    kind, _, name = target.partition(":")
    if target == "root":
        return adoption.root_id
    if kind == "ou":
        return adoption.units.get(name)
    if kind == "account":
        return model.directory.ids.get(name)
    return None


def _delegated_administrators(stack: Stack, model: Model) -> Iterator[ImportBlock]:
    adoption = model.project.adoption
    assert adoption is not None
    inputs = stack.inputs
    for admin in adoption.delegated_administrators:
        account_id = model.directory.ids.get(admin.account)
        if account_id is None:
            continue
        wanted = {"service_principal": admin.service_principal, "account": admin.account}
        for key, spec in inputs["delegated_administrators"].items():
            if spec == wanted:
                to = f"{ORGANIZATION_MODULE}.aws_organizations_delegated_administrator.this{tf_index(key)}"
                yield ImportBlock(stack.name, to, f"{account_id}/{admin.service_principal}")
        variable, resource = _DELEGATED_SINGLETONS.get(admin.service_principal, ("", ""))
        if variable and inputs.get(variable) == admin.account:
            yield ImportBlock(stack.name, f"{ORGANIZATION_MODULE}.{resource}.this[0]", account_id)


# ------------------------------------------------------------------------------------------- identity center


def _identity_center(stack: Stack, model: Model, ic: AdoptedIdentityCenter) -> Iterator[ImportBlock]:
    inputs = stack.inputs
    for name, group_id in ic.groups.items():
        group = inputs["groups"].get(name)
        if group is not None and group["source"] == "created":
            to = f"{IDENTITY_CENTER_MODULE}.aws_identitystore_group.created{tf_index(name)}"
            yield ImportBlock(stack.name, to, f"{ic.identity_store_id}/{group_id}")
    for name, arn in ic.permission_sets.items():
        spec = inputs["permission_sets"].get(name)
        if spec is not None:
            yield from _permission_set(stack.name, ic, name, f"{arn},{ic.instance_arn}", spec)
    for a, account in ((entry, account) for entry in ic.assignments for account in entry.accounts):
        account_id = model.directory.ids.get(account)
        permission_set_arn = ic.permission_sets.get(a.permission_set)
        if f"{a.group}|{a.permission_set}|{account}" in inputs["assignments"] and account_id and permission_set_arn:
            yield assignment_import(
                a.group,
                a.permission_set,
                account,
                principal_id=a.principal_id,
                principal_type="GROUP",
                account_id=account_id,
                permission_set_arn=permission_set_arn,
                instance_arn=ic.instance_arn,
            )


def _permission_set(
    stack: str, ic: AdoptedIdentityCenter, name: str, arns: str, spec: dict[str, Any]
) -> Iterator[ImportBlock]:
    """A permission set and what is attached to it. `arns` is "<permission set ARN>,<instance ARN>"."""

    def block(resource: str, key: str, import_id: str) -> ImportBlock:
        return ImportBlock(stack, f"{IDENTITY_CENTER_MODULE}.{resource}.this{tf_index(key)}", import_id)

    yield block("aws_ssoadmin_permission_set", name, arns)
    for arn in ic.managed_policies.get(name, []):
        if arn in spec["managed_policies"]:
            yield block("aws_ssoadmin_managed_policy_attachment", f"{name}|{arn}", f"{arn},{arns}")
    for reference in ic.customer_managed_policies.get(name, []):
        head, _, policy = reference.rpartition("/")
        path = f"{head}/" if reference.startswith("/") else "/"
        if {"name": policy, "path": path} in spec["customer_managed_policies"]:
            resource = "aws_ssoadmin_customer_managed_policy_attachment"
            yield block(resource, f"{name}|{path}{policy}", f"{policy},{path},{arns}")
    if name in ic.inline_policies and spec["inline_policy"] is not None:
        yield block("aws_ssoadmin_permission_set_inline_policy", name, arns)
    if name in ic.boundaries and spec["permissions_boundary"] is not None:
        yield block("aws_ssoadmin_permissions_boundary_attachment", name, arns)


# ---------------------------------------------------------------------------------------------------- access


def _access(stack: Stack, model: Model, adopted: AdoptedAccount) -> Iterator[ImportBlock]:
    inputs = stack.inputs
    for name, arn in adopted.policies.items():
        if name in inputs["policies"]:
            yield ImportBlock(stack.name, f"{ACCOUNT_IAM_MODULE}.aws_iam_policy.this{tf_index(name)}", arn)
    for name, arn in adopted.oidc_providers.items():
        if name in inputs["oidc_providers"]:
            to = f"{ACCOUNT_IAM_MODULE}.aws_iam_openid_connect_provider.this{tf_index(name)}"
            yield ImportBlock(stack.name, to, arn)
    customer = _customer_policy_arns(stack, model, adopted)
    for role, record in adopted.roles.items():
        spec = inputs["roles"].get(role)
        if spec is None:
            continue
        keys = {ref["arn"] or f"policy:{ref['policy']}" for ref in spec["managed_policies"]}
        attached = [arn for arn in record.managed_policies if role_policy_key(arn, customer) in keys]
        inline = [name for name in record.inline_policies if name in spec["inline_policies"]]
        yield from role_imports(stack.name, role, attached, inline, customer)


def _customer_policy_arns(stack: Stack, model: Model, adopted: AdoptedAccount) -> dict[str, str]:
    """ARN → name of each customer-managed policy of the matrix this account holds: as adopted, or where IAM
    puts a policy of that name and path."""
    partition = partition_of(model.matrix.organization.home_region)
    account_id = model.directory.ids.get(stack.account)
    arns: dict[str, str] = {}
    for name, spec in stack.inputs["policies"].items():
        if account_id is not None:
            arns[f"arn:{partition}:iam::{account_id}:policy{spec['path']}{name}"] = name
    for name, arn in adopted.policies.items():
        arns[arn] = name
    return arns
