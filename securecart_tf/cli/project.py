"""What commands share before and after a run: the project, its workspace, the run's options and its report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.markup import escape

from securecart_tf.cli.console import Progress, err, interruptible, out
from securecart_tf.errors import SecureCartError

if TYPE_CHECKING:
    from securecart_tf.config.environments import Environment
    from securecart_tf.config.load import Project
    from securecart_tf.run.orchestrate import Options, Run
    from securecart_tf.run.results import RunReport, StackResult
    from securecart_tf.run.selection import Selection
    from securecart_tf.run.workspace import Workspace

T = TypeVar("T")


def read_project(matrix: Path) -> Project:
    """The matrix and its environments, as loaded; no checks beyond the schema."""
    from securecart_tf.config.load import load_project

    return load_project(matrix)


def valid_project(matrix: Path) -> Project:
    """The project, refused with its errors if any check fails; warnings are counted, not listed."""
    from securecart_tf.checks.validate import require_valid

    project = read_project(matrix)
    warnings = require_valid(project)
    active = [f for f in warnings if f.active and f.severity == "warning"]
    if active:
        err.print(f"[yellow]{len(active)} warning(s)[/]; run `securecart-tf validate` to see them")
    return project


def workspace(project: Project) -> Workspace:
    """The project's .securecart folder: state, plans, ledger, locks."""
    from securecart_tf.run.workspace import Workspace

    return Workspace(project.root)


@dataclass(frozen=True, kw_only=True)
class RunFlags:
    """How the command line asks a run to go; checked when the options are made, after the project loads."""

    auto_approve: bool = False
    confirm_env: str | None = None
    parallelism: int | None = None
    timeout: float | None = None
    refresh: bool = False
    stacks: str | None = None
    shard: str | None = None
    plans: Path | None = None

    def options(self) -> Options:
        from securecart_tf.run.orchestrate import Options

        options = Options(auto_approve=self.auto_approve, confirm=_confirmer(self.confirm_env))
        if self.parallelism is not None:
            if self.parallelism < 1:
                raise SecureCartError("--parallelism must be at least 1")
            options.parallelism = self.parallelism
        if self.timeout is not None:
            if not self.timeout > 0:
                raise SecureCartError("--timeout must be a positive number of seconds")
            options.timeout = self.timeout
        options.refresh = self.refresh
        options.plans = self.plans.resolve() if self.plans is not None else None
        return options


def _confirmer(confirm_env: str | None) -> Callable[[str, Environment, list[StackResult]], bool]:
    def confirm(command: str, env: Environment, results: list[StackResult]) -> bool:
        from securecart_tf.config.environments import Approval

        if confirm_env is not None:
            if confirm_env != env.name:
                raise SecureCartError(f"--confirm-env {confirm_env} does not name environment '{env.name}'")
            if env.approval == Approval.always:
                err.print(f"[bold]{command}[/] of [bold]{env.name}[/] confirmed by --confirm-env {env.name}")
                return True
        return _ask(command, env, results)

    return confirm


def _ask(command: str, env: Environment, results: list[StackResult]) -> bool:
    from securecart_tf.config.environments import Approval

    total = sum(r.add + r.change + r.remove + r.imports for r in results)
    stacks = ", ".join(r.stack for r in results)
    err.print(f"\n[bold]{command}[/] will change {total} resource(s) in environment [bold]{env.name}[/]: {stacks}")
    for r in results:
        if r.reaches:
            err.print(f"  [yellow]{r.stack} reaches {', '.join(r.reaches)} immediately[/]")
    try:
        if env.approval == Approval.always:
            typed = typer.prompt(
                f"Type the environment's name ({env.name}) to go ahead", default="", show_default=False, err=True
            )
            return bool(typed.strip() == env.name)
        return bool(typer.confirm("Go ahead?", default=False, err=True))
    except (RuntimeError, EOFError):  # Abort on end of input or Ctrl-C at the prompt
        return False


