"""The orchestrator against the sandbox: saved plans, stale plans, failures, the S3 backend and its lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import SMALL_MATRIX, Deployed, cli, explain, write_project

pytestmark = pytest.mark.integration


def _statuses(result) -> dict[str, str]:
    return {r["stack"]: r["status"] for r in json.loads(result.stdout)["results"]}


def test_apply_uses_the_saved_plan_and_refuses_a_stale_one(small_project: Path) -> None:
    plan = cli(small_project, "plan", "--env", "dev", "--json")
    assert plan.returncode == 2, explain(plan)  # the organization has changes; the rest waits for it
    assert _statuses(plan)["organization"] == "planned"
    assert (small_project / ".securecart" / "plans" / "dev" / "organization.tfplan").is_file()

    matrix = small_project / "access-matrix.yaml"
    matrix.write_text(matrix.read_text().replace("targets: {ous: [Workloads]}", "targets: {ous: [/]}"))
    stale = cli(small_project, "apply", "--env", "dev", "--auto-approve")
    assert stale.returncode == 1, explain(stale)
    assert "saved plan for organization is stale" in stale.stderr
    assert "run `securecart-tf plan --env dev` again" in stale.stderr
    assert not (small_project / ".securecart" / "state" / "organization" / "terraform.tfstate").exists()

    replan = cli(small_project, "plan", "--env", "dev")
    assert replan.returncode == 2, explain(replan)
    words = " ".join(replan.stdout.split())  # the table and the hint, however the terminal wraps them
    assert "3 stack(s) can be planned once what they wait for is applied" in words
    assert "securecart-tf apply --env dev applies in order" in words
    applied = cli(small_project, "apply", "--env", "dev", "--auto-approve", "--json")
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


def test_a_failed_stack_skips_its_dependents_while_the_others_finish(small_project: Path) -> None:
    matrix = small_project / "access-matrix.yaml"
    # AWS has no such managed policy: attaching it fails in alpha's stack, which identity-center depends on
    # the roles list ends the matrix: append one more role to it
    matrix.write_text(
        matrix.read_text() + "  - name: BrokenRole\n    audience: platform\n    accounts: [alpha]\n"
        "    trust:\n      principals:\n        - account: management\n"
        "    managed_policies: [arn:aws:iam::aws:policy/NoSuchPolicyAnywhere]\n"
    )
    result = cli(small_project, "apply", "--env", "dev", "--auto-approve", "--json")
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
approval: none
backend:
  type: s3
  bucket: smallorg-terraform-state
  key_prefix: smallorg
  create_bucket: true
"""


def test_s3_backend_stores_state_and_refuses_a_held_lock(tmp_path: Path) -> None:
    project = write_project(tmp_path / "s3", SMALL_MATRIX, {"dev": S3_DEV})
    deployed = Deployed(project)
    try:
        applied = cli(project, "apply", "--env", "dev", "--auto-approve", "--json")
        assert applied.returncode == 0, explain(applied)
        assert not (project / ".securecart" / "state" / "organization" / "terraform.tfstate").exists()
        s3 = deployed.client("s3")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="smallorg-terraform-state")["Contents"]}
        assert "smallorg/organization/terraform.tfstate" in keys
        assert "smallorg/access-alpha/terraform.tfstate" in keys
        assert any(k.startswith("smallorg/ledger/") for k in keys), keys
        state = json.loads(
            s3.get_object(Bucket="smallorg-terraform-state", Key="smallorg/organization/terraform.tfstate")[
                "Body"
            ].read()
        )
        assert set(state["outputs"]["account_ids"]["value"]) == {"management", "alpha", "beta"}

        # someone else holds the organization stack's lock
        s3.put_object(
            Bucket="smallorg-terraform-state",
            Key="smallorg/organization/terraform.tfstate.tflock",
            Body=json.dumps(
                {"ID": "held-by-test", "Operation": "OperationTypeApply", "Who": "someone@elsewhere"}
            ).encode(),
        )
        locked = cli(project, "plan", "--env", "dev", "--refresh", "--json", "--timeout", "120")
        assert locked.returncode == 1, explain(locked)
        org = next(r for r in json.loads(locked.stdout)["results"] if r["stack"] == "organization")
        assert org["status"] == "failed"
        assert "lock" in org["message"].lower()
        assert "force-unlock -force held-by-test`" in org["message"], org["message"]  # the command to release it
        s3.delete_object(Bucket="smallorg-terraform-state", Key="smallorg/organization/terraform.tfstate.tflock")
        clean = cli(project, "plan", "--env", "dev", "--refresh", "--json")
        assert clean.returncode == 0, explain(clean)
    finally:
        deployed.stop()
