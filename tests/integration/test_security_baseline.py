"""The security baseline, applied to the sandbox by real Terraform and checked with boto3 in the security account.

A small organization: the management account, a security account in its own OU, and one workload account.
The matrix asks for the full baseline in the security account, attaches protect-security-services to
both OUs, and lets workloads use two regions, so the baseline's regional services run in both. The same apply
also turns on the baseline's settings in every account (the account-level S3 public access block, EBS
encryption by default and Config recorders), applied by each account's access stack, and adds a second
workload account. What each check expects is what the matrix below asks for, written out by hand: the block
in every account; encryption in both regions of every member account and, in the management account (which no
SCP restricts), in the home region only; a recorder in both regions of each workload account and none in the
management account.

The tests run in file order: the last one switches the baseline off by hand and then restores it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from tests.helpers import explain, log_bucket_lifecycle_rules, run_cli, sandbox_client, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

BASELINE_MATRIX = """\
version: 1
organization:
  name: baseorg
  management_account: management
  units:
    - name: Security
    - name: Workloads
accounts:
  - {name: management, email: mgmt@baseline.example, ou: /}
  - {name: security, email: security@baseline.example, ou: Security}
  - {name: alpha, email: alpha@baseline.example, ou: Workloads, environment: dev}
guardrails:
  - name: protect-security-services
    builtin: protect-security-services
    targets: {ous: [Security, Workloads]}
  - name: regions
    builtin: region-allow-list
    parameters: {regions: [us-east-1, eu-west-1]}
    targets: {ous: [Workloads]}
security_baseline:
  account: security
  log_retention_days: 30
"""

BASELINE_DEV = """\
name: dev
stacks: [organization, security]
accounts: [management, security, alpha]
approval: none
"""

# This module's apply: the baseline above, a second workload account, the region guardrail on the security
# account too, and the baseline's settings in every account.
SETTINGS_MATRIX = (
    BASELINE_MATRIX.replace(
        "  - {name: alpha, email: alpha@baseline.example, ou: Workloads, environment: dev}\n",
        "  - {name: alpha, email: alpha@baseline.example, ou: Workloads, environment: dev}\n"
        "  - {name: beta, email: beta@baseline.example, ou: Workloads, environment: dev}\n",
    ).replace(
        "    parameters: {regions: [us-east-1, eu-west-1]}\n    targets: {ous: [Workloads]}\n",
        "    parameters: {regions: [us-east-1, eu-west-1]}\n    targets: {ous: [Security, Workloads]}\n",
    )
    + """\
  every_account:
    s3_public_access_block: true
    ebs_encryption: true
    config_recorder: true
