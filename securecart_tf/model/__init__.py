"""The matrix becomes stacks: (account, layer) units with their inputs, dependencies and reach.

A stack is one Terraform root with its own state. Layers:

- `organization` (management account): OUs, accounts, SCPs and their attachments, delegated admins;
- `security` (security account): the security baseline;
- `access-<account>` (each account): customer-managed policies, roles, service roles, OIDC providers;
- `identity-center` (management account): groups, permission sets, assignments. It comes after the access
  stacks of every account that must hold a customer-managed policy a permission set references.

Dependencies are computed from the data. Every lookup is indexed, so building the model is linear in
the size of the matrix.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccessMatrix, Account, PolicyRef, Targets, ou_paths
from securecart_tf.iam import documents
from securecart_tf.iam.guardrails import build_guardrail
from securecart_tf.iam.limits import Limits, fit_scp

ORGANIZATION = "organization"
SECURITY = "security"
IDENTITY_CENTER = "identity-center"
ACCESS_PREFIX = "access-"

SERVICE_ACCESS_PRINCIPALS = {
    "sso": "sso.amazonaws.com",
    "cloudtrail": "cloudtrail.amazonaws.com",
    "guardduty": "guardduty.amazonaws.com",
    "config": "config.amazonaws.com",
    "config-multiaccountsetup": "config-multiaccountsetup.amazonaws.com",
    "access-analyzer": "access-analyzer.amazonaws.com",
}


def access_stack(account: str) -> str:
    return f"{ACCESS_PREFIX}{account}"


@dataclass
class OrgFacts:
    """What the organization stack's state tells: real account IDs and the organization's ID."""

    account_ids: dict[str, str] = field(default_factory=dict)
    organization_id: str | None = None
    root_id: str | None = None
    service_access_principals: list[str] = field(default_factory=list)
    """Trusted access the live organization has: kept, since the provider disables what is not listed."""
    enabled_policy_types: list[str] = field(default_factory=list)
    """Policy types the live organization's root has enabled: kept for the same reason."""


class AccountDirectory:
    """Account name → 12-digit ID. Unknown IDs get a stable stand-in and are reported as pending."""

    def __init__(self, matrix: AccessMatrix, facts: OrgFacts):
        self.ids: dict[str, str] = {a.name: a.id for a in matrix.accounts if a.id}
        self.ids.update(facts.account_ids)
        self.order = {a.name: i for i, a in enumerate(matrix.accounts)}
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


@dataclass
class Stack:
    name: str
    layer: str
    account: str
    depends_on: tuple[str, ...]
    modules: tuple[str, ...]
    inputs: dict[str, Any]
    environment: str | None = None
    pending_accounts: tuple[str, ...] = ()
    reach: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """resource kind → instance key → environments a change to it reaches."""
    notes: list[str] = field(default_factory=list)
    region: str | None = None
    """The region the stack's provider works in, when not the organization's home region."""


@dataclass
class Model:
    project: Project
    stacks: dict[str, Stack]
    ou_of: dict[str, str]
    accounts_under: dict[str, list[str]]
    accounts_in_env: dict[str, list[str]]
    stage_of_account: dict[str, str | None]
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

    @cached_property
    def account_order(self) -> dict[str, int]:
        """Account name → its position in the matrix, the order every expansion is sorted in."""
        return account_order(self.matrix)

    def expand(self, targets: Targets) -> list[str]:
        return expand_targets(targets, self.accounts_under, self.accounts_in_env, self.matrix, self.account_order)

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

        for name in sorted(self.stacks, key=_stack_sort_key):
            visit(name)
        return order


def _stack_sort_key(name: str) -> tuple[int, str]:
    rank = {ORGANIZATION: 0, SECURITY: 1}.get(name, 3 if name == IDENTITY_CENTER else 2)
    return rank, name


def account_order(matrix: AccessMatrix) -> dict[str, int]:
    return {a.name: i for i, a in enumerate(matrix.accounts)}


def expand_targets(
    targets: Targets,
    accounts_under: dict[str, list[str]],
    accounts_in_env: dict[str, list[str]],
    matrix: AccessMatrix,
    order: dict[str, int] | None = None,
) -> list[str]:
    """The accounts `targets` reach, in matrix order. Pass `order` (see `account_order`) when expanding many."""
    chosen: dict[str, None] = {}
    for name in targets.accounts:
        chosen[name] = None
    for ou in targets.ous:
        for name in accounts_under.get(ou, []):
            chosen[name] = None
    for env in targets.environments:
        for name in accounts_in_env.get(env, []):
            chosen[name] = None
    if order is None:
        order = account_order(matrix)
    return sorted(chosen, key=lambda n: order.get(n, 1 << 30))


