"""Promotion, rollback and status: a revision moves dev → staging → prod, each stage after the one before.

A revision reaches an environment only after it applied cleanly to every stack of the environment it
promotes from. The ledger tells which revision each environment runs; a failed promotion leaves the
previous revision current and records the failure.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from securecart_tf import __version__
from securecart_tf.config.load import Project, load_project
from securecart_tf.errors import RunRefused, SecureCartError
from securecart_tf.resources import tool_files
from securecart_tf.run.apply import apply
from securecart_tf.run.ledger import Record, environment_status
from securecart_tf.run.orchestrate import Options, Run
from securecart_tf.run.results import RunReport
from securecart_tf.run.revision import git_commit, revision_of
from securecart_tf.run.workspace import Workspace


def dirty_inputs(project: Project) -> list[str]:
    """Input files with uncommitted changes, when the project is in git (else [])."""
    files = [str(p.resolve()) for p in project.input_files()]
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", *files],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def _ledger_records(ws: Workspace, project: Project, env_name: str, target: object) -> list[Record]:
    env = project.environments[env_name]
    return list(ws.ledger(env, target).records())  # type: ignore[arg-type]


def check_promotion(project: Project, ws: Workspace, source: str, destination: str) -> str:
    """The revision to promote, or RunRefused naming exactly why not."""
    envs = project.environments
    for name in (source, destination):
        if name not in envs:
            known = ", ".join(sorted(envs)) or "none"
            raise SecureCartError(f"unknown environment '{name}'", hint=f"known environments: {known}")
    dst = envs[destination]
    if dst.promotes_from != source:
        expected = f"from {dst.promotes_from}" if dst.promotes_from else "from nowhere: it is the first stage"
        raise RunRefused(
            f"{destination} does not promote from {source}; it promotes {expected}",
            hint=f"the order is set by promotes_from in environments/{destination}.yaml",
        )
    dirty = dirty_inputs(project)
    if dirty:
        raise RunRefused(
            f"the working tree has uncommitted changes to {', '.join(dirty)}",
            hint="commit them, apply to the first stage, then promote; a promotion must be reproducible",
        )
    revision = revision_of(project)
    target, _ = ws.target(envs[source], project.matrix.organization.home_region)
    status = environment_status(_ledger_records(ws, project, source, target), source, target.id)
    if status.current is None:
        raise RunRefused(
            f"{source} has no revision that applied cleanly to every stack",
            hint=f"run `securecart-tf apply --env {source}` first",
        )
    if status.last_result == "failed" and status.last_attempt == revision:
        raise RunRefused(
            f"revision {revision} failed to apply in {source}; {source} still runs {status.current}",
            hint=f"fix the failure and apply {source} again; see the logs under .securecart/logs/{source}/",
        )
    if status.current != revision:
        raise RunRefused(
            f"the working tree is at revision {revision}, but {source} runs {status.current}",
            hint=f"apply {revision} to {source} first (`securecart-tf apply --env {source}`), "
            f"or check out the inputs of {status.current}",
        )
    return revision


def promote(project: Project, ws: Workspace, source: str, destination: str, options: Options) -> RunReport:
    revision = check_promotion(project, ws, source, destination)
    env = project.environments[destination]
    options.use_saved_plans = False
    with ws.lock(destination, "promote"):
        run = Run(project, env, ws, options, "promote")
        if run.revision != revision:  # the inputs changed between the check and the run
            raise RunRefused(f"the inputs changed while promoting ({revision} → {run.revision}); nothing was applied")
        report = apply(run)
    report.command = "promote"
    return report


def rollback(project: Project, ws: Workspace, env_name: str, revision: str, options: Options) -> RunReport:
    """Re-render a revision recorded in the ledger from its stored inputs, and apply it."""
    if env_name not in project.environments:
        raise SecureCartError(
            f"unknown environment '{env_name}'", hint=f"known environments: {', '.join(sorted(project.environments))}"
        )
    snapshot = _find_snapshot(ws, revision)
    old = load_project(snapshot / "inputs" / _snapshot_matrix(snapshot))
    env = old.environments.get(env_name)
    if env is None:
        raise RunRefused(f"revision {revision} has no environment '{env_name}'")
    target, _ = ws.target(project.environments[env_name], project.matrix.organization.home_region)
    applied = {
        r.revision
        for r in ws.ledger(project.environments[env_name], target, every=True).records()
        if r.stack == "*" and r.result == "ok" and r.action in ("apply", "promote", "rollback")
    }
    full = snapshot.name
    if full not in applied:
        raise RunRefused(
            f"revision {full} never applied cleanly anywhere on this target; refusing to roll back to it",
            hint="`securecart-tf status` lists the revisions each environment ran",
        )
    options.out = options.out or project.root / "build"
    options.use_saved_plans = False
    tools, why_not = stored_tool_files(snapshot)
    with ws.lock(env_name, "rollback"), tools:
        run = Run(old, env, ws, options, "rollback")
        if run.revision != full:
            run.notices.append(
                f"revision {full} re-renders as {run.revision}: {why_not}; its inputs are applied unchanged"
            )
        report = apply(run)
    report.command = "rollback"
    return report


def _find_snapshot(ws: Workspace, revision: str) -> Path:
    store = ws.revisions
    matches = sorted(p for p in store.glob(f"{revision}*") if (p / "snapshot.json").is_file()) if store.is_dir() else []
    if not matches:
        raise SecureCartError(
            f"no stored inputs for revision {revision}",
            hint="revisions are stored when they are planned or applied; `securecart-tf status` lists them",
        )
    if len(matches) > 1:
        raise SecureCartError(f"revision prefix {revision} is ambiguous: {', '.join(p.name for p in matches)}")
    return matches[0]


def _snapshot_matrix(snapshot: Path) -> str:
    return str(json.loads((snapshot / "snapshot.json").read_text())["matrix"])


def stored_tool_files(snapshot: Path) -> tuple[AbstractContextManager[None], str]:
    """Render with the modules and templates stored with the revision, when this version can.

    Returns the context to render in, and why the revision may still re-render differently.
    """
    stored_version = json.loads((snapshot / "snapshot.json").read_text()).get("tool_version")
    tool = snapshot / "tool"
    if stored_version != __version__:
        return nullcontext(), (
            f"it was made by securecart-tf {stored_version} and is rendered with {__version__}'s modules and templates"
        )
    if not (tool / "modules").is_dir() or not (tool / "templates").is_dir():
        return nullcontext(), "its modules and templates were not stored with it, so this install's are used"
    return tool_files(tool), "its stored modules and templates render differently"


@dataclass
class StatusRow:
    environment: str
    promotes_from: str | None
    target: str
    current: str | None
    last_attempt: str | None
    last_result: str | None
    when: float | None
    working_tree: str
    unavailable: str | None = None
    """Why the environment's AWS cannot be asked (the sandbox is off): its revision is then unknown."""

    @property
    def state(self) -> str:
        if self.unavailable is not None:
            return self.unavailable
        if self.current is None:
            return "never applied"
        if self.last_result == "failed":
            return f"last attempt failed ({self.last_attempt})"
        return "up to date" if self.current == self.working_tree else "behind the working tree"


