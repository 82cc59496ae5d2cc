"""Customizations, applied to the sandbox in the access stacks of the accounts they target, checked with boto3.

One small organization (two dev accounts), applied once: an account-level S3 public access block in every
account of dev, and a bucket with inputs in one account. Then the bucket's customization leaves the matrix:
the plan shows its removal and the apply deletes the bucket. Last, one account's block is loosened by hand,
and `drift` finds it in that account's stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers import explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

MATRIX = """\
version: 1
organization:
  name: custorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@cust.example, ou: /}
  - {name: alpha, email: alpha@cust.example, ou: Workloads, environment: dev}
  - {name: beta, email: beta@cust.example, ou: Workloads, environment: dev}
roles:
  - name: AuditRole
    audience: platform
    accounts: [alpha]
    trust:
      principals:
        - role: {role: OrganizationAccountAccessRole, account: management}
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
customizations:
  - name: public-access-block
    source: ./customizations/public-access-block
    targets: {environments: [dev]}
  - name: logs-bucket
    source: ./customizations/bucket
    targets: {accounts: [alpha]}
    inputs:
      bucket: "logs-{account}-{account_id}"
      tags: {environment: "{environment}", owner: platform}
"""

DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha, beta]
approval: none
"""

PUBLIC_ACCESS_BLOCK = """\
variable "block_public_acls" {
  type    = bool
  default = true
}

resource "aws_s3_account_public_access_block" "this" {
  block_public_acls       = var.block_public_acls
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"""

BUCKET = """\
variable "bucket" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket
  force_destroy = true
  tags          = var.tags
}
"""


@dataclass
class Customized:
    deployed: Deployed
    removal_plan: dict[str, Any]
    bucket: str
    bucket_tags: dict[str, str]
    """The bucket's tags as boto3 read them after the first apply, before its customization was removed."""
    blocks: dict[str, dict[str, bool]]
    """Each member account's public access block as boto3 read it after the removal, before the hand change."""
    drift: dict[str, Any]
    """`drift --json` after beta's block was loosened by hand."""

    def buckets(self, account: str) -> set[str]:
        return {b["Name"] for b in self.deployed.client("s3", account).list_buckets()["Buckets"]}

    def public_access_block(self, account: str | None) -> dict[str, bool]:
        """The account-level block of `account` (None: the management account), read through S3 Control."""
        s3control, account_id = _s3control(self.deployed, account)
        block: dict[str, bool] = s3control.get_public_access_block(AccountId=account_id)[
            "PublicAccessBlockConfiguration"
        ]
        return block


def _s3control(deployed: Deployed, account: str | None) -> tuple[Any, str]:
    """An S3 Control client in `account` (None: the management account), and the account's ID.

    S3 Control puts the account ID in front of the host name, so the client reaches the sandbox as a proxy, as
    Terraform does."""
    info = deployed.info
    member = deployed.account_ids[account] if account else None
    s3control = sandbox_client(info, "s3control", member, config=Config(proxies={"http": info.endpoint}))
    return s3control, member or sandbox_client(info, "sts").get_caller_identity()["Account"]


@pytest.fixture(scope="module")
def customized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Customized]:
    """Applied with both customizations; then planned and applied without the bucket. The bucket's name is
    read between the two, so the tests can look for it after it is gone."""
    files = {"customizations/public-access-block/main.tf": PUBLIC_ACCESS_BLOCK, "customizations/bucket/main.tf": BUCKET}
    project = write_project(tmp_path_factory.mktemp("cust") / "project", MATRIX, {"dev": DEV}, files)
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        bucket = f"logs-alpha-{deployed.account_ids['alpha']}"
        tagging = deployed.client("s3", "alpha").get_bucket_tagging(Bucket=bucket)["TagSet"]
        matrix = project / "access-matrix.yaml"
        text = matrix.read_text()
        matrix.write_text(text[: text.index("  - name: logs-bucket")])
        plan = run_cli(project, "plan", "--env", "dev", "--json")
        assert plan.returncode == 2, explain(plan)
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        tags = {t["Key"]: t["Value"] for t in tagging}
        customized = Customized(deployed, json.loads(plan.stdout), bucket, tags, {}, {})
        customized.blocks = {account: customized.public_access_block(account) for account in ("alpha", "beta")}
        loosened = {**customized.blocks["beta"], "BlockPublicAcls": False}
        s3control, beta_id = _s3control(deployed, "beta")
        s3control.put_public_access_block(AccountId=beta_id, PublicAccessBlockConfiguration=loosened)
        drift = run_cli(project, "drift", "--env", "dev", "--json")
        assert drift.returncode == 2, explain(drift)
        customized.drift = json.loads(drift.stdout)
        yield customized
    finally:
        deployed.stop()


def test_the_account_public_access_block_is_in_every_account_of_the_environment(customized: Customized) -> None:
    for account in ("alpha", "beta"):
        assert customized.blocks[account] == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }, account


def test_the_management_account_outside_the_targets_has_no_block(customized: Customized) -> None:
    with pytest.raises(ClientError) as raised:
        customized.public_access_block(None)
    assert raised.value.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"


def test_the_plan_shows_the_removed_customization_being_destroyed(customized: Customized) -> None:
    results = {r["stack"]: r for r in customized.removal_plan["results"]}
    alpha = results["access-alpha"]
    assert alpha["remove"] == 1 and alpha["add"] == 0, alpha
    assert {(c["address"], c["action"]) for c in alpha["changes"]} == {
        ("module.customization-logs-bucket.aws_s3_bucket.this", "delete")
    }
    beta = results.get("access-beta")
    assert beta is None or beta["remove"] == 0, beta


def test_the_apply_deletes_what_the_removed_customization_created(customized: Customized) -> None:
    assert customized.bucket not in customized.buckets("alpha")
    # the other customization is still there, in the same stack
    assert customized.blocks["alpha"]["BlockPublicAcls"]


def test_the_bucket_got_its_inputs_with_the_placeholders_replaced(customized: Customized) -> None:
    # its name used {account} and {account_id} (get_bucket_tagging found it by that name), its tags {environment}
    assert customized.bucket_tags["environment"] == "dev"
    assert customized.bucket_tags["owner"] == "platform"
    assert customized.bucket_tags["securecart:stack"] == "access-alpha"  # the account's provider made it


def test_drift_finds_a_customization_changed_by_hand_in_its_account_stack(customized: Customized) -> None:
    stacks = {s["stack"]: s for s in customized.drift["stacks"]}
    assert {name: s["status"] for name, s in stacks.items()} == {
        "organization": "clean",
        "access-alpha": "clean",
        "access-beta": "drifted",
    }
    (change,) = stacks["access-beta"]["changes"]
    assert change["address"] == "module.customization-public-access-block.aws_s3_account_public_access_block.this"
    assert [a["name"] for a in change["attributes"]] == ["block_public_acls"]
