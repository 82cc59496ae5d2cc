"""The orchestrator against the sandbox: saved plans, stale plans, failures, the S3 backend and its lock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed

pytestmark = pytest.mark.integration


def _statuses(result) -> dict[str, str]:
    return {r["stack"]: r["status"] for r in json.loads(result.stdout)["results"]}


def test_apply_uses_the_saved_plan_refuses_a_stale_one_and_plans_a_lost_state_in_full(small_project: Path) -> None:
    plan = run_cli(small_project, "plan", "--env", "dev", "--json")
    assert plan.returncode == 2, explain(plan)  # the organization has changes; the rest waits for it
    assert _statuses(plan)["organization"] == "planned"
    assert (small_project / ".securecart" / "plans" / "dev" / "organization.tfplan").is_file()

    matrix = small_project / "access-matrix.yaml"
    matrix.write_text(matrix.read_text().replace("targets: {ous: [Workloads]}", "targets: {ous: [/]}"))
    stale = run_cli(small_project, "apply", "--env", "dev", "--auto-approve")
    assert stale.returncode == 1, explain(stale)
    assert "saved plan for organization is stale" in stale.stderr
    assert "run `securecart-tf plan --env dev` again" in stale.stderr
    assert not (small_project / ".securecart" / "state" / "organization" / "terraform.tfstate").exists()

    replan = run_cli(small_project, "plan", "--env", "dev")
    assert replan.returncode == 2, explain(replan)
    words = " ".join(replan.stdout.split())  # the table and the hint, however the terminal wraps them
    assert "3 stack(s) can be planned once what they wait for is applied" in words
    assert "securecart-tf apply --env dev applies in order" in words
    applied = run_cli(small_project, "apply", "--env", "dev", "--auto-approve", "--json")
    assert applied.returncode == 0, explain(applied)
    statuses = _statuses(applied)
    assert statuses == {
        "organization": "applied",
        "access-alpha": "applied",
        "access-beta": "applied",
        "identity-center": "applied",
    }
    org = Deployed(small_project).client("organizations")
    (root,) = org.list_roots()["Roots"]
    policies = org.list_policies_for_target(TargetId=root["Id"], Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert "deny-leave-organization" in {p["Name"] for p in policies}

    # a lost state: the stack is planned in full, and the plan says why
    (small_project / ".securecart" / "state" / "access-beta" / "terraform.tfstate").write_text("")
    (small_project / ".securecart" / "state" / "access-alpha" / "terraform.tfstate").unlink()
    lost = run_cli(small_project, "plan", "--env", "dev", "--json")
    assert lost.returncode == 2, explain(lost)
    by_stack = {r["stack"]: r for r in json.loads(lost.stdout)["results"]}
    for stack in ("access-alpha", "access-beta"):
        assert by_stack[stack]["status"] == "planned", lost.stdout
        assert by_stack[stack]["add"] > 0, lost.stdout
        assert "state is missing or unreadable since the last apply" in by_stack[stack]["message"]
    assert by_stack["organization"]["status"] == "unchanged"
    # the roles are still in AWS: an apply now would try to create them again, and fail rather than report "unchanged"
    assert "AuditRole" in _roles(Deployed(small_project), "beta")


def test_a_failed_stack_skips_its_dependents_while_the_others_finish(small_project: Path) -> None:
    matrix = small_project / "access-matrix.yaml"
    # AWS has no such managed policy: attaching it fails in alpha's stack, which identity-center depends on
    # the roles list ends the matrix: append one more role to it
    matrix.write_text(
        matrix.read_text() + "  - name: BrokenRole\n    audience: platform\n    accounts: [alpha]\n"
        "    trust:\n      principals:\n        - account: management\n"
        "    managed_policies: [arn:aws:iam::aws:policy/NoSuchPolicyAnywhere]\n"
    )
    result = run_cli(small_project, "apply", "--env", "dev", "--auto-approve", "--json")
    assert result.returncode == 1, explain(result)
    report = json.loads(result.stdout)
    by_stack = {r["stack"]: r for r in report["results"]}
    assert by_stack["organization"]["status"] == "applied"
    assert by_stack["access-beta"]["status"] == "applied"
    assert by_stack["access-alpha"]["status"] == "failed"
    assert "NoSuchPolicyAnywhere" in by_stack["access-alpha"]["message"]
    assert by_stack["access-alpha"]["log"].endswith("access-alpha.log")
    assert by_stack["identity-center"]["status"] == "skipped"
    assert "access-alpha" in by_stack["identity-center"]["message"]
    iam = Deployed(small_project).client("iam", "beta")
    assert "AuditRole" in {r["RoleName"] for r in iam.list_roles()["Roles"]}


S3_DEV = """\
name: dev
stacks: [organization, identity-center]
accounts: [management, alpha, beta]
approval: prompt
backend:
  type: s3
  bucket: smallorg-terraform-state
  key_prefix: smallorg
  create_bucket: true
