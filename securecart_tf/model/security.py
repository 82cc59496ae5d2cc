"""The security stack (security account): the organization's security baseline."""

from __future__ import annotations

from securecart_tf.config.schema import SecurityBaseline
from securecart_tf.model.directory import AccountDirectory
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.stack import ORGANIZATION, SECURITY, OrgFacts, Stack


def security_stack(
    baseline: SecurityBaseline, index: MatrixIndex, facts: OrgFacts, directory: AccountDirectory
) -> Stack:
    org = index.matrix.organization
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
    )
