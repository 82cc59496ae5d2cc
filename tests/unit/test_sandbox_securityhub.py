"""The sandbox's Security Hub standards, hub settings and per-region organization settings, and analyzers."""

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


def test_a_second_enable_is_refused_as_aws_does_and_allowed_again_once_disabled(served: SandboxInfo) -> None:
    hub = _hub(served)
    hub.enable_security_hub(EnableDefaultStandards=False)
    with pytest.raises(ClientError) as twice:
        hub.enable_security_hub(EnableDefaultStandards=False)
    assert twice.value.response["Error"]["Code"] == "ResourceConflictException"
    assert twice.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    sandbox_client(served, "securityhub").enable_security_hub()  # another region is another hub
    hub.disable_security_hub()
    hub.enable_security_hub(EnableDefaultStandards=False)
    assert hub.describe_hub()["HubArn"].endswith(":hub/default")


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


def test_the_account_made_administrator_has_security_hub_on_in_that_region_as_on_aws(served: SandboxInfo) -> None:
    security = _organization(served)
    hub = _hub(served, security)
    with pytest.raises(ClientError) as off:
        hub.describe_hub()
    assert off.value.response["Error"]["Code"] == "InvalidAccessException"
    _hub(served).enable_organization_admin_account(AdminAccountId=security)  # eu-west-1
    assert hub.describe_hub()["HubArn"] == f"arn:aws:securityhub:eu-west-1:{security}:hub/default"
    assert hub.get_enabled_standards()["StandardsSubscriptions"] == []
    with pytest.raises(ClientError) as twice:  # so a second enable, as an aws_securityhub_account would send, fails
        hub.enable_security_hub(EnableDefaultStandards=False)
    assert twice.value.response["Error"]["Code"] == "ResourceConflictException"
    with pytest.raises(ClientError) as elsewhere:  # other regions are untouched
        sandbox_client(served, "securityhub", security, region="us-east-1").describe_hub()
    assert elsewhere.value.response["Error"]["Code"] == "InvalidAccessException"


def test_the_administrator_and_the_organization_configuration_are_per_region(served: SandboxInfo) -> None:
    security = _organization(served)
    sandbox_client(served, "securityhub").enable_organization_admin_account(AdminAccountId=security)  # us-east-1
    assert _hub(served).list_organization_admin_accounts()["AdminAccounts"] == []  # not in eu-west-1 yet
    hub = _hub(served, security)
    with pytest.raises(ClientError) as undesignated:
        hub.update_organization_configuration(AutoEnable=True)
    assert undesignated.value.response["Error"]["Code"] == "ResourceNotFoundException"

    _hub(served).enable_organization_admin_account(AdminAccountId=security)
    # what the AWS provider sends: a configuration type, no status (AWS sets it)
    hub.update_organization_configuration(
        AutoEnable=True, AutoEnableStandards="NONE", OrganizationConfiguration={"ConfigurationType": "LOCAL"}
    )
    described = hub.describe_organization_configuration()
    assert (described["AutoEnable"], described["AutoEnableStandards"]) == (True, "NONE")
    assert described["OrganizationConfiguration"] == {"ConfigurationType": "LOCAL", "Status": "ENABLED"}
    home = sandbox_client(served, "securityhub", security).describe_organization_configuration()
    assert (home["AutoEnable"], home["AutoEnableStandards"]) == (False, "DEFAULT")  # us-east-1 kept its own
    with pytest.raises(ClientError) as management:
        _hub(served).update_organization_configuration(AutoEnable=True)
    assert management.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_hub_reads_back_the_settings_last_updated(served: SandboxInfo) -> None:
    hub = _hub(served)
    with pytest.raises(ClientError) as off:
        hub.update_security_hub_configuration(AutoEnableControls=False)
    assert off.value.response["Error"]["Code"] == "InvalidAccessException"
    hub.enable_security_hub(EnableDefaultStandards=False)
    hub.update_security_hub_configuration(AutoEnableControls=False, ControlFindingGenerator="STANDARD_CONTROL")
    described = hub.describe_hub()
    assert (described["AutoEnableControls"], described["ControlFindingGenerator"]) == (False, "STANDARD_CONTROL")
    hub.batch_enable_standards(StandardsSubscriptionRequests=[{"StandardsArn": CIS}])
    hub.disable_security_hub()
    hub.enable_security_hub(EnableDefaultStandards=False)
    described = hub.describe_hub()  # a hub enabled again starts from AWS's defaults, with no standards
    assert (described["AutoEnableControls"], described["ControlFindingGenerator"]) == (True, "SECURITY_CONTROL")
    assert hub.get_enabled_standards()["StandardsSubscriptions"] == []


def test_analyzers_are_per_region_and_keep_their_unused_access_configuration(served: SandboxInfo) -> None:
    home, other = sandbox_client(served, "accessanalyzer"), sandbox_client(served, "accessanalyzer", region="eu-west-1")
    for client in (home, other):  # the same name in two regions: two analyzers
        client.create_analyzer(analyzerName="org", type="ACCOUNT")
    home.create_analyzer(
        analyzerName="unused",
        type="ACCOUNT_UNUSED_ACCESS",
        configuration={"unusedAccess": {"unusedAccessAge": 90}},
    )
    assert [(a["name"], a["arn"].split(":")[3]) for a in other.list_analyzers()["analyzers"]] == [("org", "eu-west-1")]
    (unused,) = home.list_analyzers(type="ACCOUNT_UNUSED_ACCESS")["analyzers"]
    assert unused["configuration"] == {"unusedAccess": {"unusedAccessAge": 90}}
    assert home.get_analyzer(analyzerName="unused")["analyzer"]["configuration"] == unused["configuration"]
    other.delete_analyzer(analyzerName="org")
    assert [a["name"] for a in home.list_analyzers(type="ACCOUNT")["analyzers"]] == ["org"]