"""


@pytest.fixture(scope="module")
def s3_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """The small organization applied with its state in the sandbox's S3, and an approval prompt; the tests
    below each leave it as applied."""
    project = write_project(tmp_path_factory.mktemp("orchestration") / "s3", SMALL_MATRIX, {"dev": S3_DEV})
    deployed = Deployed(project)
    try:
        applied = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--json")
        assert applied.returncode == 0, explain(applied)
        yield deployed
    finally:
        deployed.stop()


def test_s3_backend_stores_state_and_refuses_a_held_lock(s3_org: Deployed) -> None:
    project = s3_org.project
    assert not (project / ".securecart" / "state" / "organization" / "terraform.tfstate").exists()
    s3 = s3_org.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="smallorg-terraform-state")["Contents"]}
    assert "smallorg/organization/terraform.tfstate" in keys
    assert "smallorg/access-alpha/terraform.tfstate" in keys
    assert any(k.startswith("smallorg/ledger/") for k in keys), keys
    state = json.loads(
        s3.get_object(Bucket="smallorg-terraform-state", Key="smallorg/organization/terraform.tfstate")["Body"].read()
    )
    assert set(state["outputs"]["account_ids"]["value"]) == {"management", "alpha", "beta"}

    # someone else holds the organization stack's lock
    s3.put_object(
        Bucket="smallorg-terraform-state",
        Key="smallorg/organization/terraform.tfstate.tflock",
        Body=json.dumps({"ID": "held-by-test", "Operation": "OperationTypeApply", "Who": "someone@elsewhere"}).encode(),
    )
    locked = run_cli(project, "plan", "--env", "dev", "--refresh", "--json", "--timeout", "120")
    assert locked.returncode == 1, explain(locked)
    org = next(r for r in json.loads(locked.stdout)["results"] if r["stack"] == "organization")
    assert org["status"] == "failed"
    assert "lock" in org["message"].lower()
    assert "force-unlock -force held-by-test`" in org["message"], org["message"]  # the command to release it
    s3.delete_object(Bucket="smallorg-terraform-state", Key="smallorg/organization/terraform.tfstate.tflock")
    clean = run_cli(project, "plan", "--env", "dev", "--refresh", "--json")
    assert clean.returncode == 0, explain(clean)


def _permission_sets(deployed: Deployed) -> set[str]:
    sso = deployed.client("sso-admin")
    (instance,) = sso.list_instances()["Instances"]
    arns = sso.list_permission_sets(InstanceArn=instance["InstanceArn"])["PermissionSets"]
    return {
        sso.describe_permission_set(InstanceArn=instance["InstanceArn"], PermissionSetArn=arn)["PermissionSet"]["Name"]
        for arn in arns
    }


def _roles(deployed: Deployed, account: str) -> set[str]:
    # the account's ID from Organizations: with the S3 backend there is no local state to read it from
    ids = {a["Name"]: a["Id"] for a in deployed.client("organizations").list_accounts()["Accounts"]}
    iam = sandbox_client(deployed.info, "iam", ids[account])
    return {r["RoleName"] for r in iam.list_roles()["Roles"]}


def _plans_left(project: Path) -> list[str]:
    folder = project / ".securecart" / "plans" / "dev"
    return sorted(p.name for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []


def test_an_apply_after_a_declined_destroy_removes_nothing(s3_org: Deployed) -> None:
    project = s3_org.project
    assert _permission_sets(s3_org) == {"EngineerAccess"}

    declined = run_cli(project, "destroy", "--env", "dev", input="n\n")
    assert declined.returncode == 1, explain(declined)
    assert "not approved; nothing was changed" in declined.stderr
    assert _plans_left(project) == []  # nothing a later command could take

    again = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--json")
    assert again.returncode == 0, explain(again)
    results = json.loads(again.stdout)["results"]
    assert [r["stack"] for r in results if r["remove"]] == [], again.stdout
    assert set(_statuses(again).values()) <= {"unchanged", "applied"}, again.stdout
    assert _permission_sets(s3_org) == {"EngineerAccess"}
    for account in ("alpha", "beta"):
        assert "AuditRole" in _roles(s3_org, account)