def _keep_live_settings(settings: dict[str, Any], facts: OrgFacts) -> list[str]:
    """Add what the live organization has enabled to what the matrix asks for; say what was kept.

    On update the provider disables every trusted service and policy type its configuration does not
    list, which on a real organization switches off RAM, StackSets or Control Tower and detaches tag and
    backup policies. The matrix lists what it adds; what is already there stays.
    """
    principals = [p for p in facts.service_access_principals if p not in settings["service_access_principals"]]
    types = [t for t in facts.enabled_policy_types if t not in settings["enabled_policy_types"]]
    settings["service_access_principals"] = sorted({*settings["service_access_principals"], *principals})
    settings["enabled_policy_types"] = [*settings["enabled_policy_types"], *sorted(types)]
    notes = []
    if principals:
        notes.append(
            f"organization: keeps trusted access for {', '.join(sorted(principals))}, enabled outside the matrix"
        )
    if types:
        notes.append(f"organization: keeps policy types {', '.join(sorted(types))}, enabled outside the matrix")
    return notes


def _policy_ref(ref: PolicyRef) -> dict[str, str | None]:
    return {"arn": ref.arn, "policy": ref.policy}


_last_built: tuple[Project, OrgFacts, Model] | None = None


def build_model(project: Project, facts: OrgFacts | None = None) -> Model:
    """Turn a reference-checked project into stacks. `facts` supplies real account IDs once they exist.

    Callers only read a built model, so the last one is handed out again for the same project and facts:
    the policy checks and the command that runs after them (generate, plan) share one model.
    """
    global _last_built
    facts = facts or OrgFacts()
    if _last_built is not None and _last_built[0] is project and _last_built[1] == facts:
        return _last_built[2]
    model = _build_model(project, facts)
    _last_built = (project, copy.deepcopy(facts), model)
    return model


