"""The roles of every account as `roles:` entries: one entry per name and definition, placed in the accounts
that hold it; a name defined differently in other accounts is kept where most accounts agree."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from securecart_tf.adopt.inventory import Document, LiveAccountIam, LiveCustomerPolicy, LiveRole
from securecart_tf.adopt.names import file_stem
from securecart_tf.adopt.scope import Scope, listing
from securecart_tf.adopt.trust import TrustContext, map_trust, policy_file_yaml
from securecart_tf.adopt.yamltext import Commented
from securecart_tf.config.schema import POLICY_ARN
from securecart_tf.iam.lint import statement_dicts

_AWS_MANAGED = re.compile(r"^arn:[a-z-]+:iam::aws:policy/")
_MANAGED_TAGS = ("securecart:managed-by", "securecart:stack")


@dataclass
class _Variant:
    """One definition of a role, and the accounts that hold it."""

    entry: dict[str, Any]
    trust_document: Document | None
    accounts: list[str] = field(default_factory=list)
    live: dict[str, LiveRole] = field(default_factory=dict)
    policies: dict[str, list[LiveCustomerPolicy]] = field(default_factory=dict)
    rewrites: dict[str, list[str]] = field(default_factory=dict)


def _policy_ref(arn: str, iam: LiveAccountIam) -> tuple[Any, LiveCustomerPolicy | None] | None:
    """An attached policy as the matrix names it: an AWS-managed ARN, or {policy: name} for one of the
    account's customer policies."""
    if _AWS_MANAGED.match(arn) and re.match(POLICY_ARN, arn):
        return arn, None
    policy = next((p for p in iam.policies if p.arn == arn), None)
    return ({"policy": policy.name}, policy) if policy is not None else None


def _trust_file(role: LiveRole) -> str:
    return f"trust/{file_stem(role.name)}.json"


def _trust(scope: Scope, role: LiveRole, account: str, permission_sets: frozenset[str]) -> tuple[Any, ...]:
    """(trust value, audience, the live document when it is kept as a file, rewrites)."""
    ctx = TrustContext(
        scope.ids,
        scope.names,
        scope.organization_ids,
        account,
        scope.partition,
        permission_sets,
        scope.stage_of.get(account),
    )
    mapped = map_trust(role.trust_policy, ctx)
    if mapped is not None:
        return mapped.trust, mapped.audience, None, mapped.rewrites
    kinds = {k for s in statement_dicts(role.trust_policy) for k in (s.get("Principal") or {})}
    audience = "ci" if "Federated" in kinds else "service" if kinds == {"Service"} else "platform"
    return policy_file_yaml(_trust_file(role)), audience, role.trust_policy, []


def _definition(scope: Scope, iam: LiveAccountIam, account: str, role: LiveRole, sets: frozenset[str]) -> _Variant:
    trust, audience, trust_document, rewrites = _trust(scope, role, account, sets)
    entry: dict[str, Any] = {"name": role.name}
    if role.path != "/":
        entry["path"] = role.path
    if role.description:
        entry["description"] = role.description
    entry["audience"] = audience
    entry["trust"] = trust
    used: list[LiveCustomerPolicy] = []
    if role.permissions_boundary:
        ref = _policy_ref(role.permissions_boundary, iam)
        if ref is None:
            scope.unexpressed.append(
                f"role {role.name} in {account}: boundary {role.permissions_boundary} is not a policy of the account "
                "that the inventory read; left out (the boundary stays, unmanaged)"
            )
        else:
            entry["permissions_boundary"] = ref[0]
            used += [ref[1]] if ref[1] else []
    managed = []
    for arn in role.managed_policies:
        ref = _policy_ref(arn, iam)
        if ref is None:
            scope.unexpressed.append(
                f"role {role.name} in {account}: managed policy {arn} is not a policy of the account that the "
                "inventory read; left out (it stays attached, unmanaged)"
            )
            continue
        managed.append(ref[0])
        used += [ref[1]] if ref[1] else []
    if managed:  # AWS lists attachments in no promised order; sorted, one role reads the same in every account
        entry["managed_policies"] = sorted(managed, key=lambda ref: (isinstance(ref, dict), json.dumps(ref)))
    if role.inline_policies:
        entry["inline_policies"] = [{"name": name, "document": doc} for name, doc in role.inline_policies]
    if role.max_session_duration != 3600:
        entry["max_session_duration"] = role.max_session_duration
    variant = _Variant(entry, trust_document)
    variant.policies[account] = used
    variant.rewrites[account] = rewrites
    return variant


