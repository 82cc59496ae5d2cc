"""What each stack goes through: init → plan → result, each stack's record in the ledger, and a guard so that
one stack's unexpected error fails that stack alone."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securecart_tf.errors import RunRefused
from securecart_tf.model import ORGANIZATION, Stack
from securecart_tf.run.guards import removal_refusal, split_for_destroy
from securecart_tf.run.ledger import Record
from securecart_tf.run.orchestrate import Run
from securecart_tf.run.results import StackResult, counts
from securecart_tf.run.saved import StateFingerprint, state_meta, state_mismatch
from securecart_tf.run.status import StackStatus
from securecart_tf.run.terraform import Outcome, Runner


@dataclass(frozen=True)
class Planned:
    """What init and plan did for one stack."""

    runner: Runner
    init: Outcome
    plan: Outcome | None
    """None when init failed, or when there was nothing to plan (no targets)."""


def init_and_plan(
    run: Run,
    stack: Stack,
    planfile: Path,
    *,
    activity: str = "planning",
    detail: str = "",
    destroy: bool = False,
    refresh_only: bool = False,
    targets: list[str] | None = None,
) -> Planned:
    """`terraform init`, then a plan into `planfile`, told to the listener as "init" and `activity`.

    An empty list of targets plans nothing: the stack is only initialised (to edit its state, say).
    """
    run.before_plan(stack)
    runner = run.runner(stack.name)
    run.listen(stack.name, "init", detail)
    init = runner.init(run.backend_config(stack.name))
    if not init.ok or targets == []:
        return Planned(runner, init, None)
    run.listen(stack.name, activity, detail)
    outcome = runner.plan(planfile, destroy=destroy, refresh_only=refresh_only, targets=targets)
    return Planned(runner, init, outcome)


def plan_stack(run: Run, stack: Stack, *, fast_path: dict[str, Record], destroy: bool = False) -> StackResult:
    """Plan one stack into its plan file, unless its last apply vouches for it; the result says what it holds.

    A plan with changes is kept with its metadata; any other outcome leaves no plan behind.
    """
    refused = unsaved_state_refusal(run, stack)
    if refused is not None:
        return refused
    why_full = ""
    if not destroy:
        previous, why_full = _vouching_apply(run, stack, fast_path)
        if previous is not None:
            run.listen(stack.name, StackStatus.UNCHANGED, "inputs match the last successful apply")
            run.drop_plan(stack.name)
            message = f"same inputs as the apply of revision {previous.revision}"
            return run.result(stack, StackStatus.UNCHANGED, message=message)
    run.drop_plan(stack.name)  # metadata left from an earlier plan must never describe the one made now
    targets = _destroy_targets(run, stack) if destroy else None
    planfile = run.plan_paths(stack.name)[0]
    base = run.state_fingerprint(stack.name)  # read first: a state that moves on meanwhile makes the plan stale
    step = init_and_plan(run, stack, planfile, detail=why_full, destroy=destroy, targets=targets)
    if not step.init.ok:
        run.listen(stack.name, StackStatus.FAILED, "init")
        return run.result(stack, StackStatus.FAILED, step.init, message=f"terraform init failed; see {step.init.log}")
    if step.plan is None:  # nothing but what destroy keeps: no plan, only forgetting
        run.drop_plan(stack.name)
        return run.result(stack, StackStatus.NO_CHANGES, message="only resources destroy keeps")
    return _plan_result(run, stack, planfile, step.plan, why_full=why_full, destroy=destroy, base=base)


def unsaved_state_refusal(run: Run, stack: Stack) -> StackResult | None:
    """A refusal while the state an earlier apply could not save is not pushed: planning from the state the
    backend holds would create again what that apply made (and fail on it, or duplicate it)."""
    why = run.unsaved_state(stack.name)
    if why is None:
        return None
    run.drop_plan(stack.name)  # made before that apply: the stack's state has moved on from it
    run.listen(stack.name, StackStatus.REFUSED, why)
    return run.result(stack, StackStatus.REFUSED, message=why)


def _vouching_apply(run: Run, stack: Stack, fast_path: dict[str, Record]) -> tuple[Record | None, str]:
    """The last apply that vouches for this stack unplanned, if any, and else why a full plan is needed ("" when
    there is no such apply at all). It vouches only while the inputs and the state are the ones it left."""
    previous = fast_path.get(stack.name)
    if previous is None or previous.stack_hash != run.rendered[stack.name].hash or run.options.refresh:
        return None, ""
    mismatch = state_mismatch(run.read_state(stack.name), previous)
    if mismatch is not None:
        return None, f"{mismatch}; planned in full"
    return previous, ""


def _destroy_targets(run: Run, stack: Stack) -> list[str] | None:
    """What a destroy plans: everything (None) when it keeps nothing, else only what it may destroy."""
    destroyable, kept = split_for_destroy(stack.layer, run.read_state(stack.name))
    return destroyable if kept else None  # a whole destroy when nothing is kept: data sources go too


def _plan_result(
    run: Run,
    stack: Stack,
    planfile: Path,
    outcome: Outcome,
    *,
    why_full: str,
    destroy: bool,
    base: StateFingerprint | None = None,
) -> StackResult:
    """A made plan as a result: failed, refused, without changes (dropped), or planned and saved."""
    if not outcome.ok:
        return _dropped(run, run.result(stack, StackStatus.FAILED, outcome))
    refusal = None if destroy else _refusal(run, stack, outcome)
    if refusal is not None:
        return _dropped(run, run.result(stack, StackStatus.REFUSED, outcome, message=refusal))
    os.chmod(planfile, 0o600)
    status = StackStatus.PLANNED if outcome.has_changes else StackStatus.NO_CHANGES
    res = run.result(stack, status, outcome, message=why_full)
    run.listen(stack.name, status, counts(outcome.add, outcome.change, outcome.remove, outcome.imports))
    if status is StackStatus.NO_CHANGES:  # nothing to apply: keep no plan that could go stale
        run.drop_plan(stack.name)
        return res
    try:
        run.save_plan_meta(stack.name, _plan_meta(run, stack, outcome, destroy) | {"state": state_meta(base)})
    except OSError as exc:
        run.drop_plan(stack.name)
        res.status, res.message = StackStatus.FAILED, f"cannot save the plan's metadata: {exc.strerror or exc}"
    return res


def _dropped(run: Run, res: StackResult) -> StackResult:
    """A plan that must not be applied: its files go, and the listener hears why."""
    run.drop_plan(res.stack)
    run.listen(res.stack, res.status, res.message)
    return res


def _refusal(run: Run, stack: Stack, outcome: Outcome) -> str | None:
    """Why a plan may not go ahead: a removal the guard refuses, or more SCPs on a target than AWS allows."""
    refusal = removal_refusal(outcome.changes, run.read_state(stack.name))
    if refusal is None and stack.layer == ORGANIZATION:
        refusal = run.scp_slots_refusal(stack)
    return refusal


def _plan_meta(run: Run, stack: Stack, outcome: Outcome, destroy: bool) -> dict[str, Any]:
    return {
        "command": "destroy" if destroy else run.command,
        "revision": run.revision,
        "stack_hash": run.rendered[stack.name].hash,
        "target": run.target.id,
        "created": time.time(),
        "destroy": destroy,
        "add": outcome.add,
        "change": outcome.change,
        "remove": outcome.remove,
        "imports": outcome.imports,
    }


def failed_unexpectedly(run: Run, stack: Stack, exc: Exception) -> StackResult:
    """A stack's result after an error nothing expected, told to the listener."""
    res = run.result(stack, StackStatus.FAILED, message=f"unexpected error: {type(exc).__name__}: {exc}")
    run.listen(stack.name, StackStatus.FAILED, res.message)
    return res


def guarded(run: Run, stack: Stack, work: Callable[[], StackResult]) -> StackResult:
    """One stack's work; an unexpected error fails that stack instead of ending the run and losing the others."""
    try:
        return work()
    except RunRefused:
        raise
    except Exception as exc:
        return failed_unexpectedly(run, stack, exc)


def recorded(run: Run, action: str, res: StackResult) -> StackResult:
    """Write a stack's record as soon as it finishes: a run killed later keeps what it did."""
    run.record([run.stack_record(action, res)])
    return res
