"""Running a drift check: a refresh-only plan of every stack, a scan for what no stack manages, the ledger."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securecart_tf.drift.changes import Change, classify
from securecart_tf.drift.clients import Clients, fetch_assignments, fetch_roles, fetch_scp_attachments, pages
from securecart_tf.drift.result import DriftReport, StackDrift
from securecart_tf.drift.state import managed_attributes, plan_snapshots, show_snapshots, state_key
from securecart_tf.drift.status import DriftStatus
from securecart_tf.drift.unmanaged import (
    AWS_OWNED_ROLE_PATHS,
    ORGANIZATIONS_ROLE,
    Unmanaged,
    set_aside_ignored,
    unmanaged_assignments,
    unmanaged_roles,
    unmanaged_scp_attachments,
)
from securecart_tf.errors import SecureCartError
from securecart_tf.iam.documents import partition_of
from securecart_tf.run.ledger import Record

if TYPE_CHECKING:
    from securecart_tf.config.schema import IdentityCenter
    from securecart_tf.model import Stack
    from securecart_tf.run.orchestrate import Run
    from securecart_tf.run.terraform import Outcome, Runner

# One scan for unmanaged items: what it looks at (for progress and errors), and the work.
Scan = tuple[str, Callable[[], list[Unmanaged]]]


def drift_planfile(run: Run, stack: str) -> Path:
    """Refresh-only plans live apart from the saved plans `apply` uses, so one never stands for the other."""
    directory = run.ws.plans(run.env.name) / "drift"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory / f"{stack}.tfplan"


def customer_policy_arns(run: Run, account_id: str) -> dict[str, str]:
    """ARN → name of the matrix's customer-managed policies, as they are named in one account."""
    partition = partition_of(run.project.matrix.organization.home_region)
    found = {}
    for policy in run.project.matrix.policies:
        path = policy.path or "/"
        found[f"arn:{partition}:iam::{account_id}:policy{path}{policy.name}"] = policy.name
    return found


# ---- changed: one refresh-only plan per stack ---------------------------------------------------------------


@dataclass
class Refresh:
    """What the init → refresh-only plan step left for one stack."""

    runner: Runner
    init: Outcome
    plan: Outcome | None = None
    """None when init failed."""
    planfile: Path | None = None


def init_and_refresh(run: Run, stack: Stack) -> Refresh:
    """Terraform init, then a refresh-only plan saved to the stack's drift plan file."""
    run.before_plan(stack)
    runner = run.runner(stack.name)
    run.listen(stack.name, "init")
    init = runner.init(run.backend_config(stack.name))
    if not init.ok:
        return Refresh(runner, init)
    planfile = drift_planfile(run, stack.name)
    run.listen(stack.name, "refreshing")
    return Refresh(runner, init, runner.plan(planfile, refresh_only=True), planfile)


def _settle(run: Run, result: StackDrift, status: DriftStatus, message: str) -> StackDrift:
    result.status, result.message = status, message
    run.listen(result.stack, status, message)
    return result


def _failure(plan: Outcome) -> tuple[DriftStatus, str]:
    """The status and message of a plan that did not finish."""
    if plan.timed_out:
        status = DriftStatus.TIMED_OUT
    elif plan.interrupted:
        status = DriftStatus.INTERRUPTED
    else:
        status = DriftStatus.FAILED
    return status, (plan.errors[0][:300] if plan.errors else "terraform plan failed") + f" (log: {plan.log})"


def _explain(run: Run, stack: Stack, step: Refresh, plan: Outcome, planfile: Path) -> tuple[list[Change], list[str]]:
    """The plan's drift events, explained from the snapshots in the plan file."""
    snapshots = plan_snapshots(planfile)
    if snapshots is None:  # a plan file we cannot read: ask Terraform, at the cost of one process
        snapshots = show_snapshots(step.runner.show_json(planfile))
    previous, refreshed = snapshots
    account_id = run.facts.account_ids.get(stack.account, "")
    policies = customer_policy_arns(run, account_id)
    return classify(stack.name, run.env.name, plan.drift, previous, refreshed, policies)


