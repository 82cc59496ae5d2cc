"""The sandbox's Security Hub standards and organization administrator, which moto lacks, through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from securecart_tf.sandbox import SandboxInfo
from tests.helpers import sandbox_client
from tests.inprocess import serve

CIS = "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/1.4.0"
FSBP = "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0"


@pytest.fixture
def served() -> Iterator[SandboxInfo]:
    with serve() as info:
        yield info


def _organization(info: SandboxInfo) -> str:
    org = sandbox_client(info, "organizations")
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="security", Email="security@hub.example")["CreateAccountStatus"]
    return str(
        org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    )


def _hub(info: SandboxInfo, account: str | None = None) -> Any:
    return sandbox_client(info, "securityhub", account, region="eu-west-1")


def test_standards_enabled_in_a_region_are_listed_ready_there_and_gone_once_disabled(served: SandboxInfo) -> None:
    hub = _hub(served)
    hub.enable_security_hub(EnableDefaultStandards=False)
    account = sandbox_client(served, "sts").get_caller_identity()["Account"]
    assert {s["StandardsArn"] for s in hub.describe_standards()["Standards"]} == {CIS, FSBP}

    enabled = hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS}, {"StandardsArn": FSBP}])[
        "StandardsSubscriptions"
    ]
    cis_subscription = f"arn:aws:securityhub:eu-west-1:{account}:subscription/cis-aws-foundations-benchmark/v/1.4.0"
    assert {(s["StandardsArn"], s["StandardsSubscriptionArn"]) for s in enabled} >= {(CIS, cis_subscription)}
    listed = hub.get_enabled_standards()["StandardsSubscriptions"]
    assert {(s["StandardsArn"], s["StandardsStatus"]) for s in listed} == {(CIS, "READY"), (FSBP, "READY")}
    (one,) = hub.get_enabled_standards(StandardsSubscriptionArns=[cis_subscription])["StandardsSubscriptions"]
    assert one["StandardsArn"] == CIS
    # standards are per region: us-east-1 has Security Hub on, and none of eu-west-1's standards
    sandbox_client(served, "securityhub").enable_security_hub(EnableDefaultStandards=False)
    assert sandbox_client(served, "securityhub").get_enabled_standards()["StandardsSubscriptions"] == []

    (gone,) = hub.batch_disable_standards(StandardsSubscriptionArns=[cis_subscription])["StandardsSubscriptions"]
    assert gone["StandardsStatus"] == "DELETING"
    assert [s["StandardsArn"] for s in hub.get_enabled_standards()["StandardsSubscriptions"]] == [FSBP]


def test_standards_need_security_hub_on_and_a_standard_aws_has(served: SandboxInfo) -> None:
    hub = _hub(served)
    with pytest.raises(ClientError) as off:
        hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS}])
    assert off.value.response["Error"]["Code"] == "InvalidAccessException"
    hub.enable_security_hub(EnableDefaultStandards=False)
    with pytest.raises(ClientError) as unknown:
        hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS.replace("1.4.0", "9.9.9")}])
    assert unknown.value.response["Error"]["Code"] == "InvalidInputException"


def test_the_management_account_lists_and_removes_the_organizations_administrator(served: SandboxInfo) -> None:
    security = _organization(served)
    management = _hub(served)
    assert management.list_organization_admin_accounts()["AdminAccounts"] == []
    management.enable_organization_admin_account(AdminAccountId=security)
    assert management.list_organization_admin_accounts()["AdminAccounts"] == [
        {"AccountId": security, "Status": "ENABLED"}
    ]
    with pytest.raises(ClientError) as member:
        _hub(served, security).list_organization_admin_accounts()
    assert member.value.response["Error"]["Code"] == "AccessDeniedException"

    management.disable_organization_admin_account(AdminAccountId=security)
    assert management.list_organization_admin_accounts()["AdminAccounts"] == []
