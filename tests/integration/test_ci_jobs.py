"""Jobs on separate machines, as a CI pipeline runs them: copies of one project that share nothing but the S3
backend (and a copied plans folder, as a CI artifact), each applying part of the environment."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import cli_env, explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed
from tests.integration.test_orchestration import S3_DEV

pytestmark = pytest.mark.integration

BUCKET = "smallorg-terraform-state"
LEDGER = "smallorg/ledger/dev/"
PROJECT_FILES = ("access-matrix.yaml", "environments")


@dataclass
class Machines:
    """The first project copy (which started the sandbox) and a way to make more of them."""

    first: Path
    root: Path
    jobs: dict[str, subprocess.CompletedProcess[str]]

    def copy(self, name: str) -> Path:
        """Another machine: the project's files, and the sandbox's address (as an endpoint would be configured)."""
        target = self.root / name
        target.mkdir()
        for item in PROJECT_FILES:
            source = self.first / item
            if source.is_dir():
                shutil.copytree(source, target / item)
            else:
                shutil.copy2(source, target / item)
        (target / ".securecart").mkdir(mode=0o700)
        shutil.copy2(self.first / ".securecart" / "sandbox.json", target / ".securecart" / "sandbox.json")
        return target

    def client(self, service: str, account: str | None = None) -> object:
        deployed = Deployed(self.first)
        if account is None:
            return sandbox_client(deployed.info, service, None)
        ids = json.loads(
            sandbox_client(deployed.info, "s3", None)
            .get_object(Bucket=BUCKET, Key="smallorg/organization/terraform.tfstate")["Body"]
            .read()
        )["outputs"]["account_ids"]["value"]
        return sandbox_client(deployed.info, service, ids[account])

    def ledger(self) -> list[dict[str, object]]:
        s3 = self.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=LEDGER).get("Contents", [])]  # type: ignore[attr-defined]
        return [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in sorted(keys)]  # type: ignore[attr-defined]


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "securecart_tf", *args],
        cwd=project,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], args: list[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    """The organization applied from one copy; then two jobs on two other copies apply the rest at once."""
    root = tmp_path_factory.mktemp("ci")
    first = write_project(root / "first", SMALL_MATRIX, {"dev": S3_DEV})
    try:
        org = run_cli(first, "apply", "--env", "dev", "--stacks", "organization", "--auto-approve", "--json")
        assert org.returncode == 0, explain(org)
        machines = Machines(first, root, {})
        selections = {
            "one": ["--stacks", "access-alpha,identity-center"],
            "two": ["--stacks", "access-alpha,access-beta", "--shard", "2/2"],  # alpha comes first: beta is 2/2
        }
        started = {}
        for name, selection in selections.items():
            args = ["apply", "--env", "dev", *selection, "--auto-approve", "--json"]
            started[name] = (_start(machines.copy(name), *args), args)
        machines.jobs = {name: _finish(proc, args) for name, (proc, args) in started.items()}
        yield machines
    finally:
        from securecart_tf import sandbox

        sandbox.down(first / ".securecart")


def _statuses(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {r["stack"]: r["status"] for r in json.loads(result.stdout)["results"]}


def test_two_jobs_apply_their_stacks_at_once_and_status_elsewhere_sees_both(machines: Machines) -> None:
    one, two = machines.jobs["one"], machines.jobs["two"]
    assert one.returncode == 0, explain(one)
    assert two.returncode == 0, explain(two)
    assert _statuses(one) == {"access-alpha": "applied", "identity-center": "applied"}
    assert _statuses(two) == {"access-beta": "applied"}
    for account in ("alpha", "beta"):
        iam = machines.client("iam", account)
        assert "AuditRole" in {r["RoleName"] for r in iam.list_roles()["Roles"]}  # type: ignore[attr-defined]

    runs = [r for r in machines.ledger() if r["stack"] == "*"]
    assert sorted(str(r["stacks"]) for r in runs) == [
        "access-alpha,identity-center",
        "access-beta",
        "organization",
    ]
    assert all(r["result"] == "ok" for r in runs)

    status = run_cli(machines.copy("three"), "status", "--json")
    assert status.returncode == 0, explain(status)
    (dev,) = json.loads(status.stdout)
    assert dev["state"] == "up to date", dev  # every stack applied cleanly, by three jobs together
    assert dev["current"] == dev["working_tree"]


def _add_role(project: Path, name: str) -> None:
    matrix = project / "access-matrix.yaml"
    matrix.write_text(
        matrix.read_text() + f"  - name: {name}\n    audience: platform\n    accounts: [beta]\n"
        "    trust:\n      principals:\n        - account: management\n"
        "    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n"
    )


def _carry(plans: Path, to: Path) -> Path:
    """The plans folder as a CI artifact would bring it to another machine."""
    shutil.copytree(plans, to)
    return to


def test_a_plan_carried_to_another_machine_applies_there_unless_its_state_moved_on(machines: Machines) -> None:
    planner = machines.copy("planner")
    _add_role(planner, "CarriedRole")
    plan = run_cli(planner, "plan", "--env", "dev", "--stacks", "access-beta", "--json")
    assert plan.returncode == 2, explain(plan)
    artifact = _carry(planner / ".securecart" / "plans" / "dev", machines.root / "artifact-1")

    applier = machines.copy("applier")
    _add_role(applier, "CarriedRole")
    args = ("apply", "--env", "dev", "--stacks", "access-beta", "--plans", str(artifact), "--auto-approve", "--json")
    applied = run_cli(applier, *args)
    assert applied.returncode == 0, explain(applied)
    (beta,) = json.loads(applied.stdout)["results"]
    assert beta["status"] == "applied"
    assert "access-beta: applying" in applied.stderr
    assert "access-beta: planning" not in applied.stderr, applied.stderr  # the carried plan, not a fresh one
    iam = machines.client("iam", "beta")
    assert "CarriedRole" in {r["RoleName"] for r in iam.list_roles()["Roles"]}  # type: ignore[attr-defined]

    # planned again, then another job applies the stack before the carried plan arrives
    for project in (planner, applier):
        _add_role(project, "LateRole")
    plan = run_cli(planner, "plan", "--env", "dev", "--stacks", "access-beta", "--json")
    assert plan.returncode == 2, explain(plan)
    late = _carry(planner / ".securecart" / "plans" / "dev", machines.root / "artifact-2")
    other = run_cli(applier, "apply", "--env", "dev", "--stacks", "access-beta", "--auto-approve", "--json")
    assert other.returncode == 0, explain(other)
    fresh = machines.copy("fresh")
    for name in ("CarriedRole", "LateRole"):
        _add_role(fresh, name)
    refused = run_cli(fresh, "apply", "--env", "dev", "--stacks", "access-beta", "--plans", str(late), "--auto-approve")
    assert refused.returncode == 1, explain(refused)
    words = " ".join(refused.stderr.split())
    assert "the saved plan for access-beta is stale: the stack's state changed since it was planned" in words
    assert "run `securecart-tf plan --env dev` again" in words


def test_drift_of_some_stacks_refreshes_those_and_scans_only_their_accounts(machines: Machines) -> None:
    iam = machines.client("iam", "alpha")
    iam.create_role(RoleName="MadeByHand", AssumeRolePolicyDocument=json.dumps(_TRUST))  # type: ignore[attr-defined]
    try:
        job = machines.copy("drift-beta")
        beta = run_cli(job, "drift", "--env", "dev", "--stacks", "access-beta", "--json")
        assert beta.returncode == 0, explain(beta)  # alpha's hand-made role is not this job's to find
        report = json.loads(beta.stdout)
        assert [s["stack"] for s in report["stacks"]] == ["access-beta"]
        assert report["unmanaged"] == []

        alpha = run_cli(machines.copy("drift-alpha"), "drift", "--env", "dev", "--shard", "2/4", "--json")
        assert alpha.returncode == 2, explain(alpha)  # dependency order: organization, access-alpha, ...
        report = json.loads(alpha.stdout)
        assert [s["stack"] for s in report["stacks"]] == ["access-alpha"]
        found = [(u["kind"], u["account"], u["subject"]) for u in report["unmanaged"]]
        assert found == [("role", "alpha", "MadeByHand")]
        records = [r for r in machines.ledger() if r["action"] == "drift" and r["stack"] == "*"]
        assert sorted(str(r["stacks"]) for r in records) == ["access-alpha", "access-beta"]
    finally:
        iam.delete_role(RoleName="MadeByHand")  # type: ignore[attr-defined]


_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
