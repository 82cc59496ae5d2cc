"""The organization stack (management account): OUs, accounts, SCPs and RCPs with their attachments,
trusted services and delegated administrators."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from securecart_tf.config.load import Project
from securecart_tf.config.schema import AccessMatrix, Guardrail, SecurityBaseline, ou_paths
from securecart_tf.iam import documents
from securecart_tf.iam.guardrails import build_guardrail
from securecart_tf.iam.limits import Limits, fit_scp
from securecart_tf.model.account_settings import provider_alias
from securecart_tf.model.addresses import ORGANIZATION_MODULE, ImportBlock
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.security import allowed_regions
from securecart_tf.model.stack import ORGANIZATION, OrgFacts, Singletons, Stack

SERVICE_ACCESS_PRINCIPALS = {
    "sso": "sso.amazonaws.com",
    "cloudtrail": "cloudtrail.amazonaws.com",
    "guardduty": "guardduty.amazonaws.com",
    "config": "config.amazonaws.com",
    "config-multiaccountsetup": "config-multiaccountsetup.amazonaws.com",
    "access-analyzer": "access-analyzer.amazonaws.com",
    "securityhub": "securityhub.amazonaws.com",
}


@dataclass
class GuardrailPolicies:
    """The SCPs and RCPs the guardrails become, where they are attached, and which environments each reaches."""

    policies: dict[str, Any] = field(default_factory=dict)
    attachments: dict[str, Any] = field(default_factory=dict)
    policy_reach: dict[str, list[str]] = field(default_factory=dict)
    attachment_reach: dict[str, list[str]] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)
    """guardrail name → names of the policies it was packed into (usually just itself)."""


def organization_stack(
    project: Project, index: MatrixIndex, facts: OrgFacts, limits: Limits
) -> tuple[Stack, GuardrailPolicies]:
    m = index.matrix
    guardrails = _guardrail_policies(project, index, facts, limits)
    units = _units(index)
    accounts = _member_accounts(index)
    inputs = {
        "organization": _organization_settings(index),
        "units": units,
        "accounts": accounts,
        "management_account": m.organization.management_account,
        "account_role_name": m.organization.deployment_role,
        "adopted_accounts": {a.name: a.id for a in m.accounts if a.id and a.name != m.organization.management_account},
        "scp_max_chars": limits["scp_max_chars"],
        "guardrails": guardrails.policies,
        "attachments": guardrails.attachments,
        **_security_services(m.security_baseline),
    }
    kept = _keep_live_settings(inputs["organization"], facts)
    regions = tuple(allowed_regions(m)[1:]) if _delegates_per_region(m.security_baseline) else ()
    stack = Stack(
        name=ORGANIZATION,
        layer=ORGANIZATION,
        account=m.organization.management_account,
        depends_on=(),
        modules=("organization", "service-control-policies"),
        inputs=inputs,
        environment=index.stage_of_stack.get(ORGANIZATION),
        reach={
            "guardrail": guardrails.policy_reach,
            "attachment": guardrails.attachment_reach,
            "unit": {p: index.stages(index.accounts_under.get(p, [])) for p in units},
            "account": {n: index.stages([n]) for n in accounts},
        },
        notes=kept,
        # GuardDuty and Security Hub designate their administrator in every region the organization may use
        regions=regions,
        adopts=_management_detector(m, facts, regions),
    )
    return stack, guardrails


def _management_detector(m: AccessMatrix, facts: OrgFacts, regions: tuple[str, ...]) -> tuple[ImportBlock, ...]:
    """Adopt the management account's GuardDuty detector in the home region and each other region the stack works
    in (`regions`), where it has one: AWS allows one per region."""
    baseline = m.security_baseline
    if baseline is None or not baseline.guardduty:
        return ()
    found = facts.singletons.get(m.organization.management_account, Singletons())
    home = m.organization.home_region
    blocks = []
    for region in (home, *regions):
        detector = found.guardduty_detectors.get(region)
        module = f"{ORGANIZATION_MODULE}.module.home_region" if region == home else _regional_module(region)
        if detector:
            blocks.append(ImportBlock(ORGANIZATION, f"{module}.aws_guardduty_detector.management[0]", detector))
    return tuple(blocks)


def _regional_module(region: str) -> str:
    """The root's module for the management account's share of the security services in a region besides home."""
    return f"{ORGANIZATION_MODULE}_{provider_alias(region)}"


def _delegates_per_region(baseline: SecurityBaseline | None) -> bool:
    return baseline is not None and (baseline.guardduty or baseline.security_hub)


def _guardrail_policies(project: Project, index: MatrixIndex, facts: OrgFacts, limits: Limits) -> GuardrailPolicies:
    """Each guardrail as one or more policies that fit AWS's size limit, attached where it targets."""
    out = GuardrailPolicies()
    for g in index.matrix.guardrails:
        parts = fit_scp(g.name, _guardrail_document(g, project, index, facts), limits, g.type)
        out.parts[g.name] = [name for name, _ in parts]
        reached = index.stages(index.expand(g.targets))
        targets = {
            ("root" if ou == "/" else f"ou:{ou}"): index.stages(index.accounts_under.get(ou, []))
            for ou in g.targets.ous
        }
        targets.update({f"account:{a}": index.stages([a]) for a in g.targets.accounts})
        for name, content in parts:
            out.policies[name] = {
                "description": g.description or f"securecart-tf guardrail {g.name}",
                "content": content,
                **({"type": "RESOURCE_CONTROL_POLICY"} if g.type == "rcp" else {}),
            }
            out.policy_reach[name] = reached
            for key, stages in targets.items():
                out.attachments[f"{name}|{key}"] = {"policy": name, "target": key}
                out.attachment_reach[f"{name}|{key}"] = stages
    return out


