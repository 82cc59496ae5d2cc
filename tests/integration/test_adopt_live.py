"""The live reader against the sandbox server itself, through the client factory `import` builds for a target.

One sandbox for the module; the tests run in file order: the first reads it before any organization exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf import sandbox
from securecart_tf.adopt.clients import TargetClients
from securecart_tf.adopt.inventory import Inventory
from securecart_tf.adopt.live import read_inventory
from securecart_tf.errors import SecureCartError
from securecart_tf.run.workspace import Target

pytestmark = pytest.mark.integration

REGION = "us-east-1"
ROLE = "OrganizationAccountAccessRole"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    home = Path(tmp_path_factory.mktemp("adopt-live")) / ".securecart"
    info, _ = sandbox.up(home)
    try:
        yield Target("sandbox", f"sandbox:{info.session}", REGION, info=info)
    finally:
        sandbox.down(home)


def read(target: Target) -> Inventory:
    clients = TargetClients(target, ROLE)
    return read_inventory(clients.management, enter=clients.enter, region=REGION, deployment_role=ROLE)


def test_an_account_outside_any_organization_is_a_clear_error(target: Target) -> None:
    with pytest.raises(SecureCartError) as raised:
        read(target)
    assert "not in an organization" in raised.value.message
    assert raised.value.hint and "management account" in raised.value.hint


def test_an_organization_is_read_through_the_sandbox_and_the_deployment_role(target: Target) -> None:
    organizations = target.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    account = organizations.create_account(AccountName="workload", Email="workload@adopt.example")
    account_id = account["CreateAccountStatus"]["AccountId"]
    created = sandbox.provision_scim_groups(target.client, ["Engineers"])
    store = target.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    target.client("identitystore").create_group(IdentityStoreId=store, DisplayName="Local")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    creds = target.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="adopt-test"
    )["Credentials"]
    member_iam = target.boto3_session().client(
        "iam",
        endpoint_url=target.info.endpoint if target.info else None,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    member_iam.create_role(RoleName="AppServer", AssumeRolePolicyDocument=json.dumps(trust))

    inventory = read(target)

    assert created == ["Engineers"]
    assert inventory.identity_center is not None
    assert {g.name: g.scim for g in inventory.identity_center.groups} == {"Engineers": True, "Local": False}
    assert account_id in {a.id for a in inventory.accounts}
    iam = {i.account_id: i for i in inventory.iam}
    assert [(r.name, r.trust_policy) for r in iam[account_id].roles] == [("AppServer", trust)]
    assert inventory.skipped == ()