"""
)
SETTINGS_DEV = BASELINE_DEV.replace(
    "accounts: [management, security, alpha]", "accounts: [management, security, alpha, beta]"
)
assert SETTINGS_MATRIX.count("beta") == 2
assert "eu-west-1]}\n    targets: {ous: [Security, Workloads]}" in SETTINGS_MATRIX
assert SETTINGS_DEV != BASELINE_DEV

REGIONS = ("us-east-1", "eu-west-1")  # the home region, then the other region the guardrail allows
CIS = "arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/1.4.0"
FSBP = "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"

# What "disable" means for each service: the calls that stop it or delete it. The guardrail must deny each.
DISABLING_ACTIONS = {
    "cloudtrail": {"cloudtrail:StopLogging", "cloudtrail:DeleteTrail"},
    "guardduty": {"guardduty:DeleteDetector", "guardduty:UpdateDetector"},
    "config": {"config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder"},
    "access-analyzer": {"access-analyzer:DeleteAnalyzer"},
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(tmp_path_factory.mktemp("baseline") / "project", SETTINGS_MATRIX, {"dev": SETTINGS_DEV})
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


def _trail(baseline: Deployed) -> dict[str, Any]:
    (trail,) = baseline.client("cloudtrail", "security").describe_trails()["trailList"]
    return trail


def test_the_organization_trail_logs_every_region_into_the_security_account(baseline: Deployed) -> None:
    trail = _trail(baseline)
    assert trail["IsOrganizationTrail"] is True
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert trail["TrailARN"].split(":")[4] == baseline.account_ids["security"]
    status = baseline.client("cloudtrail", "security").get_trail_status(Name=trail["Name"])
    assert status["IsLogging"] is True


def test_the_trail_feeds_an_encrypted_log_group_whose_cis_alarms_notify_an_encrypted_topic(baseline: Deployed) -> None:
    trail = _trail(baseline)
    security = baseline.account_ids["security"]
    logs = baseline.client("logs", "security")
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/baseorg/organization-trail")["logGroups"]
    assert trail["CloudWatchLogsLogGroupArn"] == group["arn"]  # the group's ARN ends in ":*", as the trail's
    assert group["retentionInDays"] == 365  # CIS asks for a year at least, whatever the bucket keeps
    assert group["kmsKeyId"] == trail["KmsKeyId"]
    role = trail["CloudWatchLogsRoleArn"]
    assert role.split(":")[4] == security
    trust = baseline.client("iam", "security").get_role(RoleName=role.rsplit("/", 1)[1])["Role"]
    assert trust["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}

    filters = logs.describe_metric_filters(logGroupName=group["logGroupName"])["metricFilters"]
    watched = {f["metricTransformations"][0]["metricName"]: f["filterPattern"] for f in filters}
    assert set(watched) == {
        "unauthorized-api-calls",
        "root-account-use",
        "iam-policy-changes",
        "cloudtrail-config-changes",
        "console-sign-in-failures",
        "console-sign-in-without-mfa",
        "kms-key-disable-or-deletion",
        "s3-bucket-policy-changes",
        "config-changes",
        "security-group-changes",
        "nacl-changes",
        "organizations-changes",
    }
    assert '$.userIdentity.type = "Root"' in watched["root-account-use"]
    assert "ScheduleKeyDeletion" in watched["kms-key-disable-or-deletion"]
    assert "StopLogging" in watched["cloudtrail-config-changes"]

    alarms = baseline.client("cloudwatch", "security").describe_alarms(AlarmNamePrefix="baseorg-")["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} == set(watched)
    (topic,) = {action for a in alarms for action in a["AlarmActions"]}
    attributes = baseline.client("sns", "security").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == trail["KmsKeyId"]


def test_the_log_bucket_is_kms_encrypted_versioned_and_closed_to_the_public(baseline: Deployed) -> None:
    trail = _trail(baseline)
    s3 = baseline.client("s3", "security")
    bucket = trail["S3BucketName"]
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}  # the bucket lives in the security account

    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    default = rule["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == trail["KmsKeyId"]  # the trail and the bucket use the same key

    kms = baseline.client("kms", "security")
    key = kms.describe_key(KeyId=trail["KmsKeyId"])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert key["AWSAccountId"] == baseline.account_ids["security"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (ownership,) = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == {"ObjectOwnership": "BucketOwnerEnforced"}
    # in the sandbox through the buckets' inline lifecycle_rule; the module's end-to-end test checks the same
    # answer from aws_s3_bucket_lifecycle_configuration, which real AWS gets
    for logged in (bucket, bucket.replace("-security-logs-", "-access-logs-")):
        assert s3.get_bucket_lifecycle_configuration(Bucket=logged)["Rules"] == log_bucket_lifecycle_rules(30)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    denies_plain_http = [
        s
        for s in policy["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert denies_plain_http, policy
    # an organization trail is the management account's, whoever creates it: CloudTrail writes for that ARN only
    management = baseline.client("organizations").describe_organization()["Organization"]["MasterAccountId"]
    management_trail = f"arn:aws:cloudtrail:us-east-1:{management}:trail/{trail['Name']}"
    (writes,) = [
        s
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
        and s["Action"] == "s3:PutObject"
        and s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    ]
    assert writes["Condition"]["StringEquals"]["aws:SourceArn"] == management_trail
    key_policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert "logs.us-east-1.amazonaws.com" in {s["Principal"].get("Service") for s in key_policy["Statement"]}
    (encrypts,) = [s for s in key_policy["Statement"] if s["Principal"] == {"Service": "cloudtrail.amazonaws.com"}]
    context = encrypts["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"]
    assert context == f"arn:aws:cloudtrail:*:{management}:trail/*"


def test_the_log_bucket_logs_its_access_into_a_separate_bucket_that_only_s3_logging_writes(baseline: Deployed) -> None:
    security = baseline.account_ids["security"]
    s3 = baseline.client("s3", "security")
    bucket = _trail(baseline)["S3BucketName"]
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    target = logging["TargetBucket"]
    assert target == f"baseorg-access-logs-{security}"
    assert logging["TargetPrefix"] == f"{bucket}/"
    assert s3.get_bucket_logging(Bucket=target).get("LoggingEnabled") is None  # it does not log itself
    (rule,) = s3.get_bucket_encryption(Bucket=target)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # S3 logs into no other
    assert s3.get_public_access_block(Bucket=target)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    statements = json.loads(s3.get_bucket_policy(Bucket=target)["Policy"])["Statement"]
    (writes,) = [s for s in statements if s["Effect"] == "Allow"]
    assert writes["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert writes["Resource"] == f"arn:aws:s3:::{target}/{bucket}/*"
    assert writes["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:s3:::{bucket}"
    assert writes["Condition"]["StringEquals"]["aws:SourceAccount"] == security
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements)


@pytest.mark.parametrize("region", REGIONS)
def test_guardduty_is_on_and_the_security_account_administers_it_for_the_organization(
    baseline: Deployed, region: str
) -> None:
    security_id = baseline.account_ids["security"]
    admins = baseline.client("guardduty", region=region).list_organization_admin_accounts()["AdminAccounts"]
    assert admins == [{"AdminAccountId": security_id, "AdminStatus": "ENABLED"}]
    # the management account has a detector of its own in the region, which designating the administrator needs
    (management_detector,) = baseline.client("guardduty", region=region).list_detectors()["DetectorIds"]
    assert (
        baseline.client("guardduty", region=region).get_detector(DetectorId=management_detector)["Status"] == "ENABLED"
    )

    guardduty = baseline.client("guardduty", "security", region)
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    assert guardduty.get_detector(DetectorId=detector_id)["Status"] == "ENABLED"
    org_config = guardduty.describe_organization_configuration(DetectorId=detector_id)
    assert org_config["AutoEnableOrganizationMembers"] == "ALL"


@pytest.mark.parametrize("region", REGIONS)
def test_config_records_everything_in_each_region_into_the_log_bucket(baseline: Deployed, region: str) -> None:
    config = baseline.client("config", "security", region)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is True
    # global resources (IAM) are recorded once, in the home region
    assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is (region == "us-east-1")
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert channel["s3BucketName"] == _trail(baseline)["S3BucketName"]


def test_the_home_regions_aggregator_covers_every_allowed_region_of_the_organization(baseline: Deployed) -> None:
    (aggregator,) = baseline.client("config", "security").describe_configuration_aggregators()[
        "ConfigurationAggregators"
    ]
    source = aggregator["OrganizationAggregationSource"]
    assert source["AllAwsRegions"] is False
    assert sorted(source["AwsRegions"]) == sorted(REGIONS)
    assert source["RoleArn"].split(":")[4] == baseline.account_ids["security"]
    elsewhere = baseline.client("config", "security", "eu-west-1").describe_configuration_aggregators()
    assert elsewhere["ConfigurationAggregators"] == []


@pytest.mark.parametrize("region", REGIONS)
def test_security_hub_runs_both_standards_and_administers_the_organization(baseline: Deployed, region: str) -> None:
    security_id = baseline.account_ids["security"]
    admins = baseline.client("securityhub", region=region).list_organization_admin_accounts()["AdminAccounts"]
    assert admins == [{"AccountId": security_id, "Status": "ENABLED"}]

    hub = baseline.client("securityhub", "security", region)
    assert hub.describe_hub()["HubArn"] == f"arn:aws:securityhub:{region}:{security_id}:hub/default"
    subscriptions = hub.get_enabled_standards()["StandardsSubscriptions"]
    assert {(s["StandardsArn"], s["StandardsStatus"]) for s in subscriptions} == {
        (CIS.format(region=region), "READY"),
        (FSBP.format(region=region), "READY"),
    }
    org_config = hub.describe_organization_configuration()
    assert org_config["AutoEnable"] is True
    assert org_config["OrganizationConfiguration"]["ConfigurationType"] == "LOCAL"


@pytest.mark.parametrize("region", REGIONS)
def test_access_analyzer_watches_the_whole_organization(baseline: Deployed, region: str) -> None:
    analyzer = baseline.client("accessanalyzer", "security", region)
    analyzers = analyzer.list_analyzers(type="ORGANIZATION")["analyzers"]
    assert [(a["type"], a["status"]) for a in analyzers] == [("ORGANIZATION", "ACTIVE")]
    assert analyzers[0]["arn"].split(":")[3:5] == [region, baseline.account_ids["security"]]
    # unused access is IAM's, which is global: one analyzer, in the home region, finds it for every region
    unused = analyzer.list_analyzers(type="ORGANIZATION_UNUSED_ACCESS")["analyzers"]
    if region == "us-east-1":
        (one,) = unused
        assert one["configuration"] == {"unusedAccess": {"unusedAccessAge": 90}}
    else:
        assert unused == []


def test_the_organization_trusts_the_services_and_delegates_them_to_the_security_account(baseline: Deployed) -> None:
    org = baseline.client("organizations")
    enabled = {
        s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    }
    assert {
        "cloudtrail.amazonaws.com",
        "guardduty.amazonaws.com",
        "config.amazonaws.com",
        "access-analyzer.amazonaws.com",
        "securityhub.amazonaws.com",
    } <= enabled
    delegated = org.list_delegated_services_for_account(AccountId=baseline.account_ids["security"])
    # an organization trail kept outside the management account needs CloudTrail's delegated administrator;
    # an organization aggregator there needs both Config principals (AWS Config guide)
    assert {
        "cloudtrail.amazonaws.com",
        "access-analyzer.amazonaws.com",
        "config-multiaccountsetup.amazonaws.com",
        "config.amazonaws.com",
    } <= {s["ServicePrincipal"] for s in delegated["DelegatedServices"]}


def test_protect_security_services_is_attached_where_the_matrix_says_and_denies_disabling_each(
    baseline: Deployed,
) -> None:
    org = baseline.client("organizations")
    policies = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    policy_id = policies["protect-security-services"]
    targets = org.list_targets_for_policy(PolicyId=policy_id)["Targets"]
    assert {(t["Type"], t["Name"]) for t in targets} == {
        ("ORGANIZATIONAL_UNIT", "Security"),
        ("ORGANIZATIONAL_UNIT", "Workloads"),
    }
    # the security account itself sits under one of them
    (parent,) = org.list_parents(ChildId=baseline.account_ids["security"])["Parents"]
    assert parent["Id"] in {t["TargetId"] for t in targets}

    content = json.loads(org.describe_policy(PolicyId=policy_id)["Policy"]["Content"])
    denied: set[str] = set()
    for statement in content["Statement"]:
        assert statement["Effect"] == "Deny"
        actions = statement["Action"]
        denied |= {actions} if isinstance(actions, str) else set(actions)
        # the pipeline that applies the guardrail stays able to manage the services
        exempt = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        assert "arn:aws:iam::*:role/OrganizationAccountAccessRole" in exempt
    for service, actions in DISABLING_ACTIONS.items():
        assert actions <= denied, f"{service}: {sorted(actions - denied)} not denied"


# ---- the baseline's settings in every account, applied by the access stacks ---------------------------------

SETTINGS_MEMBERS = ("security", "alpha", "beta")
WORKLOADS = ("alpha", "beta")
"""The member accounts whose access stack records Config: in the security account the security stack does."""
ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _settings_client(baseline: Deployed, service: str, account: str, region: str = "us-east-1", **kw: Any) -> Any:
    member = None if account == "management" else baseline.account_ids[account]
    return sandbox_client(baseline.info, service, member, region=region, **kw)


def _account_id(baseline: Deployed, account: str) -> str:
    if account == "management":
        return str(_settings_client(baseline, "sts", account).get_caller_identity()["Account"])
    return baseline.account_ids[account]


@pytest.mark.parametrize("account", ["management", *SETTINGS_MEMBERS])
def test_every_account_blocks_public_s3_access(baseline: Deployed, account: str) -> None:
    # S3 Control puts the account ID in front of its host name: the client reaches the sandbox as a proxy.
    s3control = _settings_client(
        baseline, "s3control", account, config=Config(proxies={"http": baseline.info.endpoint})
    )
    block = s3control.get_public_access_block(AccountId=_account_id(baseline, account))
    assert block["PublicAccessBlockConfiguration"] == ALL_BLOCKED


@pytest.mark.parametrize("account", SETTINGS_MEMBERS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_member_account_encrypts_ebs_by_default_in_each_allowed_region(
    baseline: Deployed, account: str, region: str
) -> None:
    ec2 = _settings_client(baseline, "ec2", account, region)
    assert ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is True


def test_the_management_account_encrypts_ebs_in_the_home_region_only(baseline: Deployed) -> None:
    # No SCP restricts the management account, so the guardrail's regions are not its regions.
    assert (
        _settings_client(baseline, "ec2", "management").get_ebs_encryption_by_default()["EbsEncryptionByDefault"]
        is True
    )
    other = _settings_client(baseline, "ec2", "management", "eu-west-1")
    assert other.get_ebs_encryption_by_default()["EbsEncryptionByDefault"] is False


@pytest.mark.parametrize("account", WORKLOADS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_workload_account_records_config_into_the_security_accounts_bucket(
    baseline: Deployed, account: str, region: str
) -> None:
    config = _settings_client(baseline, "config", account, region)
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["recordingGroup"]["allSupported"] is True
    # IAM's global resources are recorded once, in the home region
    assert recorder["recordingGroup"]["includeGlobalResourceTypes"] is (region == "us-east-1")
    assert recorder["roleARN"] == (
        f"arn:aws:iam::{baseline.account_ids[account]}:role/aws-service-role/config.amazonaws.com/"
        "AWSServiceRoleForConfig"
    )
    # the role exists: the access stack made it
    iam = _settings_client(baseline, "iam", account)
    assert iam.get_role(RoleName="AWSServiceRoleForConfig")["Role"]["Arn"] == recorder["roleARN"]
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["name"] == recorder["name"]
    assert status["recording"] is True
    (channel,) = config.describe_delivery_channels()["DeliveryChannels"]
    assert channel["s3BucketName"] == f"baseorg-security-logs-{baseline.account_ids['security']}"
    assert channel["s3KeyPrefix"] == "config"


def test_the_management_account_records_nothing(baseline: Deployed) -> None:
    for region in REGIONS:
        config = _settings_client(baseline, "config", "management", region)
        assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []


def test_the_security_accounts_recorders_are_the_security_stacks_in_every_region(baseline: Deployed) -> None:
    """AWS allows one recorder per region: in the security account the security stack records in each region the
    organization may use, and the account's access stack records in none."""
    recorders = [r for r in baseline.state("security")["resources"] if r["type"] == "aws_config_configuration_recorder"]
    assert len(recorders) == len(REGIONS)
    access = [
        r for r in baseline.state("access-security")["resources"] if r["type"] == "aws_config_configuration_recorder"
    ]
    assert access == []


