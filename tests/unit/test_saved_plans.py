"""Saved plans, the no-change fast path and the ledger, through the orchestrator with a stand-in Terraform.

The orchestrator runs for real (scheduling, saved plans, the ledger on disk); only Terraform is replaced by a
stand-in that writes plan files and a local state the way Terraform does, so each case is exact and fast.
"""

from __future__ import annotations

import errno
import itertools
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from securecart_tf.config.environments import Approval
from securecart_tf.errors import RunRefused, SecureCartError
from securecart_tf.model import Stack
from securecart_tf.run.apply import apply
from securecart_tf.run.ledger import LocalLedger
from securecart_tf.run.orchestrate import Options, Run
from securecart_tf.run.plan import plan
from securecart_tf.run.results import StackResult
from securecart_tf.run.terraform import Outcome
from securecart_tf.run.workspace import Workspace

pytestmark = pytest.mark.timeout(60)

PLANS = itertools.count(1)


class StandInTerraform:
    """What Terraform would do for one stack: plan (writing a plan file) and apply it (writing state)."""

    def __init__(self, run: StandInRun, stack: str):
        self.run = run
        self.stack = stack
        self.log = run.ws.logs("dev") / f"{stack}.log"

    def init(self, backend_config: dict[str, str] | None = None) -> Outcome:
        return Outcome("init", 0, 0.0, self.log)

    def plan(
        self, planfile: Path, *, destroy: bool = False, refresh_only: bool = False, targets: list[str] | None = None
    ) -> Outcome:
        body = f"{'destroy' if destroy else 'plan'} {next(PLANS)} made by {self.run.command}".encode()
        planfile.write_bytes(body)
        self.run.planned.append((self.stack, body))
        remove = len(self._resources()) if destroy else 0
        add = 0 if destroy or self._resources() else 2  # applied once, it has nothing more to add
        return Outcome("plan", 2 if (add or remove) else 0, 0.01, self.log, add=add, remove=remove)

    def apply(self, planfile: Path) -> Outcome:
        body = planfile.read_bytes()
        self.run.applied.append((self.stack, body))
        if self.stack in self.run.apply_hooks:
            self.run.apply_hooks[self.stack]()
        if self.stack in self.run.failing:
            return Outcome("apply", 1, 0.01, self.log, errors=[f"{self.stack}: the provider said no"])
        state_file = self.run.ws.state_file(self.stack)
        state_file.parent.mkdir(parents=True, exist_ok=True)
        previous = self._state()
        resources = [] if body.startswith(b"destroy") else [{"type": "aws_iam_role", "name": "r"}]
        state = {
            "version": 4,
            "serial": previous.get("serial", 0) + 1,
            "lineage": previous.get("lineage", f"lineage-{self.stack}"),
            "resources": resources,
        }
        state_file.write_text(json.dumps(state))
        return Outcome("apply", 0, 0.01, self.log)

    def command_line(self, *args: str) -> str:
        return f"`cd {self.run.rendered[self.stack].directory} && terraform {' '.join(args)}`"

    def _state(self) -> dict[str, Any]:
        return self.run.read_state(self.stack) or {}

    def _resources(self) -> list[Any]:
        return list(self._state().get("resources") or [])


class StandInRun(Run):
    """A Run over hand-made stacks, with the real workspace, plans folder and ledger, and StandInTerraform."""

    def __init__(self, root: Path, stacks: list[Stack], command: str, options: Options | None = None):
        self.ws = Workspace(root, home=root / ".securecart")
        self.env = SimpleNamespace(name="dev", approval=Approval.none, backend=None)  # type: ignore[assignment]
        self.options = options or Options(parallelism=2, timeout=60, auto_approve=True)
        self.command = command
        self.notices: list[str] = []
        self.revision = "rev1"
        self.target = SimpleNamespace(id="sandbox:test", kind="sandbox", info=None)  # type: ignore[assignment]
        self.ledger = LocalLedger(self.ws.home / "ledger.jsonl")
        self._stacks = stacks
        self.model = SimpleNamespace(stacks={s.name: s for s in stacks})  # type: ignore[assignment]
        self.out = root / "build"
        self.rendered = {  # type: ignore[dict-item]
            s.name: SimpleNamespace(hash=f"hash-{s.name}", directory=self.out / "dev" / s.name) for s in stacks
        }
        self._lock = threading.Lock()
        self.planned: list[tuple[str, bytes]] = []
        self.applied: list[tuple[str, bytes]] = []
        self.failing: set[str] = set()
        self.apply_hooks: dict[str, Any] = {}

    def stacks(self) -> list[Stack]:
        return list(self._stacks)

    def runner(self, stack: str) -> Any:
        return StandInTerraform(self, stack)

    def before_plan(self, stack: Stack) -> None:
        pass

    def refresh_model(self) -> None:
        pass