def status(project: Project, ws: Workspace, *, start_sandbox: bool = False) -> list[StatusRow]:
    revision = revision_of(project)
    rows = []
    for env in _in_promotion_order(project):
        try:
            target, _ = ws.target(env, project.matrix.organization.home_region, start_sandbox=start_sandbox)
        except SecureCartError as exc:
            why = exc.message + (f" ({exc.hint})" if exc.hint else "")
            rows.append(
                StatusRow(env.name, env.promotes_from, "sandbox (unavailable)", None, None, None, None, revision, why)
            )
            continue
        st = environment_status(ws.ledger(env, target).records(), env.name, target.id)
        rows.append(
            StatusRow(
                env.name, env.promotes_from, target.id, st.current, st.last_attempt, st.last_result, st.when, revision
            )
        )
    return rows


def _in_promotion_order(project: Project) -> list:  # type: ignore[type-arg]
    envs = project.environments
    order = []
    seen: set[str] = set()
    firsts = sorted(n for n, e in envs.items() if e.promotes_from is None)
    queue = list(firsts)
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.add(name)
        order.append(envs[name])
        queue += sorted(n for n, e in envs.items() if e.promotes_from == name)
    order += [envs[n] for n in sorted(envs) if n not in seen]
    return order


__all__ = ["check_promotion", "dirty_inputs", "git_commit", "promote", "rollback", "status"]
