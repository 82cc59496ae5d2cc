"""The sandbox's mends to moto (shims.patch_moto), checked in-process against moto's own backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from securecart_tf.sandbox.shims import patch_moto


@pytest.fixture
def cloudtrail() -> Iterator[Any]:
    patch_moto()
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="organization-trail-logs")
        yield boto3.client("cloudtrail", region_name="us-east-1")


def test_a_trail_deleted_by_its_arn_is_gone(cloudtrail: Any) -> None:
    # The AWS provider deletes a trail by its ARN, which AWS accepts as well as the name.
    arn = cloudtrail.create_trail(Name="organization-trail", S3BucketName="organization-trail-logs")["TrailARN"]
    cloudtrail.delete_trail(Name=arn)
    assert cloudtrail.describe_trails()["trailList"] == []


def test_a_trail_deleted_by_its_name_is_gone(cloudtrail: Any) -> None:
    cloudtrail.create_trail(Name="organization-trail", S3BucketName="organization-trail-logs")
    cloudtrail.delete_trail(Name="organization-trail")
    assert cloudtrail.describe_trails()["trailList"] == []


def test_deleting_a_trail_that_does_not_exist_fails_as_in_aws(cloudtrail: Any) -> None:
    with pytest.raises(ClientError) as raised:
        cloudtrail.delete_trail(Name="no-such-trail")
    assert raised.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_authorization_details_name_each_managed_policy() -> None:
    # import reads every customer-managed policy of an account from GetAccountAuthorizationDetails
    patch_moto()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        created = iam.create_policy(
            PolicyName="AppRead",
            Path="/team/",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
        )["Policy"]
        details = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])["Policies"]
    assert [(p["PolicyName"], p["PolicyId"], p["Arn"]) for p in details] == [
        ("AppRead", created["PolicyId"], created["Arn"])
    ]


def test_describe_group_answers_the_groups_external_ids() -> None:
    # moto keeps a group's ExternalIds, and ListGroups answers them; DescribeGroup answered none
    from moto.identitystore.models import identitystore_backends

    patch_moto()
    with mock_aws():
        identitystore = boto3.client("identitystore", region_name="us-east-1")
        group = identitystore.create_group(IdentityStoreId="d-1234567890", DisplayName="Engineers")["GroupId"]
        store = identitystore_backends["123456789012"]["us-east-1"].identity_stores["d-1234567890"]
        ids = [{"Issuer": "https://scim.example", "Id": "okta-7"}]
        store.groups[group] = store.groups[group]._replace(ExternalIds=ids)
        described = identitystore.describe_group(IdentityStoreId="d-1234567890", GroupId=group)
    assert described["ExternalIds"] == ids


def _logging_target(policy_statements: list[dict[str, Any]]) -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="app-logs")
    s3.create_bucket(Bucket="app-access-logs")
    s3.put_bucket_policy(
        Bucket="app-access-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": policy_statements})
    )
    return s3


DENY_PLAIN_HTTP = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::app-access-logs", "arn:aws:s3:::app-access-logs/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_access_logging_goes_to_a_bucket_whose_policy_also_denies_everyone_plain_http() -> None:
    # S3 reads the logging service's grant beside a statement for Principal "*"; moto failed with a 500 there
    patch_moto()
    with mock_aws():
        grant = {
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::app-access-logs/logs/*",
        }
        s3 = _logging_target([DENY_PLAIN_HTTP, grant])
        s3.put_bucket_logging(
            Bucket="app-logs",
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "app-access-logs", "TargetPrefix": "logs/"}},
        )
        assert s3.get_bucket_logging(Bucket="app-logs")["LoggingEnabled"]["TargetPrefix"] == "logs/"


def test_access_logging_to_a_bucket_that_does_not_let_the_logging_service_write_fails() -> None:
    patch_moto()
    with mock_aws():
        elsewhere = {
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::app-access-logs/other/*",
        }
        s3 = _logging_target([DENY_PLAIN_HTTP, elsewhere])
        with pytest.raises(ClientError) as raised:
            s3.put_bucket_logging(
                Bucket="app-logs",
                BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "app-access-logs", "TargetPrefix": "logs/"}},
            )
    assert raised.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"


def test_a_requests_account_is_found_without_creating_iam_in_every_partition() -> None:
    # moto looked for the access key in every partition of every account, creating each one's IAM (and
    # loading AWS's managed policies into it): most of the sandbox's CPU in an apply
    from moto.iam import models

    patch_moto()
    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        member = org.create_account(AccountName="alpha", Email="alpha@example.com")["CreateAccountStatus"]["AccountId"]
        role = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
        creds = boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=role, RoleSessionName="check")
        key = creds["Credentials"]["AccessKeyId"]
        iam = boto3.client(
            "iam",
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=creds["Credentials"]["SecretAccessKey"],
            aws_session_token=creds["Credentials"]["SessionToken"],
        )
        statement = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        trust = {"Version": "2012-10-17", "Statement": [statement]}
        iam.create_role(RoleName="Made", AssumeRolePolicyDocument=json.dumps(trust))
        assert models.get_account_id_from(key) == member
        assert models.get_account_id_from("AKIANOSUCHKEY0000000") == models.DEFAULT_ACCOUNT_ID
        assert "Made" in {r.name for r in models.iam_backends[member]["aws"].roles.values()}
        created = {partition for account in models.iam_backends.values() for partition in dict.keys(account)}
    assert created == {"aws"}


def test_configs_service_linked_role_has_the_name_aws_gives_it() -> None:
    patch_moto()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForConfig"
    assert role["Arn"].endswith(":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig")
