"""The emitted GitLab pipeline, run for real: gitlab-ci-local's shell executor, each job in a build folder of its
own (`--shell-isolation`), the manual approval started with `--manual`, every job on the sandbox the project
folder started (passed as the CI variable SECURECART_SANDBOX_URL); then the project folder sees what they did.

A small organization in two environments (dev, then staging behind an approval), both on the sandbox's S3
backend: the SecureCart example's three environments cost too much Terraform for one more test run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from securecart_tf import sandbox
from tests.golden.pipeline import linters
from tests.helpers import cli_env, explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import SMALL_MATRIX

pytestmark = pytest.mark.integration

GITLAB_CI_LOCAL = "gitlab-ci-local@4.55.0"
PIPELINE_TIMEOUT = 1800
BUCKET = "smallorg-terraform-state"
MATRIX = SMALL_MATRIX.replace(
    "{name: beta, email: beta@small.example, ou: Workloads, environment: dev}",
    "{name: beta, email: beta@small.example, ou: Workloads, environment: staging}",
)
ENVIRONMENTS = {
    "dev": f"""\
        name: dev
        stacks: [organization, identity-center]
        accounts: [management, alpha]
        approval: none
        backend: {{type: s3, bucket: {BUCKET}, key_prefix: smallorg/dev, create_bucket: true}}
        """,
    "staging": f"""\
        name: staging
        promotes_from: dev
        accounts: [beta]
        approval: prompt
        backend: {{type: s3, bucket: {BUCKET}, key_prefix: smallorg/staging, create_bucket: true}}
        """,
}
ROLE_IN = {"dev": "alpha", "staging": "beta"}
"""The member account each environment gives the matrix's AuditRole."""


def gitlab_ci_local() -> list[str]:
    """The command that runs gitlab-ci-local, installed from npm into the test cache on first use."""
    node = shutil.which("node")
    if node is None:
        raise linters.Unavailable("node is not on PATH: gitlab-ci-local runs on Node.js")
    return [node, str(linters.npm_package(GITLAB_CI_LOCAL, "gitlab-ci-local/src/index.js"))]


def ensure_rsync() -> None:
    """gitlab-ci-local copies the checkout into each job's build folder with rsync: from Debian's packages."""
    if shutil.which("rsync"):
        return
    root = os.geteuid() == 0
    sudo = [] if root else ["sudo", "-n"]
    if not root and shutil.which("sudo") is None:
        raise linters.Unavailable("rsync is not installed, and neither root nor sudo can install it")
    with linters.locked("apt"):
        if shutil.which("rsync"):
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "rsync"]):
            done = subprocess.run([*sudo, *step], capture_output=True, text=True, env=env, timeout=600)
            if done.returncode != 0:
                raise linters.Unavailable(f"{' '.join(step)} failed: {done.stderr[-2000:]}")
    if shutil.which("rsync") is None:
        raise linters.Unavailable("apt-get installed rsync, but it is not on PATH")


@dataclass
class Ran:
    """One run of the pipeline: the project folder, its sandbox, and gitlab-ci-local's outcome."""

    project: Path
    result: subprocess.CompletedProcess[str]

    @property
    def info(self) -> sandbox.SandboxInfo:
        info = sandbox.read(self.project / ".securecart")
        assert info is not None, "the sandbox is not running"
        return info

    def passed(self) -> list[str]:
        """The jobs gitlab-ci-local's closing report lists as passed, in stage order."""
        return [line[len(" PASS ") :].strip() for line in self.result.stdout.splitlines() if line.startswith(" PASS ")]

    def logs(self) -> dict[str, str]:
        """Each job's output, by the name of its log file."""
        return {p.stem: p.read_text() for p in (self.project / ".gitlab-ci-local" / "output").glob("*.log")}

    def account_ids(self) -> dict[str, str]:
        s3 = sandbox_client(self.info, "s3")
        state = json.loads(
            s3.get_object(Bucket=BUCKET, Key="smallorg/dev/organization/terraform.tfstate")["Body"].read()
        )
        return dict(state["outputs"]["account_ids"]["value"])

    def client(self, service: str, account: str) -> Any:
        return sandbox_client(self.info, service, self.account_ids()[account])


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True, timeout=60)


