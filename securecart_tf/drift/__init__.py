"""`securecart-tf drift`: what changed outside Terraform, and what exists that the matrix does not declare.

Two questions, answered per environment:

1. Changed: a refresh-only plan of every applied stack (one Terraform process each). Terraform's
   `resource_drift` events name the resources whose real state differs from the recorded one. The plan
   file carries both state snapshots (before and after the refresh), so each event is explained down to
   the attribute without another Terraform process. Differences that are only representation (null
   against empty, a reformatted policy document, a list another resource manages) are set aside as
   normalizations; a policy attached to a managed role by hand is kept.
2. Not managed: SCP attachments, permission-set assignments and IAM roles that exist in the target but in
   no stack's state. For each, an `import` block for the rendered root, or a hint to remove it.

Exit codes: 0 no drift, 2 drift (changed or not managed), 1 an error.
"""

from __future__ import annotations

import contextlib
import json
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securecart_tf import __version__
from securecart_tf.errors import SecureCartError
from securecart_tf.iam.documents import partition_of
from securecart_tf.run.ledger import Record

if TYPE_CHECKING:
    from rich.console import RenderableType

    from securecart_tf.config.schema import DriftIgnore
    from securecart_tf.model import Stack
    from securecart_tf.run.orchestrate import Run
    from securecart_tf.run.terraform import ResourceChange

# Attributes that mirror what other resources manage. Each of those resources reports its own drift, so a
# difference here is a reflection, not a change of its own.
MIRRORED_ATTRIBUTES: dict[str, frozenset[str]] = {
    # the organization's and an OU's account lists: aws_organizations_account owns each account
    "aws_organizations_organization": frozenset({"accounts", "non_master_accounts"}),
    "aws_organizations_organizational_unit": frozenset({"accounts"}),
    # how many roles, users and groups use a policy: the attachment resources (and Identity Center's
    # provisioned roles) own those; roles attached by hand are found by the role scan
    "aws_iam_policy": frozenset({"attachment_count"}),
    # deprecated in-bucket copies of the settings the aws_s3_bucket_* resources own
    "aws_s3_bucket": frozenset(
        {
            "acceleration_status",
            "acl",
            "cors_rule",
            "grant",
            "lifecycle_rule",
            "logging",
            "object_lock_configuration",
            "policy",
            "replication_configuration",
            "request_payer",
            "server_side_encryption_configuration",
            "versioning",
            "website",
            "website_domain",
            "website_endpoint",
        }
    ),
}

AWS_MANAGED_POLICY_PREFIX = "arn:aws:iam::aws:policy/"
FULL_AWS_ACCESS = "FullAWSAccess"
# Roles AWS itself creates and owns: service-linked roles and Identity Center's reserved roles.
AWS_OWNED_ROLE_PATHS = ("/aws-service-role/", "/aws-reserved/")
ORGANIZATIONS_ROLE = "OrganizationAccountAccessRole"

SCP_MODULE = "module.service_control_policies"
IDENTITY_CENTER_MODULE = "module.identity_center"


# ---- import blocks --------------------------------------------------------------------------------------


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


def role_imports(
    stack: str, role: str, attached: Iterable[str], inline: Iterable[str], customer_policies: dict[str, str]
) -> list[ImportBlock]:
    """A whole role: the role (ID: its name), its managed policy attachments and its inline policies
    (ID: `<role>:<policy name>`)."""
    blocks = [ImportBlock(stack, f"module.role{tf_index(role)}.aws_iam_role.this", role)]
    blocks += [role_attachment_import(stack, role, arn, customer_policies) for arn in sorted(attached)]
    blocks += [
        ImportBlock(stack, f"module.role{tf_index(role)}.aws_iam_role_policy.this{tf_index(name)}", f"{role}:{name}")
        for name in sorted(inline)
    ]
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


# ---- what changed: classifying Terraform's drift events --------------------------------------------------


@dataclass
class AttributeChange:
    name: str
    before: Any
    after: Any
    detail: str


@dataclass
class Change:
    """A managed resource that changed outside Terraform."""

    stack: str
    address: str
    resource_type: str
    action: str
    """update or delete (what the refresh found), as Terraform names it."""
    attributes: list[AttributeChange] = field(default_factory=list)
    hint: str = ""
    remove: list[str] = field(default_factory=list)
    """Commands that undo the change where Terraform would not."""
    imports: list[ImportBlock] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.action == "delete":
            return "deleted outside Terraform"
        return "; ".join(f"{a.name}: {a.detail}" for a in self.attributes) or self.action


