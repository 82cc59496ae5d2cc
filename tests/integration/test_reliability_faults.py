"""Faults in the middle of a run: the sandbox dies, AWS throttles and fails, Terraform itself fails.

Each scenario acts at an exact moment, never after a sleep: the fault proxy (faultproxy.py) holds the
request of interest, and the test acts while it is held. Expected values come from the scenario itself:
the accounts and roles the small matrix declares, the faults the proxy was told to inject.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from securecart_tf import sandbox
from securecart_tf.config.load import load_project
from securecart_tf.run import orchestrate
from securecart_tf.run.plan import plan
from securecart_tf.run.workspace import Workspace
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed
from tests.integration.faultproxy import (
    FAULTS,
    FaultProxy,
    Rule,
    Watched,
    assert_state_sound,
    descendants,
    state_lock_free,
    statuses,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

# The small organization, rolled out in one stage: the organization stack, then one access stack per
# account. identity-center sits in a later stage that these tests never run.
DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha, beta]
approval: none
"""
PEOPLE = """\
name: people
stacks: [identity-center]
approval: none
"""
ACCOUNTS = ("alpha", "beta")


@pytest.fixture
def project(tmp_path: Path):
    root = write_project(tmp_path / "small", SMALL_MATRIX, {"dev": DEV, "people": PEOPLE})
    try:
        yield root
    finally:
        sandbox.down(root / ".securecart")


def _org_state(project: Path) -> Path:
    return project / ".securecart" / "state" / "organization" / "terraform.tfstate"


def _assert_converged(project: Path) -> None:
    """One organization, each declared account exactly once, and AuditRole in each of them."""
    deployed = Deployed(project)
    org = deployed.client("organizations")
    assert len(org.list_roots()["Roots"]) == 1
    names = Counter(a["Name"] for a in org.list_accounts()["Accounts"])
    for name in ACCOUNTS:
        assert names[name] == 1, names
    assert sum(names.values()) == len(ACCOUNTS) + 1, names  # and the management account
    for name in ACCOUNTS:
        roles = [r["RoleName"] for r in deployed.client("iam", name).list_roles()["Roles"]]
        assert roles.count("AuditRole") == 1, (name, roles)


def _creating(account: str) -> Rule:
    """Hold the organization stack's CreateAccount call for one account."""
    return Rule(
        "hold",
        match=lambda seen: seen.operation == "CreateAccount" and seen.mentions(f"{account}@small.example"),
        limit=1,
        name=f"create {account}",
    )