def _build_model(project: Project, facts: OrgFacts) -> Model:
    m = project.matrix
    directory = AccountDirectory(m, facts)
    limits = Limits.from_matrix(m)
    partition = documents.partition_of(m.organization.home_region)
    accounts = {a.name: a for a in m.accounts}
    mgmt = m.organization.management_account

    # --- indexes: OU → accounts beneath (nested included), environment → accounts
    ou_of = {a.name: a.ou for a in m.accounts}
    accounts_under: dict[str, list[str]] = defaultdict(list)
    for a in m.accounts:
        accounts_under["/"].append(a.name)
        if a.ou != "/":
            parts = a.ou.split("/")
            for i in range(1, len(parts) + 1):
                accounts_under["/".join(parts[:i])].append(a.name)
    accounts_in_env: dict[str, list[str]] = defaultdict(list)
    for a in m.accounts:
        if a.environment:
            accounts_in_env[a.environment].append(a.name)

    stage_of_account: dict[str, str | None] = {a.name: a.environment for a in m.accounts}
    stage_of_stack: dict[str, str] = {}
    for env_name, env in project.environments.items():
        for acc in env.accounts:
            stage_of_account[acc] = env_name
            stage_of_stack[access_stack(acc)] = env_name
        for s in env.stacks:
            stage_of_stack[s] = env_name

    order = account_order(m)

    def expand(t: Targets) -> list[str]:
        return expand_targets(t, accounts_under, accounts_in_env, m, order)

    def stages(names: Iterable[str]) -> list[str]:
        return sorted({s for n in names if (s := stage_of_account.get(n))})

    # --- placements
    placements: dict[str, list[str]] = {}
    roles_in: dict[str, list[Any]] = defaultdict(list)
    for role in m.roles:
        placements[role.name] = expand(role.targets())
        for acc in placements[role.name]:
            roles_in[acc].append(role)
    service_roles_in: dict[str, list[Any]] = defaultdict(list)
    for srole in m.service_roles:
        placements[srole.name] = expand(srole.targets())
        for acc in placements[srole.name]:
            service_roles_in[acc].append(srole)

    ic = m.identity_center
    permission_sets = {ps.name: ps for ps in ic.permission_sets} if ic else {}
    assignments: list[tuple[str, str, str]] = []
    ps_accounts: dict[str, list[str]] = defaultdict(list)
    if ic:
        for a in ic.assignments:
            for acc in expand(a.targets()):
                assignments.append((a.group, a.permission_set, acc))
                ps_accounts[a.permission_set].append(acc)

    # customer-managed policies needed in each account
    policies_by_name = {p.name: p for p in m.policies}
    needed_policies: dict[str, dict[str, None]] = defaultdict(dict)
    for acc, roles in roles_in.items():
        for r in roles:
            for ref in [r.permissions_boundary, *r.managed_policies]:
                if ref is not None and ref.policy:
                    needed_policies[acc][ref.policy] = None
    for acc, sroles in service_roles_in.items():
        for s in sroles:
            for ref in [s.permissions_boundary, *s.managed_policies]:
                if ref is not None and ref.policy:
                    needed_policies[acc][ref.policy] = None
    cmp_accounts: set[str] = set()
    for ps_name, accs in ps_accounts.items():
        ps = permission_sets[ps_name]
        names = list(ps.customer_managed_policies)
        if ps.permissions_boundary is not None and ps.permissions_boundary.policy:
            names.append(ps.permissions_boundary.policy)
        for acc in accs:
            for n in names:
                needed_policies[acc][n] = None
            if names:
                cmp_accounts.add(acc)

    stacks: dict[str, Stack] = {}

    # --- organization
    scp_parts: dict[str, list[str]] = {}
    guardrail_inputs: dict[str, Any] = {}
    attachments: dict[str, Any] = {}
    reach_policy: dict[str, list[str]] = {}
    reach_attach: dict[str, list[str]] = {}
    platform_roles = [m.organization.deployment_role] + (
        [m.organization.break_glass_role] if m.organization.break_glass_role else []
    )
    for g in m.guardrails:
        if g.builtin is not None:
            exempt = [*platform_roles, *g.exempt_roles]
            document = documents.in_partition(
                build_guardrail(g.builtin, g.parameters, exempt, facts.organization_id), partition
            )
        else:
            assert g.file is not None
            document = project.policy_files[g.file].document
        parts = fit_scp(g.name, document, limits, g.type)
        scp_parts[g.name] = [name for name, _ in parts]
        target_keys = [f"ou:{ou}" if ou != "/" else "root" for ou in g.targets.ous] + [
            f"account:{a}" for a in g.targets.accounts
        ]
        reached = stages(expand(g.targets))
        for name, content in parts:
            guardrail_inputs[name] = {
                "description": g.description or f"securecart-tf guardrail {g.name}",
                "content": content,
                **({"type": "RESOURCE_CONTROL_POLICY"} if g.type == "rcp" else {}),
            }
            reach_policy[name] = reached
            for key in target_keys:
                attachments[f"{name}|{key}"] = {"policy": name, "target": key}
                under = (
                    expand(Targets(ous=[key[3:]]))
                    if key.startswith("ou:")
                    else [key[8:]]
                    if key.startswith("account:")
                    else [a.name for a in m.accounts]
                )
                reach_attach[f"{name}|{key}"] = stages(under)

    units: dict[str, Any] = {}
    for path, depth, _ in ou_paths(m.organization.units):
        parent = path.rsplit("/", 1)[0] if "/" in path else "/"
        units[path] = {"name": path.rsplit("/", 1)[-1], "parent": parent, "depth": depth}
    org_accounts = {
        a.name: {
            "email": a.email,
            "parent": a.ou,
            "id": a.id,
            "tags": {
                "securecart:account": a.name,
                **({"securecart:environment": a.environment} if a.environment else {}),
            },
            **({"close_on_deletion": True} if a.closing else {}),
        }
        for a in m.accounts
        if a.name != mgmt
    }
    principals = ["sso"] if ic else []
    delegated: dict[str, str] = {}
    baseline = m.security_baseline
    if baseline is not None:
        if baseline.cloudtrail:
            principals.append("cloudtrail")
        if baseline.guardduty:
            principals.append("guardduty")
        if baseline.config:
            principals += ["config", "config-multiaccountsetup"]
            # an organization aggregator outside the management account needs both (AWS Config guide)
            delegated["config"] = baseline.account
            delegated["config-multiaccountsetup"] = baseline.account
        if baseline.access_analyzer:
            principals.append("access-analyzer")
            delegated["access-analyzer"] = baseline.account
    org_inputs = {
        "organization": {
            "feature_set": "ALL",
            "service_access_principals": sorted(SERVICE_ACCESS_PRINCIPALS[p] for p in principals),
            "enabled_policy_types": ["SERVICE_CONTROL_POLICY"]
            + (["RESOURCE_CONTROL_POLICY"] if any(g.type == "rcp" for g in m.guardrails) else []),
        },
        "units": units,
        "accounts": org_accounts,
        "management_account": mgmt,
        "account_role_name": m.organization.deployment_role,
        "adopted_accounts": {a.name: a.id for a in m.accounts if a.id and a.name != mgmt},
        "scp_max_chars": limits["scp_max_chars"],
        "guardrails": guardrail_inputs,
        "attachments": attachments,
        "delegated_administrators": {
            f"{p}": {"service_principal": SERVICE_ACCESS_PRINCIPALS[p], "account": acc} for p, acc in delegated.items()
        },
        "guardduty_admin_account": baseline.account if baseline is not None and baseline.guardduty else None,
        "cloudtrail_admin_account": baseline.account if baseline is not None and baseline.cloudtrail else None,
    }
    kept = _keep_live_settings(org_inputs["organization"], facts)
    stacks[ORGANIZATION] = Stack(
        name=ORGANIZATION,
        layer=ORGANIZATION,
        account=mgmt,
        depends_on=(),
        modules=("organization", "service-control-policies"),
        inputs=org_inputs,
        environment=stage_of_stack.get(ORGANIZATION),
        reach={
            "guardrail": reach_policy,
            "attachment": reach_attach,
            "unit": {p: stages(accounts_under.get(p, [])) for p in units},
            "account": {n: stages([n]) for n in org_accounts},
        },
        notes=kept,
    )

    # --- security baseline
    if baseline is not None:
        sec_inputs = {
            "name_prefix": m.organization.name,
            "management_account_id": directory(mgmt),
            "organization_id": facts.organization_id or "o-pending",
            "cloudtrail": baseline.cloudtrail,
            "guardduty": baseline.guardduty,
            "config": baseline.config,
            "access_analyzer": baseline.access_analyzer,
            "log_retention_days": baseline.log_retention_days,
            "force_destroy_logs": False,
        }
        directory(baseline.account)
        pending = directory.take_pending()
        if facts.organization_id is None:
            pending = (*pending, "organization") if "organization" not in pending else pending
        stacks[SECURITY] = Stack(
            name=SECURITY,
            layer=SECURITY,
            account=baseline.account,
            depends_on=(ORGANIZATION,),
            modules=("security-baseline",),
            inputs={"baseline": sec_inputs},
            environment=stage_of_stack.get(SECURITY),
            pending_accounts=pending,
        )

    # --- access stacks, one per account
    policy_documents: dict[str, str] = {}
    role_homes: dict[str, set[str]] = defaultdict(set)
    for name, accs in placements.items():
        for acc in accs:
            role_homes[name].add(acc)
    for acc in (a.name for a in m.accounts):
        account: Account = accounts[acc]
        roles = roles_in.get(acc, [])
        sroles = service_roles_in.get(acc, [])
        if not (roles or sroles or needed_policies.get(acc)):
            continue
        env = account.environment
        role_inputs: dict[str, Any] = {}
        deps: set[str] = {ORGANIZATION}
        oidc: dict[str, Any] = {}
        for r in roles:
            for p in r.trust.principals:
                if p.oidc is not None:
                    oidc[p.oidc.provider] = documents.OIDC_PROVIDERS[p.oidc.provider]
                if p.role is not None and p.role.account != acc and p.role.account in role_homes.get(p.role.role, ()):
                    deps.add(access_stack(p.role.account))  # IAM requires a trusted role to exist
            role_inputs[r.name] = {
                "description": r.description,
                "trust_policy": documents.minify(
                    documents.in_partition(
                        documents.role_trust_policy(r, account_id=directory, self_account=acc, environment=env),
                        partition,
                    )
                ),
                "permissions_boundary": _policy_ref(r.permissions_boundary) if r.permissions_boundary else None,
                "managed_policies": [_policy_ref(ref) for ref in r.managed_policies],
                "inline_policies": {},
                "max_session_duration": r.max_session_duration,
                "tags": {"securecart:audience": r.audience.value},
            }
        for s in sroles:
            inline = documents.in_partition(
                documents.service_access_policy(
                    s, account_id=directory(acc), region=m.organization.home_region, environment=env, account=acc
                ),
                partition,
            )
            role_inputs[s.name] = {
                "description": s.description,
                "trust_policy": documents.minify(
                    documents.in_partition(documents.service_trust_policy(s, self_account_id=directory(acc)), partition)
                ),
                "permissions_boundary": _policy_ref(s.permissions_boundary) if s.permissions_boundary else None,
                "managed_policies": [_policy_ref(ref) for ref in s.managed_policies],
                "inline_policies": {"resource-access": documents.minify(inline)} if inline else {},
                "max_session_duration": 3600,
                "tags": {"securecart:audience": "service", "securecart:service": s.service.value},
            }
        policy_inputs = {}
        for pname in needed_policies.get(acc, {}):
            pol = policies_by_name[pname]
            if pname not in policy_documents:  # the same document in every account that needs it
                doc = (
                    pol.document.model_dump(mode="json", exclude_none=True)
                    if pol.document is not None
                    else project.policy_files[str(pol.file)].document
                )
                policy_documents[pname] = documents.minify(doc)
            document = policy_documents[pname]
            policy_inputs[pname] = {"path": pol.path, "description": pol.description, "document": document}
        directory(acc)
        stacks[access_stack(acc)] = Stack(
            name=access_stack(acc),
            layer="access",
            account=acc,
            depends_on=tuple(sorted(deps, key=_stack_sort_key)),
            modules=("account-iam", "iam-role"),
            inputs={
                "account": {"name": acc, "environment": env},
                "policies": policy_inputs,
                "oidc_providers": oidc,
                "roles": role_inputs,
            },
            environment=stage_of_stack.get(access_stack(acc)),
            pending_accounts=directory.take_pending(),
        )

    # --- identity center
    if ic is not None:
        ps_inputs: dict[str, Any] = {}
        for ps in ic.permission_sets:
            boundary = None
            if ps.permissions_boundary is not None:
                if ps.permissions_boundary.arn:
                    boundary = {"managed_policy_arn": ps.permissions_boundary.arn, "customer_managed": None}
                else:
                    pol = policies_by_name[str(ps.permissions_boundary.policy)]
                    boundary = {"managed_policy_arn": None, "customer_managed": {"name": pol.name, "path": pol.path}}
            ps_inputs[ps.name] = {
                "description": ps.description,
                "session_duration": ps.session_duration,
                "managed_policies": list(ps.managed_policies),
                "customer_managed_policies": [
                    {"name": n, "path": policies_by_name[n].path} for n in ps.customer_managed_policies
                ],
                "inline_policy": documents.minify(ps.inline_policy.model_dump(mode="json", exclude_none=True))
                if ps.inline_policy
                else None,
                "permissions_boundary": boundary,
            }
        assignment_inputs = {
            f"{g}|{ps}|{acc}": {"group": g, "permission_set": ps, "account_id": directory(acc)}
            for g, ps, acc in assignments
        }
        group_reach: dict[str, set[str]] = defaultdict(set)
        for g, _, acc in assignments:
            group_reach[g].update(stages([acc]))
        deps = {ORGANIZATION} | {access_stack(acc) for acc in sorted(cmp_accounts)}
        stacks[IDENTITY_CENTER] = Stack(
            name=IDENTITY_CENTER,
            layer=IDENTITY_CENTER,
            account=mgmt,
            depends_on=tuple(sorted(deps, key=_stack_sort_key)),
            modules=("identity-center",),
            inputs={
                "groups": {g.name: {"source": g.source.value, "description": g.description} for g in ic.groups},
                "permission_sets": ps_inputs,
                "assignments": assignment_inputs,
            },
            environment=stage_of_stack.get(IDENTITY_CENTER),
            region=ic.region,
            pending_accounts=directory.take_pending(),
            reach={
                "permission_set": {ps: stages(accs) for ps, accs in ps_accounts.items()},
                "assignment": {k: stages([k.rsplit("|", 1)[1]]) for k in assignment_inputs},
                "group": {g: sorted(v) for g, v in group_reach.items()},
            },
        )

    return Model(
        project=project,
        stacks=stacks,
        ou_of=ou_of,
        accounts_under=dict(accounts_under),
        accounts_in_env=dict(accounts_in_env),
        stage_of_account=stage_of_account,
        placements=placements,
        assignments=assignments,
        scp_parts=scp_parts,
        directory=directory,
    )