def commit_project(project: Path) -> None:
    """The project as a repository on its default branch, the emitted pipeline in it, as a user pushes it."""
    (project / ".gitignore").write_text(".securecart/\n.gitlab-ci-local/\nbuild/\n")
    emitted = run_cli(project, "pipeline", "gitlab")
    assert emitted.returncode == 0, explain(emitted)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=Local", "-c", "user.email=local@small.example", "commit", "-q", "-m", "access")


def run_pipeline(
    project: Path, command: list[str], endpoint: str, home: Path, approvals: list[str]
) -> subprocess.CompletedProcess[str]:
    """The whole pipeline, the manual `approvals` started; securecart-tf and Terraform from the runner's PATH."""
    tool = Path(sys.executable).parent
    if not (tool / "securecart-tf").exists():
        raise AssertionError(f"securecart-tf is not installed beside {sys.executable}: pip install -e '.[test]'")
    env = cli_env({"PATH": f"{tool}{os.pathsep}{os.environ['PATH']}"})
    args = [
        *command,
        "--shell-isolation",
        *(a for job in approvals for a in ("--manual", job)),
        "--variable",
        f"{sandbox.URL_VAR}={endpoint}",
        "--home",
        str(home),
        "--no-color",
    ]
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=PIPELINE_TIMEOUT)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    try:
        command = gitlab_ci_local()
        ensure_rsync()
    except linters.Unavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    root = tmp_path_factory.mktemp("gitlab")
    project = write_project(root / "project", MATRIX, ENVIRONMENTS)
    try:
        up = run_cli(project, "sandbox", "up")
        assert up.returncode == 0, explain(up)
        info = sandbox.read(project / ".securecart")
        assert info is not None, up.stdout
        commit_project(project)
        result = run_pipeline(project, command, info.endpoint, root / "gitlab-home", ["approve-staging"])
        (root / "gitlab-ci-local.log").write_text(result.stdout + result.stderr)  # the whole run, to read on failure
        yield Ran(project, result)
    finally:
        sandbox.down(project / ".securecart")


DEPLOYED = [
    "deploy-dev-plan-0: [organization]",
    "deploy-dev-apply-0: [organization]",
    "deploy-dev-plan-1: [access-alpha]",
    "deploy-dev-apply-1: [access-alpha]",
    "deploy-dev-plan-2: [identity-center]",  # its permission set names access-alpha's policy
    "deploy-dev-apply-2: [identity-center]",
    "approve-staging",
    "promote-staging-0: [access-beta]",
]


def test_every_job_of_the_default_branch_passes_in_order_the_approval_included(ran: Ran) -> None:
    assert ran.result.returncode == 0, explain(ran.result)
    assert ran.passed() == DEPLOYED, ran.result.stdout[-4000:]
    assert "FAIL" not in ran.result.stdout


def test_each_apply_job_applies_the_plan_its_plan_job_carried_over(ran: Ran) -> None:
    applies = {name: log for name, log in ran.logs().items() if name.startswith("deploy-dev-apply-")}
    assert len(applies) == 3, sorted(ran.logs())
    for name, log in applies.items():
        assert ": applied" in log, log
        assert ": planning" not in log, f"{name} planned afresh instead of taking the saved plan:\n{log}"


def test_the_role_exists_in_each_environments_member_account(ran: Ran) -> None:
    for env, account in ROLE_IN.items():
        roles = {r["RoleName"] for r in ran.client("iam", account).list_roles()["Roles"]}
        assert "AuditRole" in roles, (env, account, sorted(roles))


def test_the_project_folder_plans_no_change_in_any_environment(ran: Ran) -> None:
    for env in ENVIRONMENTS:
        plan = run_cli(ran.project, "plan", "--env", env, "--refresh")
        assert plan.returncode == 0, explain(plan)


def test_status_shows_every_environment_at_the_revision_the_jobs_applied(ran: Ran) -> None:
    applied = {m for log in ran.logs().values() for m in re.findall(r"\brevision ([0-9a-f]{12})\b", log)}
    assert len(applied) == 1, applied
    status = run_cli(ran.project, "status", "--json")
    assert status.returncode == 0, explain(status)
    rows = {r["environment"]: r for r in json.loads(status.stdout)}
    assert sorted(rows) == sorted(ENVIRONMENTS)
    for env, row in rows.items():
        assert row["current"] in applied and row["state"] == "up to date", (env, row)
        assert row["target"] == f"sandbox:{ran.info.session}", row  # the jobs' target is the project folder's
