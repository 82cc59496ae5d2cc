"""The sandbox's Identity Center as `import` reads it: SCIM groups carry ExternalIds, and a permission set is
provisioned to the accounts it is assigned in. Served in-process, driven with boto3 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from securecart_tf import sandbox
from tests.inprocess import serve

REGION = "us-east-1"


class Org:
    def __init__(self, info: sandbox.SandboxInfo) -> None:
        self.info = info
        self.session = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=REGION
        )
        self.instance = self.client("sso-admin").list_instances()["Instances"][0]

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.info.endpoint)

    @property
    def store(self) -> str:
        return str(self.instance["IdentityStoreId"])


@pytest.fixture
def org() -> Iterator[Org]:
    with serve() as info:
        yield Org(info)


def external_ids(org: Org) -> dict[str, list[dict[str, str]]]:
    groups = org.client("identitystore").list_groups(IdentityStoreId=org.store)["Groups"]
    return {g["DisplayName"]: g.get("ExternalIds", []) for g in groups}


def test_a_group_the_scim_stand_in_provisions_has_external_ids(org: Org) -> None:
    identitystore = org.client("identitystore")
    group_id = sandbox.provision_scim_group(identitystore, org.store, "Engineers", external_id="okta-7")
    identitystore.create_group(IdentityStoreId=org.store, DisplayName="Auditors")
    listed = external_ids(org)
    assert [e["Id"] for e in listed["Engineers"]] == ["okta-7"]
    assert listed["Auditors"] == []
    described = identitystore.describe_group(IdentityStoreId=org.store, GroupId=group_id)
    assert [e["Id"] for e in described["ExternalIds"]] == ["okta-7"]
    assert described["ExternalIds"][0]["Issuer"].startswith("https://scim.")


def test_the_header_is_sent_only_with_the_scim_group(org: Org) -> None:
    identitystore = org.client("identitystore")
    sandbox.provision_scim_group(identitystore, org.store, "Engineers")
    identitystore.create_group(IdentityStoreId=org.store, DisplayName="Created-after")
    listed = external_ids(org)
    assert [e["Id"] for e in listed["Engineers"]] == ["scim-Engineers"]
    assert listed["Created-after"] == []


def test_the_tools_idp_stand_in_provisions_scim_groups_once(org: Org) -> None:
    assert sandbox.provision_scim_groups(org.client, ["Developers", "SecurityTeam"]) == ["Developers", "SecurityTeam"]
    assert sandbox.provision_scim_groups(org.client, ["Developers"]) == []
    listed = external_ids(org)
    assert sorted(listed) == ["Developers", "SecurityTeam"]
    assert all(len(ids) == 1 for ids in listed.values())


def test_a_permission_set_is_provisioned_where_it_is_assigned(org: Org) -> None:
    sso = org.client("sso-admin")
    arn = org.instance["InstanceArn"]
    group = org.client("identitystore").create_group(IdentityStoreId=org.store, DisplayName="Ops")["GroupId"]
    permission_set = sso.create_permission_set(Name="OpsAccess", InstanceArn=arn)["PermissionSet"]["PermissionSetArn"]
    unused = sso.create_permission_set(Name="Unused", InstanceArn=arn)["PermissionSet"]["PermissionSetArn"]
    accounts = ["111111111111", "222222222222", "333333333333"]
    for account in accounts:
        sso.create_account_assignment(
            InstanceArn=arn,
            TargetId=account,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=permission_set,
            PrincipalType="GROUP",
            PrincipalId=group,
        )
    pages = sso.get_paginator("list_accounts_for_provisioned_permission_set").paginate(
        InstanceArn=arn, PermissionSetArn=permission_set, PaginationConfig={"PageSize": 2}
    )
    listed = [page["AccountIds"] for page in pages]
    assert listed == [accounts[:2], accounts[2:]]
    unprovisioned = sso.list_accounts_for_provisioned_permission_set(InstanceArn=arn, PermissionSetArn=unused)
    assert unprovisioned["AccountIds"] == []
