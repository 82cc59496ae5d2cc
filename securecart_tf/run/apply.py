"""`apply` and `destroy`: each stack starts as soon as the stacks it waits for have finished.

When the environment needs an approval, the stacks that are ready are planned together and approved once per
batch. Each stack's record is written to the ledger as it finishes. `apply` takes only plans `plan` saved; the
plans this run makes itself are applied now or dropped, never left for a later command. A stack whose
dependency failed is skipped; the others go on. The first Ctrl-C starts nothing new (see
terraform.ProcessRegistry).
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from securecart_tf.config.environments import Approval, Environment
from securecart_tf.errors import RunRefused
from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION, Stack
from securecart_tf.run.batches import Order
from securecart_tf.run.executor import Executor
from securecart_tf.run.ledger import last_applied
from securecart_tf.run.orchestrate import Run
from securecart_tf.run.results import RunReport, StackResult
from securecart_tf.run.saved import SavedPlan, UnusablePlan, moved_since_planned
from securecart_tf.run.status import StackStatus
from securecart_tf.run.steps import failed_unexpectedly, guarded, plan_stack, unsaved_state_refusal
from securecart_tf.run.terraform import Outcome

TRANSIENT_ATTEMPTS = 3
TRANSIENT_BACKOFF_SECONDS = 5.0
TRANSIENT_ERRORS = ("ConflictException", "ThrottlingException", "TooManyRequestsException")

STALE_PLAN_ERROR = "saved plan is stale"
"""Terraform's words when a plan file no longer matches the state it was made from."""


def apply(run: Run, *, destroy: bool = False) -> RunReport:
    """Apply the environment in dependency order; destroy=True tears it down in reverse order."""
    start = time.monotonic()
    job = Apply(run, destroy=destroy)
    try:
        job.run_all()
    finally:
        job.drop_made()
    job.skip_not_started()
    report = job.report(time.monotonic() - start)
    action = run.command if run.command in ("promote", "rollback") else job.command
    run.record([run.run_record(action, report)])
    changed = any(r.status in (StackStatus.APPLIED, StackStatus.DESTROYED) for r in report.results)
    if job.refused is not None and not changed:
        raise job.refused
    return report


def needs_approval(env: Environment, auto_approve: bool) -> bool:
    if env.approval == Approval.none:
        return False
    if env.approval == Approval.always:
        return True
    return not auto_approve


@dataclass
class Prepared:
    """A stack's plan ready to apply (no planfile when there is nothing to apply) and its result so far."""

    planfile: Path | None
    result: StackResult


