"""The sandbox answers the AWS provider's consistency waiters at their first read, and the security baseline
applies there without the lifecycle rules' read-back.

After some writes the provider polls a read until it answers what was written, several times in a row:
after PutBucketLifecycleConfiguration through aws_s3_bucket_lifecycle_configuration it compares the rules and
the `x-amz-transition-default-minimum-object-size` header that GetBucketLifecycleConfiguration answers with
what it put (ten matching reads, 55 s); after CreateKey it compares the key's policy, rotation and tags. Each
read that answers otherwise is one more poll, and an answer that never matches keeps the apply waiting until
the resource's timeout (3 minutes for the lifecycle configuration). The first tests put and get through the
sandbox with boto3 (modules/security-baseline's end-to-end test applies the lifecycle configuration resource
there); the last apply the security baseline with the provider's debug log and read every poll the waiters
made. In the sandbox the baseline puts the same rules through the buckets' inline `lifecycle_rule`, which
reads them back once.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from securecart_tf import sandbox
from tests.bench_scripts import load_bench
from tests.helpers import explain, run_cli, write_project

pytestmark = pytest.mark.integration

BUCKET = "waits-logs"
HEADER_DEFAULT = "all_storage_classes_128K"  # what AWS answers for a configuration put without the header
# The rule the security baseline puts (modules/security-baseline), as the provider's SDK sends it.
RETENTION_RULE = {
    "ID": "retention",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "Expiration": {"Days": 30},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
}


tflog = load_bench("tflog")

# The baseline's trail alone, in the home region: its log bucket, access-log bucket and KMS key are what the
# waiters below read; the regional services would only add provider processes and requests to the log.
WAITS_MATRIX = """\
version: 1
organization:
  name: waitsorg
  management_account: management
  units:
    - name: Security
accounts:
  - {name: management, email: mgmt@waits.example, ou: /}
  - {name: security, email: security@waits.example, ou: Security}
security_baseline:
  account: security
  cloudtrail: true
  guardduty: false
  config: false
  access_analyzer: false
  log_retention_days: 30