def _stack(name: str, *depends_on: str) -> Stack:
    return Stack(name=name, layer="access", account=name, depends_on=depends_on, modules=(), inputs={})


STACKS = [_stack("a"), _stack("b", "a")]


def _run(root: Path, command: str, **options: Any) -> StandInRun:
    return StandInRun(root, STACKS, command, Options(parallelism=2, timeout=60, auto_approve=True, **options))


def _status(results: list[StackResult]) -> dict[str, str]:
    return {r.stack: r.status for r in results}


def _records(root: Path) -> list[dict[str, Any]]:
    path = root / ".securecart" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _plan_files(root: Path) -> list[str]:
    folder = root / ".securecart" / "plans" / "dev"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _applied_and_recorded(root: Path) -> None:
    report = apply(_run(root, "apply"))
    assert _status(report.results) == {"a": "applied", "b": "applied"}


# ---- apply takes only plans `plan` saved ---------------------------------------------------------------


def test_apply_never_applies_a_plan_a_declined_destroy_left(tmp_path: Path) -> None:
    _applied_and_recorded(tmp_path)
    # a destroy that planned and was then declined, or killed before it could clean up, left its plan
    destroy = _run(tmp_path, "destroy")
    destroy.options.auto_approve = False
    destroy.env.approval = Approval.prompt  # type: ignore[misc]
    destroy.options.confirm = lambda command, env, results: False
    with pytest.raises(RunRefused, match="not approved"):
        apply(destroy, destroy=True)
    assert _plan_files(tmp_path) == []  # the declined destroy keeps nothing

    # and even a destroy plan that was left behind is never taken by apply
    planfile = tmp_path / ".securecart" / "plans" / "dev" / "b.tfplan"
    planfile.write_bytes(b"destroy: every resource")
    meta = {"revision": "rev1", "stack_hash": "hash-b", "target": "sandbox:test", "destroy": True}
    planfile.with_suffix(".json").write_text(json.dumps({**meta, "created": 0, "add": 0, "change": 0, "remove": 1}))
    run = _run(tmp_path, "apply")
    report = apply(run)
    assert [body for _, body in run.applied] == []  # b is unchanged since its apply: nothing is applied at all
    assert all(r.remove == 0 for r in report.results)
    assert _status(report.results) == {"a": "unchanged", "b": "unchanged"}
    assert run.read_state("b")["resources"]  # type: ignore[index]
    assert any("made by `destroy`" in n for n in run.notices), run.notices
    assert _plan_files(tmp_path) == []


@pytest.mark.parametrize("made_by", ["destroy", "apply", "promote"])
def test_apply_plans_afresh_over_a_plan_another_command_made(tmp_path: Path, made_by: str) -> None:
    planner = _run(tmp_path, made_by if made_by != "destroy" else "plan")
    plan(planner)  # a fresh organization: a has changes to plan
    meta_path = tmp_path / ".securecart" / "plans" / "dev" / "a.json"
    meta = json.loads(meta_path.read_text())
    if made_by == "destroy":  # what a declined destroy left behind
        meta.update(command="destroy", destroy=True)
        meta_path.write_text(json.dumps(meta))
    assert meta["command"] == made_by
    run = _run(tmp_path, "apply")
    report = apply(run)
    assert _status(report.results)["a"] == "applied"
    assert run.applied[0] == run.planned[0]  # the plan this run made, not the one left behind
    assert any(f"made by `{made_by}`" in n for n in run.notices), run.notices


def test_apply_takes_the_plan_plan_saved(tmp_path: Path) -> None:
    plan(_run(tmp_path, "plan"))
    run = _run(tmp_path, "apply")
    apply(run)
    assert run.planned == []
    assert run.applied[0][0] == "a" and run.applied[0][1].endswith(b"made by plan")


def test_apply_refuses_a_plan_file_its_metadata_does_not_describe(tmp_path: Path) -> None:
    plan(_run(tmp_path, "plan"))
    (tmp_path / ".securecart" / "plans" / "dev" / "a.tfplan").write_bytes(b"destroy: something else")
    run = _run(tmp_path, "apply")
    apply(run)
    assert run.applied[0] == run.planned[0]
    assert any("not the plan its metadata describes" in n for n in run.notices), run.notices