def _key(variant: _Variant) -> str:
    return json.dumps([variant.entry, variant.trust_document], sort_keys=True)


def collect_roles(scope: Scope, permission_sets: frozenset[str]) -> dict[str, list[_Variant]]:
    """Role name → its definitions, the one held by most accounts first."""
    variants: dict[str, dict[str, _Variant]] = {}
    for iam in sorted(scope.inv.iam, key=lambda i: scope.names.get(i.account_id, i.account_id)):
        account = scope.names.get(iam.account_id)
        if account is None:
            continue  # an account the matrix does not list (a suspended one): reported with the accounts
        for role in iam.roles:
            found = _definition(scope, iam, account, role, permission_sets)
            kept = variants.setdefault(role.name, {}).setdefault(_key(found), found)
            kept.accounts.append(account)
            kept.live[account] = role
            kept.policies.update(found.policies)
            kept.rewrites.update(found.rewrites)
    return {
        name: sorted(by_key.values(), key=lambda v: (-len(v.accounts), scope.sort_accounts(v.accounts)))
        for name, by_key in variants.items()
    }


def role_entries(scope: Scope, permission_sets: frozenset[str]) -> list[Commented]:
    """The `roles:` list; records the roles' policies, files, adoption entries, changes and notes in `scope`."""
    out: list[Commented] = []
    for name, variants in sorted(collect_roles(scope, permission_sets).items(), key=lambda kv: kv[0].lower()):
        kept, *others = variants
        accounts = scope.sort_accounts(kept.accounts)
        for other in others:
            scope.unexpressed.append(
                f"role {name} in {listing(scope.sort_accounts(other.accounts))}: defined differently from the one in "
                f"{listing(accounts)}, which the matrix keeps; left as it is, unmanaged"
            )
        entry = _with_accounts(kept.entry, accounts)
        if kept.trust_document is not None:
            path = _trust_file(kept.live[accounts[0]])
            scope.files[path] = json.dumps(kept.trust_document, indent=2) + "\n"
            scope.notes.append(
                f"role {name} ({listing(accounts)}): its trust policy is not one of the matrix's trust shapes; it is "
                f"kept exactly, in {path}"
            )
        _record(scope, kept, accounts)
        out.append(Commented(entry, f"{kept.live[accounts[0]].arn} in {listing(accounts)}"))
    return out


def _with_accounts(entry: dict[str, Any], accounts: list[str]) -> dict[str, Any]:
    """`entry` with `accounts:` after `audience:`, where a reader looks for the placement."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        out[key] = value
        if key == "audience":
            out["accounts"] = accounts
    return out


def _record(scope: Scope, kept: _Variant, accounts: list[str]) -> None:
    """The adoption entries, policy uses, tag changes and trust rewrites of a role kept in `accounts`."""
    for account in accounts:
        live = kept.live[account]
        scope.adopted(account)["roles"][live.name] = {
            "managed_policies": sorted(_expressed_arns(kept, account, live)),
            "inline_policies": [n for n, _ in live.inline_policies],
        }
        for policy in kept.policies.get(account, []):
            scope.use_policy(account, policy)
        for rewrite in kept.rewrites.get(account, []):
            scope.changes.append(f"trust policy of role {live.name} in {account}: {rewrite}")
        wanted = {"securecart:audience": kept.entry["audience"]}
        dropped = [f"{k}={v}" for k, v in live.tags if k not in _MANAGED_TAGS and wanted.get(k) != v]
        if dropped:
            scope.changes.append(
                f"tags {', '.join(dropped)} on role {live.name} in {account} are removed by the first apply"
            )


def _expressed_arns(kept: _Variant, account: str, live: LiveRole) -> set[str]:
    customer = {p.arn for p in kept.policies.get(account, [])}
    return {arn for arn in live.managed_policies if _AWS_MANAGED.match(arn) or arn in customer}