@dataclass(frozen=True)
class Instance:
    """One resource instance in a state snapshot."""

    address: str
    type: str
    attributes: dict[str, Any]
    sensitive: frozenset[str] = frozenset()


def _address(resource: dict[str, Any], index_key: Any) -> str:
    module = resource.get("module") or ""
    prefix = f"{module}." if module else ""
    if resource.get("mode") == "data":
        prefix += "data."
    index = "" if index_key is None else tf_index(index_key)
    return f"{prefix}{resource['type']}.{resource['name']}{index}"


def instances(state: dict[str, Any] | None) -> dict[str, Instance]:
    """Managed resource instances of a state (format version 4), by address."""
    found: dict[str, Instance] = {}
    for resource in (state or {}).get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        for inst in resource.get("instances") or []:
            address = _address(resource, inst.get("index_key"))
            sensitive = frozenset(
                step[0]["value"]
                for step in inst.get("sensitive_attributes") or []
                if isinstance(step, list) and step and isinstance(step[0], dict) and step[0].get("type") == "get_attr"
            )
            found[address] = Instance(address, resource["type"], dict(inst.get("attributes") or {}), sensitive)
    return found


def normalize(value: Any) -> Any:
    """A value as AWS means it: null, "", [] and {} are all absent; JSON documents compare parsed; lists
    compare without order (AWS returns sets in any order)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "{[":
            with contextlib.suppress(ValueError):
                return normalize(json.loads(text))
        return value
    if isinstance(value, dict):
        items = {k: normalize(v) for k, v in value.items()}
        items = {k: v for k, v in items.items() if v is not None}
        return items or None
    if isinstance(value, list):
        elements = [normalize(v) for v in value]
        elements = [e for e in elements if e is not None]
        return sorted(elements, key=lambda e: json.dumps(e, sort_keys=True)) if elements else None
    if value is False:
        return False
    return value


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(before: Any, after: Any) -> str:
    """A one-line account of an attribute's change, for people."""
    b, a = normalize(before), normalize(after)
    if isinstance(b, dict) or isinstance(a, dict):
        if isinstance(before, str) or isinstance(after, str):
            return "document changed"
        keys = sorted(k for k in set((b or {}) | (a or {})) if (b or {}).get(k) != (a or {}).get(k))
        return "changed: " + ", ".join(keys)
    if isinstance(b, list) or isinstance(a, list):
        old = [json.dumps(x, sort_keys=True) for x in b or []]
        new = [json.dumps(x, sort_keys=True) for x in a or []]
        added = [x for x in new if x not in old]
        gone = [x for x in old if x not in new]
        parts = [f"+{_short(json.loads(x))}" for x in added] + [f"-{_short(json.loads(x))}" for x in gone]
        return ", ".join(parts) or "reordered"
    return f"{_short(b)} → {_short(a)}"


def attribute_changes(before: Instance, after: Instance) -> list[AttributeChange]:
    """The attributes that really differ, normalizations and mirrored attributes set aside."""
    mirrored = MIRRORED_ATTRIBUTES.get(after.type, frozenset())
    changes = []
    for name in sorted(set(before.attributes) | set(after.attributes)):
        if name in mirrored:
            continue
        old, new = before.attributes.get(name), after.attributes.get(name)
        if normalize(old) == normalize(new):
            continue
        if name in before.sensitive or name in after.sensitive:
            changes.append(AttributeChange(name, "(sensitive)", "(sensitive)", "sensitive value changed"))
        else:
            changes.append(AttributeChange(name, old, new, describe(old, new)))
    return changes


