"""What an account can hold only one of is adopted, not created a second time.

The organization is applied first (stage `base`). Then, as a team that ran GuardDuty, AWS Config and GitHub's
OIDC provider by hand would have, boto3 alone creates in the security account a detector, Config's
service-linked role, a recorder named `default` and its delivery channel, and in the workload account GitHub's
OIDC provider. The `dev` stage then manages the security baseline and a role GitHub assumes: AWS refuses a
second detector, recorder, channel, service-linked role or OIDC provider, so the first plan must import them.
What each check expects is written out by hand from what boto3 created.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from tests.helpers import explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

MATRIX = """\
version: 1
organization:
  name: onceorg
  management_account: management
  units:
    - name: Security
    - name: Workloads
accounts:
  - {name: management, email: mgmt@once.example, ou: /}
  - {name: security, email: security@once.example, ou: Security}
  - {name: alpha, email: alpha@once.example, ou: Workloads, environment: dev}
roles:
  - name: ShipFromGitHub
    description: The pipeline deploys from GitHub Actions by OIDC
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: { provider: github, subject: "repo:once/app:ref:refs/heads/main" }
    managed_policies:
      - arn:aws:iam::aws:policy/ReadOnlyAccess
security_baseline:
  account: security
  cloudtrail: false
  access_analyzer: false
"""
BASE = "name: base\nstacks: [organization]\naccounts: [management, security]\napproval: none\n"
DEV = "name: dev\nstacks: [security]\naccounts: [alpha]\napproval: none\n"
GITHUB = "token.actions.githubusercontent.com"


@dataclass
class Existing:
    """The project after `base` was applied, and what boto3 then created by hand."""

    deployed: Deployed
    detector: str
    service_linked_role: str
    oidc_provider: str


@pytest.fixture(scope="module")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Existing]:
    project = write_project(tmp_path_factory.mktemp("singletons") / "project", MATRIX, {"base": BASE, "dev": DEV})
    deployed = Deployed(project)
    try:
        applied = run_cli(project, "apply", "--env", "base", "--auto-approve")
        assert applied.returncode == 0, explain(applied)
        detector = deployed.client("guardduty", "security").create_detector(Enable=True)["DetectorId"]
        iam = deployed.client("iam", "security")
        role = iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]["Arn"]
        deployed.client("s3", "security").create_bucket(Bucket="once-config-by-hand")
        config = deployed.client("config", "security")
        config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "once-config-by-hand"})
        provider = deployed.client("iam", "alpha").create_open_id_connect_provider(
            Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
        )["OpenIDConnectProviderArn"]
        yield Existing(deployed, detector, role, provider)
    finally:
        deployed.stop()


def test_the_sandbox_refuses_a_second_detector_in_a_region_as_guardduty_does(existing: Existing) -> None:
    guardduty = existing.deployed.client("guardduty", "security")
    with pytest.raises(ClientError) as refused:
        guardduty.create_detector(Enable=True)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    account = existing.deployed.account_ids["security"]
    other_region = sandbox_client(existing.deployed.info, "guardduty", account, region="eu-west-1")
    other_region.delete_detector(DetectorId=other_region.create_detector(Enable=True)["DetectorId"])


def test_the_first_plan_imports_what_the_accounts_hold_and_apply_keeps_it(existing: Existing) -> None:
    project = existing.deployed.project
    planned = run_cli(project, "plan", "--env", "dev", "--json")
    assert planned.returncode == 2, explain(planned)
    imports = {r["stack"]: r["imports"] for r in json.loads(planned.stdout)["results"]}
    # the detector, Config's role, the recorder, its status and the delivery channel; GitHub's provider
    assert imports == {"security": 5, "access-alpha": 1}, imports

    applied = run_cli(project, "apply", "--env", "dev", "--auto-approve")
    assert applied.returncode == 0, explain(applied)
    deployed = existing.deployed
    assert deployed.client("guardduty", "security").list_detectors()["DetectorIds"] == [existing.detector]
    config = deployed.client("config", "security")
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert [(r["name"], r["roleARN"]) for r in recorders] == [("default", existing.service_linked_role)]
    assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert channel["name"] == "default"
    assert channel["s3BucketName"].startswith("onceorg-security-logs-"), "the baseline's bucket now takes the logs"
    roles = deployed.client("iam", "security").list_roles(PathPrefix="/aws-service-role/config.amazonaws.com/")
    assert [r["Arn"] for r in roles["Roles"]] == [existing.service_linked_role]
    providers = deployed.client("iam", "alpha").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [existing.oidc_provider]
    trust = deployed.client("iam", "alpha").get_role(RoleName="ShipFromGitHub")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Federated": existing.oidc_provider}

    refreshed = run_cli(project, "plan", "--env", "dev", "--refresh")
    assert refreshed.returncode == 0, explain(refreshed)
