"""Identity Center as the matrix's `identity_center:`: groups, permission sets and group assignments, with the
IDs they hold for the adoption record."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from securecart_tf.adopt.inventory import (
    CustomerPolicyRef,
    LiveCustomerPolicy,
    LiveIdentityCenter,
    LivePermissionSet,
)
from securecart_tf.adopt.scope import Scope, collapse, count, listing
from securecart_tf.adopt.yamltext import Commented
from securecart_tf.config.schema import GROUP_NAME

IDENTITY_SOURCE_NOTE = (
    "Identity Center: the AWS API does not say which identity provider it uses; identity_source is a "
    "placeholder: set provider (and protocol) to yours"
)


def _find_policy(scope: Scope, ref: CustomerPolicyRef, accounts: list[str]) -> dict[str, LiveCustomerPolicy]:
    """Account → the live customer policy `ref` names there, in each of `accounts` that has it."""
    found: dict[str, LiveCustomerPolicy] = {}
    for iam in scope.inv.iam:
        name = scope.names.get(iam.account_id)
        if name is not None and name in accounts:
            policy = next((p for p in iam.policies if p.name == ref.name and p.path == ref.path), None)
            if policy is not None:
                found[name] = policy
    return found


class _IdentityCenter:
    def __init__(self, scope: Scope, ic: LiveIdentityCenter):
        self.scope = scope
        self.ic = ic
        self.groups = {g.id: g for g in ic.groups if re.match(GROUP_NAME, g.name)}
        self.sets = {ps.arn: ps for ps in ic.permission_sets}
        self.assigned: dict[tuple[str, str], set[str]] = defaultdict(set)
        """(group id, permission set ARN) → accounts."""
        self.adopted: dict[str, Any] = {"instance_arn": ic.instance_arn, "identity_store_id": ic.identity_store_id}

    def read_assignments(self) -> None:
        users: dict[tuple[str, str], list[str]] = defaultdict(list)
        for a in self.ic.assignments:
            account = self.scope.names.get(a.account_id)
            ps = self.sets.get(a.permission_set_arn)
            where = account or a.account_id
            if a.principal_type != "GROUP":
                users[(ps.name if ps else a.permission_set_arn, a.principal_id)].append(where)
            elif account is None or ps is None or a.principal_id not in self.groups:
                self.scope.unexpressed.append(
                    f"assignment of {ps.name if ps else a.permission_set_arn} to group {a.principal_id} in "
                    f"{where}: the {'account' if account is None else 'group or permission set'} is not in the "
                    "matrix; left as it is"
                )
            else:
                self.assigned[(a.principal_id, a.permission_set_arn)].add(account)
        for (ps_name, user), accounts in sorted(users.items()):
            self.scope.unexpressed.append(
                f"assignment of {ps_name} to user {user} in {listing(sorted(accounts))}: the matrix assigns "
                "permission sets to groups only; left as it is"
            )

    def accounts_of(self, ps: LivePermissionSet) -> list[str]:
        accounts = {acc for (_, arn), accs in self.assigned.items() if arn == ps.arn for acc in accs}
        return self.scope.sort_accounts(accounts)

    def groups_yaml(self) -> list[Commented]:
        for g in self.ic.groups:
            if g.id not in self.groups:
                self.scope.unexpressed.append(f"group {g.name!r} ({g.id}): a name the matrix does not accept; left out")
        out = []
        for g in sorted(self.groups.values(), key=lambda g: g.name.lower()):
            entry = {"name": g.name, "source": "scim" if g.scim else "created"}
            if g.description:
                entry["description"] = g.description
            origin = "provisioned by SCIM" if g.scim else "created in Identity Center"
            out.append(Commented(entry, f"{g.id}, {origin}"))
        self.adopted["groups"] = {g.name: g.id for g in self.groups.values() if not g.scim}
        return out

    def customer_policy(self, ps: LivePermissionSet, ref: CustomerPolicyRef, what: str) -> str | None:
        """The matrix name of a customer policy the permission set references, recording where it is used;
        None when no account the inventory read holds it."""
        accounts = self.accounts_of(ps)
        found = _find_policy(self.scope, ref, accounts) or _find_policy(self.scope, ref, list(self.scope.ids))
        if not found:
            self.scope.unexpressed.append(
                f"permission set {ps.name}: {what} {ref.path}{ref.name} is in no account the inventory read; left out "
                "(it stays attached, unmanaged)"
            )
            return None
        missing = [a for a in accounts if a not in found and self._read(a)]
        if missing:
            self.scope.changes.append(
                f"policy {ref.name} is created in {listing(missing)}, where permission set {ps.name} is assigned "
                "and Identity Center expects it"
            )
        for account, policy in found.items():
            if account in accounts:
                self.scope.use_policy(account, policy)
        self.scope.policy_definitions.setdefault(ref.name, next(iter(found.values())))
        return ref.name

    def _read(self, account: str) -> bool:
        return any(self.scope.names.get(i.account_id) == account for i in self.scope.inv.iam)

    def permission_set(self, ps: LivePermissionSet) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": ps.name}
        if ps.description:
            entry["description"] = ps.description
        entry["session_duration"] = ps.session_duration
        if ps.managed_policies:
            entry["managed_policies"] = sorted(ps.managed_policies)
        customer = [self.customer_policy(ps, ref, "customer-managed policy") for ref in ps.customer_managed_policies]
        if any(customer):
            entry["customer_managed_policies"] = [c for c in customer if c]
        if ps.inline_policy is not None:
            entry["inline_policy"] = ps.inline_policy
        boundary = ps.boundary
        if boundary is not None and boundary.managed_policy_arn:
            entry["permissions_boundary"] = boundary.managed_policy_arn
        elif boundary is not None and boundary.customer_managed is not None:
            name = self.customer_policy(ps, boundary.customer_managed, "boundary")
            if name:
                entry["permissions_boundary"] = {"policy": name}
        return entry

    def permission_sets_yaml(self) -> list[Commented]:
        out = []
        adopted: dict[str, Any] = {"permission_sets": {}, "managed_policies": {}, "customer_managed_policies": {}}
        adopted |= {"inline_policies": [], "boundaries": []}
        for ps in sorted(self.ic.permission_sets, key=lambda p: p.name.lower()):
            entry = self.permission_set(ps)
            out.append(Commented(entry, f"{ps.arn}, assigned in {count(len(self.accounts_of(ps)), 'account')}"))
            adopted["permission_sets"][ps.name] = ps.arn
            if ps.managed_policies:
                adopted["managed_policies"][ps.name] = sorted(ps.managed_policies)
            refs = [r for r in ps.customer_managed_policies if r.name in entry.get("customer_managed_policies", [])]
            if refs:
                adopted["customer_managed_policies"][ps.name] = [f"{r.path}{r.name}" for r in refs]
            if "inline_policy" in entry:
                adopted["inline_policies"].append(ps.name)
            if "permissions_boundary" in entry:
                adopted["boundaries"].append(ps.name)
        self.adopted |= adopted
        return out

    def assignments_yaml(self) -> list[Commented]:
        out = []
        records = []
        keyed = sorted(
            self.assigned.items(), key=lambda kv: (self.groups[kv[0][0]].name.lower(), self.sets[kv[0][1]].name)
        )
        for (group_id, arn), accounts in keyed:
            group, ps = self.groups[group_id].name, self.sets[arn].name
            entry = {"group": group, "permission_set": ps, **collapse(self.scope, accounts)}
            out.append(Commented(entry, f"{group_id} in {count(len(accounts), 'account')}"))
            records.append(
                {
                    "group": group,
                    "permission_set": ps,
                    "accounts": self.scope.sort_accounts(accounts),
                    "principal_id": group_id,
                }
            )
        self.adopted["assignments"] = records
        return out


def identity_center(scope: Scope) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The matrix's `identity_center:` and the adoption record's; (None, None) without Identity Center."""
    ic = scope.inv.identity_center
    if ic is None:
        return None, None
    builder = _IdentityCenter(scope, ic)
    builder.read_assignments()
    source = Commented(
        {"type": "external", "provider": "okta", "protocol": "saml", "scim": any(g.scim for g in ic.groups)},
        "The AWS API does not say which identity provider this is: set provider (and protocol) to yours.",
    )
    scope.unexpressed.append(IDENTITY_SOURCE_NOTE)
    section: dict[str, Any] = {"identity_source": source}
    if ic.region != scope.inv.home_region:
        section["region"] = ic.region
    section["groups"] = builder.groups_yaml()
    section["permission_sets"] = builder.permission_sets_yaml()
    section["assignments"] = builder.assignments_yaml()
    return section, builder.adopted
