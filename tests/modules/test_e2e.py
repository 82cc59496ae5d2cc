"""Each module applied on its own to the sandbox, the way a consumer's root would (tests/modules/e2e.py).

Every case runs tftest's setup, apply and output, checks the outputs and, with boto3 in the account the
module lives in, what was created; plans again and expects no changes; destroys, and checks with boto3 that
nothing the module made is left. What each check expects is read from the case's tfvars, written by hand.

The cases share one sandbox and its organization per session (one per xdist worker), so they are kept in
this one file: `--dist loadfile` (and `--dist loadgroup`, through the xdist_group mark) runs them on one
worker, one sandbox. Under plain `--dist load` each worker that draws a case starts a sandbox of its own.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from securecart_tf import sandbox
from tests.helpers import log_bucket_lifecycle_rules
from tests.modules import readme
from tests.modules.e2e import E2ECase, Root, SandboxOrganization
from tests.modules.inventory import MODULES, ROOT, load_cases

pytestmark = pytest.mark.xdist_group("module-e2e")

Outputs = Mapping[str, Any]


def _doc(text: str) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _error_code(call: Callable[[], Any]) -> str:
    """The AWS error code `call` fails with; fails the test if the call succeeds."""
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    pytest.fail("expected the call to fail: the resource is still there")


# -- account-iam: shared-services.tfvars, in the shared-services account ----------------------------------

DEVELOPER_BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    ],
}
DEPLOY_APPS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"}],
}
GITHUB = "token.actions.githubusercontent.com"


def _account_iam_created(org: SandboxOrganization, out: Outputs) -> None:
    account = org.account_ids["shared-services"]
    assert out["policy_arns"] == {
        "DeveloperBoundary": f"arn:aws:iam::{account}:policy/securecart/DeveloperBoundary",
        "DeployApps": f"arn:aws:iam::{account}:policy/DeployApps",
    }
    assert out["oidc_provider_arns"] == {"github": f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"}
    iam = org.client("iam", "shared-services")
    for name, document, description in (
        ("DeveloperBoundary", DEVELOPER_BOUNDARY, "The most a developer role may ever do"),
        ("DeployApps", DEPLOY_APPS, ""),
    ):
        policy = iam.get_policy(PolicyArn=out["policy_arns"][name])["Policy"]
        assert policy.get("Description", "") == description
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        assert _doc(version["PolicyVersion"]["Document"]) == document
        tags = iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"]
        assert {"Key": "securecart:stack", "Value": "access-shared-services"} in tags
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=out["oidc_provider_arns"]["github"])
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert provider["ThumbprintList"] == ["6938fd4d98bab03faadb97b34396831e3780aea1"]
    # The management account holds none of it.
    local = org.client("iam").list_policies(Scope="Local")["Policies"]
    assert not {"DeveloperBoundary", "DeployApps"} & {p["PolicyName"] for p in local}


def _account_iam_gone(org: SandboxOrganization, out: Outputs) -> None:
    iam = org.client("iam", "shared-services")
    for arn in out["policy_arns"].values():
        assert _error_code(functools.partial(iam.get_policy, PolicyArn=arn)) == "NoSuchEntity"
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


# -- iam-role: developer.tfvars, in the dev account, with its boundary and deploy policy already there -----


def _iam_role_prepare(org: SandboxOrganization) -> None:
    iam = org.client("iam", "dev")
    existing = {p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]}
    wanted = (("DeveloperBoundary", "/securecart/", DEVELOPER_BOUNDARY), ("DeployApps", "/", DEPLOY_APPS))
    for name, path, document in wanted:
        if name not in existing:
            iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(document))


def _iam_role_vars(org: SandboxOrganization) -> dict[str, Any]:
    dev = org.account_ids["dev"]
    return {
        "permissions_boundary": f"arn:aws:iam::{dev}:policy/securecart/DeveloperBoundary",
        "managed_policies": {
            "arn:aws:iam::aws:policy/ReadOnlyAccess": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "policy:DeployApps": f"arn:aws:iam::{dev}:policy/DeployApps",
        },
    }


def _iam_role_created(org: SandboxOrganization, out: Outputs) -> None:
    dev = org.account_ids["dev"]
    assert out["name"] == "DeveloperRole"
    assert out["arn"] == f"arn:aws:iam::{dev}:role/securecart/DeveloperRole"
    iam = org.client("iam", "dev")
    role = iam.get_role(RoleName="DeveloperRole")["Role"]
    assert role["Path"] == "/securecart/"
    assert role["Description"] == "Developers build and debug in dev and staging"
    assert role["MaxSessionDuration"] == 14400
    boundary = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert boundary == f"arn:aws:iam::{dev}:policy/securecart/DeveloperBoundary"
    (statement,) = _doc(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert {"Key": "securecart:audience", "Value": "human"} in role["Tags"]
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="DeveloperRole")["AttachedPolicies"]}
    assert attached == {"arn:aws:iam::aws:policy/ReadOnlyAccess", f"arn:aws:iam::{dev}:policy/DeployApps"}
    assert iam.list_role_policies(RoleName="DeveloperRole")["PolicyNames"] == ["logs"]
    inline = _doc(iam.get_role_policy(RoleName="DeveloperRole", PolicyName="logs")["PolicyDocument"])
    assert inline["Statement"] == [{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}]
    assert _error_code(lambda: org.client("iam").get_role(RoleName="DeveloperRole")) == "NoSuchEntity"


def _iam_role_gone(org: SandboxOrganization, out: Outputs) -> None:
    iam = org.client("iam", "dev")
    assert _error_code(lambda: iam.get_role(RoleName="DeveloperRole")) == "NoSuchEntity"
    # The policies it attached belong to the account, not the module: still there, attached nowhere.
    deploy = iam.get_policy(PolicyArn=f"arn:aws:iam::{org.account_ids['dev']}:policy/DeployApps")["Policy"]
    assert deploy["AttachmentCount"] == 0


# -- identity-center: securecart.tfvars, in the management account -----------------------------------------

SCIM_GROUPS = next(c.scim_groups for c in load_cases("identity-center") if c.name == "securecart")
# Assignment key "<group>|<permission set>|<account>" → the sandbox account it targets.
ASSIGNMENTS = (
    "Developers|DeveloperAccess|dev",
    "SecurityTeam|AuditReadOnly|security",
    "AuditReaders|AuditReadOnly|security",
    "SecurityTeam|PlatformAdmin|management",
)


def _identity_center_prepare(org: SandboxOrganization) -> None:
    sandbox.provision_scim_groups(org.client, list(SCIM_GROUPS))


def _identity_center_vars(org: SandboxOrganization) -> dict[str, Any]:
    assignments = {}
    for key in ASSIGNMENTS:
        group, permission_set, account = key.split("|")
        assignments[key] = {"group": group, "permission_set": permission_set, "account_id": org.account_id(account)}
    return {"assignments": assignments}


def _groups(org: SandboxOrganization) -> dict[str, str]:
    store = org.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    pages = org.client("identitystore").get_paginator("list_groups").paginate(IdentityStoreId=store)
    return {g["DisplayName"]: g["GroupId"] for page in pages for g in page["Groups"]}


def _identity_center_created(org: SandboxOrganization, out: Outputs) -> None:
    sso = org.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    assert out["instance_arn"] == instance
    groups = _groups(org)
    assert out["group_ids"] == {name: groups[name] for name in ("Developers", "SecurityTeam", "AuditReaders")}
    sets = out["permission_set_arns"]
    assert set(sets) == {"DeveloperAccess", "AuditReadOnly", "PlatformAdmin"}
    assert set(sets.values()) <= set(sso.list_permission_sets(InstanceArn=instance)["PermissionSets"])
    developer = sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=sets["DeveloperAccess"])
    assert developer["PermissionSet"]["SessionDuration"] == "PT8H"
    managed = sso.list_managed_policies_in_permission_set(InstanceArn=instance, PermissionSetArn=sets["AuditReadOnly"])
    assert [p["Arn"] for p in managed["AttachedManagedPolicies"]] == [
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    ]
    customer = sso.list_customer_managed_policy_references_in_permission_set(
        InstanceArn=instance, PermissionSetArn=sets["DeveloperAccess"]
    )["CustomerManagedPolicyReferences"]
    assert customer == [{"Name": "DeployApps", "Path": "/"}]
    inline = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=sets["DeveloperAccess"])
    assert _doc(inline["InlinePolicy"])["Statement"] == [
        {"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}
    ]
    for key in ASSIGNMENTS:
        group, permission_set, account = key.split("|")
        assigned = sso.list_account_assignments(
            InstanceArn=instance, AccountId=org.account_id(account), PermissionSetArn=sets[permission_set]
        )["AccountAssignments"]
        assert {(a["PrincipalType"], a["PrincipalId"]) for a in assigned} >= {("GROUP", groups[group])}, key
    boundaries = {}
    for name, arn in sets.items():
        try:
            found = sso.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
            boundaries[name] = found["PermissionsBoundary"]
        except ClientError as exc:
            boundaries[name] = exc.response["Error"]["Code"]
    assert boundaries == {
        "DeveloperAccess": {"CustomerManagedPolicyReference": {"Name": "DeveloperBoundary", "Path": "/securecart/"}},
        "AuditReadOnly": {"ManagedPolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        "PlatformAdmin": "ResourceNotFoundException",
    }


def _identity_center_gone(org: SandboxOrganization, out: Outputs) -> None:
    sso = org.client("sso-admin")
    instance = out["instance_arn"]
    remaining = set(sso.list_permission_sets(InstanceArn=instance)["PermissionSets"])
    assert not remaining & set(out["permission_set_arns"].values())
    groups = _groups(org)
    assert "AuditReaders" not in groups  # created by the module
    assert set(SCIM_GROUPS) <= set(groups)  # provisioned by the IdP: not the module's to delete
    # The sandbox deletes a permission set without its assignments, so look for them by group.
    for group in SCIM_GROUPS:
        left = sso.list_account_assignments_for_principal(
            InstanceArn=instance, PrincipalId=groups[group], PrincipalType="GROUP"
        )["AccountAssignments"]
        assert left == [], group


# -- organization: securecart.tfvars, in a sandbox of its own (it creates the organization) ----------------

OU_PARENTS = {
    "SecurityOU": "/",
    "WorkloadsOU": "/",
    "SharedServicesOU": "/",
    "WorkloadsOU/NonProdOU": "WorkloadsOU",
    "WorkloadsOU/ProdOU": "WorkloadsOU",
    "WorkloadsOU/ProdOU/PciOU": "WorkloadsOU/ProdOU",
}
ORGANIZATION_TRUSTS = (
    "sso.amazonaws.com",
    "guardduty.amazonaws.com",
    "access-analyzer.amazonaws.com",
    "securityhub.amazonaws.com",
)
ACCOUNT_PARENTS = {
    "security": "SecurityOU",
    "shared-services": "SharedServicesOU",
    "dev": "WorkloadsOU/NonProdOU",
    "payments": "WorkloadsOU/ProdOU/PciOU",
}


def _organization_created(org: SandboxOrganization, out: Outputs) -> None:
    organizations = org.client("organizations")
    described = organizations.describe_organization()["Organization"]
    assert out["organization_id"] == described["Id"]
    assert described["FeatureSet"] == "ALL"
    assert out["root_id"] == organizations.list_roots()["Roots"][0]["Id"]
    ous = out["ou_ids"]
    assert set(ous) == {"/", *OU_PARENTS}
    assert ous["/"] == out["root_id"]
    for path, parent in OU_PARENTS.items():
        assert organizations.list_parents(ChildId=ous[path])["Parents"][0]["Id"] == ous[parent], path
        assert (
            organizations.describe_organizational_unit(OrganizationalUnitId=ous[path])["OrganizationalUnit"]["Name"]
            == path.split("/")[-1]
        )
    accounts = out["account_ids"]
    assert set(accounts) == {"management", *ACCOUNT_PARENTS}
    assert accounts["management"] == described["MasterAccountId"]
    for name, parent in ACCOUNT_PARENTS.items():
        assert organizations.list_parents(ChildId=accounts[name])["Parents"][0]["Id"] == ous[parent], name
    tags = {t["Key"]: t["Value"] for t in organizations.list_tags_for_resource(ResourceId=accounts["payments"])["Tags"]}
    assert tags == {"securecart:stack": "organization", "securecart:environment": "prod"}
    trusted = organizations.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert {s["ServicePrincipal"] for s in trusted} == set(ORGANIZATION_TRUSTS)
    delegated = organizations.list_delegated_services_for_account(AccountId=accounts["security"])["DelegatedServices"]
    assert "access-analyzer.amazonaws.com" in {d["ServicePrincipal"] for d in delegated}
    admins = org.client("guardduty").list_organization_admin_accounts()["AdminAccounts"]
    assert [a["AdminAccountId"] for a in admins] == [accounts["security"]]
    # the management account's own detector, which designating GuardDuty's administrator needs
    (detector,) = org.client("guardduty").list_detectors()["DetectorIds"]
    assert org.client("guardduty").get_detector(DetectorId=detector)["Status"] == "ENABLED"
    hub_admins = org.client("securityhub").list_organization_admin_accounts()["AdminAccounts"]
    assert hub_admins == [{"AccountId": accounts["security"], "Status": "ENABLED"}]


def _organization_gone(org: SandboxOrganization, out: Outputs) -> None:
    """Accounts are closed, OUs and delegations gone. A closed account stays in its organization (SUSPENDED)
    until AWS removes it, 90 days on, so the organization itself outlives destroy and left the state first."""
    organizations = org.client("organizations")
    assert organizations.describe_organization()["Organization"]["Id"] == out["organization_id"]
    members = {
        a["Id"]: a["Status"]
        for a in organizations.list_accounts()["Accounts"]
        if a["Id"] != out["account_ids"]["management"]
    }
    assert members == {out["account_ids"][name]: "SUSPENDED" for name in ACCOUNT_PARENTS}
    assert organizations.list_organizational_units_for_parent(ParentId=out["root_id"])["OrganizationalUnits"] == []
    assert organizations.list_delegated_administrators()["DelegatedAdministrators"] == []
    assert org.client("guardduty").list_organization_admin_accounts()["AdminAccounts"] == []
    assert org.client("guardduty").list_detectors()["DetectorIds"] == []
    assert org.client("securityhub").list_organization_admin_accounts()["AdminAccounts"] == []
    # What outlives destroy is the organization as the tfvars set it: its management account and trusted services.
    management = organizations.describe_account(AccountId=out["account_ids"]["management"])["Account"]
    assert management["Status"] == "ACTIVE"
    trusted = organizations.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert {s["ServicePrincipal"] for s in trusted} == set(ORGANIZATION_TRUSTS)


# -- security-baseline: all-services.tfvars, in the security account ----------------------------------------


# Config's service-linked role, found by its path (AWSServiceRoleForConfig, as AWS names it).
CONFIG_ROLE_PATH = "/aws-service-role/config.amazonaws.com/"


def _config_roles(org: SandboxOrganization) -> list[str]:
    return [r["Arn"] for r in org.client("iam", "security").list_roles(PathPrefix=CONFIG_ROLE_PATH)["Roles"]]


def _security_baseline_vars(org: SandboxOrganization) -> dict[str, Any]:
    # the sandbox, like S3, writes the log bucket's access logs into the access-log bucket: destroy must empty it
    return {
        "management_account_id": org.management_id,
        "organization_id": org.organization_id,
        "force_destroy_logs": True,
    }


# Where the module kept these before its regional services moved into ./region and the lifecycle
# configurations took a count (the version before 63501d1): a state that version applied must plan no change.
_BASELINE = "module.security_baseline"
_HOME = f"{_BASELINE}.module.home_region"
SECURITY_BASELINE_BEFORE_REGIONS = {
    **{
        f"{_BASELINE}.{resource}[0]": f"{_HOME}.{resource}[0]"
        for resource in (
            "aws_guardduty_detector.this",
            "aws_guardduty_organization_configuration.this",
            "aws_config_configuration_recorder.this",
            "aws_config_delivery_channel.this",
            "aws_config_configuration_recorder_status.this",
            "aws_accessanalyzer_analyzer.organization",
        )
    },
    # the lifecycle configurations had no count then
    **{
        f"{_BASELINE}.aws_s3_bucket_lifecycle_configuration.{name}": (
            f"{_BASELINE}.aws_s3_bucket_lifecycle_configuration.{name}[0]"
        )
        for name in ("logs", "access_logs")
    },
}


def _security_baseline_created(org: SandboxOrganization, out: Outputs) -> None:
    security = org.account_ids["security"]
    bucket = f"securecart-security-logs-{security}"
    assert out["log_bucket"] == bucket
    assert out["trail_arn"] == f"arn:aws:cloudtrail:us-east-1:{security}:trail/securecart-organization-trail"
    assert out["aggregator_arn"].split(":")[4] == security
    assert out["analyzer_arn"].split(":")[4] == security
    s3 = org.client("s3", "security")
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert bucket not in {b["Name"] for b in org.client("s3").list_buckets()["Buckets"]}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # through aws_s3_bucket_lifecycle_configuration, as on real AWS; the sandbox's inline form answers the same
    # (tests/integration/test_security_baseline.py)
    for logged in (bucket, f"securecart-access-logs-{security}"):
        assert s3.get_bucket_lifecycle_configuration(Bucket=logged)["Rules"] == log_bucket_lifecycle_rules(400)
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    (trail,) = org.client("cloudtrail", "security").describe_trails()["trailList"]
    assert (trail["TrailARN"], trail["IsOrganizationTrail"], trail["S3BucketName"]) == (out["trail_arn"], True, bucket)
    guardduty = org.client("guardduty", "security")
    assert guardduty.list_detectors()["DetectorIds"] == [out["detector_id"]]
    assert guardduty.get_detector(DetectorId=out["detector_id"])["Status"] == "ENABLED"
    members = guardduty.describe_organization_configuration(DetectorId=out["detector_id"])
    assert members["AutoEnableOrganizationMembers"] == "ALL"
    config = org.client("config", "security")
    (recorder,) = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert recorder["name"] == "securecart-recorder"
    assert [recorder["roleARN"]] == _config_roles(org)
    assert recorder["roleARN"].startswith(f"arn:aws:iam::{security}:role{CONFIG_ROLE_PATH}")
    (status,) = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    (aggregator,) = config.describe_configuration_aggregators()["ConfigurationAggregators"]
    assert aggregator["ConfigurationAggregatorArn"] == out["aggregator_arn"]
    assert aggregator["OrganizationAggregationSource"]["AwsRegions"] == ["us-east-1", "eu-west-1"]
    analyzers = org.client("accessanalyzer", "security").list_analyzers(type="ORGANIZATION")["analyzers"]
    assert [(a["arn"], a["status"]) for a in analyzers] == [(out["analyzer_arn"], "ACTIVE")]
    unused = org.client("accessanalyzer", "security").list_analyzers(type="ORGANIZATION_UNUSED_ACCESS")["analyzers"]
    assert [(a["arn"], a["configuration"]) for a in unused] == [
        (out["unused_access_analyzer_arn"], {"unusedAccess": {"unusedAccessAge": 90}})
    ]
    hub = org.client("securityhub", "security")
    assert hub.describe_hub()["HubArn"] == out["hub_arn"] == f"arn:aws:securityhub:us-east-1:{security}:hub/default"
    assert {s["StandardsArn"].split("/")[1] for s in hub.get_enabled_standards()["StandardsSubscriptions"]} == {
        "cis-aws-foundations-benchmark",
        "aws-foundational-security-best-practices",
    }
    assert hub.describe_organization_configuration()["AutoEnable"] is True
    # the log bucket's access logs, in their own bucket; the trail's copy in CloudWatch Logs, with its alarms
    assert out["access_log_bucket"] == f"securecart-access-logs-{security}"
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == out["access_log_bucket"]
    assert (
        trail["CloudWatchLogsLogGroupArn"].split(":")[6] == out["trail_log_group"] == "/securecart/organization-trail"
    )
    alarms = org.client("cloudwatch", "security").describe_alarms(AlarmNamePrefix="securecart-")["MetricAlarms"]
    assert len(alarms) == 12
    assert {a["AlarmActions"][0] for a in alarms} == {out["alarm_topic_arn"]}


def _security_baseline_gone(org: SandboxOrganization, out: Outputs) -> None:
    s3 = org.client("s3", "security")
    assert not {out["log_bucket"], out["access_log_bucket"]} & {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert org.client("cloudtrail", "security").describe_trails()["trailList"] == []
    assert org.client("logs", "security").describe_log_groups(logGroupNamePrefix="/securecart/")["logGroups"] == []
    assert org.client("cloudwatch", "security").describe_alarms(AlarmNamePrefix="securecart-")["MetricAlarms"] == []
    assert org.client("sns", "security").list_topics()["Topics"] == []
    assert org.client("guardduty", "security").list_detectors()["DetectorIds"] == []
    config = org.client("config", "security")
    assert config.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert config.describe_delivery_channels()["DeliveryChannels"] == []
    assert config.describe_configuration_aggregators()["ConfigurationAggregators"] == []
    assert org.client("accessanalyzer", "security").list_analyzers()["analyzers"] == []
    hub = org.client("securityhub", "security")
    assert _error_code(hub.describe_hub) == "InvalidAccessException"  # Security Hub is off again
    iam = org.client("iam", "security")
    assert _error_code(lambda: iam.get_role(RoleName="securecart-config-aggregator")) == "NoSuchEntity"
    assert _config_roles(org) == []
    # A KMS key cannot be deleted at once: destroy schedules its deletion.
    kms = org.client("kms", "security")
    states = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in kms.list_keys()["Keys"]]
    assert states and set(states) == {"PendingDeletion"}


# -- service-control-policies: guardrails.tfvars, in the management account ---------------------------------


def _scp_vars(org: SandboxOrganization) -> dict[str, Any]:
    return {
        "target_ids": {
            "root": org.root_id,
            "ou:WorkloadsOU": org.ou_ids["WorkloadsOU"],
            "account:dev": org.account_ids["dev"],
        }
    }


def _scp_created(org: SandboxOrganization, out: Outputs) -> None:
    organizations = org.client("organizations")
    ids = out["policy_ids"]
    assert set(ids) == {"deny-root-user", "region-allow-list"}
    deny_root = organizations.describe_policy(PolicyId=ids["deny-root-user"])["Policy"]
    assert deny_root["PolicySummary"]["Description"] == "Nobody works as the root user"
    (statement,) = json.loads(deny_root["Content"])["Statement"]
    assert (statement["Sid"], statement["Effect"]) == ("DenyRootUser", "Deny")
    targets = {
        name: {t["TargetId"] for t in organizations.list_targets_for_policy(PolicyId=pid)["Targets"]}
        for name, pid in ids.items()
    }
    assert targets == {
        "deny-root-user": {org.ou_ids["WorkloadsOU"], org.account_ids["dev"]},
        "region-allow-list": {org.root_id},
    }
    root_attachment = out["attachments"]["region-allow-list|root"]
    assert root_attachment == {"policy_id": ids["region-allow-list"], "target_id": org.root_id}


def _scp_gone(org: SandboxOrganization, out: Outputs) -> None:
    organizations = org.client("organizations")
    names = {p["Name"] for p in organizations.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert not names & set(out["policy_ids"])
    for policy_id in out["policy_ids"].values():
        missing = _error_code(functools.partial(organizations.describe_policy, PolicyId=policy_id))
        assert missing == "PolicyNotFoundException"
    attached = organizations.list_policies_for_target(TargetId=org.root_id, Filter="SERVICE_CONTROL_POLICY")
    assert {p["Name"] for p in attached["Policies"]} == {"FullAWSAccess"}
    for target in (org.ou_ids["WorkloadsOU"], org.account_ids["dev"]):
        attached = organizations.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")
        assert not {p["Id"] for p in attached["Policies"]} & set(out["policy_ids"].values()), target


# -- the cases ---------------------------------------------------------------------------------------------

Check = Callable[[SandboxOrganization, Outputs], None]
CASES: list[tuple[E2ECase, Check, Check]] = [
    (E2ECase("account-iam", account="shared-services"), _account_iam_created, _account_iam_gone),
    (
        E2ECase("iam-role", account="dev", prepare=_iam_role_prepare, sandbox_vars=_iam_role_vars),
        _iam_role_created,
        _iam_role_gone,
    ),
    (
        E2ECase("identity-center", prepare=_identity_center_prepare, sandbox_vars=_identity_center_vars),
        _identity_center_created,
        _identity_center_gone,
    ),
    (
        E2ECase(
            "organization",
            bare_sandbox=True,
            outlives_destroy=("module.organization.aws_organizations_organization.this",),
        ),
        _organization_created,
        _organization_gone,
    ),
    (
        E2ECase(
            "security-baseline",
            account="security",
            sandbox_vars=_security_baseline_vars,
            previous_addresses=SECURITY_BASELINE_BEFORE_REGIONS,
        ),
        _security_baseline_created,
        _security_baseline_gone,
    ),
    (
        E2ECase("service-control-policies", sandbox_vars=_scp_vars),
        _scp_created,
        _scp_gone,
    ),
]


@pytest.fixture(scope="session")
def e2e_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("module-e2e")


@pytest.fixture(scope="session")
def e2e_organization(e2e_scratch: Path) -> Iterator[SandboxOrganization]:
    """One sandbox and organization that the cases share (per xdist worker)."""
    org = SandboxOrganization(e2e_scratch / "sandbox")
    try:
        yield org
    finally:
        org.close()


@pytest.fixture(scope="session")
def e2e_bare_sandbox(e2e_scratch: Path) -> Iterator[SandboxOrganization]:
    """A sandbox with no organization, for the module that creates one; started only if its case runs."""
    org = SandboxOrganization(e2e_scratch / "bare-sandbox", bare=True)
    try:
        yield org
    finally:
        org.close()


def test_every_module_has_an_end_to_end_case_with_its_root() -> None:
    modules = sorted(p.name for p in MODULES.iterdir() if (p / "main.tf").is_file())
    assert sorted(c.module for c, _, _ in CASES) == modules
    for case, _, _ in CASES:
        assert (case.root / "main.tf").is_file(), f"{case.module}: {case.root}/main.tf is missing"
        tfvars = case.root / "terraform.tfvars"
        # A link to a plan case's inputs, so that both tests apply the same inputs.
        assert tfvars.is_symlink() and tfvars.resolve().parent == case.root.parent, f"{case.module}: {tfvars}"


def test_module_readme_says_what_its_example_cannot_destroy() -> None:
    """The README example is the end-to-end root, but the test destroys a copy with prevent_destroy off and
    takes what AWS keeps out of the state first: the hand-written part of the README must say both."""
    said = 0
    for case, _, _ in CASES:
        handwritten = (MODULES / case.module / "README.md").read_text().split(readme.EXAMPLE_BEGIN)[0]
        code = "".join(p.read_text() for p in sorted((MODULES / case.module).glob("*.tf")))
        if re.search(r"prevent_destroy\s*=\s*true", code):
            assert "`prevent_destroy`" in handwritten, (
                f"modules/{case.module}/README.md: say what prevent_destroy keeps"
            )
            said += 1
        for address in case.outlives_destroy:
            assert f"terraform state rm {address}" in handwritten, f"modules/{case.module}/README.md: {address}"
            said += 1
    assert said, "no module keeps anything from destroy: this test has nothing left to check"


def test_readme_test_section_names_tftest_for_both_kinds_and_what_end_to_end_costs() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]
    (row,) = [line for line in section.splitlines() if line.startswith("| `tests/modules/` |")]
    assert "planned with tftest" in row and "applied on its own to the sandbox with tftest" in row, row
    assert "tests/modules/test_e2e.py" in section, "the test section names the end-to-end command"
    assert re.search(r"\d+ to \d+ min of wall time", section), "the test section lists what the end-to-end tests cost"


@pytest.mark.e2e
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("case", "created", "gone"), CASES, ids=[c.id for c, _, _ in CASES])
def test_module_applies_converges_and_destroys(
    case: E2ECase, created: Check, gone: Check, e2e_scratch: Path, request: pytest.FixtureRequest
) -> None:
    org: SandboxOrganization = request.getfixturevalue("e2e_bare_sandbox" if case.bare_sandbox else "e2e_organization")
    root = Root(case, e2e_scratch / "roots", org)
    root.setup()
    destroyed = False
    try:
        root.apply()
        outputs = dict(root.output())
        created(org, outputs)
        changes = root.plan_changes()
        assert not changes, f"{case.id}: a second plan wants changes after apply:\n{changes[-4000:]}"
        if case.previous_addresses:
            _plans_no_change_over_the_previous_state(case, root)
        root.destroy()
        destroyed = True
    finally:
        if not destroyed:
            root.destroy()  # leave the shared sandbox clean for the other cases
    gone(org, outputs)


def _plans_no_change_over_the_previous_state(case: E2ECase, root: Root) -> None:
    planned = root.plan_over_previous_state()
    moved = {c["previous_address"]: c["address"] for c in planned if c.get("previous_address")}
    for then, now in case.previous_addresses.items():
        assert moved.get(then) == now, (then, moved)
    changed = {c["address"]: c["change"]["actions"] for c in planned if c["change"]["actions"] != ["no-op"]}
    assert not changed, f"{case.id}: over the earlier version's state the plan would change {changed}"