def refresh_stack(run: Run, stack: Stack) -> StackDrift:
    """One refresh-only plan; its drift events explained from the snapshots in the plan file."""
    result = StackDrift(stack.name, stack.account, DriftStatus.CLEAN)
    unsaved = run.unsaved_state(stack.name)
    if unsaved is not None:  # compared with the older state the backend holds, its own resources look unmanaged
        return _settle(run, result, DriftStatus.FAILED, unsaved)
    if not run.state_exists(stack.name):
        return _settle(run, result, DriftStatus.NOT_APPLIED, "no state yet: nothing to compare")
    step = init_and_refresh(run, stack)
    result.log = str(step.runner.log)
    if step.plan is None or step.planfile is None:
        return _settle(run, result, DriftStatus.FAILED, f"terraform init failed; see {step.init.log}")
    plan, planfile = step.plan, step.planfile
    result.duration = plan.duration + step.init.duration
    try:
        if not plan.ok:
            return _settle(run, result, *_failure(plan))
        if plan.drift:
            result.changes, result.normalized = _explain(run, stack, step, plan, planfile)
    finally:
        with contextlib.suppress(FileNotFoundError):
            planfile.unlink()
    result.status = DriftStatus.DRIFTED if result.changes else DriftStatus.CLEAN
    run.listen(stack.name, result.status, f"{len(result.changes)} changed" if result.changes else "")
    return result


# ---- not managed: what the target holds that no state does --------------------------------------------------


def _unmanaged_scps(run: Run, clients: Clients, org_state: dict[str, Any]) -> list[Unmanaged]:
    from securecart_tf.model import ORGANIZATION

    outputs = run.read_outputs(ORGANIZATION)
    keys = {str(outputs.get("root_id")): "root"}
    keys.update({i: f"ou:{p}" for p, i in (outputs.get("ou_ids") or {}).items() if p != "/"})
    keys.update({i: f"account:{n}" for n, i in (outputs.get("account_ids") or {}).items()})
    managed = {
        (str(a.get("policy_id")), str(a.get("target_id")))
        for a in managed_attributes(org_state, "aws_organizations_policy_attachment")
    }
    guardrail_of = {part: g for g, parts in run.model.scp_parts.items() for part in parts}
    return unmanaged_scp_attachments(
        fetch_scp_attachments(clients("organizations")),
        managed,
        state_key(org_state, "aws_organizations_policy"),
        keys,
        guardrail_of,
        run.env.name,
    )


def _unmanaged_assignments(run: Run, clients: Clients, ic_state: dict[str, Any], ic: IdentityCenter) -> list[Unmanaged]:
    managed = {str(a.get("id")) for a in managed_attributes(ic_state, "aws_ssoadmin_account_assignment")}
    accounts = [a["Id"] for a in pages(clients("organizations"), "list_accounts", "Accounts")]
    return unmanaged_assignments(
        # the Identity Center instance lives in its own region, which need not be the home region
        fetch_assignments(clients("sso-admin", region=ic.region), clients("identitystore", region=ic.region), accounts),
        managed,
        {v: k for k, v in run.facts.account_ids.items()},
        {g.name for g in ic.groups},
        {p.name for p in ic.permission_sets},
        run.env.name,
    )


def _unmanaged_roles(
    run: Run, clients: Clients, account: str, managed: set[str], platform: set[str]
) -> list[Unmanaged]:
    def keep(name: str, path: str) -> bool:
        return name not in managed and name not in platform and not path.startswith(AWS_OWNED_ROLE_PATHS)

    found = fetch_roles(clients("iam", account), keep)
    policies = customer_policy_arns(run, run.facts.account_ids[account])
    return unmanaged_roles(account, found, managed, platform, policies, run.env.name)


def _role_scans(run: Run, clients: Clients) -> Iterator[Scan]:
    """One scan per account the environment reaches, with the roles its stacks' states hold; a run that takes
    part of the environment (`--stacks`, `--shard`) scans only the accounts its stacks work in."""
    env, matrix = run.env, run.project.matrix
    accounts = list(env.accounts)
    baseline = matrix.security_baseline
    if baseline is not None and "security" in env.stacks and baseline.account not in accounts:
        accounts.append(baseline.account)
    if not run.options.selection.whole:
        reached = {s.account for s in run.stacks()}
        accounts = [a for a in accounts if a in reached]
    platform = {ORGANIZATIONS_ROLE, clients.role, matrix.organization.deployment_role}
    if matrix.organization.break_glass_role:
        platform.add(matrix.organization.break_glass_role)
    for account in accounts:
        if account not in run.facts.account_ids:
            continue
        # the roles every stack working in this account manages, as its state records them
        managed: set[str] = set()
        for stack in run.model.stacks.values():
            if stack.account == account:
                state = run.read_state(stack.name)
                managed |= {str(r.get("name")) for r in managed_attributes(state, "aws_iam_role")}
        yield f"roles in {account}", partial(_unmanaged_roles, run, clients, account, managed, platform)


