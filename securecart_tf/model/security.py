"""The security stack (security account): the organization's security baseline."""

from __future__ import annotations

from securecart_tf.config.schema import AccessMatrix, SecurityBaseline
from securecart_tf.model.account_settings import REGION_GUARDRAIL, provider_alias
from securecart_tf.model.addresses import CONFIG_SERVICE, SECURITY_MODULE, ImportBlock
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.stack import ORGANIZATION, SECURITY, OrgFacts, Singletons, Stack

HOME_REGION_MODULE = f"{SECURITY_MODULE}.module.home_region"
"""Where the baseline's regional services live for the home region."""


def allowed_regions(matrix: AccessMatrix) -> list[str]:
    """The regions the organization may use: the home region first, then every other region a region guardrail
    allows, in the order the matrix names them. Without a region guardrail, the home region alone."""
    regions = [matrix.organization.home_region]
    for guardrail in matrix.guardrails:
        listed = guardrail.parameters.get("regions") if guardrail.builtin == REGION_GUARDRAIL else None
        for region in listed if isinstance(listed, list) else []:
            if isinstance(region, str) and region not in regions:
                regions.append(region)
    return regions


def security_stack(
    baseline: SecurityBaseline, index: MatrixIndex, facts: OrgFacts, directory: AccountDirectory
) -> Stack:
    org = index.matrix.organization
    found = facts.singletons.get(baseline.account, Singletons())
    region = org.home_region
    others = allowed_regions(index.matrix)[1:]
    inputs = {
        "name_prefix": org.name,
        "management_account_id": directory(org.management_account),
        "organization_id": facts.organization_id or "o-pending",
        "cloudtrail": baseline.cloudtrail,
        "guardduty": baseline.guardduty,
        "config": baseline.config,
        "security_hub": baseline.security_hub,
        "access_analyzer": baseline.access_analyzer,
        "regions": others,
        "log_retention_days": baseline.log_retention_days,
        "force_destroy_logs": False,
        "lifecycle_rules_inline": False,
        # AWS allows one recorder and one delivery channel per region, and a new name replaces them: keep theirs
        "config_recorder_name": found.config_recorders.get(region) if baseline.config else None,
        "config_delivery_channel_name": found.config_delivery_channels.get(region) if baseline.config else None,
        # the same in each other region, region → name (null: the baseline's own)
        "config_recorder_names": {r: found.config_recorders.get(r) if baseline.config else None for r in others},
        "config_delivery_channel_names": {
            r: found.config_delivery_channels.get(r) if baseline.config else None for r in others
        },
    }
    directory(baseline.account)
    pending = directory.take_pending()
    if facts.organization_id is None and ORGANIZATION not in pending:
        pending = (*pending, ORGANIZATION)  # the organization's ID is a stand-in too until it exists
    return Stack(
        name=SECURITY,
        layer=SECURITY,
        account=baseline.account,
        depends_on=(ORGANIZATION,),
        modules=("security-baseline",),
        inputs={"baseline": inputs},
        environment=index.stage_of_stack.get(SECURITY),
        pending_accounts=pending,
        adopts=tuple(_singleton_imports(baseline, found, [region, *others])),
        regions=tuple(others),
    )


def _regional_module(region: str, home: str) -> str:
    """The module holding the baseline's regional services in `region`: the home region's submodule, or the root's
    module for that region."""
    return HOME_REGION_MODULE if region == home else f"{SECURITY_MODULE}_{provider_alias(region)}"


# The standards modules/security-baseline/region subscribes, by its key: the path after "::standards/" in the
# standard's ARN. tests/unit/test_singletons.py checks them against the module's local.standards.
SECURITY_HUB_STANDARDS = {
    "cis": "cis-aws-foundations-benchmark/v/1.4.0",
    "foundational-best-practices": "aws-foundational-security-best-practices/v/1.0.0",
}


def _singleton_imports(baseline: SecurityBaseline, found: Singletons, regions: list[str]) -> list[ImportBlock]:
    """Adopt the account's GuardDuty detector, Config recorder and channel and Security Hub, with the standards it
    has of the baseline's, in each region (`regions`, the home region first), and Config's service-linked role."""
    blocks: list[ImportBlock] = []

    def adopt(resource: str, import_id: str | None, module: str) -> None:
        if import_id:
            blocks.append(ImportBlock(SECURITY, f"{module}.{resource}[0]", import_id))

    if baseline.config:
        adopt("aws_iam_service_linked_role.config", found.service_linked_roles.get(CONFIG_SERVICE), SECURITY_MODULE)
    for region in regions:
        module = _regional_module(region, regions[0])
        if baseline.guardduty:
            adopt("aws_guardduty_detector.this", found.guardduty_detectors.get(region), module)
        if baseline.config:
            recorder = found.config_recorders.get(region)
            adopt("aws_config_configuration_recorder.this", recorder, module)
            adopt("aws_config_configuration_recorder_status.this", recorder, module)
            adopt("aws_config_delivery_channel.this", found.config_delivery_channels.get(region), module)
        if baseline.security_hub and region in found.security_hubs:
            adopt("aws_securityhub_account.this", found.security_hubs[region], module)
            for key, path in SECURITY_HUB_STANDARDS.items():
                subscription = found.security_hub_standards.get(f"{region} {path}")
                if subscription:
                    to = f'{module}.aws_securityhub_standards_subscription.this["{key}"]'
                    blocks.append(ImportBlock(SECURITY, to, subscription))
    return blocks
