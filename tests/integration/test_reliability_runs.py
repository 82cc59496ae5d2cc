"""Runs side by side, and runs that get stuck.

Two applies on one environment: the second is refused at once and changes nothing. Two applies on
different environments proceed together. A stack whose AWS never answers is stopped at the timeout and
reported "timed out", while the stacks that do not depend on it finish.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed
from tests.integration.faultproxy import (
    FaultProxy,
    Rule,
    Watched,
    assert_state_sound,
    processes_in,
    statuses,
)

pytestmark = pytest.mark.timeout(900)

ORG = """\
name: org
stacks: [organization]
accounts: [management]
approval: none
"""
PEOPLE = """\
name: people
stacks: [identity-center]
approval: none
"""


def _project(tmp_path: Path, environments: dict[str, str], matrix: str = SMALL_MATRIX) -> Path:
    return write_project(tmp_path / "small", matrix, {"org": ORG, "people": PEOPLE, **environments})


def _assume_role_into(stack: str) -> Rule:
    """Hold every request that assumes the stack's role: its provider waits for AWS until released."""
    return Rule("hold", match=lambda seen: seen.mentions(f"securecart-tf-{stack}"), name=stack)


def _ledger(project: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (project / ".securecart" / "ledger.jsonl").read_text().splitlines()]


@pytest.mark.integration
def test_a_second_apply_of_an_environment_is_refused_while_another_environment_proceeds(tmp_path: Path) -> None:
    beta = "{name: beta, email: beta@small.example, ou: Workloads, environment: %s}"
    assert beta % "dev" in SMALL_MATRIX  # beta moves to a stage of its own
    project = _project(
        tmp_path,
        {
            "dev": "name: dev\naccounts: [alpha]\napproval: none\n",
            "stage": "name: stage\naccounts: [beta]\napproval: none\n",
        },
        SMALL_MATRIX.replace(beta % "dev", beta % "stage"),
    )
    home = project / ".securecart"
    try:
        org = run_cli(project, "apply", "--env", "org", "--json")
        assert org.returncode == 0, explain(org)
        info = sandbox.read(home)
        assert info is not None
        held = _assume_role_into("access-alpha")
        with FaultProxy(info.endpoint, [held]) as proxy:
            through = {sandbox.ENDPOINT_VAR: proxy.url}
            dev = Watched(project, "apply", "--env", "dev", "--json", env=through)
            stage = None
            try:
                assert held.hit.wait(300), dev.explain()  # dev holds its lock and is mid-plan
                stage = Watched(project, "apply", "--env", "stage", "--json", env=through)
                refused = run_cli(project, "apply", "--env", "dev", "--json", timeout=120)
                assert dev.proc.poll() is None
                staged = stage.finish(timeout=300)  # another environment finishes while dev is still held
                assert dev.proc.poll() is None
                held.release.set()
                developed = dev.finish(timeout=300)
            finally:
                dev.stop()
                if stage is not None:
                    stage.stop()
        assert refused.returncode == 1, explain(refused)
        assert "environment 'dev' is busy" in refused.stderr
        assert f"pid {dev.pid}" in refused.stderr
        assert "nothing was changed" in refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
        assert staged.returncode == 0, explain(staged)
        assert statuses(staged.stdout) == {"access-beta": "applied"}
        assert developed.returncode == 0, explain(developed)
        assert statuses(developed.stdout) == {"access-alpha": "applied"}

        # the refused run recorded nothing: one apply of dev, one of stage, in the ledger
        runs = [(r["environment"], r["action"]) for r in _ledger(project) if r["stack"] == "*"]
        assert sorted(runs) == [("dev", "apply"), ("org", "apply"), ("stage", "apply")]
        for stack in ("organization", "access-alpha", "access-beta"):
            assert_state_sound(home / "state" / stack / "terraform.tfstate")
        deployed = Deployed(project)
        for account in ("alpha", "beta"):
            roles = [r["RoleName"] for r in deployed.client("iam", account).list_roles()["Roles"]]
            assert roles.count("AuditRole") == 1
    finally:
        sandbox.down(home)


@pytest.mark.integration
def test_a_stuck_stack_times_out_and_does_not_block_the_others(tmp_path: Path) -> None:
    project = _project(tmp_path, {"dev": "name: dev\naccounts: [alpha, beta]\napproval: none\n"})
    home = project / ".securecart"
    timeout = 30
    try:
        org = run_cli(project, "apply", "--env", "org", "--json")
        assert org.returncode == 0, explain(org)
        info = sandbox.read(home)
        assert info is not None
        stuck = _assume_role_into("access-beta")  # AWS never answers beta's stack
        with FaultProxy(info.endpoint, [stuck]) as proxy:
            start = time.monotonic()
            run = run_cli(
                project,
                "apply",
                "--env",
                "dev",
                "--json",
                "--timeout",
                str(timeout),
                env={sandbox.ENDPOINT_VAR: proxy.url},
                timeout=600,
            )
            took = time.monotonic() - start
        assert stuck.hit.is_set()
        assert run.returncode == 1, explain(run)
        report = {r["stack"]: r for r in json.loads(run.stdout)["results"]}
        assert report["access-alpha"]["status"] == "applied"
        assert report["access-beta"]["status"] == "timed out"
        assert str(timeout) in report["access-beta"]["message"]
        assert report["access-beta"]["log"] in report["access-beta"]["message"]
        progress = run.stderr.splitlines()
        # alpha did not wait for the stuck stack: it was under way before beta timed out (when it finishes
        # depends on the machine's load, not on beta)
        alpha_going = next(i for i, line in enumerate(progress) if "access-alpha: applying" in line)
        beta_out = next(i for i, line in enumerate(progress) if "access-beta: timed out" in line)
        assert alpha_going < beta_out
        assert took < 4 * timeout + 60, took
        assert processes_in(project / "build") == []
        beta = [r for r in _ledger(project) if r["stack"] == "access-beta"]
        assert [r["result"] for r in beta] == ["timed-out"]
        assert_state_sound(home / "state" / "access-alpha" / "terraform.tfstate")
    finally:
        sandbox.down(home)


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(tmp_path: Path, value: str) -> None:
    project = _project(tmp_path, {"dev": "name: dev\naccounts: [alpha, beta]\napproval: none\n"})
    refused = run_cli(project, "plan", "--env", "dev", "--timeout", value)
    assert refused.returncode == 1, explain(refused)
    assert "--timeout must be a positive number of seconds" in refused.stderr
    assert not (project / ".securecart").exists()  # refused before anything started


@pytest.mark.integration
def test_two_runs_starting_the_sandbox_at_once_share_one(tmp_path: Path) -> None:
    project = _project(tmp_path, {"dev": "name: dev\naccounts: [alpha, beta]\napproval: none\n"})
    home = project / ".securecart"
    try:
        starts = [Watched(project, "sandbox", "up") for _ in range(2)]
        try:
            results = [s.finish(timeout=120) for s in starts]
        finally:
            for s in starts:
                s.stop()
        seen = []
        for result in results:
            assert result.returncode == 0, result.stderr
            match = re.search(r"sandbox (started|already running): \S+ \(pid (\d+), session (\w+)\)", result.stdout)
            assert match, result.stdout
            seen.append(match.groups())
        assert sorted(verb for verb, _, _ in seen) == ["already running", "started"]
        assert seen[0][1:] == seen[1][1:]  # one process, one session
        log = str(home / "sandbox.log")
        servers = [pid for pid, cmd in processes_in(Path("/")) if "securecart_tf.sandbox.server" in cmd and log in cmd]
        assert len(servers) == 1, servers
    finally:
        sandbox.down(home)
