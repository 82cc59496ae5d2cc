"""The organization as the matrix has it: the OU tree, the accounts, and the SCPs and RCPs as guardrails."""

from __future__ import annotations

import json
from typing import Any

from securecart_tf.adopt.guardrails import match_builtin
from securecart_tf.adopt.inventory import LiveAccount, LivePolicy, LiveUnit
from securecart_tf.adopt.names import file_stem, guardrail_name
from securecart_tf.adopt.scope import Scope, count, listing, placements
from securecart_tf.adopt.yamltext import Commented

_KIND = {"SERVICE_CONTROL_POLICY": "scp", "RESOURCE_CONTROL_POLICY": "rcp"}


def units(scope: Scope) -> list[Commented]:
    """The OU tree, in the order AWS lists it."""
    children: dict[str, list[LiveUnit]] = {}
    for unit in scope.inv.units:
        children.setdefault(unit.parent_id, []).append(unit)

    def tree(parent: str) -> list[Commented]:
        out = []
        for unit in children.get(parent, []):
            entry: dict[str, Any] = {"name": unit.name}
            below = tree(unit.id)
            if below:
                entry["units"] = below
            out.append(Commented(entry, unit.id))
        return out

    return tree(scope.inv.root_id)


def accounts(scope: Scope) -> list[Commented]:
    """Every active account and the management account; the others are listed as not expressed."""
    inv = scope.inv
    live = {a.id: a for a in inv.accounts}
    where = placements(scope)
    out = []
    for name in scope.account_order():
        account_id = scope.ids[name]
        acc = live.get(account_id)
        entry: dict[str, Any] = {"name": name, "email": acc.email if acc else "", "ou": where[name]}
        if name in scope.stage_of and account_id != inv.management_account_id:
            entry["environment"] = scope.stage_of[name]
        if account_id != inv.management_account_id:
            entry["id"] = account_id
            entry["access_role_exists"] = True
        if acc is not None:
            _placement_notes(scope, name, acc)
        out.append(Commented(entry, f"{account_id} {json.dumps(scope.aws_names[name], ensure_ascii=False)}"))
    for acc in inv.accounts:
        if acc.id not in scope.names:
            scope.unexpressed.append(
                f"account {acc.name!r} ({acc.id}) is {acc.status}: left out of the matrix, with what it holds"
            )
    return out


def _placement_notes(scope: Scope, name: str, acc: LiveAccount) -> None:
    """Say where the matrix places an account elsewhere than AWS has it."""
    inv = scope.inv
    if acc.parent_id == inv.root_id:
        return
    if acc.id == inv.management_account_id:
        scope.unexpressed.append(
            f"the management account {name} sits in an OU; the matrix places it at the root and securecart-tf "
            "never moves it"
        )
    elif acc.parent_id not in {u.id for u in inv.units}:
        scope.changes.append(
            f"account {name} sits in {acc.parent_id}, an OU the inventory does not hold; the matrix places it at "
            "the root, where the first apply moves it"
        )


def _targets(scope: Scope, policy: LivePolicy) -> tuple[dict[str, list[str]], list[str]]:
    """The policy's targets as the matrix names them, and as the adoption record does."""
    paths = {u.id: u.path for u in scope.inv.units}
    ous: list[str] = []
    accounts: list[str] = []
    for target in policy.targets:
        if target == scope.inv.root_id:
            ous.insert(0, "/")
        elif target in paths:
            ous.append(paths[target])
        elif target in scope.names:
            accounts.append(scope.names[target])
        else:
            scope.unexpressed.append(
                f"{policy.name}: its attachment to {target}, which the matrix does not list, is left as it is"
            )
    order = {u.path: i for i, u in enumerate(scope.inv.units)}
    ous.sort(key=lambda p: -1 if p == "/" else order[p])
    accounts = scope.sort_accounts(accounts)
    keys = [("root" if o == "/" else f"ou:{o}") for o in ous] + [f"account:{a}" for a in accounts]
    targets = {**({"ous": ous} if ous else {}), **({"accounts": accounts} if accounts else {})}
    return targets, keys


def _guardrail(scope: Scope, policy: LivePolicy, name: str, targets: dict[str, list[str]]) -> dict[str, Any]:
    inv = scope.inv
    kind = _KIND[policy.type]
    entry: dict[str, Any] = {"name": name}
    if kind == "rcp":
        entry["type"] = "rcp"
    match = match_builtin(
        policy.document,
        kind,
        deployment_role=inv.deployment_role,
        organization_id=inv.organization_id,
        partition=scope.partition,
    )
    if match is not None:
        entry["builtin"] = match.builtin
    else:
        path = f"policies/{kind}-{file_stem(name)}.json"
        scope.files[path] = json.dumps(policy.document, indent=2) + "\n"
        entry["file"] = path
    if policy.description:
        entry["description"] = policy.description
    if match is not None and match.parameters:
        entry["parameters"] = match.parameters
    entry["targets"] = targets
    if match is not None and match.exempt_roles:
        entry["exempt_roles"] = list(match.exempt_roles)
    return entry


def guardrails(scope: Scope) -> tuple[list[Commented], dict[str, str], dict[str, list[str]]]:
    """The `guardrails:` list, and the adoption record's policy IDs and attachments by guardrail name."""
    out: list[Commented] = []
    ids: dict[str, str] = {}
    attachments: dict[str, list[str]] = {}
    taken: set[str] = set()
    for policy in sorted(scope.inv.policies, key=lambda p: (p.type != "SERVICE_CONTROL_POLICY", p.name.lower())):
        if policy.aws_managed:
            continue
        targets, keys = _targets(scope, policy)
        if not keys:
            scope.unexpressed.append(f"{policy.name} ({policy.id}): attached nowhere the matrix lists; left as it is")
            continue
        name = guardrail_name(policy.name, taken)
        if name != policy.name:
            scope.changes.append(f"policy {policy.name!r} ({policy.id}) is renamed {name}, a name the matrix accepts")
        if not policy.description:
            scope.changes.append(f"policy {name}: its description becomes 'securecart-tf guardrail {name}'")
        entry = _guardrail(scope, policy, name, targets)
        ids[name] = policy.id
        attachments[name] = keys
        out.append(Commented(entry, f"{policy.id}, attached to {count(len(keys), 'target')}"))
    return out, ids, attachments


def tag_changes(scope: Scope, ous: int, policies: int) -> None:
    """The tags the first apply adds to the organization's objects (the provider's default tags and more)."""
    managed = "securecart:managed-by, securecart:stack"
    both = "securecart:managed-by and securecart:stack"
    if ous:
        scope.changes.append(f"tags {managed} and securecart:ou are added to {count(ous, 'OU')}")
    members = [n for n in scope.account_order() if n != scope.management]
    if members:
        scope.changes.append(f"tags {managed} and securecart:account are added to accounts {listing(members)}")
    staged = [n for n in members if n in scope.stage_of]
    if staged:
        scope.changes.append(f"tag securecart:environment is added to accounts {listing(staged)}")
    if policies:
        scope.changes.append(f"tags {both} are added to {count(policies, 'SCP or RCP', 'SCPs and RCPs')}")
    if scope.inv.feature_set != "ALL":
        scope.changes.append(f"the organization's feature set {scope.inv.feature_set} becomes ALL")