# ---- malformed plan metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"revision": "rev1", "stack_hash": "hash-b", "target": "sandbox:test", "destroy": false}',
        '{"add": "2", "change": 0, "remove": 0}',
        "[1, 2]",
        '{"add": 1, "chan',
        "",
    ],
    ids=["no-add", "add-not-a-number", "not-an-object", "torn", "empty"],
)
def test_malformed_plan_metadata_is_no_usable_plan_and_ends_no_run(tmp_path: Path, text: str) -> None:
    plans = tmp_path / ".securecart" / "plans" / "dev"
    plans.mkdir(parents=True)
    (plans / "b.tfplan").write_bytes(b"some plan")
    (plans / "b.json").write_text(text)
    run = _run(tmp_path, "apply")
    report = apply(run)  # a is applied first; b's metadata must not end the run
    assert _status(report.results) == {"a": "applied", "b": "applied"}
    assert [body for stack, body in run.applied if stack == "b"] == [
        body for stack, body in run.planned if stack == "b"
    ]
    assert any(n.startswith("b: the saved plan is not used") and "metadata" in n for n in run.notices), run.notices
    assert {(r["stack"], r["result"]) for r in _records(tmp_path) if r["action"] == "apply"} >= {
        ("a", "ok"),
        ("b", "ok"),
    }


# ---- failures drop their plan ----------------------------------------------------------------------------


def test_a_failed_apply_drops_its_plan_so_the_next_plans_afresh(tmp_path: Path) -> None:
    plan(_run(tmp_path, "plan"))
    assert "a.tfplan" in _plan_files(tmp_path)
    run = _run(tmp_path, "apply")
    run.failing.add("a")
    report = apply(run)
    assert _status(report.results) == {"a": "failed", "b": "skipped"}
    assert _plan_files(tmp_path) == ["b.json", "b.tfplan"]  # b never ran: the plan `plan` saved for it stays

    retry = _run(tmp_path, "apply")
    report = apply(retry)
    assert _status(report.results) == {"a": "applied", "b": "applied"}
    assert run_planned_a(retry)


def run_planned_a(run: StandInRun) -> bool:
    return [stack for stack, _ in run.planned] == ["a"] and run.applied[0] == run.planned[0]


def test_terraform_calling_a_saved_plan_stale_says_to_plan_again(tmp_path: Path) -> None:
    plan(_run(tmp_path, "plan"))
    run = _run(tmp_path, "apply")
    run.failing.add("a")
    original = StandInTerraform.apply

    def stale(self: StandInTerraform, planfile: Path) -> Outcome:
        outcome = original(self, planfile)
        outcome.errors = ["Saved plan is stale: The given plan file can no longer be applied"]
        return outcome

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(StandInTerraform, "apply", stale)
        report = apply(run)
    assert "run `securecart-tf plan --env dev`" in report.results[0].message
    assert not {"a.json", "a.tfplan"} & set(_plan_files(tmp_path))


def test_a_stale_saved_plan_is_planned_afresh_with_refresh(tmp_path: Path) -> None:
    plan(_run(tmp_path, "plan"))
    stale = _run(tmp_path, "apply")
    stale.revision = "rev2"
    with pytest.raises(RunRefused, match="stale") as refused:
        apply(stale)
    assert "plan --env dev" in (refused.value.hint or "")
    fresh = _run(tmp_path, "apply", refresh=True)
    fresh.revision = "rev2"
    report = apply(fresh)
    assert _status(report.results)["a"] == "applied"
    assert any("stale" in n and "--refresh" in n for n in fresh.notices), fresh.notices


# ---- a state Terraform could not save is pushed before the stack is planned again ----------------------


def _leave_unsaved(root: Path, stack: str, text: str) -> Path:
    """What Terraform leaves in a stack's folder when the backend refuses the state an apply made (a full disk)."""
    errored = root / "build" / "dev" / stack / "errored.tfstate"
    errored.parent.mkdir(parents=True, exist_ok=True)
    errored.write_text(text)
    return errored


def _result(results: list[StackResult], stack: str) -> StackResult:
    return next(r for r in results if r.stack == stack)


