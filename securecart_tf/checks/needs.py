"""What the platform roles must be able to do in a member account, derived from what the stacks manage.

The deployment role runs securecart-tf's Terraform in each member account that has a stack: the access
stack manages IAM roles, customer-managed policies and OIDC providers, and the baseline's settings there
(the account's S3 public access block, EBS encryption by default, Config recorders); the security stack manages the
baseline (KMS key, log buckets, CloudTrail with its log group and alarms, GuardDuty, Config, Access
Analyzer). The organization and Identity Center stacks run in the management account, which SCPs and RCPs
never restrict. The break-glass
role must be able to recover an account: assume roles, and repair IAM roles and policies anywhere.
Each need is (action, resource ARN or None when the name is not known here).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from securecart_tf.iam.documents import partition_of
from securecart_tf.model import SECURITY, Model, access_stack

Need = tuple[str, str | None]

_ROLE = [
    "iam:CreateRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:DeleteRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:ListInstanceProfilesForRole",
]
_POLICY = [
    "iam:CreatePolicy",
    "iam:GetPolicy",
    "iam:DeletePolicy",
    "iam:GetPolicyVersion",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:ListPolicyVersions",
    "iam:TagPolicy",
    "iam:UntagPolicy",
]
_OIDC = [
    "iam:CreateOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
]

# The security baseline module's resources, by the input that switches them on ("" = always).
# A Config recorder and its delivery channel, as the baseline makes them in the security account and the
# settings in each account make them elsewhere.
_CONFIG_RECORDER = [
    "iam:CreateServiceLinkedRole",
    "config:PutConfigurationRecorder",
    "config:DescribeConfigurationRecorders",
    "config:PutDeliveryChannel",
    "config:DescribeDeliveryChannels",
    "config:StartConfigurationRecorder",
    "config:DescribeConfigurationRecorderStatus",
]

_BASELINE: dict[str, list[str]] = {
    "": [
        "kms:CreateKey",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
        "kms:EnableKeyRotation",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "kms:TagResource",
        "kms:CreateAlias",
        "s3:CreateBucket",
        "s3:ListBucket",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketLogging",
        "s3:PutBucketLogging",
    ],
    "cloudtrail": [
        "cloudtrail:CreateTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:StartLogging",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:AddTags",
        "cloudtrail:ListTags",
        # the trail's CloudWatch Logs group, its delivery role, and the CIS metric filters and alarms
        "logs:CreateLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
        "logs:AssociateKmsKey",
        "logs:TagResource",
        "logs:PutMetricFilter",
        "logs:DescribeMetricFilters",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:TagResource",
        "sns:CreateTopic",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
        "sns:TagResource",
        "iam:PassRole",
        *_ROLE,
    ],
    "guardduty": [
        "guardduty:CreateDetector",
        "guardduty:GetDetector",
        "guardduty:UpdateDetector",
        "guardduty:TagResource",
        "guardduty:UpdateOrganizationConfiguration",
        "guardduty:DescribeOrganizationConfiguration",
    ],
    "config": [
        *_CONFIG_RECORDER,
        "config:PutConfigurationAggregator",
        "config:DescribeConfigurationAggregators",
        "config:TagResource",
        "iam:PassRole",
        *_ROLE,
    ],
    "access_analyzer": ["access-analyzer:CreateAnalyzer", "access-analyzer:GetAnalyzer", "access-analyzer:TagResource"],
}

# The security baseline's settings in each account (account-iam), by the setting that switches them on.
_ACCOUNT_SETTINGS: dict[str, list[str]] = {
    "s3_public_access_block": ["s3:PutAccountPublicAccessBlock", "s3:GetAccountPublicAccessBlock"],
    "ebs_encryption": ["ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault"],
    "config_recorder": [*_CONFIG_RECORDER, "iam:PassRole"],
}

BREAK_GLASS: list[str] = ["sts:AssumeRole", *_ROLE, *_POLICY, "iam:ListRoles", "iam:ListPolicies"]

GLOBAL_SERVICES = ("iam", "organizations", "account")
"""Services whose requests carry aws:RequestedRegion us-east-1, wherever the caller is."""


def request_region(action: str, home_region: str) -> str:
    return "us-east-1" if action.split(":", 1)[0].lower() in GLOBAL_SERVICES else home_region


def _arns(partition: str, account_id: str, kind: str, names: Iterable[str]) -> list[str]:
    return [f"arn:{partition}:iam::{account_id}:{kind}/{name}" for name in names]


def deployment_needs(model: Model, account: str) -> list[Need]:
    """What the deployment role does in this account when securecart-tf applies its stacks there."""
    needs: list[Need] = []
    account_id = model.directory(account)
    partition = partition_of(model.matrix.organization.home_region)
    stack = model.stacks.get(access_stack(account))
    if stack is not None:
        roles = _arns(partition, account_id, "role", stack.inputs["roles"])
        policies = [
            f"arn:{partition}:iam::{account_id}:policy{spec.get('path') or '/'}{name}"
            for name, spec in stack.inputs["policies"].items()
        ]
        providers = _arns(partition, account_id, "oidc-provider", stack.inputs["oidc_providers"])
        needs += [(a, r) for r in roles for a in _ROLE]
        needs += [(a, r) for r in policies for a in _POLICY]
        needs += [(a, r) for r in providers for a in _OIDC]
        needs += [(a, None) for a in _settings_actions(stack.inputs.get("account_settings"))]
    security = model.stacks.get(SECURITY)
    if security is not None and security.account == account:
        needs += [(a, None) for a in _baseline_actions(security.inputs["baseline"])]
    return needs


def _baseline_actions(inputs: dict[str, Any]) -> list[str]:
    return list(
        dict.fromkeys(a for switch, actions in _BASELINE.items() if not switch or inputs.get(switch) for a in actions)
    )


def _settings_actions(settings: dict[str, Any] | None) -> list[str]:
    if settings is None:
        return []
    regions = settings["regions"].values()
    on = {
        "s3_public_access_block": settings["s3_public_access_block"],
        "ebs_encryption": any(r["ebs_encryption"] for r in regions),
        "config_recorder": any(r["config_recorder"] for r in regions),
    }
    return [a for setting, actions in _ACCOUNT_SETTINGS.items() if on[setting] for a in actions]


def break_glass_needs() -> list[Need]:
    return [(a, None) for a in BREAK_GLASS]
