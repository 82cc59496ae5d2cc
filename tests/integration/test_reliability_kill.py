"""securecart-tf killed mid-apply (`kill -9`, SIGTERM): no resource is lost and a plain rerun converges.

Terraform runs in a session of its own with its output in a file, so it outlives a `kill -9` of the tool
and still finishes its apply and writes state; the rerun waits for it. SIGTERM is handled like Ctrl-C:
the apply in flight finishes first. The fault proxy holds the organization stack's CreateAccount call,
so the signal arrives exactly while a resource is in flight. Each test runs with the local backend and
with the S3 backend (whose lock is an object that a dead Terraform would leave behind).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from securecart_tf import sandbox
from tests.integration.conftest import Deployed, cli, explain, write_project
from tests.integration.faultproxy import FaultProxy, Rule, Watched, processes_in, statuses

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TINY_MATRIX = """\
version: 1
organization:
  name: tinyorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@tiny.example, ou: /}
  - {name: alpha, email: alpha@tiny.example, ou: Workloads, environment: dev}
guardrails:
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: {ous: [Workloads]}
"""
DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha]
approval: none
"""
S3_BACKEND = """\
backend:
  type: s3
  bucket: tinyorg-terraform-state
  key_prefix: tinyorg
  create_bucket: true
"""
BUCKET = "tinyorg-terraform-state"


@pytest.fixture(params=["local", "s3"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    dev = DEV + (S3_BACKEND if request.param == "s3" else "")
    root = write_project(tmp_path / request.param, TINY_MATRIX, {"dev": dev})
    try:
        yield root
    finally:
        sandbox.down(root / ".securecart")


def _holding_alpha() -> Rule:
    return Rule(
        "hold",
        match=lambda seen: seen.operation == "CreateAccount" and seen.mentions("alpha@tiny.example"),
        limit=1,
    )


def _state(project: Path, stack: str) -> dict[str, Any]:
    deployed = Deployed(project)
    if (project / ".securecart" / "state" / stack / "terraform.tfstate").exists():
        return deployed.state(stack)
    body = deployed.client("s3").get_object(Bucket=BUCKET, Key=f"tinyorg/{stack}/terraform.tfstate")["Body"]
    state: dict[str, Any] = json.loads(body.read())
    return state


def _in_state(state: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [
        i["attributes"]
        for r in state["resources"]
        if r["type"] == rtype and r["mode"] == "managed"
        for i in r["instances"]
    ]


def _assert_converged(project: Path) -> None:
    """A plain rerun succeeds; then a refreshed plan finds nothing to do, and AWS holds each thing once."""
    rerun = cli(project, "apply", "--env", "dev", "--json")
    assert rerun.returncode == 0, explain(rerun)
    assert statuses(rerun.stdout) == {"organization": "unchanged"}, rerun.stdout
    replan = cli(project, "plan", "--env", "dev", "--refresh", "--json")
    assert replan.returncode == 0, explain(replan)

    orgs = Deployed(project).client("organizations")
    state = _state(project, "organization")
    names = [a["Name"] for a in orgs.list_accounts()["Accounts"]]
    assert sorted(names) == ["alpha", "management"]  # each once: nothing created twice
    assert {a["name"] for a in _in_state(state, "aws_organizations_account")} == {"alpha"}
    policies = {p["Id"] for p in orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    managed = {p["id"] for p in _in_state(state, "aws_organizations_policy")}
    assert policies - {"p-FullAWSAccess"} == managed  # every guardrail in AWS is in state
    attached = {(a["policy_id"], a["target_id"]) for a in _in_state(state, "aws_organizations_policy_attachment")}
    for policy in managed:
        targets = orgs.list_targets_for_policy(PolicyId=policy)["Targets"]
        assert {(policy, t["TargetId"]) for t in targets} <= attached

    if not (project / ".securecart" / "state" / "organization").exists():  # the S3 backend: no lock left behind
        keys = {o["Key"] for o in Deployed(project).client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])}
        assert not [k for k in keys if k.endswith(".tflock")], keys
    assert processes_in(project / "build") == []  # no Terraform, and no provider, left running


def test_kill_9_mid_apply_leaves_terraform_to_finish_and_a_rerun_waits_for_it(project: Path) -> None:
    info, _ = sandbox.up(project / ".securecart")
    creating = _holding_alpha()
    with FaultProxy(info.endpoint, [creating]) as proxy:
        env = {sandbox.ENDPOINT_VAR: proxy.url}
        run = Watched(project, "apply", "--env", "dev", env=env)
        try:
            assert creating.hit.wait(300), run.explain()
            os.kill(run.pid, signal.SIGKILL)
            killed = run.finish(timeout=60)
        finally:
            run.stop()
        assert killed.returncode == -signal.SIGKILL
        orphaned = processes_in(project / "build" / "dev" / "organization")
        assert orphaned, "the apply's Terraform did not outlive securecart-tf"

        rerun = Watched(project, "apply", "--env", "dev", "--json", env=env)
        try:
            waiting = rerun.wait_for(r"organization: waiting", timeout=300)
            assert rerun.proc.poll() is None
            creating.release.set()  # the killed run's Terraform now finishes its apply, on its own
            result = rerun.finish(timeout=600)
        finally:
            rerun.stop()
    assert "earlier run" in waiting and "terraform apply" in waiting, waiting
    assert result.returncode == 0, explain(result)
    report = json.loads(result.stdout)
    assert statuses(result.stdout) == {"organization": "unchanged"}, result.stdout  # the killed run's apply did it
    assert any("went on after an earlier securecart-tf stopped" in n for n in report["notices"]), report["notices"]
    log = (project / ".securecart" / "logs" / "dev" / "organization.log").read_text()
    assert "Apply complete!" in log.rpartition("went on after securecart-tf stopped")[2], log[-3000:]
    assert {pid for pid, _ in orphaned}.isdisjoint(pid for pid, _ in processes_in(project / "build"))
    _assert_converged(project)


def test_sigterm_mid_apply_lets_the_apply_finish_and_leaves_nothing_running(project: Path) -> None:
    info, _ = sandbox.up(project / ".securecart")
    creating = _holding_alpha()
    with FaultProxy(info.endpoint, [creating]) as proxy:
        run = Watched(project, "apply", "--env", "dev", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert creating.hit.wait(300), run.explain()
            os.kill(run.pid, signal.SIGTERM)
            notice = run.wait_for(r"Interrupted\.", timeout=60)
            creating.release.set()
            result = run.finish(timeout=300)
        finally:
            run.stop()
    assert result.returncode == 1, explain(result)
    assert "SIGTERM" in notice and "organization" in notice, notice
    assert "Traceback" not in result.stderr
    assert processes_in(project / "build") == []  # the tool exited, and took nothing it started with it running
    state = _state(project, "organization")
    assert {a["name"] for a in _in_state(state, "aws_organizations_account")} == {"alpha"}
    _assert_converged(project)
