"""`plan`: every stack whose upstream is applied is planned at once, in parallel; the others wait or are refused.

A stack that cannot be planned yet (what it depends on is not applied) waits when the organization stack is in
this run, since apply plans it in turn, and is refused otherwise. Each plan is saved for `apply` with its metadata.
"""

from __future__ import annotations

import time
from functools import partial

from securecart_tf.model import ORGANIZATION, Stack
from securecart_tf.run.batches import stopped_by
from securecart_tf.run.executor import in_pool
from securecart_tf.run.ledger import Record, last_applied
from securecart_tf.run.orchestrate import Run
from securecart_tf.run.results import RunReport, StackResult
from securecart_tf.run.status import StackStatus
from securecart_tf.run.steps import guarded, plan_stack, recorded


def plan(run: Run) -> RunReport:
    start = time.monotonic()
    stacks = run.stacks()
    in_run = {s.name for s in stacks}
    fast_path = last_applied(run.ledger.records(), run.target.id)
    results: dict[str, StackResult] = {}
    ready: list[Stack] = []
    for stack in stacks:
        reason = run.blocked_by(stack, in_run)
        if reason is None:
            ready.append(stack)
        else:
            run.drop_plan(stack.name)
            status = StackStatus.WAITING if ORGANIZATION in in_run else StackStatus.REFUSED
            results[stack.name] = run.result(stack, status, message=reason)
            run.listen(stack.name, status, reason)
    for res in in_pool(run.options.parallelism, ready, partial(_plan_recorded, run, fast_path)):
        results[res.stack] = res
    _skip_after_failures(run, stacks, results)
    ordered = [results[s.name] for s in stacks]
    planned = {s.name for s in ready}
    run.record([run.stack_record("plan", r) for r in ordered if r.stack not in planned])
    return RunReport(
        "plan", run.env.name, run.revision, run.target.id, ordered, run.notices, duration=time.monotonic() - start
    )


def _plan_recorded(run: Run, fast_path: dict[str, Record], stack: Stack) -> StackResult:
    return recorded(run, "plan", guarded(run, stack, partial(plan_stack, run, stack, fast_path=fast_path)))


def _skip_after_failures(run: Run, stacks: list[Stack], results: dict[str, StackResult]) -> None:
    """A waiting stack whose upstream in this run failed will not be planned by apply either: skipped."""
    for stack in stacks:  # in dependency order, so a skip carries down
        if results[stack.name].status is not StackStatus.WAITING:
            continue
        bad = stopped_by(stack.depends_on, results)
        if bad:
            results[stack.name] = run.result(
                stack, StackStatus.SKIPPED, message=f"skipped: {', '.join(bad)} did not plan"
            )
            run.listen(stack.name, StackStatus.SKIPPED, results[stack.name].message)
