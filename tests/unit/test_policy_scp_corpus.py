"""Real-world SCP patterns, written for these tests after the patterns AWS and the community document:
no finding of stale IAM data, and a lockout error only where an action the platform roles need is denied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_policy_support import by_rule, check, write_matrix

from securecart_tf.findings import Severity

DEPLOY, GLASS = "OrganizationAccountAccessRole", "BreakGlassRole"
PLATFORM = {"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::*:role/{DEPLOY}", f"arn:aws:iam::*:role/{GLASS}"]}}


def deny(actions: list[str] | str, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny", "Action": actions, "Resource": "*", **extra}
    if "NotAction" in extra:
        del statement["Action"]
    if condition:
        statement["Condition"] = condition
    return statement


# name → (statement, platform roles it must lock out)
CORPUS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "deny-leaving-the-organization": (deny("organizations:LeaveOrganization"), set()),
    "region-deny-with-exemptions": (
        deny(
            None,
            {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}, **PLATFORM},
            NotAction=["iam:*", "sts:*", "organizations:*", "cloudfront:*", "route53:*", "support:*", "budgets:*"],
        ),
        set(),
    ),
    "region-deny-sparing-global-services-only": (
        deny(
            None,
            {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
            NotAction=["cloudfront:*", "route53:*", "support:*"],
        ),
        {DEPLOY, GLASS},  # IAM requests carry us-east-1
    ),
    "deny-the-root-user": (deny("*", {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}), set()),
    "protect-cloudtrail": (
        deny(["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:PutEventSelectors"]),
        set(),
    ),
    "protect-guardduty": (
        deny(
            [
                "guardduty:DeleteDetector",
                "guardduty:DisassociateFromAdministratorAccount",
                "guardduty:DisassociateFromMasterAccount",
                "guardduty:StopMonitoringMembers",
            ]
        ),
        set(),
    ),
    "protect-config": (
        deny(
            [
                "config:DeleteConfigRule",
                "config:DeleteConfigurationRecorder",
                "config:DeleteDeliveryChannel",
                "config:StopConfigurationRecorder",
            ]
        ),
        set(),
    ),
    "deny-disabling-ebs-encryption": (deny("ec2:DisableEbsEncryptionByDefault"), set()),
    "deny-unencrypted-volumes": (deny("ec2:CreateVolume", {"Bool": {"ec2:Encrypted": "false"}}), set()),
    "require-imdsv2": (
        deny(
            "ec2:RunInstances",
            {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
            Resource="arn:aws:ec2:*:*:instance/*",
        ),
        set(),
    ),
    "deny-s3-public-access-changes": (deny(["s3:PutAccountPublicAccessBlock"]), set()),
    "deny-default-vpc": (deny(["ec2:CreateDefaultVpc", "ec2:CreateDefaultSubnet"]), set()),
    "deny-key-deletion": (deny(["kms:ScheduleKeyDeletion", "kms:DisableKey"]), set()),
    "deny-cloudhsm-deletion": (deny(["cloudhsm:DeleteCluster", "cloudhsm:DeleteHsm"]), set()),
    "deny-iam-users-and-keys": (deny(["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"]), set()),
    "require-a-cost-tag": (
        deny(["ec2:RunInstances", "rds:CreateDBInstance"], {"Null": {"aws:RequestTag/CostCenter": "true"}}),
        set(),
    ),
    "protect-platform-roles-by-name": (
        deny(
            ["iam:AttachRolePolicy", "iam:DeleteRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"],
            PLATFORM,
            Resource="arn:aws:iam::*:role/platform-*",
        ),
        set(),
    ),
    "deny-role-changes-except-an-admin-role": (
        deny(
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"],
            {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/CloudAdmin"}},
        ),
        {DEPLOY, GLASS},
    ),
    "deny-iam-changes-without-a-team-tag": (
        deny("iam:*", {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}),
        {DEPLOY, GLASS},  # the roles' tags are not known here, so the Deny can apply
    ),
    "deny-assume-role-without-mfa": (
        deny("sts:AssumeRole", {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        {GLASS},
    ),
    "deny-bucket-namespace-change": (
        deny("s3:CreateBucket", {"StringNotEquals": {"s3:x-amz-bucket-namespace": "account-regional"}}),
        {DEPLOY},  # the baseline creates its log bucket, and what namespace it asks for is not known here
    ),
    "deny-new-security-hub-v2-teardown": (
        deny(["securityhub:DisableSecurityHubV2", "securityhub:DeleteConnectorV2"]),
        set(),
    ),
    "deny-console-oauth-tokens": (deny(["signin:CreateOAuth2Token", "signin:AuthorizeOAuth2Access"]), set()),
    "deny-calls-from-outside-the-corporate-network": (
        deny(
            "*",
            {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}, "Bool": {"aws:ViaAWSService": "false"}},
        ),
        {DEPLOY, GLASS},  # where the Terraform runner calls from is not known here
    ),
    "deny-calls-from-outside-the-corporate-network-with-exemptions": (
        deny("*", {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}, **PLATFORM}),
        set(),
    ),
    "deny-s3-outside-the-vpc-endpoint": (
        deny(["s3:PutObject", "s3:GetObject"], {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}),
        set(),  # the baseline manages its bucket's settings, not its objects
    ),
    "deny-the-baseline-outside-a-network-range": (
        deny(["kms:*", "s3:*"], {"IpAddressIfExists": {"aws:SourceIp": "198.51.100.0/24"}}),
        {DEPLOY},  # the security baseline creates its key and bucket
    ),
    "protect-security-services-from-teardown": (
        deny(
            [
                "cloudtrail:StopLogging",
                "cloudtrail:DeleteTrail",
                "guardduty:DeleteDetector",
                "config:StopConfigurationRecorder",
                "access-analyzer:DeleteAnalyzer",
                "kms:ScheduleKeyDeletion",
                "s3:DeleteBucket",
            ]
        ),
        set(),
    ),
    "deny-untagged-keys": (
        deny("kms:CreateKey", {"Null": {"aws:RequestTag/owner": "true"}}),
        {DEPLOY},  # the tags the baseline's key request carries are not known here
    ),
    "deny-disabling-key-rotation": (deny("kms:DisableKeyRotation"), set()),
    "deny-chatbot-sessions-deleting-buckets": (
        deny("s3:DeleteBucket", {"ArnLike": {"aws:ChatbotSourceArn": "arn:aws:chatbot::*:chat-configuration/*"}}),
        set(),
    ),
}

SECURITY = """
  - name: security
    email: security@acme.example
    ou: WorkloadsOU
