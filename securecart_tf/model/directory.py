"""Account name → 12-digit ID, with a stable stand-in for accounts the organization has not created yet."""

from __future__ import annotations

from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.stack import OrgFacts


class AccountDirectory:
    """Account name → 12-digit ID. Unknown IDs get a stable stand-in and are reported as pending."""

    def __init__(self, index: MatrixIndex, facts: OrgFacts):
        self.ids: dict[str, str] = {a.name: a.id for a in index.matrix.accounts if a.id}
        self.ids.update(facts.account_ids)
        self.order = index.order
        self.pending: set[str] = set()

    def __call__(self, name: str) -> str:
        known = self.ids.get(name)
        if known is not None:
            return known
        self.pending.add(name)
        # Stand-in used only until the organization stack has created the account; such stacks are not planned.
        return f"{self.order.get(name, 999) + 1:012d}"

    def take_pending(self) -> tuple[str, ...]:
        taken = tuple(sorted(self.pending))
        self.pending = set()
        return taken
