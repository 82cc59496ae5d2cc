"""drift where real AWS differs from a home-region commercial sandbox: it looks for hand-made assignments in the
Identity Center instance's own region (`identity_center.region`), and knows the matrix's policies by the ARNs of
the organization's partition. The sandbox is served in-process and driven with boto3 over HTTP."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3

from securecart_tf.config.environments import SandboxTarget
from securecart_tf.config.load import load_project
from securecart_tf.drift.scan import customer_policy_arns, scan_unmanaged
from securecart_tf.model import IDENTITY_CENTER
from securecart_tf.run.orchestrate import Options
from securecart_tf.sandbox import SandboxInfo
from tests.inprocess import serve

HOME = "us-east-1"
IC_REGION = "eu-west-1"


class Target:
    """The sandbox as a run's target: clients in the home region unless told another."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info = info
        self.region = HOME
        self.session = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=HOME
        )

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, endpoint_url=self.info.endpoint, region_name=region or self.region)


def _assign_by_hand(target: Target, account_id: str) -> None:
    """What someone did in the console: an assignment the identity-center stack does not manage."""
    sso = target.client("sso-admin", IC_REGION)
    instance = sso.list_instances()["Instances"][0]
    group = target.client("identitystore", IC_REGION).create_group(
        IdentityStoreId=instance["IdentityStoreId"], DisplayName="AuditReaders"
    )["GroupId"]
    permission_set = sso.create_permission_set(InstanceArn=instance["InstanceArn"], Name="AuditReadOnly")[
        "PermissionSet"
    ]["PermissionSetArn"]
    sso.create_account_assignment(
        InstanceArn=instance["InstanceArn"],
        TargetId=account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=permission_set,
        PrincipalType="GROUP",
        PrincipalId=group,
    )


def test_an_assignment_made_by_hand_is_found_in_identity_centers_own_region(example_project: Path) -> None:
    matrix = example_project.read_text()
    assert "identity_center:\n" in matrix
    example_project.write_text(matrix.replace("identity_center:\n", f"identity_center:\n  region: {IC_REGION}\n", 1))
    project = load_project(example_project)
    with serve() as info:
        target = Target(info)
        organizations = target.client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        created = organizations.create_account(AccountName="dev", Email="dev@example.com")
        dev = created["CreateAccountStatus"]["AccountId"]
        _assign_by_hand(target, dev)
        run = SimpleNamespace(
            project=project,
            env=SimpleNamespace(name="dev", stacks=[IDENTITY_CENTER], accounts=[], target=SandboxTarget()),
            target=target,
            facts=SimpleNamespace(account_ids={"dev": dev}),
            model=SimpleNamespace(stacks={}),
            read_state=lambda stack: {"resources": []} if stack == IDENTITY_CENTER else None,
            listen=lambda *args: None,
            options=Options(),  # the whole environment
        )
        found, errors = scan_unmanaged(run)  # type: ignore[arg-type]
    assert errors == []
    assert [(u.kind, u.account, u.principal, u.subject) for u in found] == [
        ("assignment", "dev", "AuditReaders", "AuditReadOnly")
    ]


def test_the_matrix_policies_are_known_by_their_govcloud_arns(example_project: Path) -> None:
    matrix = example_project.read_text()
    assert "home_region: us-east-1" in matrix
    example_project.write_text(matrix.replace("home_region: us-east-1", "home_region: us-gov-west-1"))
    run = SimpleNamespace(project=load_project(example_project))
    policies = customer_policy_arns(run, "444444444444")  # type: ignore[arg-type]
    arn = "arn:aws-us-gov:iam::444444444444:policy/SecureCartDeveloperBoundary"
    assert policies[arn] == "SecureCartDeveloperBoundary"
    assert not [a for a in policies if not a.startswith("arn:aws-us-gov:")]
