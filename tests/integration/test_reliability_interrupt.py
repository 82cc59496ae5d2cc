"""Ctrl-C during `apply`: the first lets the apply in flight finish and write state; the second stops at once.

securecart-tf runs as a subprocess in its own session and gets SIGINT alone, as a terminal sends it (the
Terraform processes run in sessions of their own). The fault proxy holds the organization stack's
CreateAccount call, so the signal arrives exactly while a resource is in flight.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from securecart_tf import sandbox
from securecart_tf.run.workspace import Workspace
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed
from tests.integration.faultproxy import (
    FaultProxy,
    Rule,
    Watched,
    assert_state_sound,
    processes_in,
    state_lock_free,
    statuses,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

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
ACCOUNTS = {"alpha", "beta"}


@pytest.fixture
def project(tmp_path: Path):
    root = write_project(tmp_path / "small", SMALL_MATRIX, {"dev": DEV, "people": PEOPLE})
    try:
        yield root
    finally:
        sandbox.down(root / ".securecart")


def _creating(account: str) -> Rule:
    return Rule(
        "hold",
        match=lambda seen: seen.operation == "CreateAccount" and seen.mentions(f"{account}@small.example"),
        limit=1,
    )


def _rows(table: str) -> dict[str, list[str]]:
    """The summary table's rows (stack → cells), as printed on stdout."""
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) >= 5 and cells[0] and cells[0] != "stack":
            rows[cells[0]] = cells
    return rows


def _lock_free(project: Path) -> bool:
    try:
        with Workspace(project).lock("dev", "check"):
            return True
    except Exception:
        return False


def test_ctrl_c_lets_the_apply_in_flight_finish_and_stops_with_a_summary(project: Path) -> None:
    home = project / ".securecart"
    info, _ = sandbox.up(home)
    creating = _creating("alpha")
    with FaultProxy(info.endpoint, [creating]) as proxy:
        run = Watched(project, "apply", "--env", "dev", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert creating.hit.wait(300), run.explain()
            run.interrupt()
            notice = run.wait_for(r"Interrupted\.", timeout=60)
            creating.release.set()  # the call in flight reaches AWS after Ctrl-C, as a slow one would
            result = run.finish(timeout=300)
        finally:
            run.stop()
    assert result.returncode == 1, explain(result)
    assert "organization" in notice and "Ctrl-C again" in notice
    rows = _rows(result.stdout)
    assert rows["organization"][4] == "applied", result.stdout
    for name in ACCOUNTS:
        assert rows[f"access-{name}"][4] == "skipped", result.stdout
        assert "interrupted" in rows[f"access-{name}"][5]
    assert "Summary for the pull request" in result.stdout

    state_file = home / "state" / "organization" / "terraform.tfstate"
    state = assert_state_sound(state_file)
    assert state_lock_free(state_file) and _lock_free(project)
    in_state = {
        i["index_key"]
        for r in state["resources"]
        if r["type"] == "aws_organizations_account" and r["mode"] == "managed"
        for i in r["instances"]
    }
    in_aws = {a["Name"] for a in Deployed(project).client("organizations").list_accounts()["Accounts"]} & ACCOUNTS
    assert in_state == in_aws == ACCOUNTS  # every account AWS created is in state: nothing orphaned

    rerun = run_cli(project, "apply", "--env", "dev", "--json")
    assert rerun.returncode == 0, explain(rerun)
    assert statuses(rerun.stdout) == {"organization": "unchanged", "access-alpha": "applied", "access-beta": "applied"}
    replan = run_cli(project, "plan", "--env", "dev", "--refresh", "--json")
    assert replan.returncode == 0, explain(replan)
    names = [a["Name"] for a in Deployed(project).client("organizations").list_accounts()["Accounts"]]
    assert sorted(n for n in names if n in ACCOUNTS) == sorted(ACCOUNTS)  # each once


def test_a_second_ctrl_c_stops_at_once_and_names_what_may_be_left_locked(project: Path) -> None:
    home = project / ".securecart"
    info, _ = sandbox.up(home)
    stuck = _creating("alpha")  # never released: the apply cannot finish on its own
    with FaultProxy(info.endpoint, [stuck]) as proxy:
        run = Watched(project, "apply", "--env", "dev", env={sandbox.ENDPOINT_VAR: proxy.url})
        try:
            assert stuck.hit.wait(300), run.explain()
            run.interrupt()
            run.wait_for(r"Interrupted\.", timeout=60)
            assert run.proc.poll() is None  # still letting the apply finish
            pressed = time.monotonic()
            run.interrupt()
            result = run.finish(timeout=60)
            took = time.monotonic() - pressed
        finally:
            run.stop()
    assert result.returncode == 130, explain(result)
    assert took < 15, took
    assert "Stopped at once" in result.stderr
    assert "may be left locked: organization" in result.stderr
    assert "Traceback" not in result.stderr
    assert processes_in(project / "build") == []  # no Terraform, and no provider, left running

    # Terraform writes state as each resource completes: what finished before the kill is recorded
    state_file = home / "state" / "organization" / "terraform.tfstate"
    state = assert_state_sound(state_file)
    assert "aws_organizations_organization" in {r["type"] for r in state["resources"]}
    assert state_lock_free(state_file) and _lock_free(project)
    ledger = home / "ledger.jsonl"
    if ledger.exists():
        for line in ledger.read_text().splitlines():
            json.loads(line)  # no torn record
