"""The model: every stack of the project, built layer by layer, and what the later stages look up in it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccessMatrix, Targets
from securecart_tf.iam.limits import Limits
from securecart_tf.model.access import access_stacks
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.identity_center import identity_center_stack
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.organization import organization_stack
from securecart_tf.model.placements import place
from securecart_tf.model.security import security_stack
from securecart_tf.model.stack import IDENTITY_CENTER, ORGANIZATION, SECURITY, OrgFacts, Stack, stack_sort_key


@dataclass
class Model:
    project: Project
    index: MatrixIndex
    stacks: dict[str, Stack]
    placements: dict[str, list[str]]
    """role or service role name → accounts it is placed in."""
    assignments: list[tuple[str, str, str]]
    """(group, permission set, account), expanded."""
    scp_parts: dict[str, list[str]]
    """guardrail name → names of the SCPs it was packed into (usually just itself)."""
    directory: AccountDirectory

    @property
    def matrix(self) -> AccessMatrix:
        return self.project.matrix

    @property
    def accounts_under(self) -> dict[str, list[str]]:
        """OU path → the accounts beneath it, nested OUs included."""
        return self.index.accounts_under

    def expand(self, targets: Targets) -> list[str]:
        return self.index.expand(targets)

    def ordered(self) -> list[Stack]:
        """Stacks in a dependency order (each after everything it depends on)."""
        order: list[Stack] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            done.add(name)
            for dep in self.stacks[name].depends_on:
                visit(dep)
            order.append(self.stacks[name])

        for name in sorted(self.stacks, key=stack_sort_key):
            visit(name)
        return order


@dataclass
class _Built:
    """The model last built for a project, and the org facts it was built with."""

    facts: OrgFacts
    model: Model


def build_model(project: Project, facts: OrgFacts | None = None) -> Model:
    """Turn a reference-checked project into stacks. `facts` supplies real account IDs once they exist.

    Callers only read a built model, so the project keeps the last one and hands it out again for the
    same facts: the policy checks and the command that runs after them (generate, plan) share one model.
    """
    facts = facts or OrgFacts()
    last = project.memo.get(_Built)
    if isinstance(last, _Built) and last.facts == facts:
        return last.model
    model = _build(project, facts)
    project.memo[_Built] = _Built(copy.deepcopy(facts), model)
    return model


def _with_adoption(facts: OrgFacts, project: Project) -> OrgFacts:
    """The facts, completed from the adoption record: before the organization stack has state, the adopted
    organization's IDs and settings stand for it, so that the first plan renders what exists."""
    adoption = project.adoption
    if adoption is None:
        return facts
    ids = dict(facts.account_ids)
    mgmt = project.matrix.organization.management_account
    if adoption.management_account_id and mgmt not in ids:
        ids[mgmt] = adoption.management_account_id
    return OrgFacts(
        account_ids=ids,
        organization_id=facts.organization_id or adoption.organization_id,
        root_id=facts.root_id or adoption.root_id,
        service_access_principals=sorted({*facts.service_access_principals, *adoption.service_access_principals}),
        enabled_policy_types=sorted({*facts.enabled_policy_types, *adoption.enabled_policy_types}),
        singletons=facts.singletons,
    )


def _build(project: Project, facts: OrgFacts) -> Model:
    """Each layer in turn; the order matters to the directory, whose stand-in IDs each stack reports."""
    m = project.matrix
    facts = _with_adoption(facts, project)
    index = MatrixIndex(project)
    directory = AccountDirectory(index, facts)
    placed = place(index)
    organization, guardrails = organization_stack(project, index, facts, Limits.from_matrix(m))
    stacks = {ORGANIZATION: organization}
    if m.security_baseline is not None:
        stacks[SECURITY] = security_stack(m.security_baseline, index, facts, directory)
    stacks.update((s.name, s) for s in access_stacks(project, index, placed, directory, facts.singletons))
    if m.identity_center is not None:
        stacks[IDENTITY_CENTER] = identity_center_stack(m.identity_center, index, placed, directory)
    return Model(
        project=project,
        index=index,
        stacks=stacks,
        placements=placed.placements,
        assignments=placed.assignments,
        scp_parts=guardrails.parts,
        directory=directory,
    )
