"""What exists but no stack manages: SCP attachments, permission-set assignments and IAM roles.

Pure comparisons of what the target holds against what the states hold. Each item found comes with an
`import` block for the rendered root that would manage it once the matrix declares it, or a hint to
remove it; `drift.ignore` in the matrix sets aside what is meant to stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from securecart_tf.drift.import_blocks import ImportBlock, assignment_import, role_imports, scp_attachment_imports

if TYPE_CHECKING:
    from securecart_tf.config.schema import DriftIgnore

FULL_AWS_ACCESS = "FullAWSAccess"
# Roles AWS itself creates and owns: service-linked roles and Identity Center's reserved roles.
AWS_OWNED_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")
ORGANIZATIONS_ROLE = "OrganizationAccountAccessRole"


@dataclass
class Unmanaged:
    """Something in the target that no stack manages and the matrix does not declare."""

    kind: str
    """scp-attachment, assignment or role."""
    account: str
    name: str
    stack: str
    """The stack whose rendered root would manage it once declared."""
    hint: str
    remove: list[str] = field(default_factory=list)
    imports: list[ImportBlock] = field(default_factory=list)
    subject: str = ""
    """What `drift.ignore` names match: the role's name, the permission set's, or the SCP's."""
    principal: str = ""
    """For an assignment: the group's or user's name."""


@dataclass(frozen=True)
class ScpAttachment:
    policy_id: str
    policy_name: str
    target_id: str
    target_name: str
    aws_managed: bool = False


def _target_words(key: str) -> str:
    if key == "root":
        return 'ous: ["/"]'
    kind, _, name = key.partition(":")
    return f"{'ous' if kind == 'ou' else 'accounts'}: [{name}]"


def unmanaged_scp_attachments(
    actual: Iterable[ScpAttachment],
    managed: set[tuple[str, str]],
    managed_policies: dict[str, str],
    target_keys: dict[str, str],
    guardrail_of: dict[str, str],
    environment: str,
) -> list[Unmanaged]:
    """Attachments that exist but that no state holds. `managed` holds (policy_id, target_id) pairs;
    `managed_policies` policy ID → SCP name in the organization stack; `target_keys` target ID → the
    matrix's key for it (root, ou:<path>, account:<name>); `guardrail_of` SCP name → guardrail."""
    found = []
    for a in actual:
        if a.aws_managed or a.policy_name == FULL_AWS_ACCESS or (a.policy_id, a.target_id) in managed:
            continue
        key = target_keys.get(a.target_id)
        policy = managed_policies.get(a.policy_id)
        remove = [f"aws organizations detach-policy --policy-id {a.policy_id} --target-id {a.target_id}"]
        name = f"SCP {a.policy_name} attached to {a.target_name} ({a.target_id})"
        if key is None:
            hint = f"{a.target_name} is not in the matrix; detach the SCP, or declare the target first"
            found.append(
                Unmanaged("scp-attachment", a.target_name, name, "organization", hint, remove, subject=a.policy_name)
            )
            continue
        save = f"save the import block(s) as build/{environment}/organization/imports.tf, then plan"
        if policy is not None:
            guardrail = guardrail_of.get(policy, policy)
            hint = f"to adopt it, add {_target_words(key)} to the targets of guardrail '{guardrail}' and {save}"
        else:
            policy = a.policy_name
            hint = (
                f"SCP {policy} is not in the matrix either; to adopt both, add a guardrail '{policy}' "
                f"(file: with its document) with targets {_target_words(key)} and {save}"
            )
        imports = scp_attachment_imports(
            policy, key, a.policy_id, a.target_id, policy_managed=a.policy_id in managed_policies
        )
        found.append(
            Unmanaged(
                "scp-attachment", a.target_name, name, "organization", hint, remove, imports, subject=a.policy_name
            )
        )
    return found


@dataclass(frozen=True)
class Assignment:
    principal_type: str
    principal_id: str
    principal_name: str
    account_id: str
    permission_set_arn: str
    permission_set: str
    instance_arn: str


def assignment_id(a: Assignment) -> str:
    """The ID Terraform records for an assignment (and imports it by)."""
    return ",".join(
        [a.principal_id, a.principal_type, a.account_id, "AWS_ACCOUNT", a.permission_set_arn, a.instance_arn]
    )


def _undeclarable(
    a: Assignment, account_names: dict[str, str], groups: set[str], permission_sets: set[str]
) -> list[str]:
    """What keeps the matrix from declaring an assignment as it is; nothing when it can."""
    missing = []
    if a.principal_type != "GROUP":
        missing.append("the matrix assigns groups, not users")
    elif a.principal_name not in groups:
        missing.append(f"group {a.principal_name} is not in the matrix")
    if a.permission_set not in permission_sets:
        missing.append(f"permission set {a.permission_set} is not in the matrix")
    if a.account_id not in account_names:
        missing.append(f"account {a.account_id} is not in the matrix")
    return missing


