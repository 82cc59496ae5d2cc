"""Where each role, service role and permission set lands, and the customer-managed policies each account needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from securecart_tf.config.schema import PolicyRef, Role, ServiceRole
from securecart_tf.model.index import MatrixIndex


@dataclass
class Placements:
    placements: dict[str, list[str]] = field(default_factory=dict)
    """role or service role name → accounts it is placed in."""
    roles_in: dict[str, list[Role]] = field(default_factory=dict)
    service_roles_in: dict[str, list[ServiceRole]] = field(default_factory=dict)
    assignments: list[tuple[str, str, str]] = field(default_factory=list)
    """(group, permission set, account), expanded."""
    permission_set_accounts: dict[str, list[str]] = field(default_factory=dict)
    """permission set → the accounts it is assigned in, once per assignment."""
    needed_policies: dict[str, dict[str, None]] = field(default_factory=dict)
    """account → the customer-managed policies it must hold, in the order first needed."""
    customer_managed_accounts: set[str] = field(default_factory=set)
    """Accounts where a permission set needs a customer-managed policy: identity center waits for them."""


def place(index: MatrixIndex) -> Placements:
    placed = Placements()
    _place_roles(placed, index)
    _place_assignments(placed, index)
    _needed_policies(placed, index)
    return placed


def _place_roles(placed: Placements, index: MatrixIndex) -> None:
    m = index.matrix
    for role in m.roles:
        placed.placements[role.name] = index.expand(role.targets())
        for acc in placed.placements[role.name]:
            placed.roles_in.setdefault(acc, []).append(role)
    for srole in m.service_roles:
        placed.placements[srole.name] = index.expand(srole.targets())
        for acc in placed.placements[srole.name]:
            placed.service_roles_in.setdefault(acc, []).append(srole)


def _place_assignments(placed: Placements, index: MatrixIndex) -> None:
    ic = index.matrix.identity_center
    if ic is None:
        return
    for a in ic.assignments:
        for acc in index.expand(a.targets()):
            placed.assignments.append((a.group, a.permission_set, acc))
            placed.permission_set_accounts.setdefault(a.permission_set, []).append(acc)


def _policy_names(refs: Iterable[PolicyRef | None]) -> list[str]:
    return [ref.policy for ref in refs if ref is not None and ref.policy]


def _needed_policies(placed: Placements, index: MatrixIndex) -> None:
    for acc, roles in placed.roles_in.items():
        for r in roles:
            _need(placed, acc, _policy_names([r.permissions_boundary, *r.managed_policies]))
    for acc, sroles in placed.service_roles_in.items():
        for s in sroles:
            _need(placed, acc, _policy_names([s.permissions_boundary, *s.managed_policies]))
    for ps_name, accs in placed.permission_set_accounts.items():
        ps = index.permission_sets[ps_name]
        names = [*ps.customer_managed_policies, *_policy_names([ps.permissions_boundary])]
        for acc in accs:
            _need(placed, acc, names)
            if names:
                placed.customer_managed_accounts.add(acc)


def _need(placed: Placements, account: str, policies: list[str]) -> None:
    if policies:
        placed.needed_policies.setdefault(account, {}).update(dict.fromkeys(policies))