def test_a_second_plan_of_a_member_stack_changes_nothing(baseline: Deployed) -> None:
    result = run_cli(baseline.project, "plan", "--env", "dev", "--refresh", "--stacks", "access-alpha")
    assert result.returncode == 0, explain(result)


def test_switching_the_baseline_off_by_hand_is_drift_and_apply_restores_it(baseline: Deployed) -> None:
    trail = _trail(baseline)["Name"]
    cloudtrail = baseline.client("cloudtrail", "security")
    guardduty = baseline.client("guardduty", "security")
    config = baseline.client("config", "security")
    analyzer = baseline.client("accessanalyzer", "security")
    config_elsewhere = baseline.client("config", "security", "eu-west-1")
    (detector_id,) = guardduty.list_detectors()["DetectorIds"]
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    (org_analyzer,) = analyzer.list_analyzers(type="ORGANIZATION")["analyzers"]

    cloudtrail.stop_logging(Name=trail)
    guardduty.update_detector(DetectorId=detector_id, Enable=False)
    config.stop_configuration_recorder(ConfigurationRecorderName=recorder["name"])
    config_elsewhere.stop_configuration_recorder(ConfigurationRecorderName=recorder["name"])
    analyzer.delete_analyzer(analyzerName=org_analyzer["name"])

    # the security stack alone, as a CI job would name it: the other stacks' drift is test_drift.py's
    result = run_cli(baseline.project, "drift", "--env", "dev", "--stacks", "security", "--json")
    assert result.returncode == 2, explain(result)
    report = json.loads(result.stdout)
    changed = {(c["stack"], c["address"], c["action"]) for s in report["stacks"] for c in s["changes"]}
    home = "module.security_baseline.module.home_region"
    assert changed == {
        ("security", "module.security_baseline.aws_cloudtrail.organization[0]", "update"),
        ("security", f"{home}.aws_guardduty_detector.this[0]", "update"),
        ("security", f"{home}.aws_config_configuration_recorder_status.this[0]", "update"),
        ("security", "module.security_baseline_eu_west_1.aws_config_configuration_recorder_status.this[0]", "update"),
        ("security", f"{home}.aws_accessanalyzer_analyzer.organization[0]", "delete"),
    }
    trail_change = next(c for s in report["stacks"] for c in s["changes"] if "aws_cloudtrail" in c["address"])
    assert [(a["name"], a["before"], a["after"]) for a in trail_change["attributes"]] == [
        ("enable_logging", True, False)
    ]

    restored = run_cli(baseline.project, "apply", "--env", "dev", "--stacks", "security", "--refresh", "--auto-approve")
    assert restored.returncode == 0, explain(restored)
    assert cloudtrail.get_trail_status(Name=trail)["IsLogging"] is True
    assert guardduty.get_detector(DetectorId=detector_id)["Status"] == "ENABLED"
    for client in (config, config_elsewhere):
        (status,) = client.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
        assert status["recording"] is True
    assert [a["name"] for a in analyzer.list_analyzers(type="ORGANIZATION")["analyzers"]] == [org_analyzer["name"]]
