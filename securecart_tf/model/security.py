"""The security stack (security account): the organization's security baseline."""

from __future__ import annotations

from securecart_tf.config.schema import SecurityBaseline
from securecart_tf.model.addresses import CONFIG_SERVICE, SECURITY_MODULE, ImportBlock
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.stack import ORGANIZATION, SECURITY, OrgFacts, Singletons, Stack


def security_stack(
    baseline: SecurityBaseline, index: MatrixIndex, facts: OrgFacts, directory: AccountDirectory
) -> Stack:
    org = index.matrix.organization
    found = facts.singletons.get(baseline.account, Singletons())
    region = org.home_region
    inputs = {
        "name_prefix": org.name,
        "management_account_id": directory(org.management_account),
        "organization_id": facts.organization_id or "o-pending",
        "cloudtrail": baseline.cloudtrail,
        "guardduty": baseline.guardduty,
        "config": baseline.config,
        "access_analyzer": baseline.access_analyzer,
        "log_retention_days": baseline.log_retention_days,
        "force_destroy_logs": False,
        # AWS allows one recorder and one delivery channel per region, and a new name replaces them: keep theirs
        "config_recorder_name": found.config_recorders.get(region) if baseline.config else None,
        "config_delivery_channel_name": found.config_delivery_channels.get(region) if baseline.config else None,
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
        adopts=tuple(_singleton_imports(baseline, found, region)),
    )


def _singleton_imports(baseline: SecurityBaseline, found: Singletons, region: str) -> list[ImportBlock]:
    """Adopt the account's GuardDuty detector, Config recorder and channel, and Config's service-linked role."""
    blocks: list[ImportBlock] = []

    def adopt(resource: str, import_id: str | None) -> None:
        if import_id:
            blocks.append(ImportBlock(SECURITY, f"{SECURITY_MODULE}.{resource}[0]", import_id))

    if baseline.guardduty:
        adopt("aws_guardduty_detector.this", found.guardduty_detectors.get(region))
    if baseline.config:
        adopt("aws_iam_service_linked_role.config", found.service_linked_roles.get(CONFIG_SERVICE))
        recorder = found.config_recorders.get(region)
        adopt("aws_config_configuration_recorder.this", recorder)
        adopt("aws_config_configuration_recorder_status.this", recorder)
        adopt("aws_config_delivery_channel.this", found.config_delivery_channels.get(region))
    return blocks