class Apply:
    """One apply or destroy of an environment: its stacks, their results so far, and the plans it made."""

    def __init__(self, run: Run, *, destroy: bool):
        self.run = run
        self.destroy = destroy
        self.command = "destroy" if destroy else "apply"
        stacks = run.stacks()
        self.stacks = list(reversed(stacks)) if destroy else stacks
        self.by_name = {s.name: s for s in self.stacks}
        self.results: dict[str, StackResult] = {}
        self.fast_path = {} if destroy else last_applied(run.ledger.records(), run.target.id)
        self.made: set[str] = set()
        """Stacks this run planned itself."""
        self.refused: RunRefused | None = None
        self.order = Order([s.name for s in self.stacks], self.blockers)

    # -- what runs, in what order ------------------------------------------------------------------------

    def current(self, name: str) -> Stack:
        """The stack as rendered now: an applied organization gives later stacks their account IDs."""
        return self.by_name[name] if self.destroy else self.run.model.stacks.get(name, self.by_name[name])

    def blockers(self, name: str) -> list[str]:
        """What a stack waits for: the stacks it depends on; in a destroy, the stacks that depend on it."""
        if not self.destroy:
            return [d for d in self.current(name).depends_on if d in self.by_name]
        return [other for other in self.by_name if name in self.by_name[other].depends_on]

    def run_all(self) -> None:
        approval = needs_approval(self.run.env, self.run.options.auto_approve)
        with Executor(self.run.options.parallelism) as executor:
            while (self.order.pending or executor.busy) and self.refused is None:
                ready = self.order.ready(self.results, self.run.interrupted, self.skip)
                if not approval:
                    # only what can start now: a stack that becomes ready later may come first in the order
                    ready = ready[: executor.free]
                if ready and not (approval and executor.busy):
                    self.order.start(ready)
                    if not approval:
                        for name in ready:
                            executor.submit(name, partial(self.whole, self.current(name)))
                    elif not self.start_batch(executor, [self.current(n) for n in ready]):
                        break
                    continue
                if not executor.busy:
                    break
                for name, future in executor.finished():  # each is recorded now, before another one starts
                    self.collect(name, future)
            for name, future in executor.drain():
                self.settle(name, self.outcome(name, future))

    def start_batch(self, executor: Executor, batch: list[Stack]) -> bool:
        """Plan a batch together, ask once, and start applying it; False when it was refused or declined."""
        try:
            prepared = executor.map(self.prepare_guarded, batch)
        except RunRefused as exc:
            self.refused = exc
            for stack in batch:
                self.settle(stack.name, self.run.result(stack, StackStatus.REFUSED, message=exc.message))
            return False
        wanted = [p.result for p in prepared if p.planfile is not None]
        confirm = self.run.options.confirm
        if wanted and (confirm is None or not confirm(self.command, self.run.env, wanted)):
            self.refused = self.decline(batch, prepared)
            return False
        for stack, ready in zip(batch, prepared, strict=True):
            executor.submit(stack.name, partial(self.finish_guarded, stack, ready))
        return True

    def decline(self, batch: list[Stack], prepared: list[Prepared]) -> RunRefused:
        for stack, ready in zip(batch, prepared, strict=True):
            res = ready.result
            if res.status is StackStatus.PLANNED:
                if stack.name in self.made:  # planned by this run for this approval only
                    self.run.drop_plan(stack.name)
                    res.status, res.message = StackStatus.REFUSED, "not approved; nothing was changed"
                else:
                    res.status, res.message = StackStatus.REFUSED, "not approved; the plan `plan` saved is kept"
            self.settle(stack.name, res)
        return RunRefused(f"{self.command} of {self.run.env.name} was not approved; nothing was changed")

    def outcome(self, name: str, future: Future[StackResult], *, remember: bool = False) -> StackResult:
        """A finished stack's result; refused when its work raised RunRefused (which ends the run if `remember`)."""
        try:
            return future.result()
        except RunRefused as exc:
            if remember and self.refused is None:
                self.refused = exc
            return self.run.result(self.current(name), StackStatus.REFUSED, message=exc.message)

    def collect(self, name: str, future: Future[StackResult]) -> None:
        res = self.outcome(name, future, remember=True)
        try:
            if name == ORGANIZATION and not self.destroy and res.status is StackStatus.APPLIED:
                self.run.refresh_model()  # new accounts now have IDs: re-render the stacks that use them
        finally:
            self.settle(name, res)  # with the stack's inputs as rendered from now on

    def settle(self, name: str, res: StackResult) -> None:
        self.results[name] = res
        self.run.record([self.run.stack_record(self.command, res)])

    def skip(self, name: str, bad: list[str]) -> None:
        why = f"{', '.join(bad)} did not {self.command}" if bad else "the run was interrupted"
        self.settle(name, self.run.result(self.current(name), StackStatus.SKIPPED, message=f"skipped: {why}"))
        self.run.listen(name, StackStatus.SKIPPED, self.results[name].message)

    def skip_not_started(self) -> None:
        for name in self.order.pending:
            if name not in self.results:
                self.settle(name, self.run.result(self.by_name[name], StackStatus.SKIPPED, message="not started"))

    def drop_made(self) -> None:
        for name in self.made:  # applied plans are gone already; any other this run made must not outlive it
            self.run.drop_plan(name)

    def report(self, duration: float) -> RunReport:
        run = self.run
        ordered = [self.results[s.name] for s in self.stacks]
        return RunReport(
            self.command,
            run.env.name,
            run.revision,
            run.target.id,
            ordered,
            run.notices,
            duration=duration,
            interrupted=run.interrupted,
        )

    # -- each stack ----------------------------------------------------------------------------------------

    def whole(self, stack: Stack) -> StackResult:
        return self.finish_guarded(stack, self.prepare_guarded(stack))

    def prepare_guarded(self, stack: Stack) -> Prepared:
        try:
            return self.prepare(stack)
        except RunRefused:
            raise
        except Exception as exc:
            return Prepared(None, failed_unexpectedly(self.run, stack, exc))

    def prepare(self, stack: Stack) -> Prepared:
        """The plan to apply: the saved one if still valid, else a fresh one."""
        run = self.run
        refused = unsaved_state_refusal(run, stack)
        if refused is not None:
            return Prepared(None, refused)
        if self.destroy:
            if not run.state_exists(stack.name):
                return Prepared(None, run.result(stack, StackStatus.NO_CHANGES, message="nothing to destroy"))
        else:
            ready = self.without_planning(stack)
            if ready is not None:
                return ready
        res = plan_stack(run, stack, fast_path=self.fast_path, destroy=self.destroy)
        if res.status is not StackStatus.PLANNED:
            return Prepared(None, res)
        self.made.add(stack.name)
        if not self.destroy:
            res.message = res.message or "no saved plan; planned now"
        return Prepared(run.plan_paths(stack.name)[0], res)

    def without_planning(self, stack: Stack) -> Prepared | None:
        """A refusal when what the stack depends on is not applied, or the plan `plan` saved; None to plan now."""
        run = self.run
        reason = run.blocked_by(stack, set(self.by_name))
        if reason is not None:
            return Prepared(None, run.result(stack, StackStatus.REFUSED, message=reason))
        if not run.options.use_saved_plans:
            run.drop_plan(stack.name)
            return None
        saved = usable_saved_plan(run, stack)
        if saved is None:
            run.listen(stack.name, "planning", "no saved plan; planning now")
            return None
        status = StackStatus.PLANNED if saved.has_changes else StackStatus.NO_CHANGES
        res = run.result(stack, status, message="saved plan")
        res.add, res.change, res.remove, res.imports = saved.add, saved.change, saved.remove, saved.imports
        return Prepared(saved.planfile if saved.has_changes else None, res)

    def finish_guarded(self, stack: Stack, ready: Prepared) -> StackResult:
        return guarded(self.run, stack, partial(self.finish, stack, ready))

    def finish(self, stack: Stack, ready: Prepared, attempt: int = 1) -> StackResult:
        """Apply the plan (or, with nothing to apply, settle what the plan found) and say how it went."""
        run, planned = self.run, ready.result
        if ready.planfile is None:
            return self.nothing_to_apply(stack, planned)
        init = run.runner(stack.name).init(run.backend_config(stack.name))  # a plan carried from elsewhere
        if not init.ok:
            return run.result(stack, StackStatus.FAILED, init, message=f"terraform init failed; see {init.log}")
        run.listen(stack.name, "destroying" if self.destroy else "applying")
        # a plan is applied once: whatever happens to this apply, the state it was made from is gone
        with contextlib.suppress(FileNotFoundError):
            run.plan_paths(stack.name)[1].unlink()
        outcome = run.runner(stack.name).apply(ready.planfile)
        run.drop_plan(stack.name)  # applied, or failed part-way: either way the state has moved on from it
        if not outcome.ok and attempt < TRANSIENT_ATTEMPTS and _transient(stack, outcome):
            return self.retry(stack, outcome, attempt)
        done = StackStatus.DESTROYED if self.destroy else StackStatus.APPLIED
        res = run.result(stack, done if outcome.ok else StackStatus.FAILED, outcome)
        res.add, res.change, res.remove, res.imports = planned.add, planned.change, planned.remove, planned.imports
        res.duration += planned.duration
        if outcome.ok and self.destroy:
            res = run.forget_kept(stack, res)
        if not outcome.ok:
            res.message = self.failure_message(outcome, res.message)
        run.listen(stack.name, res.status, res.message)
        return res

    def nothing_to_apply(self, stack: Stack, planned: StackResult) -> StackResult:
        if planned.status is not StackStatus.NO_CHANGES:
            return planned
        self.run.drop_plan(stack.name)
        if not self.destroy:
            planned.status = StackStatus.UNCHANGED
            return planned
        return self.run.forget_kept(stack, planned)

    def retry(self, stack: Stack, outcome: Outcome, attempt: int) -> StackResult:
        """Identity Center refuses concurrent changes to one permission set with ConflictException, which the
        provider does not retry: plan what is left and apply it again, a bounded number of times."""
        run = self.run
        run.listen(stack.name, "retrying", f"{outcome.errors[0][:120]}; attempt {attempt + 1}")
        time.sleep(TRANSIENT_BACKOFF_SECONDS * attempt)
        again = plan_stack(run, stack, fast_path={}, destroy=self.destroy)
        if again.status is not StackStatus.PLANNED:
            return again
        retried = self.finish(stack, Prepared(run.plan_paths(stack.name)[0], again), attempt + 1)
        retried.message = "; ".join(m for m in (retried.message, f"applied after {attempt} retry") if m)
        return retried

    def failure_message(self, outcome: Outcome, message: str) -> str:
        message = message or f"{self.command} failed; see {outcome.log}"
        if any(STALE_PLAN_ERROR in error.lower() for error in outcome.errors):
            message += (
                f"; the plan no longer matched the stack's state and was dropped: run `securecart-tf plan --env "
                f"{self.run.env.name}` to review a new one, then apply"
            )
        return message