def _role_policies(refreshed: dict[str, Instance]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Role name → managed policy ARNs attached by Terraform, and → inline policy names Terraform manages."""
    attached: dict[str, set[str]] = {}
    inline: dict[str, set[str]] = {}
    for inst in refreshed.values():
        role = inst.attributes.get("role")
        if not isinstance(role, str):
            continue
        if inst.type == "aws_iam_role_policy_attachment":
            attached.setdefault(role, set()).add(str(inst.attributes.get("policy_arn")))
        elif inst.type == "aws_iam_role_policy":
            inline.setdefault(role, set()).add(str(inst.attributes.get("name")))
    return attached, inline


def _role_change(
    stack: str,
    change: AttributeChange,
    role: str,
    managed: set[str],
    customer_policies: dict[str, str],
    adoptable: bool,
) -> tuple[AttributeChange | None, list[ImportBlock], list[str]]:
    """A role's managed_policy_arns or inline_policy mirror its attachment resources: keep only what no
    Terraform resource accounts for, which is what someone added by hand. Import blocks only for roles the
    matrix declares (module.role); the baseline's own roles cannot take more policies from the matrix."""
    if change.name == "managed_policy_arns":
        extra = sorted({str(a) for a in change.after or []} - managed)
        if not extra:
            return None, [], []
        detail = "attached outside Terraform: " + ", ".join(extra)
        imports = [role_attachment_import(stack, role, arn, customer_policies) for arn in extra if adoptable]
        remove = [f"aws iam detach-role-policy --role-name {role} --policy-arn {arn}" for arn in extra]
        return AttributeChange(change.name, change.before, change.after, detail), imports, remove
    names = {str(p.get("name")) for p in change.after or [] if isinstance(p, dict) and p.get("name")}
    extra = sorted(names - managed)
    if not extra:
        return None, [], []
    detail = "inline policy added outside Terraform: " + ", ".join(extra)
    imports = [
        ImportBlock(stack, f"module.role{tf_index(role)}.aws_iam_role_policy.this{tf_index(n)}", f"{role}:{n}")
        for n in extra
        if adoptable
    ]
    remove = [f"aws iam delete-role-policy --role-name {role} --policy-name {n}" for n in extra]
    return AttributeChange(change.name, change.before, change.after, detail), imports, remove


def classify(
    stack: str,
    environment: str,
    events: Iterable[ResourceChange],
    previous: dict[str, Instance],
    refreshed: dict[str, Instance],
    customer_policies: dict[str, str] | None = None,
) -> tuple[list[Change], list[str]]:
    """Terraform's resource_drift events → (real changes, addresses whose difference was only normalization)."""
    customer_policies = customer_policies or {}
    attached, inline = _role_policies(refreshed)
    changes: list[Change] = []
    normalized: list[str] = []
    restore = f"`securecart-tf apply --env {environment} --refresh` restores what the matrix declares"
    for event in events:
        before, after = previous.get(event.address), refreshed.get(event.address)
        if event.action == "delete" or (before is not None and after is None):
            changes.append(
                Change(
                    stack, event.address, event.resource_type, "delete", hint=f"{restore}; or drop it from the matrix"
                )
            )
            continue
        if before is None or after is None:  # no snapshot to explain it: report it as Terraform saw it
            changes.append(Change(stack, event.address, event.resource_type, event.action, hint=restore))
            continue
        kept: list[AttributeChange] = []
        imports: list[ImportBlock] = []
        remove: list[str] = []
        for attr in attribute_changes(before, after):
            if after.type == "aws_iam_role" and attr.name in ("managed_policy_arns", "inline_policy"):
                role = str(after.attributes.get("name"))
                managed = (attached if attr.name == "managed_policy_arns" else inline).get(role, set())
                found, blocks, commands = _role_change(
                    stack, attr, role, managed, customer_policies, after.address.startswith("module.role[")
                )
                if found is None:
                    continue
                attr, imports, remove = found, imports + blocks, remove + commands
            kept.append(attr)
        if not kept:
            normalized.append(event.address)
            continue
        hint = restore
        if remove:
            hint = "Terraform does not undo this: remove it with the command below" + (
                ", or declare it in the matrix and import it" if imports else ""
            )
            if len(kept) > sum(a.name in ("managed_policy_arns", "inline_policy") for a in kept):
                hint += f"; for the other attributes, {restore}"
        changes.append(Change(stack, event.address, event.resource_type, event.action, kept, hint, remove, imports))
    return changes, normalized


# ---- plan file snapshots ---------------------------------------------------------------------------------


def plan_snapshots(planfile: Path) -> tuple[dict[str, Instance], dict[str, Instance]] | None:
    """The state before and after the refresh, as saved inside a plan file; None if unreadable.

    A plan file is a zip holding `tfstate-prev` (the state as the last run left it) and `tfstate` (the
    same state refreshed). Both are ordinary state files (format 4).
    """
    try:
        with zipfile.ZipFile(planfile) as z:
            previous = json.loads(z.read("tfstate-prev"))
            refreshed = json.loads(z.read("tfstate"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if previous.get("version") != 4 or refreshed.get("version") != 4:
        return None
    return instances(previous), instances(refreshed)


def _module_instances(module: dict[str, Any], found: dict[str, Instance]) -> None:
    for res in module.get("resources") or []:
        if res.get("mode") != "managed":
            continue
        sensitive = frozenset(k for k, v in (res.get("sensitive_values") or {}).items() if v is True)
        found[res["address"]] = Instance(res["address"], res["type"], dict(res.get("values") or {}), sensitive)
    for child in module.get("child_modules") or []:
        _module_instances(child, found)


def show_snapshots(plan: dict[str, Any]) -> tuple[dict[str, Instance], dict[str, Instance]]:
    """The same two snapshots from `terraform show -json` of a refresh-only plan (the fallback)."""
    refreshed: dict[str, Instance] = {}
    _module_instances(((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}, refreshed)
    previous = dict(refreshed)
    for drift in plan.get("resource_drift") or []:
        change = drift.get("change") or {}
        address = drift["address"]
        if change.get("before") is None:
            continue
        sensitive = frozenset(k for k, v in (change.get("before_sensitive") or {}).items() if v is True)
        previous[address] = Instance(address, drift["type"], dict(change["before"]), sensitive)
        if change.get("actions") == ["delete"]:
            refreshed.pop(address, None)
    return previous, refreshed


# ---- what exists but is not managed: pure comparisons ----------------------------------------------------


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
        who = f"{a.principal_type.lower()} {a.principal_name}"
        name = f"{who} → {a.permission_set} in {account}"
        who_what = {"subject": a.permission_set, "principal": a.principal_name}
        remove = [
            f"aws sso-admin delete-account-assignment --instance-arn {a.instance_arn} --target-id {a.account_id} "
            f"--target-type AWS_ACCOUNT --permission-set-arn {a.permission_set_arn} "
            f"--principal-type {a.principal_type} --principal-id {a.principal_id}"
        ]
        missing = []
        if a.principal_type != "GROUP":
            missing.append("the matrix assigns groups, not users")
        elif a.principal_name not in groups:
            missing.append(f"group {a.principal_name} is not in the matrix")
        if a.permission_set not in permission_sets:
            missing.append(f"permission set {a.permission_set} is not in the matrix")
        if a.account_id not in account_names:
            missing.append(f"account {a.account_id} is not in the matrix")
        if missing:
            hint = "; ".join(missing) + ": remove it, or assign it through the matrix"
            found.append(Unmanaged("assignment", account, name, "identity-center", hint, remove, **who_what))
            continue
        block = assignment_import(
            a.principal_name,
            a.permission_set,
            account,
            principal_id=a.principal_id,
            principal_type=a.principal_type,
            account_id=a.account_id,
            permission_set_arn=a.permission_set_arn,
            instance_arn=a.instance_arn,
        )
        hint = (
            f"to adopt it, add {{group: {a.principal_name}, permission_set: {a.permission_set}, "
            f"accounts: [{account}]}} to identity_center.assignments and save the import block as "
            f"build/{environment}/identity-center/imports.tf, then plan"
        )
        found.append(Unmanaged("assignment", account, name, "identity-center", hint, remove, [block], **who_what))
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
            f"they are) and save the import blocks as build/{environment}/{stack}/imports.tf, then plan"
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


# ---- managed sets from state -----------------------------------------------------------------------------


def managed_attributes(state: dict[str, Any] | None, resource_type: str) -> list[dict[str, Any]]:
    return [i.attributes for i in instances(state).values() if i.type == resource_type]


def state_key(state: dict[str, Any] | None, resource_type: str) -> dict[str, str]:
    """ID → for_each key of each instance of a resource type (e.g. SCP ID → SCP name)."""
    found = {}
    for resource in (state or {}).get("resources") or []:
        if resource.get("type") != resource_type or resource.get("mode") != "managed":
            continue
        for inst in resource.get("instances") or []:
            key = inst.get("index_key")
            ident = (inst.get("attributes") or {}).get("id")
            if isinstance(key, str) and isinstance(ident, str):
                found[ident] = key
    return found


# ---- the report -------------------------------------------------------------------------------------------


@dataclass
class StackDrift:
    stack: str
    account: str
    status: str
    """clean, drifted, failed, timed out, interrupted, not applied."""
    changes: list[Change] = field(default_factory=list)
    normalized: list[str] = field(default_factory=list)
    """Resources Terraform saw drift in that is only representation (null against empty, and the like)."""
    message: str = ""
    log: str = ""
    duration: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "timed out", "interrupted")


@dataclass
class DriftReport:
    environment: str
    revision: str
    target: str
    stacks: list[StackDrift]
    unmanaged: list[Unmanaged] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    duration: float = 0.0
    ignored: list[Ignored] = field(default_factory=list)
    """Unmanaged items that `drift.ignore` in the matrix names: shown, not counted as drift."""

    @property
    def changes(self) -> list[Change]:
        return [c for s in self.stacks for c in s.changes]

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(s.failed for s in self.stacks)

    @property
    def drifted(self) -> bool:
        return bool(self.changes or self.unmanaged)

    def exit_code(self) -> int:
        if self.failed:
            return 1
        return 2 if self.drifted else 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = "drift"
        data["drift"] = self.drifted
        data["exit_code"] = self.exit_code()
        data["tool_version"] = __version__
        return data

    def import_files(self) -> dict[str, str]:
        """Stack → the text of an imports.tf adopting everything reported for it."""
        files: dict[str, list[str]] = {}
        for item in [*self.changes, *self.unmanaged]:
            for block in item.imports:
                files.setdefault(block.stack, []).append(block.hcl())
        return {stack: "\n".join(dict.fromkeys(blocks)) for stack, blocks in sorted(files.items())}


# ---- running it -------------------------------------------------------------------------------------------


def drift_planfile(run: Run, stack: str) -> Path:
    """Refresh-only plans live apart from the saved plans `apply` uses, so one never stands for the other."""
    directory = run.ws.plans(run.env.name) / "drift"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory / f"{stack}.tfplan"


def customer_policy_arns(run: Run, account_id: str) -> dict[str, str]:
    """ARN → name of the matrix's customer-managed policies, as they are named in one account."""
    found = {}
    for policy in run.project.matrix.policies:
        path = policy.path or "/"
        found[f"arn:aws:iam::{account_id}:policy{path}{policy.name}"] = policy.name
    return found


def refresh_stack(run: Run, stack: Stack) -> StackDrift:
    """One refresh-only plan; its drift events explained from the snapshots in the plan file."""
    result = StackDrift(stack.name, stack.account, "clean")
    if not run.state_exists(stack.name):
        result.status, result.message = "not applied", "no state yet: nothing to compare"
        run.listen(stack.name, result.status, result.message)
        return result
    run.before_plan(stack)
    runner = run.runner(stack.name)
    result.log = str(runner.log)
    run.listen(stack.name, "init")
    init = runner.init(run.backend_config(stack.name))
    if not init.ok:
        result.status, result.message = "failed", f"terraform init failed; see {init.log}"
        run.listen(stack.name, result.status, result.message)
        return result
    planfile = drift_planfile(run, stack.name)
    run.listen(stack.name, "refreshing")
    outcome = runner.plan(planfile, refresh_only=True)
    result.duration = outcome.duration + init.duration
    try:
        if not outcome.ok:
            result.status = "timed out" if outcome.timed_out else "interrupted" if outcome.interrupted else "failed"
            result.message = (
                outcome.errors[0][:300] if outcome.errors else "terraform plan failed"
            ) + f" (log: {outcome.log})"
            run.listen(stack.name, result.status, result.message)
            return result
        if outcome.drift:
            snapshots = plan_snapshots(planfile)
            if snapshots is None:  # a plan file we cannot read: ask Terraform, at the cost of one process
                snapshots = show_snapshots(runner.show_json(planfile))
            previous, refreshed = snapshots
            account_id = run.facts.account_ids.get(stack.account, "")
            result.changes, result.normalized = classify(
                stack.name, run.env.name, outcome.drift, previous, refreshed, customer_policy_arns(run, account_id)
            )
    finally:
        with contextlib.suppress(FileNotFoundError):
            planfile.unlink()
    result.status = "drifted" if result.changes else "clean"
    run.listen(stack.name, result.status, f"{len(result.changes)} changed" if result.changes else "")
    return result


class Clients:
    """boto3 clients in the management account, or in a member account through its access role."""

    def __init__(self, run: Run):
        from securecart_tf.config.environments import AwsTarget

        self.run = run
        self.management = run.project.matrix.organization.management_account
        target = run.env.target
        self.aws = target if isinstance(target, AwsTarget) else None
        self.role = (self.aws.role_name if self.aws else None) or run.project.matrix.organization.deployment_role
        self._sessions: dict[str, Any] = {}

    def __call__(self, service: str, account: str | None = None) -> Any:
        profiled = self.aws is not None and account in self.aws.account_profiles
        if (account is None or account == self.management) and not profiled:
            return self.run.target.client(service)
        endpoint = self.run.target.info.endpoint if self.run.target.info is not None else None
        return self._session(account).client(service, endpoint_url=endpoint)

    def _session(self, account: str) -> Any:
        import boto3

        if account in self._sessions:
            return self._sessions[account]
        region = self.run.target.region
        if self.aws is not None and account in self.aws.account_profiles:
            session = boto3.session.Session(profile_name=self.aws.account_profiles[account], region_name=region)
        else:
            account_id = self.run.facts.account_ids.get(account)
            if account_id is None:
                raise SecureCartError(f"account {account} has no ID yet", hint="apply the organization stack first")
            params: dict[str, Any] = {
                "RoleArn": f"arn:{partition_of(region)}:iam::{account_id}:role/{self.role}",
                "RoleSessionName": "securecart-tf-drift",
            }
            if self.aws is not None and self.aws.external_id:
                params["ExternalId"] = self.aws.external_id
            creds = self.run.target.client("sts").assume_role(**params)["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=region,
            )
        self._sessions[account] = session
        return session


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items += page.get(key, [])
    return items


def fetch_scp_attachments(org: Any) -> list[ScpAttachment]:
    found = []
    for policy in _pages(org, "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"):
        for target in _pages(org, "list_targets_for_policy", "Targets", PolicyId=policy["Id"]):
            found.append(
                ScpAttachment(
                    policy["Id"],
                    policy["Name"],
                    target["TargetId"],
                    target.get("Name", ""),
                    bool(policy.get("AwsManaged")),
                )
            )
    return found


def fetch_assignments(sso: Any, identitystore: Any, account_ids: Iterable[str]) -> list[Assignment]:
    from botocore.exceptions import ClientError

    instances_ = sso.list_instances().get("Instances", [])
    if not instances_:
        return []
    instance_arn, store = instances_[0]["InstanceArn"], instances_[0]["IdentityStoreId"]
    names: dict[tuple[str, str], str] = {}

    def principal(kind: str, ident: str) -> str:
        if (kind, ident) not in names:
            try:
                if kind == "GROUP":
                    names[(kind, ident)] = identitystore.describe_group(IdentityStoreId=store, GroupId=ident)[
                        "DisplayName"
                    ]
                else:
                    names[(kind, ident)] = identitystore.describe_user(IdentityStoreId=store, UserId=ident)["UserName"]
            except ClientError:  # a principal deleted since: still an assignment to report
                names[(kind, ident)] = ident
        return names[(kind, ident)]

    found = []
    for ps_arn in _pages(sso, "list_permission_sets", "PermissionSets", InstanceArn=instance_arn):
        ps_name = sso.describe_permission_set(InstanceArn=instance_arn, PermissionSetArn=ps_arn)["PermissionSet"][
            "Name"
        ]
        for account_id in account_ids:
            for a in _pages(
                sso,
                "list_account_assignments",
                "AccountAssignments",
                InstanceArn=instance_arn,
                AccountId=account_id,
                PermissionSetArn=ps_arn,
            ):
                found.append(
                    Assignment(
                        a["PrincipalType"],
                        a["PrincipalId"],
                        principal(a["PrincipalType"], a["PrincipalId"]),
                        account_id,
                        ps_arn,
                        ps_name,
                        instance_arn,
                    )
                )
    return found


def fetch_roles(iam: Any, keep: Callable[[str, str], bool]) -> list[Role]:
    """The account's roles; policies are listed only for those `keep(name, path)` selects."""
    found = []
    for r in _pages(iam, "list_roles", "Roles"):
        if not keep(r["RoleName"], r.get("Path", "/")):
            continue
        attached = tuple(
            p["PolicyArn"]
            for p in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=r["RoleName"])
        )
        inline = tuple(_pages(iam, "list_role_policies", "PolicyNames", RoleName=r["RoleName"]))
        found.append(Role(r["RoleName"], r.get("Path", "/"), attached, inline))
    return found


def scan_unmanaged(run: Run, clients: Clients | None = None) -> tuple[list[Unmanaged], list[str]]:
    """Everything in the environment's reach that no stack manages. Returns (items, errors)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION

    clients = clients or Clients(run)
    env, matrix = run.env, run.project.matrix
    items: list[Unmanaged] = []
    errors: list[str] = []
    account_names = {v: k for k, v in run.facts.account_ids.items()}

    def attempt(what: str, work: Callable[[], list[Unmanaged]]) -> None:
        run.listen("unmanaged", "scanning", what)
        try:
            items.extend(work())
        except SecureCartError as exc:
            errors.append(f"{what}: {exc.message}")
        except (BotoCoreError, ClientError) as exc:  # the service said no, or could not be reached
            errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")

    org_state = run.read_state(ORGANIZATION)
    if ORGANIZATION in env.stacks and org_state:

        def scps() -> list[Unmanaged]:
            outputs = run.read_outputs(ORGANIZATION)
            keys = {str(outputs.get("root_id")): "root"}
            keys.update({i: f"ou:{p}" for p, i in (outputs.get("ou_ids") or {}).items() if p != "/"})
            keys.update({i: f"account:{n}" for n, i in (outputs.get("account_ids") or {}).items()})
            managed = {
                (str(a.get("policy_id")), str(a.get("target_id")))
                for a in managed_attributes(org_state, "aws_organizations_policy_attachment")
            }
            guardrail_of = {part: g for g, parts in run.model.scp_parts.items() for part in parts}
            return unmanaged_scp_attachments(
                fetch_scp_attachments(clients("organizations")),
                managed,
                state_key(org_state, "aws_organizations_policy"),
                keys,
                guardrail_of,
                env.name,
            )

        attempt("SCP attachments", scps)

    ic_state = run.read_state(IDENTITY_CENTER)
    if IDENTITY_CENTER in env.stacks and ic_state and matrix.identity_center is not None:
        ic = matrix.identity_center

        def assignments() -> list[Unmanaged]:
            managed = {str(a.get("id")) for a in managed_attributes(ic_state, "aws_ssoadmin_account_assignment")}
            accounts = [a["Id"] for a in _pages(clients("organizations"), "list_accounts", "Accounts")]
            return unmanaged_assignments(
                fetch_assignments(clients("sso-admin"), clients("identitystore"), accounts),
                managed,
                account_names,
                {g.name for g in ic.groups},
                {p.name for p in ic.permission_sets},
                env.name,
            )

        attempt("permission-set assignments", assignments)

    accounts = list(env.accounts)
    baseline = matrix.security_baseline
    if baseline is not None and "security" in env.stacks and baseline.account not in accounts:
        accounts.append(baseline.account)
    platform = {ORGANIZATIONS_ROLE, clients.role, matrix.organization.deployment_role}
    if matrix.organization.break_glass_role:
        platform.add(matrix.organization.break_glass_role)
    for account in accounts:
        if account not in run.facts.account_ids:
            continue
        # the roles every stack working in this account manages, as its state records them
        managed: set[str] = set()
        for stack in run.model.stacks.values():
            if stack.account == account:
                state = run.read_state(stack.name)
                managed |= {str(r.get("name")) for r in managed_attributes(state, "aws_iam_role")}

        def roles(account: str = account, managed: set[str] = managed) -> list[Unmanaged]:
            def keep(name: str, path: str) -> bool:
                return name not in managed and name not in platform and not path.startswith(AWS_OWNED_ROLE_PATHS)

            found = fetch_roles(clients("iam", account), keep)
            policies = customer_policy_arns(run, run.facts.account_ids[account])
            return unmanaged_roles(account, found, managed, platform, policies, env.name)

        attempt(f"roles in {account}", roles)
    return items, errors


def drift(run: Run) -> DriftReport:
    """Refresh every stack of the environment, scan for what is not managed, and record the result."""
    start = time.monotonic()
    stacks = run.stacks()
    if not any(run.state_exists(s.name) for s in stacks):
        raise SecureCartError(
            f"nothing of environment '{run.env.name}' is applied on {run.target.id}, so nothing can drift",
            hint=f"apply it first: securecart-tf apply --env {run.env.name}",
        )

    def guarded(stack: Stack) -> StackDrift:
        try:
            return refresh_stack(run, stack)
        except SecureCartError as exc:  # e.g. `terraform show` failed: this stack fails, the others go on
            run.listen(stack.name, "failed", exc.message)
            return StackDrift(stack.name, stack.account, "failed", message=exc.message)

    with ThreadPoolExecutor(max_workers=max(1, run.options.parallelism)) as pool:
        results = list(pool.map(guarded, stacks))
    found, errors = ([], []) if run.interrupted else scan_unmanaged(run)
    unmanaged, ignored = set_aside_ignored(found, run.project.matrix.drift.ignore)
    report = DriftReport(
        run.env.name,
        run.revision,
        run.target.id,
        results,
        unmanaged,
        errors,
        list(run.notices),
        duration=time.monotonic() - start,
        ignored=ignored,
    )
    run.record([_record(run, r) for r in results] + [_summary_record(run, report)])
    return report


def _record(run: Run, r: StackDrift) -> Record:
    result = {"clean": "no-drift", "drifted": "drift", "timed out": "timed-out"}.get(
        r.status, r.status.replace(" ", "-")
    )
    return Record(
        action="drift",
        environment=run.env.name,
        stack=r.stack,
        revision=run.revision,
        result=result,
        target=run.target.id,
        stack_hash=run.rendered[r.stack].hash if r.stack in run.rendered else "",
        change=len(r.changes),
        duration=round(r.duration, 2),
        detail="; ".join(f"{c.address}: {c.summary}" for c in r.changes)[:500] or r.message[:500],
    )


def _summary_record(run: Run, report: DriftReport) -> Record:
    result = "failed" if report.failed else "drift" if report.drifted else "no-drift"
    detail = f"{len(report.changes)} changed outside Terraform, {len(report.unmanaged)} not managed"
    if report.ignored:
        detail += f", {len(report.ignored)} ignored by drift.ignore"
    if report.errors:
        detail += "; " + "; ".join(report.errors)
    return Record(
        action="drift",
        environment=run.env.name,
        stack="*",
        revision=run.revision,
        result=result,
        target=run.target.id,
        change=len(report.changes),
        duration=round(report.duration, 2),
        detail=detail[:500],
    )


# ---- output for people ------------------------------------------------------------------------------------

STATUS_STYLE = {
    "clean": "green",
    "drifted": "yellow",
    "not applied": "dim",
    "failed": "bold red",
    "timed out": "bold red",
    "interrupted": "bold red",
}


def render(report: DriftReport) -> list[RenderableType]:
    """The report as rich renderables: stacks, changes, unmanaged items, import blocks, verdict."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = []
    stacks = Table(title=f"drift · environment {report.environment} · revision {report.revision}", title_justify="left")
    for col in ("stack", "account", "result", "changed", "time", "notes"):
        stacks.add_column(col, overflow="fold", justify="right" if col in ("changed", "time") else "left")
    for s in report.stacks:
        notes = s.message
        if s.normalized:
            notes = (notes + "; " if notes else "") + f"{len(s.normalized)} normalization(s) set aside"
        stacks.add_row(
            s.stack,
            s.account,
            f"[{STATUS_STYLE.get(s.status, 'cyan')}]{s.status}[/]",
            str(len(s.changes)),
            f"{s.duration:.1f}s",
            escape(notes),
        )
    parts.append(stacks)

    if report.changes:
        t = Table(title="Changed outside Terraform", title_justify="left")
        for col in ("stack", "resource", "change", "what changed", "what to do"):
            t.add_column(col, overflow="fold")
        for c in report.changes:
            t.add_row(c.stack, escape(c.address), c.action, escape(c.summary), escape(c.hint))
        parts.append(t)

    if report.unmanaged:
        t = Table(title="Exists but not managed", title_justify="left")
        for col in ("where", "kind", "what", "how to adopt"):
            t.add_column(col, overflow="fold")
        for u in report.unmanaged:
            t.add_row(u.account, u.kind, escape(u.name), escape(u.hint))
        parts.append(t)

    if report.ignored:
        t = Table(title="Not managed, ignored by drift.ignore in the matrix", title_justify="left")
        for col in ("where", "kind", "what", "reason"):
            t.add_column(col, overflow="fold")
        for i in report.ignored:
            t.add_row(i.item.account, i.item.kind, escape(i.item.name), escape(i.reason))
        parts.append(t)

    removals = [(item, cmd) for item in [*report.changes, *report.unmanaged] for cmd in item.remove]
    if removals:
        lines = ["# To remove instead of adopting:", *(cmd for _, cmd in removals)]
        parts.append(Text("\n".join(lines)))
    for stack, text in report.import_files().items():
        parts.append(Text(f"# To adopt: build/{report.environment}/{stack}/imports.tf\n{text}"))

    if report.errors:
        parts.append(Text("\n".join(f"error: {e}" for e in report.errors), style="red"))
    if report.failed:
        verdict = "[red]drift could not be fully checked[/]"
    elif report.drifted:
        stacks_hit = len({c.stack for c in report.changes})
        verdict = (
            f"[yellow]drift found[/]: {len(report.changes)} resource(s) changed outside Terraform in {stacks_hit} "
            f"stack(s), {len(report.unmanaged)} item(s) not managed"
        )
    else:
        verdict = "[green]no drift[/]: every stack matches its state and nothing unmanaged was found"
    if report.ignored and not report.failed:
        verdict += f" ({len(report.ignored)} ignored by drift.ignore)"
    parts.append(Text.from_markup(verdict))
    return parts