security_baseline:
  account: security
  cloudtrail: true
  guardduty: true
  config: true
  access_analyzer: true
"""

ROLES = """
roles:
  - name: AppDeploy
    audience: ci
    environments: [dev, prod]
    trust:
      principals:
        - oidc: { subject: "repo:acme/app:ref:refs/heads/main" }
"""

STALE = {"unknown-action", "condition-key-not-supported", "policy-lint"}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_real_world_scp_pattern(tmp_path: Path, name: str) -> None:
    statement, locked_out = CORPUS[name]
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "Pattern", **statement}]}
    guardrail = f"guardrails:\n  - name: {name}\n    file: scp.json\n    targets: {{ ous: [WorkloadsOU] }}\n"
    extra = SECURITY + guardrail + ROLES
    findings = check(write_matrix(tmp_path, extra, {"scp.json": document}))
    assert [f.message for f in findings if f.rule in STALE] == []
    lockouts = by_rule(findings, "scp-lockout")
    assert {role for f in lockouts for role in (DEPLOY, GLASS) if f" {role} " in f.message} == locked_out
    assert all(f.severity == Severity.error for f in lockouts)
    for f in lockouts:
        # names the actions and the accounts: the access stacks' in dev and prod, the baseline's in security
        assert re.search(r" [a-z0-9-]+:[A-Za-z0-9]+.* in (dev, prod|security|dev, prod, security), which ", f.message)
