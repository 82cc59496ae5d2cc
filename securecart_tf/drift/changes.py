"""What changed outside Terraform: Terraform's drift events, explained down to the attribute.

The plan file carries both state snapshots (before and after the refresh), so each event is explained
without another Terraform process. Differences that are only representation (null against empty, a
reformatted policy document, a list another resource manages) are set aside as normalizations; a policy
attached to a managed role by hand is kept.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from securecart_tf.drift.import_blocks import ImportBlock, role_attachment_import, role_inline_import

if TYPE_CHECKING:
    from securecart_tf.drift.state import Instance
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

# A role's attributes that mirror its policy attachment resources: only what none of them accounts for counts.
ROLE_POLICY_ATTRIBUTES = ("managed_policy_arns", "inline_policy")


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


@dataclass
class _RolePolicies:
    """What Terraform manages of each role's policies, from the refreshed state: role name → managed policy
    ARNs its attachment resources attach, and → inline policy names its role policy resources hold."""

    attached: dict[str, set[str]] = field(default_factory=dict)
    inline: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, refreshed: dict[str, Instance]) -> _RolePolicies:
        found = cls()
        for inst in refreshed.values():
            role = inst.attributes.get("role")
            if not isinstance(role, str):
                continue
            if inst.type == "aws_iam_role_policy_attachment":
                found.attached.setdefault(role, set()).add(str(inst.attributes.get("policy_arn")))
            elif inst.type == "aws_iam_role_policy":
                found.inline.setdefault(role, set()).add(str(inst.attributes.get("name")))
        return found

    def managed(self, attribute: str, role: str) -> set[str]:
        return (self.attached if attribute == "managed_policy_arns" else self.inline).get(role, set())


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
    imports = [role_inline_import(stack, role, n) for n in extra if adoptable]
    remove = [f"aws iam delete-role-policy --role-name {role} --policy-name {n}" for n in extra]
    return AttributeChange(change.name, change.before, change.after, detail), imports, remove


def _updated(
    stack: str,
    event: ResourceChange,
    before: Instance,
    after: Instance,
    roles: _RolePolicies,
    customer_policies: dict[str, str],
    restore: str,
) -> Change | None:
    """The change one update event stands for; None when every difference is a normalization."""
    kept: list[AttributeChange] = []
    imports: list[ImportBlock] = []
    remove: list[str] = []
    for attr in attribute_changes(before, after):
        if after.type == "aws_iam_role" and attr.name in ROLE_POLICY_ATTRIBUTES:
            role = str(after.attributes.get("name"))
            adoptable = after.address.startswith("module.role[")
            found, blocks, commands = _role_change(
                stack, attr, role, roles.managed(attr.name, role), customer_policies, adoptable
            )
            if found is None:
                continue
            attr, imports, remove = found, imports + blocks, remove + commands
        kept.append(attr)
    if not kept:
        return None
    hint = restore
    if remove:
        hint = "Terraform does not undo this: remove it with the command below" + (
            ", or declare it in the matrix and import it" if imports else ""
        )
        if len(kept) > sum(a.name in ROLE_POLICY_ATTRIBUTES for a in kept):
            hint += f"; for the other attributes, {restore}"
    return Change(stack, event.address, event.resource_type, event.action, kept, hint, remove, imports)


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
    roles = _RolePolicies.of(refreshed)
    changes: list[Change] = []
    normalized: list[str] = []
    restore = f"`securecart-tf apply --env {environment} --refresh` restores what the matrix declares"
    for event in events:
        before, after = previous.get(event.address), refreshed.get(event.address)
        if event.action == "delete" or (before is not None and after is None):
            hint = f"{restore}; or drop it from the matrix"
            changes.append(Change(stack, event.address, event.resource_type, "delete", hint=hint))
        elif before is None or after is None:  # no snapshot to explain it: report it as Terraform saw it
            changes.append(Change(stack, event.address, event.resource_type, event.action, hint=restore))
        else:
            change = _updated(stack, event, before, after, roles, customer_policies, restore)
            if change is None:
                normalized.append(event.address)
            else:
                changes.append(change)
    return changes, normalized