def unmanaged_assignments(
    actual: Iterable[Assignment],
    managed_ids: set[str],
    account_names: dict[str, str],
    groups: set[str],
    permission_sets: set[str],
    environment: str,
) -> list[Unmanaged]:
    """Assignments whose ID no state holds. The matrix can declare a group's assignment of one of its
    permission sets to one of its accounts; anything else can only be removed."""
    found = []
    for a in actual:
        if assignment_id(a) in managed_ids:
            continue
        account = account_names.get(a.account_id, a.account_id)
        name = f"{a.principal_type.lower()} {a.principal_name} → {a.permission_set} in {account}"
        remove = [
            f"aws sso-admin delete-account-assignment --instance-arn {a.instance_arn} --target-id {a.account_id} "
            f"--target-type AWS_ACCOUNT --permission-set-arn {a.permission_set_arn} "
            f"--principal-type {a.principal_type} --principal-id {a.principal_id}"
        ]
        missing = _undeclarable(a, account_names, groups, permission_sets)
        imports = []
        if missing:
            hint = "; ".join(missing) + ": remove it, or assign it through the matrix"
        else:
            imports.append(
                assignment_import(
                    a.principal_name,
                    a.permission_set,
                    account,
                    principal_id=a.principal_id,
                    principal_type=a.principal_type,
                    account_id=a.account_id,
                    permission_set_arn=a.permission_set_arn,
                    instance_arn=a.instance_arn,
                )
            )
            hint = (
                f"to adopt it, add {{group: {a.principal_name}, permission_set: {a.permission_set}, "
                f"accounts: [{account}]}} to identity_center.assignments and save the import block as "
                f"build/{environment}/identity-center/imports.tf, then plan"
            )
        found.append(
            Unmanaged(
                "assignment",
                account,
                name,
                "identity-center",
                hint,
                remove,
                imports,
                subject=a.permission_set,
                principal=a.principal_name,
            )
        )
    return found


@dataclass(frozen=True)
class Role:
    name: str
    path: str = "/"
    attached: tuple[str, ...] = ()
    inline: tuple[str, ...] = ()


def unmanaged_roles(
    account: str,
    actual: Iterable[Role],
    managed: set[str],
    platform_roles: set[str],
    customer_policies: dict[str, str],
    environment: str,
) -> list[Unmanaged]:
    """Roles in an account that no state holds, apart from AWS's own and the platform's access roles."""
    stack = f"access-{account}"
    found = []
    for role in actual:
        if role.name in managed or role.name in platform_roles or role.path.startswith(AWS_OWNED_ROLE_PATHS):
            continue
        imports = role_imports(stack, role.name, role.attached, role.inline, customer_policies)
        hint = (
            f"to adopt it, add role {role.name} to roles: with accounts: [{account}] (its trust and policies as "
            "they are: trust.policy_file and inline_policies take any) and save the import blocks as "
            f"build/{environment}/{stack}/imports.tf, then plan"
        )
        remove = [f"aws iam detach-role-policy --role-name {role.name} --policy-arn {arn}" for arn in role.attached]
        remove += [f"aws iam delete-role-policy --role-name {role.name} --policy-name {n}" for n in role.inline]
        remove.append(f"aws iam delete-role --role-name {role.name}")
        found.append(Unmanaged("role", account, f"role {role.name}", stack, hint, remove, imports, subject=role.name))
    return found


@dataclass
class Ignored:
    """Something unmanaged that a `drift.ignore` rule in the matrix names, with the rule's reason."""

    item: Unmanaged
    reason: str


def _ignores(rule: DriftIgnore, item: Unmanaged) -> bool:
    """IAM, Identity Center and Organizations names are matched without regard to case, as IAM compares them."""
    if rule.kind != item.kind or not fnmatchcase(item.subject.lower(), rule.name.lower()):
        return False
    if rule.principal is not None and not fnmatchcase(item.principal.lower(), rule.principal.lower()):
        return False
    return not rule.accounts or item.account in rule.accounts


def set_aside_ignored(
    items: Iterable[Unmanaged], rules: Sequence[DriftIgnore]
) -> tuple[list[Unmanaged], list[Ignored]]:
    """Split what the scan found into what to report and what `drift.ignore` names (the first rule that
    matches gives the reason)."""
    kept: list[Unmanaged] = []
    ignored: list[Ignored] = []
    for item in items:
        rule = next((r for r in rules if _ignores(r, item)), None)
        if rule is None:
            kept.append(item)
        else:
            ignored.append(Ignored(item, rule.reason))
    return kept, ignored
