"""What every part of the writer shares: the inventory, the accounts' matrix names, and what it has found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from securecart_tf.adopt.inventory import Inventory, LiveAccount, LiveCustomerPolicy
from securecart_tf.adopt.names import account_names
from securecart_tf.iam import documents

_LISTED = 10
"""Names listed at most in one line of a summary; the rest are counted."""


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 account', '3 accounts'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def listing(names: list[str]) -> str:
    """'a, b and c', or the first names and how many more."""
    if len(names) > _LISTED:
        return ", ".join(names[:_LISTED]) + f" and {len(names) - _LISTED} more"
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1] if names else "")


@dataclass
class Scope:
    inv: Inventory
    names: dict[str, str] = field(default_factory=dict)
    """Account ID → matrix name, for every account the matrix lists (active ones and the management account)."""
    aws_names: dict[str, str] = field(default_factory=dict)
    """Matrix name → the account's name in AWS."""
    stage_of: dict[str, str] = field(default_factory=dict)
    """Matrix account name → its environment: (set only when stages split the accounts)."""
    unexpressed: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    adopted_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Matrix account name → its AdoptedAccount fields."""
    policy_uses: dict[str, dict[str, LiveCustomerPolicy]] = field(default_factory=dict)
    """Customer policy name → account name → the live policy a role or permission set there uses."""
    policy_definitions: dict[str, LiveCustomerPolicy] = field(default_factory=dict)
    """Customer policy name → a live copy to define it from, where no account that uses it holds it yet."""

    ids: dict[str, str] = field(default_factory=dict)
    """Matrix name → account ID."""
    organization_ids: frozenset[str] = frozenset()
    """Every account in the organization, listed in the matrix or not."""

    def __post_init__(self) -> None:
        inv = self.inv
        listed = [a for a in inv.accounts if a.status == "ACTIVE" or a.id == inv.management_account_id]
        if not any(a.id == inv.management_account_id for a in listed):
            listed.append(LiveAccount(inv.management_account_id, "management", "", inv.root_id))
        self.names = account_names(listed, inv.management_account_id)
        self.aws_names = {self.names[a.id]: a.name for a in listed}
        self.ids = {name: account_id for account_id, name in self.names.items()}
        self.organization_ids = frozenset(a.id for a in inv.accounts) | {inv.management_account_id}

    @property
    def management(self) -> str:
        return self.names[self.inv.management_account_id]

    @property
    def partition(self) -> str:
        return documents.partition_of(self.inv.home_region)

    def account_order(self) -> list[str]:
        """Matrix account names: the management account first, then by name."""
        mgmt = self.management
        return [mgmt, *sorted(n for n in self.names.values() if n != mgmt)]

    def sort_accounts(self, names: set[str] | list[str]) -> list[str]:
        order = {n: i for i, n in enumerate(self.account_order())}
        return sorted(set(names), key=lambda n: order.get(n, len(order)))

    def adopted(self, account: str) -> dict[str, Any]:
        return self.adopted_accounts.setdefault(account, {"roles": {}, "policies": {}, "oidc_providers": {}})

    def use_policy(self, account: str, policy: LiveCustomerPolicy) -> None:
        self.policy_uses.setdefault(policy.name, {})[account] = policy


def placements(scope: Scope) -> dict[str, str]:
    """Matrix account name → its OU path; the management account sits at the root, as the matrix requires."""
    paths = {u.id: u.path for u in scope.inv.units}
    parents = {a.id: a.parent_id for a in scope.inv.accounts}
    out: dict[str, str] = {}
    for account_id, name in scope.names.items():
        parent = parents.get(account_id, scope.inv.root_id)
        out[name] = "/" if account_id == scope.inv.management_account_id else paths.get(parent, "/")
    return out


def accounts_under(scope: Scope) -> dict[str, set[str]]:
    """OU path ("/" for the root) → the matrix accounts beneath it, nested OUs included."""
    under: dict[str, set[str]] = {"/": set(scope.names.values())}
    for unit in scope.inv.units:
        under[unit.path] = set()
    for name, path in placements(scope).items():
        parts = [] if path == "/" else path.split("/")
        for i in range(1, len(parts) + 1):
            under.setdefault("/".join(parts[:i]), set()).add(name)
    return under


def collapse(scope: Scope, accounts: set[str]) -> dict[str, list[str]]:
    """`accounts` as `ous:` (the root, or each highest OU all of whose accounts are in it) and the `accounts:`
    left over: exactly the same accounts, as the matrix expands OU paths."""
    under = accounts_under(scope)
    if accounts == under["/"]:
        return {"ous": ["/"]}
    ous: list[str] = []
    for unit in scope.inv.units:  # parents before children: a chosen OU hides its children
        members = under.get(unit.path, set())
        if members and members <= accounts and not any(unit.path.startswith(f"{o}/") for o in ous):
            ous.append(unit.path)
    covered = set().union(*(under[o] for o in ous)) if ous else set()
    rest = scope.sort_accounts(accounts - covered)
    return {**({"ous": ous} if ous else {}), **({"accounts": rest} if rest else {})}
