"""The security baseline's settings in each account (S3 Block Public Access, EBS encryption, Config recorders),
applied by that account's access stack, and the regions its region guardrails allow."""

from __future__ import annotations

from typing import Any, Final

from securecart_tf.config.schema import AccountSettings, SecurityBaseline
from securecart_tf.iam.documents import partition_of
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex

REGION_GUARDRAIL: Final = "region-allow-list"
CONFIG_ROLE_PATH: Final = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
CONFIG_KEY_PREFIX: Final = "config"
"""Where the security baseline's bucket policy lets Config write: config/AWSLogs/<account>/..."""


def allowed_regions(index: MatrixIndex, account: str) -> list[str]:
    """The regions the built-in region guardrails attached to `account` (directly or through its OUs) all allow,
    the home region first; the home region alone where none applies. SCPs never restrict the management account."""
    org = index.matrix.organization
    home = org.home_region
    if account == org.management_account:
        return [home]
    allowed: list[str] | None = None
    for guardrail in index.matrix.guardrails:
        if guardrail.builtin != REGION_GUARDRAIL or guardrail.type != "scp":
            continue
        if account not in index.expand(guardrail.targets):
            continue
        regions = [str(r) for r in guardrail.parameters.get("regions", [])]
        allowed = regions if allowed is None else [r for r in allowed if r in regions]
    if not allowed:  # no guardrail, or guardrails that leave nothing in common: the home region
        return [home]
    return sorted(dict.fromkeys(allowed), key=lambda r: (r != home, r))


def effective_settings(baseline: SecurityBaseline | None, index: MatrixIndex, account: str) -> AccountSettings:
    """The settings in force in `account`: the organization's, with the account's overrides; Config needs config."""
    if baseline is None:
        return AccountSettings()
    settings = baseline.every_account.for_account(account, index.matrix.organization.management_account)
    if not baseline.config:
        settings = settings.model_copy(update={"config_recorder": False})
    return settings


def settings_inputs(
    baseline: SecurityBaseline, settings: AccountSettings, index: MatrixIndex, account: str, directory: AccountDirectory
) -> dict[str, Any]:
    """The access stack's `account_settings` data: what the home region's module block does account-wide, and each
    allowed region's EBS and Config settings (the home region is always a key; the template reads it as var.region)."""
    org = index.matrix.organization
    regional = settings.ebs_encryption or settings.config_recorder
    regions = allowed_regions(index, account) if regional else [org.home_region]
    in_security = account == baseline.account
    recorder = None
    if settings.config_recorder:
        recorder = {
            "name": f"{org.name}-recorder",
            "delivery_channel_name": f"{org.name}-delivery",
            "bucket": f"{org.name}-security-logs-{directory(baseline.account)}",
            "key_prefix": CONFIG_KEY_PREFIX,
            "role_arn": f"arn:{partition_of(org.home_region)}:iam::{directory(account)}:role/{CONFIG_ROLE_PATH}",
        }
    per_region: dict[str, Any] = {}
    for region in [org.home_region, *regions]:
        allowed = region in regions
        home = region == org.home_region
        # The security stack records in its own account, in every region the organization may use (the security
        # baseline's regions): one recorder per region is all AWS allows.
        records = recorder is not None and allowed and not in_security
        per_region[region] = {
            "ebs_encryption": settings.ebs_encryption and allowed,
            # global resources (IAM) are recorded once, in the home region
            "config_recorder": {**recorder, "include_global_resource_types": home} if records and recorder else None,
        }
    return {
        "s3_public_access_block": settings.s3_public_access_block,
        # The security stack creates Config's service-linked role in its account; elsewhere this stack does.
        "config_service_linked_role": settings.config_recorder and not in_security,
        "regions": per_region,
    }


def provider_alias(region: str) -> str:
    """The provider alias (and module-name suffix) of a region other than the home region: eu-west-1 → eu_west_1."""
    return region.replace("-", "_")
