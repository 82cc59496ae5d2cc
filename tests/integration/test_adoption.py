"""An organization built by hand (boto3 alone) is adopted through adopted.yaml: the first plan creates and
destroys nothing, apply keeps every ID, and a refreshed plan afterwards is clean."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project

pytestmark = pytest.mark.integration

REGION = "us-east-1"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyLeaveOrganization",
            "Effect": "Deny",
            "Action": ["organizations:LeaveOrganization"],
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]}},
        }
    ],
}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
QUEUE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}

MATRIX = """\
version: 1
organization:
  name: brownfield
  management_account: management
  units:
    - name: Workloads
    - name: Platform
accounts:
  - {{name: management, email: mgmt@brownfield.example, ou: /, id: "{management}"}}
  - {{name: app, email: app@brownfield.example, ou: Workloads, id: "{app}", access_role_exists: true}}
guardrails:
  - name: deny-leave
    file: policies/deny-leave.json
    description: Members stay in the organization
    targets: {{ous: [Workloads]}}
identity_center:
  identity_source: {{provider: okta}}
  groups:
    - {{name: Admins, source: created}}
  permission_sets:
    - name: ReadOnly
      managed_policies: [{read_only}]
  assignments:
    - {{group: Admins, permission_set: ReadOnly, accounts: [app]}}
roles:
  - name: Worker
    path: /service-role/
    audience: service
    accounts: [app]
    trust:
      principals: [{{service: lambda.amazonaws.com}}]
    inline_policies:
      - name: queue
        document:
          Statement: [{{Effect: Allow, Action: "sqs:ReceiveMessage", Resource: "*"}}]