def test_the_sandbox_dying_mid_apply_fails_the_stack_skips_its_dependents_and_a_rerun_converges(
    project: Path,
) -> None:
    home = project / ".securecart"
    info, _ = sandbox.up(home)
    creating = _creating("alpha")
    with FaultProxy(info.endpoint, [creating]) as proxy:
        run = Watched(project, "apply", "--env", "dev", "--json", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert creating.hit.wait(300), run.explain()
            pid = json.loads((home / "sandbox.json").read_text())["pid"]
            os.kill(pid, signal.SIGKILL)  # while the organization stack is creating an account
            os.waitpid(pid, 0)  # our child (sandbox.up above): gone once reaped
            creating.release.set()
            failed = run.finish(timeout=300)
        finally:
            run.stop()
    assert failed.returncode == 1, explain(failed)
    report = {r["stack"]: r for r in json.loads(failed.stdout)["results"]}
    assert report["organization"]["status"] == "failed"
    assert report["organization"]["log"].endswith("organization.log") and Path(report["organization"]["log"]).is_file()
    for name in ACCOUNTS:
        assert report[f"access-{name}"]["status"] == "skipped"
        assert "organization" in report[f"access-{name}"]["message"]
    first = assert_state_sound(_org_state(project))
    assert state_lock_free(_org_state(project))
    kept = _org_state(project).read_bytes()

    up = run_cli(project, "sandbox", "up")
    assert up.returncode == 0, explain(up)
    rerun = run_cli(project, "apply", "--env", "dev", "--json")
    assert rerun.returncode == 0, explain(rerun)
    assert set(statuses(rerun.stdout).values()) == {"applied"}, rerun.stdout
    notices = json.loads(rerun.stdout)["notices"]
    aside = [m.group(1) for n in notices if (m := re.search(r"set aside in (\S+)", n))]
    assert aside, notices
    assert (Path(aside[0]) / "state" / "organization" / "terraform.tfstate").read_bytes() == kept  # nothing lost
    fresh = assert_state_sound(_org_state(project))
    assert fresh["lineage"] != first["lineage"]  # a new sandbox is an empty AWS: a new state, not the old one

    replan = run_cli(project, "plan", "--env", "dev", "--refresh", "--json")
    assert replan.returncode == 0, explain(replan)
    assert set(statuses(replan.stdout).values()) == {"no changes"}
    _assert_converged(project)


def test_throttling_and_5xx_are_retried_and_persistent_errors_fail_cleanly_in_bounded_time(project: Path) -> None:
    home = project / ".securecart"
    info, _ = sandbox.up(home)
    # every third first attempt is answered with an error, the four kinds in turn; retries go through
    kinds = [kind for kind in FAULTS if kind != "conflict"]  # the SDKs never retry a conflict
    flaky = [
        Rule(kind, first_attempt_only=True, match=lambda s, i=i: s.number % (3 * len(kinds)) == 3 * i)
        for i, kind in enumerate(kinds)
    ]
    with FaultProxy(info.endpoint, flaky) as proxy:
        start = time.monotonic()
        applied = run_cli(
            project, "apply", "--env", "dev", "--json", env={sandbox.ENDPOINT_VAR: proxy.url}, timeout=600
        )
        took = time.monotonic() - start
    assert applied.returncode == 0, explain(applied)
    assert set(statuses(applied.stdout).values()) == {"applied"}
    for kind in kinds:
        assert proxy.injected[kind] >= 1, proxy.injected
    assert {s.service for s in proxy.seen if s.invocation in proxy.faulted} >= {"organizations", "iam"}
    assert proxy.retried_and_answered() == len(proxy.faulted)  # each faulted call was retried, and got through
    assert took < 420, took
    _assert_converged(project)

    broken = [Rule("unavailable", match=lambda s: s.service == "iam")]  # IAM answers 503, every time
    with FaultProxy(info.endpoint, broken) as proxy:
        start = time.monotonic()
        planned = run_cli(
            project, "plan", "--env", "dev", "--refresh", "--json", env={sandbox.ENDPOINT_VAR: proxy.url}, timeout=600
        )
        took = time.monotonic() - start
    assert planned.returncode == 1, explain(planned)
    report = {r["stack"]: r for r in json.loads(planned.stdout)["results"]}
    assert report["organization"]["status"] == "no changes"
    for name in ACCOUNTS:
        stack = report[f"access-{name}"]
        assert stack["status"] == "failed"
        assert "ServiceUnavailable" in stack["message"] and stack["log"] in stack["message"]
        assert not (home / "plans" / "dev" / f"access-{name}.tfplan").exists()
    assert proxy.injected["unavailable"] >= 2
    assert took < 240, took


def test_a_provider_crash_mid_plan_is_reported_with_the_stack_and_its_log(project: Path) -> None:
    home = project / ".securecart"
    info, _ = sandbox.up(home)
    first_call = Rule("hold", limit=1)  # the organization stack's provider is then mid-plan, waiting on AWS
    with FaultProxy(info.endpoint, [first_call]) as proxy:
        run = Watched(project, "plan", "--env", "dev", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert first_call.hit.wait(300), run.explain()
            providers = [
                pid
                for pid in descendants(run.pid)
                if b"terraform-provider-aws" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            assert providers, "no AWS provider process under the run"
            for pid in providers:
                os.kill(pid, signal.SIGKILL)
            first_call.release.set()
            crashed = run.finish(timeout=300)
        finally:
            run.stop()
    assert crashed.returncode == 1, explain(crashed)
    line = next((ln for ln in crashed.stderr.splitlines() if "✗ organization" in ln), "")
    assert "plugin" in line.lower(), explain(crashed)
    log = home / "logs" / "dev" / "organization.log"
    assert f"log: {log}" in crashed.stderr
    assert "plugin" in log.read_text().rsplit("terraform plan", 1)[1].lower()
    assert not (home / "plans" / "dev" / "organization.tfplan").exists()  # an errored plan is never kept


def test_a_module_rejecting_its_input_fails_that_stack_with_the_message_and_log(project: Path) -> None:
    """A value the tool's checks let through but a module's validation rejects (written into the rendered root)."""
    loaded = load_project(project / "access-matrix.yaml")
    run = orchestrate.Run(loaded, loaded.environments["dev"], Workspace(project), orchestrate.Options(), "plan")
    tfvars = run.rendered["organization"].directory / "terraform.tfvars.json"
    data = json.loads(tfvars.read_text())
    data["organization"]["feature_set"] = "CONSOLIDATED_BILLING"
    tfvars.write_text(json.dumps(data))

    report = plan(run)

    assert report.exit_code() == 1
    org = next(r for r in report.results if r.stack == "organization")
    assert org.status == "failed"
    assert "feature_set" in org.message
    assert org.log.endswith("organization.log") and org.log in org.message
    assert "feature_set" in Path(org.log).read_text()
    assert run.saved_plan("organization") is None
    # the stacks that wait for the organization are skipped, not left "waiting"
    others = {r.stack: (r.status, r.message) for r in report.results if r.stack != "organization"}
    assert others and set(others.values()) == {("skipped", "skipped: organization did not plan")}
    ledger = [json.loads(line) for line in (project / ".securecart" / "ledger.jsonl").read_text().splitlines()]
    assert [(r["stack"], r["result"]) for r in ledger if r["stack"] == "organization"] == [("organization", "failed")]
