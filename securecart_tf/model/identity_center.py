"""The identity-center stack (management account): groups, permission sets and assignments.

It comes after the access stacks of every account that must hold a customer-managed policy a permission
set references.
"""

from __future__ import annotations

from typing import Any

from securecart_tf.config.schema import IdentityCenter, PermissionSet
from securecart_tf.iam import documents
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.placements import Placements
from securecart_tf.model.stack import IDENTITY_CENTER, ORGANIZATION, Stack, access_stack, stack_sort_key


def identity_center_stack(
    ic: IdentityCenter, index: MatrixIndex, placed: Placements, directory: AccountDirectory
) -> Stack:
    assignments = {
        f"{g}|{ps}|{acc}": {"group": g, "permission_set": ps, "account_id": directory(acc)}
        for g, ps, acc in placed.assignments
    }
    group_reach: dict[str, set[str]] = {}
    for g, _, acc in placed.assignments:
        group_reach.setdefault(g, set()).update(index.stages([acc]))
    deps = {ORGANIZATION} | {access_stack(acc) for acc in placed.customer_managed_accounts}
    return Stack(
        name=IDENTITY_CENTER,
        layer=IDENTITY_CENTER,
        account=index.matrix.organization.management_account,
        depends_on=tuple(sorted(deps, key=stack_sort_key)),
        modules=("identity-center",),
        inputs={
            "groups": {g.name: {"source": g.source.value, "description": g.description} for g in ic.groups},
            "permission_sets": {ps.name: _permission_set(ps, index) for ps in ic.permission_sets},
            "assignments": assignments,
        },
        environment=index.stage_of_stack.get(IDENTITY_CENTER),
        region=ic.region,
        pending_accounts=directory.take_pending(),
        reach={
            "permission_set": {ps: index.stages(accs) for ps, accs in placed.permission_set_accounts.items()},
            "assignment": {k: index.stages([k.rsplit("|", 1)[1]]) for k in assignments},
            "group": {g: sorted(v) for g, v in group_reach.items()},
        },
    )


def _permission_set(ps: PermissionSet, index: MatrixIndex) -> dict[str, Any]:
    boundary: dict[str, Any] | None = None
    if ps.permissions_boundary is not None:
        if ps.permissions_boundary.arn:
            boundary = {"managed_policy_arn": ps.permissions_boundary.arn, "customer_managed": None}
        else:
            pol = index.policies[str(ps.permissions_boundary.policy)]
            boundary = {"managed_policy_arn": None, "customer_managed": {"name": pol.name, "path": pol.path}}
    inline = ps.inline_policy
    return {
        "description": ps.description,
        "session_duration": ps.session_duration,
        "managed_policies": list(ps.managed_policies),
        "customer_managed_policies": [
            {"name": n, "path": index.policies[n].path} for n in ps.customer_managed_policies
        ],
        "inline_policy": documents.minify(inline.model_dump(mode="json", exclude_none=True)) if inline else None,
        "permissions_boundary": boundary,
    }
