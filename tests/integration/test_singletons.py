"""What an account can hold only one of is adopted, not created a second time, in every region.

The organization is applied first (stage `base`); a region guardrail allows eu-west-1 beside us-east-1. Making the
security account Security Hub's administrator there turns Security Hub on in it, in both regions, as AWS does.
Then, as a team that ran GuardDuty, AWS Config, Security Hub and GitHub's OIDC provider by hand would have, boto3
alone creates in the security account, in both regions, a detector, a recorder named `default` and its delivery
channel, in us-east-1 a subscription to the FSBP standard, and Config's service-linked role; in the workload
account GitHub's OIDC provider, Config's service-linked role and, in eu-west-1, a recorder and channel of its own.
The `dev` stage then manages the security baseline, the workload account's recorders and a role GitHub assumes:
AWS refuses a second detector, recorder, channel, service-linked role or OIDC provider and refuses to turn
Security Hub on twice, so the first plan must import them. What each check expects is written out by hand from
what boto3 created.
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
guardrails:
  - name: region-allow-list
    builtin: region-allow-list
    parameters: {regions: [us-east-1, eu-west-1]}
    targets: {ous: [Workloads]}
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
  every_account:
    config_recorder: true
    overrides:
      management: {config_recorder: false}
      security: {config_recorder: false}
"""
BASE = "name: base\nstacks: [organization]\naccounts: [management, security]\napproval: none\n"
DEV = "name: dev\nstacks: [security]\naccounts: [alpha]\napproval: none\n"
GITHUB = "token.actions.githubusercontent.com"
REGIONS = ("us-east-1", "eu-west-1")
FSBP = "aws-foundational-security-best-practices/v/1.0.0"
CIS = "cis-aws-foundations-benchmark/v/1.4.0"


@dataclass
class Existing:
    """The project after `base` was applied, and what boto3 then created by hand."""

    deployed: Deployed
    detectors: dict[str, str]
    """region → the security account's detector."""
    service_linked_role: str
    oidc_provider: str
    alpha_role: str
    hubs_since: dict[str, str]
    """region → when the security account's Security Hub was turned on."""
    fsbp_subscription: str
    """The security account's subscription to the FSBP standard in us-east-1."""


@pytest.fixture(scope="module")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Existing]:
    project = write_project(tmp_path_factory.mktemp("singletons") / "project", MATRIX, {"base": BASE, "dev": DEV})
    deployed = Deployed(project)
    try:
        applied = run_cli(project, "apply", "--env", "base", "--auto-approve")
        assert applied.returncode == 0, explain(applied)
        iam = deployed.client("iam", "security")
        role = iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]["Arn"]
        deployed.client("s3", "security").create_bucket(Bucket="once-config-by-hand")
        detectors = {}
        hubs_since = {}
        for region in REGIONS:
            hubs_since[region] = deployed.client("securityhub", "security", region).describe_hub()["SubscribedAt"]
            detectors[region] = deployed.client("guardduty", "security", region).create_detector(Enable=True)[
                "DetectorId"
            ]
            config = deployed.client("config", "security", region)
            config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
            config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "once-config-by-hand"})
        (fsbp,) = deployed.client("securityhub", "security").batch_enable_standards(
            StandardsSubscriptionRequests=[{"StandardsArn": f"arn:aws:securityhub:us-east-1::standards/{FSBP}"}]
        )["StandardsSubscriptions"]
        alpha = deployed.client("iam", "alpha")
        provider = alpha.create_open_id_connect_provider(
            Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
        )["OpenIDConnectProviderArn"]
        alpha_role = alpha.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]["Arn"]
        deployed.client("s3", "alpha").create_bucket(Bucket="alpha-config-by-hand")
        config = deployed.client("config", "alpha", "eu-west-1")
        config.put_configuration_recorder(ConfigurationRecorder={"name": "by-hand", "roleARN": alpha_role})
        config.put_delivery_channel(DeliveryChannel={"name": "by-hand", "s3BucketName": "alpha-config-by-hand"})
        yield Existing(deployed, detectors, role, provider, alpha_role, hubs_since, fsbp["StandardsSubscriptionArn"])
    finally:
        deployed.stop()