@dataclass
class EnvironmentSetup:
    """A valid project, one of its environments, the workspace and the run's options: ready to run."""

    project: Project
    env: Environment
    ws: Workspace
    options: Options

    @contextmanager
    def run(self, command: str, *, as_json: bool) -> Iterator[Run]:
        """The environment locked, the progress view shown and Ctrl-C handled while the caller runs."""
        from securecart_tf.run.orchestrate import Run

        with self.ws.lock(self.env.name, command):
            progress = Progress(f"{command} · {self.env.name}", enabled=True)
            self.options.listener = progress
            run = Run(self.project, self.env, self.ws, self.options, command)
            if not as_json:
                err.print(
                    f"[bold]{command}[/] environment [bold]{self.env.name}[/] at revision [bold]{run.revision}[/] "
                    f"on {run.target.id} (parallelism {self.options.parallelism})"
                )
            with progress, interruptible():
                yield run


def prepare_environment(matrix: Path, env_name: str, flags: RunFlags) -> EnvironmentSetup:
    """Load and check the project, find the environment and the workspace, and make the run's options."""
    from securecart_tf.render import load_env
    from securecart_tf.run.selection import Selection

    selection = Selection.parse(flags.stacks, flags.shard)  # a typo costs nothing: checked before the project
    project = valid_project(matrix)
    env = load_env(project, env_name)
    options = flags.options()
    select(project, env, selection, options)
    return EnvironmentSetup(project, env, workspace(project), options)


def select(project: Project, env: Environment | None, selection: Selection, options: Options) -> None:
    """Give the run the part of the environment it takes, once every named stack is found in it. An unknown
    environment (None) is left for the command to refuse in its own words."""
    if env is not None and not selection.whole:
        check_selection(project, env, selection)
        options.selection = selection


def check_selection(project: Project, env: Environment, selection: Selection) -> None:
    """Refuse, before anything runs, a named stack the environment does not have."""
    from securecart_tf.model import build_model
    from securecart_tf.render import stacks_of

    model = build_model(project)
    ours = [s.name for s in stacks_of(model, env)]
    elsewhere = {
        s.name: other.name
        for other in project.environments.values()
        if other.name != env.name
        for s in stacks_of(model, other)
    }
    selection.check(env.name, ours, elsewhere)


def with_progress(title: str, options: Options, work: Callable[[], T]) -> T:
    """Run `work` under the progress view and the Ctrl-C handling every run shares."""
    with Progress(title) as progress, interruptible():
        options.listener = progress
        return work()


def print_run_report(report: RunReport, as_json: bool, ws: Workspace) -> None:
    """Write the pull request's summary, then show the run as JSON or as a table with what failed.

    A summary that cannot be written (a full disk) is an error shown after the run, never instead of it: the
    results may say where a state Terraform could not save lies, and how to push it.
    """
    from securecart_tf.run.summary import write_summary

    unwritten: OSError | None = None
    try:
        write_summary(report, ws)
    except OSError as exc:
        unwritten = exc
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _show_report(report)
    if unwritten is not None:
        raise unwritten


def _show_report(report: RunReport) -> None:
    from securecart_tf.run.summary import table

    for notice in report.notices:
        err.print(f"[cyan]note:[/] {escape(notice)}")
    out.print(table(report))
    failed = [r for r in report.results if r.failed]
    for r in failed:
        err.print(
            f"[red]✗ {r.stack}[/] ({r.account}): {escape(r.message or r.status)}"
            + (f"\n  log: {r.log}" if r.log and r.log not in r.message else "")
        )
    waiting = [r.stack for r in report.results if r.status == "waiting"]
    if waiting and not failed:
        out.print(
            f"{len(waiting)} stack(s) can be planned once what they wait for is applied; "
            f"[bold]securecart-tf apply --env {report.environment}[/] applies in order and plans each in turn."
        )
    if report.summary_file is not None:
        out.print(f"Summary for the pull request: [bold]{escape(report.summary_file)}[/]")
