"""The sandbox refuses, with AWS's error codes, what real AWS refuses and moto alone would accept.

One sandbox and one organization for the module, driven with boto3 as the AWS provider would drive it:
each rule is shown refusing the call securecart-tf used to make, and accepting the call it makes now.
The tests run in file order: the delegated administrator registered for Config stays registered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from securecart_tf import sandbox
from tests.helpers import sandbox_client

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TRAIL = "rules-organization-trail"


@dataclass
class Org:
    info: sandbox.SandboxInfo
    management: str
    security: str
    workload: str

    def client(self, service: str, account: str | None = None) -> Any:
        return sandbox_client(self.info, service, account, region=REGION)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    home = Path(tmp_path_factory.mktemp("rules")) / ".securecart"
    info, _ = sandbox.up(home)
    try:
        base = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=REGION
        )
        organizations = base.client("organizations", endpoint_url=info.endpoint)
        organizations.create_organization(FeatureSet="ALL")
        ids = []
        for name in ("security", "workload"):
            status = organizations.create_account(AccountName=name, Email=f"{name}@rules.example")
            ids.append(status["CreateAccountStatus"]["AccountId"])
        management = organizations.describe_organization()["Organization"]["MasterAccountId"]
        yield Org(info, management, *ids)
    finally:
        sandbox.down(home)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# ---- AssumeRole -------------------------------------------------------------------------------------


def test_assume_role_into_a_role_that_does_not_exist_is_refused(org: Org) -> None:
    sts = org.client("sts")
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=f"arn:aws:iam::{org.workload}:role/NoSuchRole", RoleSessionName="rules")
    assert _code(refused) == "AccessDenied"
    assert "NoSuchRole" in str(refused.value)


def test_assume_role_into_the_access_role_organizations_created_works(org: Org) -> None:
    identity = org.client("sts", org.workload).get_caller_identity()
    assert identity["Account"] == org.workload


def test_an_invited_account_has_no_access_role(org: Org) -> None:
    """An account that joined by invitation has no OrganizationAccountAccessRole unless someone made it."""
    sts = org.client("sts")
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn="arn:aws:iam::444455556666:role/OrganizationAccountAccessRole", RoleSessionName="rules")
    assert _code(refused) == "AccessDenied"


# ---- The organization trail -------------------------------------------------------------------------


def _trail_bucket_policy(bucket: str, source_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/*",
                    "Condition": {
                        "StringEquals": {
                            "s3:x-amz-acl": "bucket-owner-full-control",
                            "aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{source_account}:trail/{TRAIL}",
                        }
                    },
                },
            ],
        }
    )


def _key_policy(owner: str, trail_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {
                        "StringLike": {
                            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{trail_account}:trail/*"
                        }
                    },
                },
            ],
        }
    )


def _create_trail(org: Org, bucket: str, key_arn: str) -> None:
    org.client("cloudtrail", org.security).create_trail(
        Name=TRAIL, S3BucketName=bucket, KmsKeyId=key_arn, IsOrganizationTrail=True, IsMultiRegionTrail=True
    )


def test_an_organization_trail_must_be_the_management_accounts_in_bucket_and_key_policies(org: Org) -> None:
    """The security account (CloudTrail's delegated administrator) creates the trail the management account owns."""
    s3 = org.client("s3", org.security)
    kms = org.client("kms", org.security)
    bucket = "rules-trail-logs"
    s3.create_bucket(Bucket=bucket)

    # as rendered before: aws:SourceArn and the encryption context named the security account
    s3.put_bucket_policy(Bucket=bucket, Policy=_trail_bucket_policy(bucket, org.security))
    old_key = kms.create_key(Policy=_key_policy(org.security, org.security))["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as refused:
        _create_trail(org, bucket, old_key)
    assert _code(refused) == "InsufficientS3BucketPolicyException"
    assert f":{org.management}:trail/{TRAIL}" in str(refused.value)

    # the bucket policy fixed, the key policy not
    s3.put_bucket_policy(Bucket=bucket, Policy=_trail_bucket_policy(bucket, org.management))
    with pytest.raises(ClientError) as refused:
        _create_trail(org, bucket, old_key)
    assert _code(refused) == "InsufficientEncryptionPolicyException"

    # both name the management account: accepted
    new_key = kms.create_key(Policy=_key_policy(org.security, org.management))["KeyMetadata"]["Arn"]
    _create_trail(org, bucket, new_key)
    names = [t["Name"] for t in org.client("cloudtrail", org.security).describe_trails()["trailList"]]
    assert names == [TRAIL]


# ---- The organization's Config aggregator -----------------------------------------------------------


def _put_aggregator(org: Org, name: str) -> None:
    org.client("config", org.security).put_configuration_aggregator(
        ConfigurationAggregatorName=name,
        OrganizationAggregationSource={
            "RoleArn": f"arn:aws:iam::{org.security}:role/aggregator",
            "AllAwsRegions": True,
        },
    )


def test_an_organization_aggregator_needs_both_config_principals_delegated(org: Org) -> None:
    organizations = org.client("organizations")
    organizations.enable_aws_service_access(ServicePrincipal="config-multiaccountsetup.amazonaws.com")
    organizations.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")

    with pytest.raises(ClientError) as refused:
        _put_aggregator(org, "not-delegated")
    assert _code(refused) == "OrganizationAccessDeniedException"

    # what the model registered before: only config-multiaccountsetup
    organizations.register_delegated_administrator(
        AccountId=org.security, ServicePrincipal="config-multiaccountsetup.amazonaws.com"
    )
    with pytest.raises(ClientError) as refused:
        _put_aggregator(org, "half-delegated")
    assert _code(refused) == "OrganizationAccessDeniedException"
    assert "config.amazonaws.com" in str(refused.value)

    organizations.register_delegated_administrator(AccountId=org.security, ServicePrincipal="config.amazonaws.com")
    _put_aggregator(org, "delegated")
    aggregators = org.client("config", org.security).describe_configuration_aggregators()["ConfigurationAggregators"]
    assert [a["ConfigurationAggregatorName"] for a in aggregators] == ["delegated"]


def test_the_management_account_may_aggregate_its_organization(org: Org) -> None:
    org.client("config").put_configuration_aggregator(
        ConfigurationAggregatorName="from-management",
        OrganizationAggregationSource={"RoleArn": f"arn:aws:iam::{org.management}:role/a", "AllAwsRegions": True},
    )


# ---- Leaving the organization -----------------------------------------------------------------------


def test_an_account_the_organization_created_cannot_be_removed_from_it(org: Org) -> None:
    organizations = org.client("organizations")
    with pytest.raises(ClientError) as refused:
        organizations.remove_account_from_organization(AccountId=org.workload)
    assert _code(refused) == "ConstraintViolationException"
    assert org.workload in {a["Id"] for a in organizations.list_accounts()["Accounts"]}


def test_a_delegated_administrator_cannot_be_removed_from_the_organization(org: Org) -> None:
    organizations = org.client("organizations")
    assert organizations.list_delegated_services_for_account(AccountId=org.security)["DelegatedServices"]
    with pytest.raises(ClientError) as refused:
        organizations.remove_account_from_organization(AccountId=org.security)
    assert _code(refused) == "ConstraintViolationException"
    assert "delegated administrator" in str(refused.value)


def test_closing_an_account_the_organization_created_is_allowed(org: Org) -> None:
    organizations = org.client("organizations")
    status = organizations.create_account(AccountName="leaving", Email="leaving@rules.example")
    account = status["CreateAccountStatus"]["AccountId"]
    organizations.close_account(AccountId=account)
    assert organizations.describe_account(AccountId=account)["Account"]["Status"] != "ACTIVE"