def test_a_state_terraform_could_not_save_is_pushed_before_the_stack_is_planned_again(tmp_path: Path) -> None:
    _applied_and_recorded(tmp_path)
    state_file = tmp_path / ".securecart" / "state" / "a" / "terraform.tfstate"
    applied = json.loads(state_file.read_text())
    made = {**applied, "serial": applied["serial"] + 1, "resources": [*applied["resources"], {"name": "new"}]}
    errored = _leave_unsaved(tmp_path, "a", json.dumps(made))
    push = f"`cd {errored.parent} && terraform state push errored.tfstate`"

    for command in ("plan", "apply", "destroy"):  # from the older state, each would create or delete blind
        run = _run(tmp_path, command)
        report = plan(run) if command == "plan" else apply(run, destroy=command == "destroy")
        a = _result(report.results, "a")
        assert a.status == "refused" and str(errored) in a.message and push in a.message, (command, a.message)
        assert "a" not in [stack for stack, _ in run.planned + run.applied], command
        assert report.exit_code() == 1
    assert json.loads(state_file.read_text()) == applied

    state_file.write_text(errored.read_text())  # what the push does
    report = plan(_run(tmp_path, "plan"))
    assert _result(report.results, "a").status != "refused" and "errored" not in _result(report.results, "a").message


@pytest.mark.parametrize("left", ['{"version": 4, "serial": 1, "lineage": "l", "resources": [{}]}', '{"vers'])
def test_a_first_apply_whose_state_was_not_saved_is_not_planned_from_nothing(tmp_path: Path, left: str) -> None:
    errored = _leave_unsaved(tmp_path, "a", left)
    run = _run(tmp_path, "apply")
    report = apply(run)
    assert _status(report.results) == {"a": "refused", "b": "skipped"}
    assert str(errored) in _result(report.results, "a").message
    assert run.planned == [] and run.applied == []


def test_a_state_file_the_full_disk_cut_short_is_moved_aside_before_the_push(tmp_path: Path) -> None:
    """Terraform reads the backend's state before a push writes over it: one cut short stops the push."""
    _leave_unsaved(tmp_path, "a", '{"version": 4, "serial": 1, "lineage": "l", "resources": [{}]}')
    local = tmp_path / ".securecart" / "state" / "a" / "terraform.tfstate"
    local.parent.mkdir(parents=True)
    local.write_text('{"version": 4, "serial": 1, "lin')
    a = _result(plan(_run(tmp_path, "plan")).results, "a")
    assert a.status == "refused" and f"`mv {local} {local}.damaged`, then `cd " in a.message, a.message


def test_a_state_left_unsaved_against_an_earlier_sandbox_session_is_obsolete(tmp_path: Path) -> None:
    errored = _leave_unsaved(tmp_path, "a", '{"version": 4, "serial": 1, "lineage": "l", "resources": [{}]}')
    run = _run(tmp_path, "apply")
    run.target.info = SimpleNamespace(started=errored.stat().st_mtime + 1)  # type: ignore[assignment]
    report = apply(run)  # that session's AWS is gone with it: nothing is there to push the state to
    assert _status(report.results) == {"a": "applied", "b": "applied"}


def test_a_ledger_that_cannot_be_written_names_the_state_to_push(tmp_path: Path) -> None:
    run = _run(tmp_path, "apply")
    # the disk fills during a's apply: Terraform cannot save its state, and the ledger cannot record it
    state = '{"version": 4, "serial": 1, "lineage": "l", "resources": [{}]}'
    run.apply_hooks["a"] = lambda: _leave_unsaved(tmp_path, "a", state)
    run.failing.add("a")

    def full(records: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    run.ledger.append = full  # type: ignore[method-assign]
    with pytest.raises(SecureCartError, match="cannot write the ledger") as stopped:
        apply(run)
    hint = stopped.value.hint or ""
    errored = tmp_path / "build" / "dev" / "a" / "errored.tfstate"
    assert str(errored) in hint and f"`cd {errored.parent} && terraform state push errored.tfstate`" in hint, hint


# ---- the fast path checks the state it trusts ------------------------------------------------------------


def _break_state(root: Path, how: str) -> None:
    state_file = root / ".securecart" / "state" / "a" / "terraform.tfstate"
    state = json.loads(state_file.read_text())
    if how == "deleted":
        state_file.unlink()
    elif how == "emptied":
        state_file.write_text("")
    elif how == "serial":
        state_file.write_text(json.dumps({**state, "serial": state["serial"] + 1}))
    elif how == "lineage":
        state_file.write_text(json.dumps({**state, "lineage": "another"}))
    elif how == "edited":
        state_file.write_text(json.dumps({**state, "resources": []}))


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("deleted", "missing"),
        ("emptied", "missing"),
        ("serial", "changed since the last apply"),
        ("lineage", "replaced since the last apply"),
        ("edited", "edited since the last apply"),
    ],
)
def test_the_fast_path_refuses_a_state_that_is_not_the_one_applied(tmp_path: Path, how: str, why: str) -> None:
    _applied_and_recorded(tmp_path)
    _break_state(tmp_path, how)
    planner = _run(tmp_path, "plan")
    report = plan(planner)
    by_stack = {r.stack: r for r in report.results}
    assert why in by_stack["a"].message and "planned in full" in by_stack["a"].message
    assert [stack for stack, _ in planner.planned] == ["a"]  # Terraform compared a's state with AWS
    assert by_stack["b"].status == "unchanged"
    if how in ("deleted", "emptied"):  # nothing in state: everything is to be created again
        assert by_stack["a"].status == "planned" and report.exit_code() == 2
        run = _run(tmp_path, "apply")
        report = apply(run)
        assert _status(report.results) == {"a": "applied", "b": "unchanged"}
        assert [stack for stack, _ in run.applied] == ["a"]


