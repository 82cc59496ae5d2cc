"""Promotion dev → staging → prod by revision, its refusals, a failure that blocks prod, and rollback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

MATRIX = """\
version: 1
organization:
  name: promoorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@promo.example, ou: /}
  - {name: dev, email: dev@promo.example, ou: Workloads, environment: dev}
  - {name: staging, email: staging@promo.example, ou: Workloads, environment: staging}
  - {name: prod, email: prod@promo.example, ou: Workloads, environment: prod}
roles:
  - name: AppReader
    audience: platform
    environments: [dev, staging, prod]
    trust:
      principals:
        - role: {role: OrganizationAccountAccessRole, account: management}
    managed_policies:
      - arn:aws:iam::aws:policy/ReadOnlyAccess
"""
ENVIRONMENTS = {
    "dev": "name: dev\nstacks: [organization]\naccounts: [management, dev]\napproval: none\n",
    "staging": "name: staging\npromotes_from: dev\naccounts: [staging]\napproval: prompt\n",
    "prod": "name: prod\npromotes_from: staging\naccounts: [prod]\napproval: always\n",
}
THE_CHANGE = (
    "      - arn:aws:iam::aws:policy/ReadOnlyAccess\n",
    "      - arn:aws:iam::aws:policy/ReadOnlyAccess\n      - arn:aws:iam::aws:policy/SecurityAudit\n",
)


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def policies_of(deployed: Deployed, account: str) -> set[str]:
    iam = deployed.client("iam", account)
    return {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="AppReader")["AttachedPolicies"]}


def status(project: Path) -> dict[str, dict[str, object]]:
    result = run_cli(project, "status", "--json")
    assert result.returncode == 0, explain(result)
    return {row["environment"]: row for row in json.loads(result.stdout)}


def test_a_change_moves_dev_to_staging_to_prod_and_rolls_back(tmp_path: Path) -> None:
    project = write_project(tmp_path / "promo", MATRIX, ENVIRONMENTS)
    deployed = Deployed(project)
    try:
        git(project, "init", "-q")
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "first")
        # revision A everywhere
        assert run_cli(project, "apply", "--env", "dev", "--auto-approve").returncode == 0
        first = run_cli(project, "promote", "--from", "dev", "--to", "staging", "--auto-approve")
        assert first.returncode == 0, explain(first)
        first = run_cli(project, "promote", "--from", "staging", "--to", "prod", "--confirm-env", "prod")
        assert first.returncode == 0, explain(first)
        rev_a = status(project)["prod"]["current"]
        assert {row["current"] for row in status(project).values()} == {rev_a}

        # revision B: committed, but not applied to dev yet
        matrix = project / "access-matrix.yaml"
        matrix.write_text(matrix.read_text().replace(*THE_CHANGE))
        git(project, "commit", "-q", "-am", "reader may audit")
        refused = run_cli(project, "promote", "--from", "dev", "--to", "staging", "--auto-approve")
        assert refused.returncode == 1, explain(refused)
        assert f"dev runs {rev_a}" in refused.stderr
        assert policies_of(deployed, "staging") == {"ReadOnlyAccess"}

        applied = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert applied.returncode == 0, explain(applied)
        assert policies_of(deployed, "dev") == {"ReadOnlyAccess", "SecurityAudit"}
        assert policies_of(deployed, "staging") == {"ReadOnlyAccess"}

        # a dirty tree is refused, naming the file
        matrix.write_text(matrix.read_text() + "# an uncommitted edit\n")
        dirty = run_cli(project, "promote", "--from", "dev", "--to", "staging", "--auto-approve")
        assert dirty.returncode == 1, explain(dirty)
        assert "uncommitted changes to access-matrix.yaml" in dirty.stderr
        git(project, "checkout", "--", "access-matrix.yaml")

        # promotion skips a stage? no: prod promotes only from staging
        skipped = run_cli(project, "promote", "--from", "dev", "--to", "prod", "--confirm-env", "prod")
        assert skipped.returncode == 1 and "prod does not promote from dev" in skipped.stderr

        # as a CI job would: the stage's stacks named; prod may follow once they have together taken B
        args = ("promote", "--from", "dev", "--to", "staging", "--stacks", "access-staging", "--auto-approve", "--json")
        promoted = run_cli(project, *args)
        assert promoted.returncode == 0, explain(promoted)
        assert [r["stack"] for r in json.loads(promoted.stdout)["results"]] == ["access-staging"]
        assert policies_of(deployed, "staging") == {"ReadOnlyAccess", "SecurityAudit"}
        assert policies_of(deployed, "prod") == {"ReadOnlyAccess"}
        # prod always asks: without the typed name nothing changes
        unconfirmed = run_cli(project, "promote", "--from", "staging", "--to", "prod", "--auto-approve", input="\n")
        assert unconfirmed.returncode == 1, explain(unconfirmed)
        assert policies_of(deployed, "prod") == {"ReadOnlyAccess"}
        promoted = run_cli(project, "promote", "--from", "staging", "--to", "prod", input="prod\n")
        assert promoted.returncode == 0, explain(promoted)
        assert policies_of(deployed, "prod") == {"ReadOnlyAccess", "SecurityAudit"}
        rev_b = status(project)["prod"]["current"]
        assert rev_b != rev_a
        assert {row["current"] for row in status(project).values()} == {rev_b}

        # rollback dev to A, re-rendered from A's stored inputs
        rolled = run_cli(project, "rollback", "--env", "dev", "--to", str(rev_a), "--auto-approve")
        assert rolled.returncode == 0, explain(rolled)
        assert policies_of(deployed, "dev") == {"ReadOnlyAccess"}
        after = status(project)
        assert after["dev"]["current"] == rev_a and after["prod"]["current"] == rev_b
        assert after["dev"]["state"] == "behind the working tree"
    finally:
        sandbox.down(project / ".securecart")


def test_a_failed_apply_in_staging_blocks_prod(tmp_path: Path) -> None:
    broken = MATRIX + (
        "  - name: StagingTool\n    audience: platform\n    environments: [staging]\n"
        "    trust:\n      principals:\n        - role: {role: OrganizationAccountAccessRole, account: management}\n"
        "    managed_policies: [arn:aws:iam::aws:policy/NoSuchPolicyAnywhere]\n"
    )
    project = write_project(tmp_path / "fail", broken, ENVIRONMENTS)
    try:
        assert run_cli(project, "apply", "--env", "dev", "--auto-approve").returncode == 0
        failed = run_cli(project, "promote", "--from", "dev", "--to", "staging", "--auto-approve", "--json")
        assert failed.returncode == 1, explain(failed)
        (result,) = json.loads(failed.stdout)["results"]
        assert result["stack"] == "access-staging" and result["status"] == "failed"
        rows = status(project)
        assert rows["staging"]["current"] is None
        assert rows["staging"]["last_result"] == "failed"
        blocked = run_cli(project, "promote", "--from", "staging", "--to", "prod", "--confirm-env", "prod")
        assert blocked.returncode == 1, explain(blocked)
        assert "staging has no revision that applied cleanly" in blocked.stderr
        assert not (project / ".securecart" / "state" / "access-prod").exists()
    finally:
        sandbox.down(project / ".securecart")