def _transient(stack: Stack, outcome: Outcome) -> bool:
    """An Identity Center apply that failed only on conflicts or throttling the provider gave up on."""
    return (
        stack.layer == IDENTITY_CENTER
        and bool(outcome.errors)
        and not outcome.interrupted
        and not outcome.timed_out
        and all(any(code in error for code in TRANSIENT_ERRORS) for error in outcome.errors)
    )


def usable_saved_plan(run: Run, stack: Stack) -> SavedPlan | None:
    """The saved plan apply may take for this stack, or None to plan afresh. RunRefused for a stale one,
    unless --refresh asks to plan afresh instead."""
    try:
        saved = run.saved_plan(stack.name)
    except UnusablePlan as exc:
        run.drop_plan(stack.name)
        run.notice(f"{stack.name}: the saved plan is not used and was dropped: {exc}; planning afresh")
        return None
    if saved is None:
        return None
    problems = []
    if saved.target != run.target.id:
        problems.append(f"it was made against {saved.target}, not {run.target.id}")
    if saved.revision != run.revision:
        problems.append(f"it was made from revision {saved.revision}; the inputs are now at {run.revision}")
    elif saved.stack_hash != run.rendered[stack.name].hash:
        problems.append("the stack's rendered inputs changed since (an upstream stack was applied)")
    moved = moved_since_planned(saved, run.state_fingerprint(stack.name)) if saved.state_known else None
    if moved is not None:
        problems.append(moved)
    if not problems:
        return saved
    if run.options.refresh:
        run.drop_plan(stack.name)
        run.notice(f"{stack.name}: the saved plan is stale ({'; '.join(problems)}); planning afresh (--refresh)")
        return None
    raise RunRefused(
        f"the saved plan for {stack.name} is stale: {'; '.join(problems)}",
        hint=f"run `securecart-tf plan --env {run.env.name}` again, then apply (or `apply --refresh` to plan afresh)",
    )