def test_the_fast_path_holds_while_the_state_is_the_one_applied(tmp_path: Path) -> None:
    _applied_and_recorded(tmp_path)
    report = plan(_run(tmp_path, "plan"))
    assert _status(report.results) == {"a": "unchanged", "b": "unchanged"}
    assert report.exit_code() == 0
    applies = [r for r in _records(tmp_path) if r["action"] == "apply" and r["stack"] == "a"]
    assert applies[-1]["state_serial"] == 1 and applies[-1]["state_lineage"] == "lineage-a"


def test_an_apply_recorded_without_a_state_fingerprint_is_planned_in_full(tmp_path: Path) -> None:
    _applied_and_recorded(tmp_path)
    ledger = tmp_path / ".securecart" / "ledger.jsonl"
    old = []
    for line in ledger.read_text().splitlines():  # as an older version wrote them
        record = json.loads(line)
        for key in ("state_serial", "state_lineage", "state_digest"):
            record.pop(key, None)
        old.append(json.dumps(record))
    ledger.write_text("\n".join(old) + "\n")
    report = plan(_run(tmp_path, "plan"))
    assert all("no fingerprint" in r.message for r in report.results), report.results


# ---- the ledger is written as each stack finishes ------------------------------------------------------


def test_a_finished_stack_is_recorded_before_the_next_one_runs(tmp_path: Path) -> None:
    run = _run(tmp_path, "apply")
    seen_when_b_applied: list[list[tuple[str, str]]] = []
    run.apply_hooks["b"] = lambda: seen_when_b_applied.append(
        [(r["stack"], r["result"]) for r in _records(tmp_path) if r["action"] == "apply"]
    )
    run.failing.add("b")
    report = apply(run)
    assert _status(report.results) == {"a": "applied", "b": "failed"}
    assert seen_when_b_applied == [[("a", "ok")]]  # a run killed here would keep a's record
    records = [(r["stack"], r["result"]) for r in _records(tmp_path) if r["action"] == "apply"]
    assert records == [("a", "ok"), ("b", "failed"), ("*", "failed")]


def test_a_stack_ready_later_on_a_longer_chain_takes_the_next_free_slot(tmp_path: Path) -> None:
    """identity-center waits for access-a only. With two slots, one held by a security stack nothing waits for, it
    starts as soon as access-a is done, before access-b and access-c, which were ready since the organization
    applied: stacks are handed a slot when one is free, not queued in the order they became ready."""
    stacks = [
        _stack("organization"),
        _stack("security", "organization"),
        _stack("access-a", "organization"),
        _stack("access-b", "organization"),
        _stack("access-c", "organization"),
        _stack("identity-center", "access-a"),
    ]
    run = StandInRun(tmp_path, stacks, "apply", Options(parallelism=2, timeout=60, auto_approve=True))
    started = threading.Event()
    run.apply_hooks["identity-center"] = started.set
    run.apply_hooks["security"] = lambda: started.wait(30)  # holds its slot until identity-center has started
    report = apply(run)
    assert set(_status(report.results).values()) == {"applied"}
    order = [stack for stack, _ in run.applied]
    assert order[:2] == ["organization", "access-a"] or order[:3] == ["organization", "security", "access-a"]
    # access-b and access-c then start together: which of the two threads records first is the scheduler's choice
    assert order.index("identity-center") < min(order.index("access-b"), order.index("access-c"))
