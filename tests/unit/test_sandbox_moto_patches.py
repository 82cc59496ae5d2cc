"""The sandbox's mends to moto (shims.patch_moto), checked in-process against moto's own backends."""

from __future__ import annotations

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
