"""Name lookups over the matrix, built once: accounts by name, OUs by path, environments, policies."""

from __future__ import annotations

from collections.abc import Iterable

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccessMatrix, Account, PermissionSet, Policy, Targets
from securecart_tf.model.stack import access_stack

UNKNOWN_POSITION = 1 << 30
"""Where an account the matrix does not list sorts: after every account it does."""


class MatrixIndex:
    """The lookups every stage of the model needs, each a dictionary built once from the matrix.

    A later name wins where the matrix repeats one; the reference checks refuse such a matrix first.
    """

    def __init__(self, project: Project):
        m = project.matrix
        self.matrix: AccessMatrix = m
        self.accounts: dict[str, Account] = {a.name: a for a in m.accounts}
        self.order: dict[str, int] = {a.name: i for i, a in enumerate(m.accounts)}
        """Account name → its position in the matrix, the order every expansion is sorted in."""
        self.accounts_under: dict[str, list[str]] = _accounts_under(m.accounts)
        """OU path ("/" for the root) → the accounts beneath it, nested OUs included, in matrix order."""
        self.accounts_in_env: dict[str, list[str]] = {}
        """Environment named in the matrix → its accounts, in matrix order."""
        for a in m.accounts:
            if a.environment:
                self.accounts_in_env.setdefault(a.environment, []).append(a.name)
        self.stage_of_account: dict[str, str | None] = {a.name: a.environment for a in m.accounts}
        """Account → the environment that deploys it: its environment file's, else the matrix's."""
        self.stage_of_stack: dict[str, str] = {}
        """Stack name → the environment file that lists it."""
        for env_name, env in project.environments.items():
            for acc in env.accounts:
                self.stage_of_account[acc] = env_name
                self.stage_of_stack[access_stack(acc)] = env_name
            for stack in env.stacks:
                self.stage_of_stack[stack] = env_name
        self.policies: dict[str, Policy] = {p.name: p for p in m.policies}
        ic = m.identity_center
        self.permission_sets: dict[str, PermissionSet] = {ps.name: ps for ps in ic.permission_sets} if ic else {}

    def expand(self, targets: Targets) -> list[str]:
        """The accounts `targets` reach, each once, in matrix order."""
        chosen: dict[str, None] = dict.fromkeys(targets.accounts)
        for ou in targets.ous:
            chosen.update(dict.fromkeys(self.accounts_under.get(ou, [])))
        for env in targets.environments:
            chosen.update(dict.fromkeys(self.accounts_in_env.get(env, [])))
        order = self.order
        return sorted(chosen, key=lambda n: order.get(n, UNKNOWN_POSITION))

    def stages(self, accounts: Iterable[str]) -> list[str]:
        """The environments that deploy `accounts`, sorted: where a change to them reaches."""
        return sorted({s for n in accounts if (s := self.stage_of_account.get(n))})


def _accounts_under(accounts: Iterable[Account]) -> dict[str, list[str]]:
    under: dict[str, list[str]] = {}
    for a in accounts:
        under.setdefault("/", []).append(a.name)
        if a.ou != "/":
            parts = a.ou.split("/")
            for i in range(1, len(parts) + 1):
                under.setdefault("/".join(parts[:i]), []).append(a.name)
    return under