"""

DEV = """\
name: dev
stacks: [organization, identity-center]
accounts: [management, app]
approval: none
"""


@dataclass
class Brownfield:
    """What was built by hand, by its IDs."""

    project: Path
    ids: dict[str, Any]


def _session(info: sandbox.SandboxInfo) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=REGION
    )


def _member_client(info: sandbox.SandboxInfo, account_id: str, service: str) -> Any:
    creds = (
        _session(info)
        .client("sts", endpoint_url=info.endpoint)
        .assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="brownfield"
        )["Credentials"]
    )
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    ).client(service, endpoint_url=info.endpoint)


def _build_organization(info: sandbox.SandboxInfo) -> dict[str, Any]:
    """An organization as a team made it by hand; returns every ID it has."""
    session = _session(info)
    org = session.client("organizations", endpoint_url=info.endpoint)
    ids: dict[str, Any] = {"organization": org.create_organization(FeatureSet="ALL")["Organization"]["Id"]}
    ids["management"] = session.client("sts", endpoint_url=info.endpoint).get_caller_identity()["Account"]
    (root,) = org.list_roots()["Roots"]
    ids["root"] = root["Id"]
    if not any(t["Type"] == "SERVICE_CONTROL_POLICY" and t["Status"] == "ENABLED" for t in root["PolicyTypes"]):
        org.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    for name in ("Workloads", "Platform"):
        ids[name] = org.create_organizational_unit(ParentId=root["Id"], Name=name)["OrganizationalUnit"]["Id"]
    status = org.create_account(Email="app@brownfield.example", AccountName="app")["CreateAccountStatus"]
    ids["app"] = status["AccountId"]
    org.move_account(AccountId=ids["app"], SourceParentId=root["Id"], DestinationParentId=ids["Workloads"])
    ids["scp"] = org.create_policy(
        Name="deny-leave",
        Description="Members stay in the organization",
        Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps(DENY_LEAVE, separators=(",", ":")),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=ids["scp"], TargetId=ids["Workloads"])
    ids.update(_build_identity_center(session, info, ids["app"]))
    iam = _member_client(info, ids["app"], "iam")
    role = iam.create_role(RoleName="Worker", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    ids["role"] = role["Role"]["RoleId"]
    iam.put_role_policy(RoleName="Worker", PolicyName="queue", PolicyDocument=json.dumps(QUEUE))
    return ids


def _build_identity_center(session: boto3.session.Session, info: sandbox.SandboxInfo, app: str) -> dict[str, Any]:
    sso = session.client("sso-admin", endpoint_url=info.endpoint)
    instance = sso.list_instances()["Instances"][0]
    store = instance["IdentityStoreId"]
    group = session.client("identitystore", endpoint_url=info.endpoint).create_group(
        IdentityStoreId=store, DisplayName="Admins"
    )["GroupId"]
    ps = sso.create_permission_set(InstanceArn=instance["InstanceArn"], Name="ReadOnly", SessionDuration="PT1H")
    ps_arn = ps["PermissionSet"]["PermissionSetArn"]
    sso.attach_managed_policy_to_permission_set(
        InstanceArn=instance["InstanceArn"], PermissionSetArn=ps_arn, ManagedPolicyArn=READ_ONLY
    )
    sso.create_account_assignment(
        InstanceArn=instance["InstanceArn"],
        TargetId=app,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps_arn,
        PrincipalType="GROUP",
        PrincipalId=group,
    )
    return {"instance": instance["InstanceArn"], "store": store, "group": group, "permission_set": ps_arn}


def _adoption_record(ids: dict[str, Any]) -> dict[str, Any]:
    """adopted.yaml as `import` writes it, by hand."""
    return {
        "version": 1,
        "organization_id": ids["organization"],
        "root_id": ids["root"],
        "management_account_id": ids["management"],
        "service_access_principals": ["sso.amazonaws.com"],
        "enabled_policy_types": ["SERVICE_CONTROL_POLICY"],
        "units": {"Workloads": ids["Workloads"], "Platform": ids["Platform"]},
        "guardrails": {"deny-leave": ids["scp"]},
        "guardrail_attachments": {"deny-leave": ["ou:Workloads"]},
        "identity_center": {
            "instance_arn": ids["instance"],
            "identity_store_id": ids["store"],
            "groups": {"Admins": ids["group"]},
            "permission_sets": {"ReadOnly": ids["permission_set"]},
            "managed_policies": {"ReadOnly": [READ_ONLY]},
            "assignments": [
                {"group": "Admins", "permission_set": "ReadOnly", "account": "app", "principal_id": ids["group"]}
            ],
        },
        "accounts": {"app": {"roles": {"Worker": {"inline_policies": ["queue"]}}}},
    }


@pytest.fixture
def brownfield(tmp_path: Path) -> Iterator[Brownfield]:
    project = tmp_path / "brownfield"
    project.mkdir()
    try:
        up = run_cli(project, "sandbox", "up", timeout=180)
        assert up.returncode == 0, explain(up)
        info = sandbox.read(project / ".securecart")
        assert info is not None
        ids = _build_organization(info)
        write_project(
            project,
            MATRIX.format(management=ids["management"], app=ids["app"], read_only=READ_ONLY),
            {"dev": DEV},
            {
                "policies/deny-leave.json": json.dumps(DENY_LEAVE, indent=2),
                "adopted.yaml": yaml.safe_dump(_adoption_record(ids), sort_keys=False),
            },
        )
        yield Brownfield(project, ids)
    finally:
        sandbox.down(project / ".securecart")


def _results(output: str) -> dict[str, dict[str, Any]]:
    return {r["stack"]: r for r in json.loads(output)["results"]}


def _live_ids(b: Brownfield) -> dict[str, Any]:
    """The same IDs, read back from AWS as it is now."""
    info = sandbox.read(b.project / ".securecart")
    assert info is not None
    session = _session(info)
    org = session.client("organizations", endpoint_url=info.endpoint)
    units = {
        u["Name"]: u["Id"]
        for u in org.list_organizational_units_for_parent(ParentId=b.ids["root"])["OrganizationalUnits"]
    }
    sso = session.client("sso-admin", endpoint_url=info.endpoint)
    (permission_set,) = sso.list_permission_sets(InstanceArn=b.ids["instance"])["PermissionSets"]
    groups = session.client("identitystore", endpoint_url=info.endpoint).list_groups(IdentityStoreId=b.ids["store"])
    iam = _member_client(info, b.ids["app"], "iam")
    return {
        "organization": org.describe_organization()["Organization"]["Id"],
        "units": units,
        "accounts": sorted(a["Id"] for a in org.list_accounts_for_parent(ParentId=units["Workloads"])["Accounts"]),
        "scp": [
            p["Id"]
            for p in org.list_policies_for_target(TargetId=units["Workloads"], Filter="SERVICE_CONTROL_POLICY")[
                "Policies"
            ]
            if p["Name"] == "deny-leave"
        ],
        "permission_set": permission_set,
        "groups": {g["DisplayName"]: g["GroupId"] for g in groups["Groups"]},
        "role": iam.get_role(RoleName="Worker")["Role"]["RoleId"],
        "inline": iam.list_role_policies(RoleName="Worker")["PolicyNames"],
    }


def test_an_organization_built_by_hand_is_adopted_with_nothing_created_or_destroyed(brownfield: Brownfield) -> None:
    b = brownfield
    validated = run_cli(b.project, "validate")
    assert validated.returncode == 0, explain(validated)

    planned = run_cli(b.project, "plan", "--env", "dev", "--json")
    assert planned.returncode in (0, 2), explain(planned)
    results = _results(planned.stdout)
    organization = results["organization"]
    assert (organization["add"], organization["remove"]) == (0, 0), organization["changes"]
    imported = {c["address"] for c in organization["changes"] if c["action"] == "import"}
    assert "module.organization.aws_organizations_organization.this" in imported
    assert (
        'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave|ou:Workloads"]'
        in imported
    )

    applied = run_cli(b.project, "apply", "--env", "dev", "--auto-approve", "--json")
    assert applied.returncode == 0, explain(applied)
    for stack, result in _results(applied.stdout).items():
        assert (result["add"], result["remove"]) == (0, 0), (stack, result["changes"])

    refreshed = run_cli(b.project, "plan", "--env", "dev", "--refresh", "--json")
    assert refreshed.returncode == 0, explain(refreshed)

    live = _live_ids(b)
    assert live == {
        "organization": b.ids["organization"],
        "units": {"Workloads": b.ids["Workloads"], "Platform": b.ids["Platform"]},
        "accounts": [b.ids["app"]],
        "scp": [b.ids["scp"]],
        "permission_set": b.ids["permission_set"],
        "groups": {"Admins": b.ids["group"]},
        "role": b.ids["role"],
        "inline": ["queue"],
    }
