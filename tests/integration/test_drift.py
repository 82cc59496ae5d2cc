"""`securecart-tf drift` against the sandbox: changes made with boto3 behind Terraform's back are found.

The small organization (tests/integration/conftest.py) is applied once. The tests share one round of hand
changes, made as an operator would with the AWS API, and one `drift --json` run (that a fresh apply reports
no drift is checked on the SecureCart example, in test_securecart_apply.py):

- AdministratorAccess attached by hand to AuditRole in alpha (a role the matrix manages);
- the deny-leave-organization SCP detached from the Workloads OU;
- a role HandRole created by hand in beta;
- Engineers given EngineerAccess in beta by hand (the matrix assigns it in alpha only).

Expected addresses follow the rendered roots (templates/*.tf.j2); expected IDs come from the sandbox
through boto3. The tests run in file order: the last adopts what drift reported.
One test in between runs `drift` again with a `drift.ignore` list covering the hand-made role and assignment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_DEV, SMALL_MATRIX, Deployed

pytestmark = pytest.mark.integration

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _trust_in(account_id: str) -> str:
    principal = {"AWS": f"arn:aws:iam::{account_id}:root"}
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(tmp_path_factory.mktemp("drift") / "small", SMALL_MATRIX, {"dev": SMALL_DEV})
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


@dataclass
class Tampered:
    deployed: Deployed
    report: dict[str, Any]
    policy_id: str
    workloads_id: str
    group_id: str
    permission_set_arn: str
    instance_arn: str

    def changes(self, stack: str) -> list[dict[str, Any]]:
        (found,) = [s for s in self.report["stacks"] if s["stack"] == stack]
        return list(found["changes"])

    def unmanaged(self, kind: str) -> list[dict[str, Any]]:
        return [u for u in self.report["unmanaged"] if u["kind"] == kind]


@pytest.fixture(scope="module")
def tampered(small: Deployed) -> Tampered:
    alpha = small.client("iam", "alpha")
    alpha.attach_role_policy(RoleName="AuditRole", PolicyArn=ADMIN)

    org = small.client("organizations")
    policy_id = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}[
        "deny-leave-organization"
    ]
    (root,) = org.list_roots()["Roots"]
    units = org.list_organizational_units_for_parent(ParentId=root["Id"])["OrganizationalUnits"]
    workloads_id = next(u["Id"] for u in units if u["Name"] == "Workloads")
    org.detach_policy(PolicyId=policy_id, TargetId=workloads_id)

    beta = small.client("iam", "beta")
    beta.create_role(RoleName="HandRole", AssumeRolePolicyDocument=_trust_in(small.account_ids["management"]))
    beta.attach_role_policy(RoleName="HandRole", PolicyArn=READ_ONLY)

    sso = small.client("sso-admin")
    (instance,) = sso.list_instances()["Instances"]
    store = small.client("identitystore")
    groups = store.list_groups(IdentityStoreId=instance["IdentityStoreId"])["Groups"]
    group_id = next(g["GroupId"] for g in groups if g["DisplayName"] == "Engineers")
    permission_sets = sso.list_permission_sets(InstanceArn=instance["InstanceArn"])["PermissionSets"]
    ps_arn = next(
        arn
        for arn in permission_sets
        if sso.describe_permission_set(InstanceArn=instance["InstanceArn"], PermissionSetArn=arn)["PermissionSet"][
            "Name"
        ]
        == "EngineerAccess"
    )
    sso.create_account_assignment(
        InstanceArn=instance["InstanceArn"],
        TargetId=small.account_ids["beta"],
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps_arn,
        PrincipalType="GROUP",
        PrincipalId=group_id,
    )

    result = run_cli(small.project, "drift", "--env", "dev", "--json")
    assert result.returncode == 2, explain(result)
    return Tampered(
        small, json.loads(result.stdout), policy_id, workloads_id, group_id, ps_arn, instance["InstanceArn"]
    )


def test_a_policy_attached_by_hand_to_a_managed_role_is_reported_in_its_stack(tampered: Tampered) -> None:
    (change,) = tampered.changes("access-alpha")
    assert change["address"] == 'module.role["AuditRole"].aws_iam_role.this'
    assert change["action"] == "update"
    (attribute,) = change["attributes"]
    assert attribute["name"] == "managed_policy_arns"
    assert ADMIN in attribute["after"] and ADMIN not in (attribute["before"] or [])
    assert change["remove"] == [f"aws iam detach-role-policy --role-name AuditRole --policy-arn {ADMIN}"]
    assert change["imports"] == [
        {
            "stack": "access-alpha",
            "to": f'module.role["AuditRole"].aws_iam_role_policy_attachment.this["{ADMIN}"]',
            "id": f"AuditRole/{ADMIN}",
        }
    ]


def test_a_detached_scp_is_reported_as_deleted_in_the_organization_stack(tampered: Tampered) -> None:
    (change,) = tampered.changes("organization")
    assert change["address"] == (
        'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave-organization|ou:Workloads"]'
    )
    assert change["action"] == "delete"
    assert "securecart-tf apply --env dev --refresh" in change["hint"]


def test_stacks_nobody_touched_stay_clean(tampered: Tampered) -> None:
    statuses = {s["stack"]: s["status"] for s in tampered.report["stacks"]}
    assert statuses == {
        "organization": "drifted",
        "access-alpha": "drifted",
        "access-beta": "clean",
        "identity-center": "clean",
    }


def test_a_role_created_by_hand_is_listed_with_its_import_blocks(tampered: Tampered) -> None:
    (role,) = tampered.unmanaged("role")
    assert (role["account"], role["name"], role["stack"]) == ("beta", "role HandRole", "access-beta")
    assert {(b["to"], b["id"]) for b in role["imports"]} == {
        ('module.role["HandRole"].aws_iam_role.this', "HandRole"),
        (f'module.role["HandRole"].aws_iam_role_policy_attachment.this["{READ_ONLY}"]', f"HandRole/{READ_ONLY}"),
    }
    # the roles AWS and the platform put there are not listed
    assert all("OrganizationAccountAccessRole" not in u["name"] for u in tampered.report["unmanaged"])


def test_an_assignment_made_by_hand_is_listed_with_its_import_block(tampered: Tampered) -> None:
    (assignment,) = tampered.unmanaged("assignment")
    beta_id = tampered.deployed.account_ids["beta"]
    assert assignment["imports"] == [
        {
            "stack": "identity-center",
            "to": 'module.identity_center.aws_ssoadmin_account_assignment.this["Engineers|EngineerAccess|beta"]',
            "id": ",".join(
                [
                    tampered.group_id,
                    "GROUP",
                    beta_id,
                    "AWS_ACCOUNT",
                    tampered.permission_set_arn,
                    tampered.instance_arn,
                ]
            ),
        }
    ]


def test_the_detached_scp_is_not_also_listed_as_unmanaged(tampered: Tampered) -> None:
    assert tampered.unmanaged("scp-attachment") == []


def test_drift_is_recorded_in_the_ledger(tampered: Tampered) -> None:
    ledger = tampered.deployed.project / ".securecart" / "ledger.jsonl"
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    drift = [r for r in records if r["action"] == "drift"]
    summaries = [r for r in drift if r["stack"] == "*"]
    assert summaries[-1]["result"] == "drift"
    assert summaries[-1]["detail"].startswith("2 changed outside Terraform, 2 not managed")
    last = {r["stack"]: r["result"] for r in drift if r["stack"] != "*"}
    assert last == {
        "organization": "drift",
        "access-alpha": "drift",
        "access-beta": "no-drift",
        "identity-center": "no-drift",
    }


def test_what_drift_ignore_names_is_shown_with_its_reason_and_not_counted(tampered: Tampered) -> None:
    matrix = tampered.deployed.project / "access-matrix.yaml"
    original = matrix.read_text()
    matrix.write_text(
        original + "drift:\n  ignore:\n"
        "    - {kind: role, name: hand*, accounts: [beta], reason: made by the support team's runbook}\n"
        "    - {kind: assignment, name: EngineerAccess, principal: Engineers, reason: granted during an incident}\n"
    )
    try:
        result = run_cli(tampered.deployed.project, "drift", "--env", "dev", "--json")
    finally:
        matrix.write_text(original)
    assert result.returncode == 2, explain(result)  # the hand-made changes to managed resources remain drift
    report = json.loads(result.stdout)
    assert report["unmanaged"] == []
    assert {(i["item"]["name"], i["reason"]) for i in report["ignored"]} == {
        ("role HandRole", "made by the support team's runbook"),
        ("group Engineers → EngineerAccess in beta", "granted during an incident"),
    }


def test_the_reported_import_blocks_adopt_what_they_name(tampered: Tampered) -> None:
    project: Path = tampered.deployed.project
    matrix = project / "access-matrix.yaml"
    text = matrix.read_text()
    text = text.replace(
        "{group: Engineers, permission_set: EngineerAccess, accounts: [alpha]}",
        "{group: Engineers, permission_set: EngineerAccess, accounts: [alpha, beta]}",
    )
    # the roles list ends the matrix: declare HandRole as it is
    text += (
        "  - name: HandRole\n    audience: platform\n    accounts: [beta]\n    trust:\n      principals:\n"
        "        - account: management\n"
        f"    managed_policies: [{READ_ONLY}]\n"
    )
    matrix.write_text(text)
    for stack, blocks in _by_stack(tampered.unmanaged("role") + tampered.unmanaged("assignment")).items():
        (project / "build" / "dev" / stack / "imports.tf").write_text(blocks)

    result = run_cli(project, "plan", "--env", "dev", "--json")
    assert result.returncode == 2, explain(result)
    planned = {r["stack"]: r for r in json.loads(result.stdout)["results"]}
    assert planned["identity-center"]["changes"] == [
        {
            "address": 'module.identity_center.aws_ssoadmin_account_assignment.this["Engineers|EngineerAccess|beta"]',
            "action": "import",
        }
    ]
    beta = {c["address"]: c["action"] for c in planned["access-beta"]["changes"]}
    role = 'module.role["HandRole"].aws_iam_role.this'
    attachment = f'module.role["HandRole"].aws_iam_role_policy_attachment.this["{READ_ONLY}"]'
    hand_role = {a: act for a, act in beta.items() if a.startswith('module.role["HandRole"]')}
    assert set(hand_role) == {role, attachment}
    assert hand_role[attachment] == "import"
    # imported (and its trust brought to what the matrix says), not created a second time
    assert hand_role[role] in ("import", "update")


def _by_stack(items: list[dict[str, Any]]) -> dict[str, str]:
    files: dict[str, list[str]] = {}
    for item in items:
        for block in item["imports"]:
            files.setdefault(block["stack"], []).append(
                f"import {{\n  to = {block['to']}\n  id = {json.dumps(block['id'])}\n}}\n"
            )
    return {stack: "\n".join(blocks) for stack, blocks in files.items()}