def _guardrail_document(g: Guardrail, project: Project, index: MatrixIndex, facts: OrgFacts) -> dict[str, Any]:
    if g.builtin is None:
        assert g.file is not None
        return project.policy_files[g.file].document
    org = index.matrix.organization
    exempt = [org.deployment_role, *([org.break_glass_role] if org.break_glass_role else []), *g.exempt_roles]
    document = build_guardrail(g.builtin, g.parameters, exempt, facts.organization_id)
    in_partition: dict[str, Any] = documents.in_partition(document, documents.partition_of(org.home_region))
    return in_partition


def _units(index: MatrixIndex) -> dict[str, Any]:
    units: dict[str, Any] = {}
    for path, depth, _ in ou_paths(index.matrix.organization.units):
        parent = path.rsplit("/", 1)[0] if "/" in path else "/"
        units[path] = {"name": path.rsplit("/", 1)[-1], "parent": parent, "depth": depth}
    return units


def _member_accounts(index: MatrixIndex) -> dict[str, Any]:
    mgmt = index.matrix.organization.management_account
    return {
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
        for a in index.matrix.accounts
        if a.name != mgmt
    }


def _organization_settings(index: MatrixIndex) -> dict[str, Any]:
    m = index.matrix
    principals = ["sso"] if m.identity_center else []
    baseline = m.security_baseline
    if baseline is not None:
        principals += ["cloudtrail"] if baseline.cloudtrail else []
        principals += ["guardduty"] if baseline.guardduty else []
        principals += ["config", "config-multiaccountsetup"] if baseline.config else []
        principals += ["access-analyzer"] if baseline.access_analyzer else []
        principals += ["securityhub"] if baseline.security_hub else []
    rcp = ["RESOURCE_CONTROL_POLICY"] if any(g.type == "rcp" for g in m.guardrails) else []
    return {
        "feature_set": "ALL",
        "service_access_principals": sorted(SERVICE_ACCESS_PRINCIPALS[p] for p in principals),
        "enabled_policy_types": ["SERVICE_CONTROL_POLICY", *rcp],
    }


def _security_services(baseline: SecurityBaseline | None) -> dict[str, Any]:
    """Who administers the security services for the organization: the security account."""
    delegated: dict[str, str] = {}
    if baseline is not None and baseline.config:
        # an organization aggregator outside the management account needs both (AWS Config guide)
        delegated["config"] = baseline.account
        delegated["config-multiaccountsetup"] = baseline.account
    if baseline is not None and baseline.access_analyzer:
        delegated["access-analyzer"] = baseline.account
    return {
        "delegated_administrators": {
            p: {"service_principal": SERVICE_ACCESS_PRINCIPALS[p], "account": acc} for p, acc in delegated.items()
        },
        "guardduty_admin_account": baseline.account if baseline is not None and baseline.guardduty else None,
        "security_hub_admin_account": baseline.account if baseline is not None and baseline.security_hub else None,
        "cloudtrail_admin_account": baseline.account if baseline is not None and baseline.cloudtrail else None,
    }


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
