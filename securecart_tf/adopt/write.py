"""The files of a project, written from a live organization's inventory: the access matrix, environment files,
policy and trust documents, and the adoption record; with what the matrix cannot express and what the first
apply changes, so that nothing is dropped or changed silently."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from securecart_tf.adopt.identity import identity_center
from securecart_tf.adopt.inventory import Inventory
from securecart_tf.adopt.organization import accounts, guardrails, tag_changes, units
from securecart_tf.adopt.policies import oidc_providers, policy_entries
from securecart_tf.adopt.roles import role_entries
from securecart_tf.adopt.scope import Scope, count, listing
from securecart_tf.adopt.stages import assign_stages, environment_files
from securecart_tf.adopt.yamltext import Commented, dump
from securecart_tf.config.adoption import ADOPTION_FILE, Adoption
from securecart_tf.config.schema import ORG_NAME
from securecart_tf.errors import SecureCartError
from securecart_tf.iam.limits import LIMITS

MATRIX_FILE = "access-matrix.yaml"
_MANAGED = "securecart:managed-by, securecart:stack"
_AND = "securecart:managed-by and securecart:stack"


@dataclass(frozen=True)
class Written:
    files: dict[str, str]
    """Path relative to the project folder → its text."""
    unexpressed: list[str]
    """What the matrix does not describe, where it is, and why: each is left as it is in AWS."""
    changes: list[str]
    """In-place changes the first apply makes (tags securecart-tf adds, rewritten trust policies, ...)."""
    notes: list[str]
    """What the user should know: a role whose trust policy is kept as a file, say."""
    adoption: Adoption


def write_project(
    inv: Inventory, *, target: dict[str, Any], stages: dict[str, list[str]] | None = None, org_name: str | None = None
) -> Written:
    """The project files for `inv`. `target` is the environments' target (`{"type": "sandbox"}`, or
    `{"type": "aws", "profile": ...}`); `stages` maps each stage, in promotion order, to its accounts (by name,
    AWS name or ID); without it one environment, `main`, holds everything."""
    name = org_name or inv.organization_id
    if not re.match(ORG_NAME, name):
        raise SecureCartError(
            f"organization name {name!r} is not accepted", hint="2 to 41 lowercase letters, digits, '-'"
        )
    scope = Scope(inv)
    if stages is not None:
        scope.stage_of = assign_stages(scope, stages)
    matrix, adoption = _matrix(scope, name)
    scope.files[MATRIX_FILE] = dump(matrix, _HEADER.format(org=inv.organization_id)) + _baseline(scope)
    scope.files.update(environment_files(scope, target, list(stages) if stages else None, "identity_center" in matrix))
    record = Adoption.model_validate(adoption)
    scope.files[ADOPTION_FILE] = dump(
        {"version": 1, **record.model_dump(mode="json", exclude_defaults=True)}, _ADOPTION_HEADER
    )
    for skipped in inv.skipped:
        scope.unexpressed.append(f"{skipped.what}: not read ({skipped.reason})")
    return Written(dict(sorted(scope.files.items())), scope.unexpressed, scope.changes, scope.notes, record)


_HEADER = """yaml-language-server: $schema=./access-matrix.schema.json

Imported from organization {org} by `securecart-tf import`. Each entry's comment says where it came from.
`securecart-tf validate` checks it; `securecart-tf plan` adopts what exists and shows what would change."""

_ADOPTION_HEADER = """The live IDs of what existed before securecart-tf managed it, written by `securecart-tf import`.
Each entry the matrix describes becomes an import block, so the first plan adopts it instead of creating it."""


def _matrix(scope: Scope, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The access matrix's data, and the adoption record's."""
    inv = scope.inv
    tree = units(scope)
    account_list = accounts(scope)
    guardrail_list, policy_ids, attachments = guardrails(scope)
    ic_section, ic_adopted = identity_center(scope)
    permission_sets = frozenset(ps.name for ps in inv.identity_center.permission_sets) if inv.identity_center else None
    roles = role_entries(scope, permission_sets or frozenset())
    policies = policy_entries(scope)
    oidc_providers(scope, roles)
    organization: dict[str, Any] = {
        "name": Commented(name, "A short name used in resource names."),
        "home_region": inv.home_region,
        "management_account": scope.management,
        "deployment_role": inv.deployment_role,
    }
    if tree:
        organization["units"] = tree
    matrix: dict[str, Any] = {"version": 1, "organization": organization, "accounts": account_list}
    for key, value in (
        ("guardrails", guardrail_list),
        ("identity_center", ic_section),
        ("policies", policies),
        ("roles", roles),
    ):
        if value:
            matrix[key] = value
    if quota := _account_quota(scope):
        matrix["limits"] = quota
    _summaries(scope, len(inv.units), len(guardrail_list), len(roles), len(policies), ic_section)
    adoption = {
        "organization_id": inv.organization_id,
        "root_id": inv.root_id,
        # until the organization stack has state, these stand in for what it would tell: the first plan then keeps
        # the organization's trusted services and policy types, and places the management account's stacks
        "management_account_id": inv.management_account_id,
        "service_access_principals": sorted(inv.service_access_principals),
        "enabled_policy_types": sorted(inv.enabled_policy_types),
        "units": {u.path: u.id for u in inv.units},
        "guardrails": policy_ids,
        "guardrail_attachments": attachments,
        "delegated_administrators": _delegated(scope),
        "identity_center": ic_adopted,
        "accounts": {acc: scope.adopted_accounts[acc] for acc in scope.sort_accounts(list(scope.adopted_accounts))},
    }
    return matrix, adoption