def test_the_sandbox_refuses_a_second_detector_in_a_region_as_guardduty_does(existing: Existing) -> None:
    guardduty = existing.deployed.client("guardduty", "security")
    with pytest.raises(ClientError) as refused:
        guardduty.create_detector(Enable=True)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    account = existing.deployed.account_ids["security"]
    other_region = sandbox_client(existing.deployed.info, "guardduty", account, region="us-west-2")
    other_region.delete_detector(DetectorId=other_region.create_detector(Enable=True)["DetectorId"])


def test_the_first_plan_imports_what_the_accounts_hold_and_apply_keeps_it(existing: Existing) -> None:
    project = existing.deployed.project
    planned = run_cli(project, "plan", "--env", "dev", "--json")
    assert planned.returncode == 2, explain(planned)
    imports = {r["stack"]: r["imports"] for r in json.loads(planned.stdout)["results"]}
    # security: Config's role, and in each region the detector, the recorder, its status, the delivery channel and
    # Security Hub, and us-east-1's FSBP subscription; alpha: GitHub's provider, Config's role, and eu-west-1's
    # recorder, its status and channel
    assert imports == {"security": 12, "access-alpha": 5}, imports

    applied = run_cli(project, "apply", "--env", "dev", "--auto-approve")
    assert applied.returncode == 0, explain(applied)
    deployed = existing.deployed
    for region in REGIONS:
        guardduty = deployed.client("guardduty", "security", region)
        assert guardduty.list_detectors()["DetectorIds"] == [existing.detectors[region]], region
        config = deployed.client("config", "security", region)
        recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
        assert [(r["name"], r["roleARN"]) for r in recorders] == [("default", existing.service_linked_role)], region
        assert config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"][0]["recording"] is True
        (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
        assert channel["name"] == "default", region
        assert channel["s3BucketName"].startswith("onceorg-security-logs-"), "the baseline's bucket takes the logs"
        hub = deployed.client("securityhub", "security", region)
        assert hub.describe_hub()["SubscribedAt"] == existing.hubs_since[region], "the hub turned on before is kept"
        standards = {
            s["StandardsArn"].split("::standards/")[1]: s for s in hub.get_enabled_standards()["StandardsSubscriptions"]
        }
        assert set(standards) == {FSBP, CIS}, region
    security = deployed.account_ids["security"]
    subscribed = deployed.client("securityhub", "security").get_enabled_standards()["StandardsSubscriptions"]
    assert existing.fsbp_subscription in {s["StandardsSubscriptionArn"] for s in subscribed}
    assert existing.fsbp_subscription == f"arn:aws:securityhub:us-east-1:{security}:subscription/{FSBP}"
    alpha_recorders = {
        region: [
            (r["name"], r["roleARN"])
            for r in deployed.client("config", "alpha", region).describe_configuration_recorders()[
                "ConfigurationRecorders"
            ]
        ]
        for region in REGIONS
    }
    # eu-west-1's recorder was adopted under its own name; us-east-1 had none, so the baseline's was created
    assert alpha_recorders == {
        "us-east-1": [("onceorg-recorder", existing.alpha_role)],
        "eu-west-1": [("by-hand", existing.alpha_role)],
    }
    (channel,) = deployed.client("config", "alpha", "eu-west-1").describe_delivery_channels()["DeliveryChannels"]
    assert (channel["name"], channel["s3BucketName"].startswith("onceorg-security-logs-")) == ("by-hand", True)
    roles = deployed.client("iam", "security").list_roles(PathPrefix="/aws-service-role/config.amazonaws.com/")
    assert [r["Arn"] for r in roles["Roles"]] == [existing.service_linked_role]
    alpha_roles = deployed.client("iam", "alpha").list_roles(PathPrefix="/aws-service-role/config.amazonaws.com/")
    assert [r["Arn"] for r in alpha_roles["Roles"]] == [existing.alpha_role]
    providers = deployed.client("iam", "alpha").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [existing.oidc_provider]
    trust = deployed.client("iam", "alpha").get_role(RoleName="ShipFromGitHub")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Federated": existing.oidc_provider}

    refreshed = run_cli(project, "plan", "--env", "dev", "--refresh")
    assert refreshed.returncode == 0, explain(refreshed)
