"""The security baseline's settings in every account, applied by the access stacks and checked with boto3 there.

A small organization, applied once: a security account and two workload accounts, all three under a region
guardrail that allows us-east-1 and eu-west-1, and a baseline that turns on the account-level S3 public access
block, EBS encryption by default and Config recorders. What each check expects is what the matrix below asks
for, written out by hand: the block in every account, encryption and a recording recorder in both regions of
every member account, and in the management account (which no SCP restricts) the block and the home region's
encryption but no recorder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from tests.helpers import explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

MATRIX = """\
version: 1
organization:
  name: settingsorg
  management_account: management
  units:
    - name: Security
    - name: Workloads
accounts:
  - {name: management, email: mgmt@settings.example, ou: /}
  - {name: security, email: security@settings.example, ou: Security}
  - {name: alpha, email: alpha@settings.example, ou: Workloads, environment: dev}
  - {name: beta, email: beta@settings.example, ou: Workloads, environment: dev}
guardrails:
  - name: region-allow-list
    builtin: region-allow-list
    parameters: {regions: [us-east-1, eu-west-1]}
    targets: {ous: [Security, Workloads]}
security_baseline:
  account: security
  cloudtrail: false
  guardduty: false
  access_analyzer: false
  log_retention_days: 30
  every_account:
    s3_public_access_block: true
    ebs_encryption: true
    config_recorder: true
"""

DEV = """\
name: dev
stacks: [organization, security]
accounts: [management, security, alpha, beta]
approval: none
"""

MEMBERS = ("security", "alpha", "beta")
REGIONS = ("us-east-1", "eu-west-1")
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(tmp_path_factory.mktemp("settings") / "project", MATRIX, {"dev": DEV})
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


def _client(deployed: Deployed, service: str, account: str, region: str = "us-east-1", **kw: Any) -> Any:
    member = None if account == "management" else deployed.account_ids[account]
    return sandbox_client(deployed.info, service, member, region=region, **kw)


def _account_id(deployed: Deployed, account: str) -> str:
    if account == "management":
        return str(_client(deployed, "sts", account).get_caller_identity()["Account"])
    return deployed.account_ids[account]


@pytest.mark.parametrize("account", ["management", *MEMBERS])
def test_every_account_blocks_public_s3_access(deployed: Deployed, account: str) -> None:
    # S3 Control puts the account ID in front of its host name: the client reaches the sandbox as a proxy.
    s3control = _client(deployed, "s3control", account, config=Config(proxies={"http": deployed.info.endpoint}))
    block = s3control.get_public_access_block(AccountId=_account_id(deployed, account))
    assert block["PublicAccessBlockConfiguration"] == ALL_BLOCKED


@pytest.mark.parametrize("account", MEMBERS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_member_account_encrypts_ebs_by_default_in_each_allowed_region(
    deployed: Deployed, account: str, region: str
) -> None:
    ec2 = _client(deployed, "ec2", account, region)
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True


def test_the_management_account_encrypts_ebs_in_the_home_region_only(deployed: Deployed) -> None:
    # No SCP restricts the management account, so the guardrail's regions are not its regions.
    assert _client(deployed, "ec2", "management").get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True
    other = _client(deployed, "ec2", "management", "eu-west-1")
    assert other.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


@pytest.mark.parametrize("account", MEMBERS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_member_account_records_config_into_the_security_accounts_bucket(
    deployed: Deployed, account: str, region: str
) -> None:
    config = _client(deployed, "config", account, region)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is True
    # IAM's global resources are recorded once, in the home region
    assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is (region == "us-east-1")
    assert recorder["roleARN"] == (
        f"arn:aws:iam::{deployed.account_ids[account]}:role/aws-service-role/config.amazonaws.com/"
        "AWSServiceRoleForConfig"
    )
    # the role exists: made by the access stack, or in the security account by the security stack
    iam = _client(deployed, "iam", account)
    assert iam.get_role(RoleName="AWSServiceRoleForConfig")["Role"]["Arn"] == recorder["roleARN"]
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["name"] == recorder["name"]
    assert status["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert channel["s3BucketName"] == f"settingsorg-security-logs-{deployed.account_ids['security']}"
    assert channel["s3KeyPrefix"] == "config"


def test_the_management_account_records_nothing(deployed: Deployed) -> None:
    for region in REGIONS:
        config = _client(deployed, "config", "management", region)
        assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []


def test_the_security_accounts_recorders_are_the_security_stacks_in_every_region(deployed: Deployed) -> None:
    """AWS allows one recorder per region: in the security account the security stack records in each region the
    organization may use, and the account's access stack records in none."""
    recorders = [r for r in deployed.state("security")["resources"] if r["type"] == "aws_config_configuration_recorder"]
    assert len(recorders) == len(REGIONS)
    access = [
        r for r in deployed.state("access-security")["resources"] if r["type"] == "aws_config_configuration_recorder"
    ]
    assert access == []


def test_a_second_plan_of_a_member_stack_changes_nothing(deployed: Deployed) -> None:
    result = run_cli(deployed.project, "plan", "--env", "dev", "--refresh", "--stacks", "access-alpha")
    assert result.returncode == 0, explain(result)
