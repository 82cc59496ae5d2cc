"""Customer-managed policies as `policies:` entries: those a kept role or a permission set uses, one entry per
name; and the adoption record's policy and OIDC provider ARNs in each account."""

from __future__ import annotations

import json
from typing import Any

from securecart_tf.adopt.compare import canonical
from securecart_tf.adopt.inventory import LiveCustomerPolicy
from securecart_tf.adopt.names import file_stem
from securecart_tf.adopt.scope import Scope, listing
from securecart_tf.adopt.yamltext import Commented
from securecart_tf.iam.documents import GITHUB_OIDC_HOST, OIDC_PROVIDERS, minify

INLINE_LIMIT = 400
"""A document longer than this (minified) goes to its own file under policies/."""


def _variant(policy: LiveCustomerPolicy) -> str:
    return json.dumps([policy.path, policy.description, canonical(policy.document)], sort_keys=True)


def policy_entries(scope: Scope) -> list[Commented]:
    """The `policies:` list, from the policies `scope` records as used; adoption entries in `scope`."""
    out: list[Commented] = []
    for name in sorted(scope.policy_uses.keys() | scope.policy_definitions.keys(), key=str.lower):
        uses = scope.policy_uses.get(name) or {"": scope.policy_definitions[name]}
        groups: dict[str, list[str]] = {}
        for account in scope.sort_accounts(list(uses)):
            groups.setdefault(_variant(uses[account]), []).append(account)
        (_, accounts), *others = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        kept = uses[accounts[0]]
        for _, differing in others:
            scope.unexpressed.append(
                f"policy {name} in {listing(differing)}: its path, description or document differs from the one in "
                f"{listing(accounts)}, which the matrix keeps; the first apply makes it the same"
            )
        for account, policy in uses.items():
            if account:  # "": a definition only, used where it does not exist yet
                scope.adopted(account)["policies"][name] = policy.arn
        entry: dict[str, Any] = {"name": name}
        if kept.description:
            entry["description"] = kept.description
        if kept.path != "/":
            entry["path"] = kept.path
        if len(minify(kept.document)) > INLINE_LIMIT:
            path = f"policies/{file_stem(name)}.json"
            scope.files[path] = json.dumps(kept.document, indent=2) + "\n"
            entry["file"] = path
        else:
            entry["document"] = kept.document
        held = scope.sort_accounts([a for a in uses if a])
        out.append(Commented(entry, f"{kept.arn} in {listing(held)}" if held else f"from {kept.arn}"))
    _unused(scope)
    return out


def _unused(scope: Scope) -> None:
    for iam in scope.inv.iam:
        account = scope.names.get(iam.account_id)
        if account is None:
            continue
        for policy in iam.policies:
            if account not in scope.policy_uses.get(policy.name, {}):
                scope.unexpressed.append(
                    f"policy {policy.name} in {account} ({policy.arn}): not used by any role or permission set the "
                    "matrix keeps; left as it is"
                )


def oidc_providers(scope: Scope, roles: list[Commented]) -> None:
    """The GitHub OIDC provider's ARN in each account, for the adoption record; others are listed."""
    with_oidc = {
        acc
        for role in roles
        if any("oidc" in p for p in role.value["trust"].get("principals", []))
        for acc in role.value["accounts"]
    }
    wanted = OIDC_PROVIDERS["github"]
    for iam in scope.inv.iam:
        account = scope.names.get(iam.account_id)
        if account is None:
            continue
        for provider in iam.oidc_providers:
            if provider.url != GITHUB_OIDC_HOST:
                scope.unexpressed.append(
                    f"OIDC provider {provider.url} in {account}: the matrix knows GitHub's only; left as it is"
                )
                continue
            scope.adopted(account)["oidc_providers"]["github"] = provider.arn
            if account not in with_oidc:
                scope.unexpressed.append(
                    f"OIDC provider {provider.url} in {account}: no role the matrix keeps there trusts it; left as is"
                )
            elif sorted(provider.client_ids) != sorted(wanted["client_ids"]):
                scope.changes.append(
                    f"OIDC provider {provider.url} in {account}: its client IDs {listing(list(provider.client_ids))} "
                    f"become {listing(list(wanted['client_ids']))}"
                )