def _account_quota(scope: Scope) -> dict[str, Any]:
    """`limits.accounts_per_organization` where the organization holds more accounts than AWS's default quota:
    its quota was raised to at least that many (suspended accounts count until they close). Without it the
    written matrix would break its own account-quota rule."""
    held = len(scope.inv.accounts)
    if held <= LIMITS["accounts_per_organization"].value:
        return {}
    scope.notes.append(
        f"limits.accounts_per_organization is {held}, the accounts the organization holds: its quota is at least "
        "that; before adding accounts, set it to the quota Service Quotas shows"
    )
    comment = f"At least the {held} accounts the organization holds; Service Quotas shows the exact quota."
    return {"accounts_per_organization": Commented(held, comment)}


def _baseline(scope: Scope) -> str:
    """The security services found, as a `security_baseline` section left commented out: managing it adopts
    the detector and the recorder, but creates the baseline's own trail, bucket and key, and the first plan
    creates nothing until the user says so."""
    found = scope.inv.baseline
    account = scope.names.get(found.account_id) if found else None
    if found is None or account is None:
        return ""
    running = [
        ("guardduty", found.guardduty_detector, f"GuardDuty detector {found.guardduty_detector}"),
        ("config", found.config_recorder, f"Config recorder {found.config_recorder}"),
        ("cloudtrail", found.organization_trails, f"organization trail {listing(list(found.organization_trails))}"),
        ("access_analyzer", found.organization_analyzers, f"analyzer {listing(list(found.organization_analyzers))}"),
    ]
    seen = [text for _, value, text in running if value]
    scope.unexpressed.append(
        f"the security services in {account} ({listing(seen)}): security_baseline is written commented out at "
        "the end of the access matrix; uncommented, the first plan adopts the detector and the recorder and "
        "creates the baseline's trail, log bucket and key"
    )
    lines = [
        "",
        f"# Found running in {account}: {listing(seen)}. Uncomment to manage the security baseline there:",
        "# the plan then adopts the detector and the recorder, and creates the organization trail, log bucket and",
        "# key the baseline names (a second trail, if one runs already).",
        "# security_baseline:",
        f"#   account: {account}",
        *(f"#   {key}: {'true' if value else 'false'}" for key, value, _ in running),
    ]
    return "\n".join(lines) + "\n"


def _delegated(scope: Scope) -> list[dict[str, str]]:
    out = []
    for admin in sorted(scope.inv.delegated_admins, key=lambda d: (d.service_principal, d.account_id)):
        account = scope.names.get(admin.account_id)
        if account is None:
            scope.unexpressed.append(
                f"delegated administrator {admin.account_id} for {admin.service_principal}: an account the matrix "
                "does not list; left as it is"
            )
            continue
        out.append({"account": account, "service_principal": admin.service_principal})
        scope.unexpressed.append(
            f"delegated administrator {account} for {admin.service_principal}: the matrix names delegated "
            "administrators only through security_baseline; left as it is"
        )
    return out


def _summaries(scope: Scope, ous: int, policies: int, roles: int, customer: int, ic: dict[str, Any] | None) -> None:
    tag_changes(scope, ous, policies)
    if roles:
        scope.changes.append(
            f"tags {_MANAGED} and securecart:audience are added to {count(roles, 'role')}, in each account"
        )
    if customer:
        scope.changes.append(
            f"tags {_AND} are added to {count(customer, 'customer policy', 'customer policies')}, in each account"
        )
    if ic and ic["permission_sets"]:
        names = [c.value["name"] for c in ic["permission_sets"]]
        scope.changes.append(f"tags {_AND} are added to permission sets {listing(names)}")