def _scans(run: Run, clients: Clients) -> Iterator[Scan]:
    """Each scan in turn; a scan reads the states it needs only when its turn comes. The organization's and
    Identity Center's scans belong to their stacks, so a run that selects stacks makes them only with those."""
    from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION

    taken = set(run.env.stacks) if run.options.selection.whole else {s.name for s in run.stacks()}
    org_state = run.read_state(ORGANIZATION) if ORGANIZATION in taken else {}
    if ORGANIZATION in taken and org_state:
        yield "SCP attachments", partial(_unmanaged_scps, run, clients, org_state)
    ic_state = run.read_state(IDENTITY_CENTER) if IDENTITY_CENTER in taken else {}
    ic = run.project.matrix.identity_center
    if IDENTITY_CENTER in taken and ic_state and ic is not None:
        yield "permission-set assignments", partial(_unmanaged_assignments, run, clients, ic_state, ic)
    yield from _role_scans(run, clients)


def scan_unmanaged(run: Run, clients: Clients | None = None) -> tuple[list[Unmanaged], list[str]]:
    """Everything in the environment's reach that no stack manages. Returns (items, errors)."""
    from botocore.exceptions import BotoCoreError, ClientError

    items: list[Unmanaged] = []
    errors: list[str] = []
    for what, work in _scans(run, clients or Clients(run, "securecart-tf-drift")):
        run.listen("unmanaged", "scanning", what)
        try:
            items.extend(work())
        except SecureCartError as exc:
            errors.append(f"{what}: {exc.message}")
        except (BotoCoreError, ClientError) as exc:  # the service said no, or could not be reached
            errors.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
    return items, errors


# ---- the whole check --------------------------------------------------------------------------------------


def drift(run: Run) -> DriftReport:
    """Refresh every stack of the environment, scan for what is not managed, and record the result."""
    start = time.monotonic()
    stacks = run.stacks()
    if not any(run.state_exists(s.name) for s in stacks):
        raise SecureCartError(
            f"nothing of environment '{run.env.name}' is applied on {run.target.id}, so nothing can drift",
            hint=f"apply it first: securecart-tf apply --env {run.env.name}",
        )

    def guarded(stack: Stack) -> StackDrift:
        try:
            return refresh_stack(run, stack)
        except SecureCartError as exc:  # e.g. `terraform show` failed: this stack fails, the others go on
            run.listen(stack.name, DriftStatus.FAILED, exc.message)
            return StackDrift(stack.name, stack.account, DriftStatus.FAILED, message=exc.message)

    with ThreadPoolExecutor(max_workers=max(1, run.options.parallelism)) as pool:
        results = list(pool.map(guarded, stacks))
    found, errors = ([], []) if run.interrupted else scan_unmanaged(run)
    unmanaged, ignored = set_aside_ignored(found, run.project.matrix.drift.ignore)
    report = DriftReport(
        run.env.name,
        run.revision,
        run.target.id,
        results,
        unmanaged,
        errors,
        list(run.notices),
        duration=time.monotonic() - start,
        ignored=ignored,
    )
    run.record([_record(run, r) for r in results] + [_summary_record(run, report)])
    return report


def _record(run: Run, r: StackDrift) -> Record:
    return Record(
        action="drift",
        environment=run.env.name,
        stack=r.stack,
        revision=run.revision,
        result=r.status.ledger,
        target=run.target.id,
        stack_hash=run.rendered[r.stack].hash if r.stack in run.rendered else "",
        change=len(r.changes),
        duration=round(r.duration, 2),
        detail="; ".join(f"{c.address}: {c.summary}" for c in r.changes)[:500] or r.message[:500],
    )


def _summary_record(run: Run, report: DriftReport) -> Record:
    result = "failed" if report.failed else "drift" if report.drifted else "no-drift"
    detail = f"{len(report.changes)} changed outside Terraform, {len(report.unmanaged)} not managed"
    if report.ignored:
        detail += f", {len(report.ignored)} ignored by drift.ignore"
    if report.errors:
        detail += "; " + "; ".join(report.errors)
    selection = run.options.selection
    return Record(
        action="drift",
        environment=run.env.name,
        stack="*",
        revision=run.revision,
        result=result,
        target=run.target.id,
        change=len(report.changes),
        duration=round(report.duration, 2),
        detail=detail[:500],
        stacks="" if selection.whole else ",".join(s.name for s in run.stacks()),
        environment_stacks=",".join(s.name for s in run.environment_stacks()),
    )