"""
WAITS_DEV = """\
name: dev
stacks: [organization, security]
accounts: [management, security]
approval: none
"""


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("waits-sandbox") / ".securecart"
    info, _ = sandbox.up(home)
    try:
        client = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name="us-east-1"
        ).client("s3", endpoint_url=info.endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield client
    finally:
        sandbox.down(home)


def _put(s3: Any, rules: list[dict[str, Any]], min_size: str | None = None) -> dict[str, Any]:
    extra = {"TransitionDefaultMinimumObjectSize": min_size} if min_size else {}
    return dict(s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules}, **extra))


def _get(s3: Any) -> dict[str, Any]:
    answer = dict(s3.get_bucket_lifecycle_configuration(Bucket=BUCKET))
    answer.pop("ResponseMetadata")
    return answer


def test_get_answers_the_baseline_rule_and_the_default_minimum_size_as_put(s3: Any) -> None:
    _put(s3, [RETENTION_RULE])
    assert _get(s3) == {"Rules": [RETENTION_RULE], "TransitionDefaultMinimumObjectSize": HEADER_DEFAULT}
    assert _get(s3) == _get(s3)  # the Read after an apply wants two equal answers in a row


def test_get_answers_the_minimum_size_the_put_asked_for(s3: Any) -> None:
    put = _put(s3, [RETENTION_RULE], "varies_by_storage_class")
    assert _get(s3)["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"
    assert put["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"  # S3's PUT answers it too
    _put(s3, [RETENTION_RULE])  # a later put without the header: AWS's default again
    assert _get(s3)["TransitionDefaultMinimumObjectSize"] == HEADER_DEFAULT


def test_a_rejected_put_leaves_the_minimum_size_as_it_was(s3: Any) -> None:
    _put(s3, [RETENTION_RULE], "varies_by_storage_class")
    rejected = {**RETENTION_RULE, "Prefix": "logs/"}  # a prefix beside a filter: S3 refuses the document
    with pytest.raises(ClientError):
        _put(s3, [rejected], "all_storage_classes_128K")
    assert _get(s3) == {"Rules": [RETENTION_RULE], "TransitionDefaultMinimumObjectSize": "varies_by_storage_class"}


def test_a_deleted_configuration_is_gone_and_its_minimum_size_with_it(s3: Any) -> None:
    _put(s3, [RETENTION_RULE], "varies_by_storage_class")
    s3.delete_bucket_lifecycle(Bucket=BUCKET)
    with pytest.raises(ClientError) as raised:
        _get(s3)
    assert raised.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    assert (
        "x-amz-transition-default-minimum-object-size" not in raised.value.response["ResponseMetadata"]["HTTPHeaders"]
    )


# ---- the security baseline's apply, read from the provider's debug log ---------------------------------

# Reads each waiter makes when every answer matches at once, from the AWS provider's source for the
# version that ran (internal/service/kms, the key's propagation waiters: 5 for each of rotation, policy and
# tags, then one more of each as the resource reads itself back). More reads mean a read did not match.
FIXED_POLLS = {
    "5.100.0": {
        "aws_kms_key": {"GetKeyRotationStatus": 6, "GetKeyPolicy": 6, "ListResourceTags": 6, "DescribeKey": 1},
    }
}


@pytest.fixture(scope="module")
def provider_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("waits-baseline")
    project = write_project(root / "project", WAITS_MATRIX, {"dev": WAITS_DEV})
    log = root / "terraform-debug.log"
    try:
        result = run_cli(
            project, "apply", "--env", "dev", "--auto-approve", env={"TF_LOG": "DEBUG", "TF_LOG_PATH": str(log)}
        )
        assert result.returncode == 0, explain(result)
        yield tflog.read(log)
    finally:
        sandbox.down(project / ".securecart")


def _xml(text: str) -> Any:
    """An XML document as nested dicts and sorted lists, so element order and `<a/>` vs `<a></a>` do not count."""

    def walk(node: ET.Element) -> Any:
        children = sorted((child.tag, walk(child)) for child in node)
        return children if children else (node.text or "")

    return walk(ET.fromstring(text.strip().removeprefix('<?xml version="1.0" encoding="utf-8"?>').strip()))


def test_the_buckets_put_their_lifecycle_rules_themselves_and_read_them_back_once(provider_log: str) -> None:
    all_calls = tflog.calls(provider_log)
    assert not tflog.applied(all_calls, "aws_s3_bucket_lifecycle_configuration")  # no 55 s read-back in the sandbox
    buckets = tflog.by_resource(tflog.applied(all_calls, "aws_s3_bucket"))
    assert len(buckets) == 2  # the log bucket and the access-log bucket
    for calls in buckets:
        (put,) = [c for c in calls if c.method == "PutBucketLifecycleConfiguration"]
        assert put.status == 200
        reads = [c for c in calls[calls.index(put) + 1 :] if c.method == "GetBucketLifecycleConfiguration"]
        assert len(reads) == 1, "the bucket reads its rules back once, as part of reading itself"
        assert reads[0].status == 200
        assert _xml(reads[0].response_body) == _xml(put.request_body)


def test_every_kms_key_read_answers_the_policy_rotation_and_tags_written(provider_log: str) -> None:
    calls = tflog.applied(tflog.calls(provider_log), "aws_kms_key")
    (create,) = [c for c in calls if c.method == "CreateKey"]
    written = json.loads(create.request_body)
    last_write = max(i for i, c in enumerate(calls) if c.is_write)
    reads = calls[last_write + 1 :]
    assert {c.method for c in reads} >= {"GetKeyPolicy", "GetKeyRotationStatus", "ListResourceTags"}
    for read in reads:
        assert read.status == 200, read.method
        answer = json.loads(read.response_body)
        if read.method == "GetKeyPolicy":
            assert json.loads(answer["Policy"]) == json.loads(written["Policy"])
        elif read.method == "GetKeyRotationStatus":
            assert answer["KeyRotationEnabled"] is True
        elif read.method == "ListResourceTags":
            assert {(t["TagKey"], t["TagValue"]) for t in written["Tags"]} <= {
                (t["TagKey"], t["TagValue"]) for t in answer["Tags"]
            }


def test_no_waiter_reads_more_than_its_fixed_minimum(provider_log: str) -> None:
    version = tflog.provider_version(provider_log)
    expected = FIXED_POLLS.get(version or "")
    if expected is None:
        pytest.skip(f"no read counts recorded for AWS provider {version}: add them to FIXED_POLLS from its source")
    all_calls = tflog.calls(provider_log)
    for resource_type, polls in expected.items():
        resources = tflog.by_resource(tflog.applied(all_calls, resource_type))
        assert resources, resource_type
        for calls in resources:
            wait = tflog.wait_after_last_write(calls)
            assert wait is not None and wait.polls == polls, (resource_type, wait)
