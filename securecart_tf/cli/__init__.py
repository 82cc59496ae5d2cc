"""The securecart-tf command line. Thin: parse arguments, call one function, map errors to exit codes.

Exit codes follow `terraform plan -detailed-exitcode`: 0 success with no changes, 1 error (bad input,
findings at error level, a failed run, bad usage), 2 changes present.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from securecart_tf import __version__
from securecart_tf.cli import drift as drift_cli
from securecart_tf.cli import report as report_cli
from securecart_tf.errors import ConfigErrors, SecureCartError

app = typer.Typer(
    name="securecart-tf",
    help="Govern access across a multi-account AWS organization from one access-matrix YAML.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
sandbox_app = typer.Typer(help="The local sandbox AWS (moto's server with shims).", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

MatrixOpt = Annotated[Path, typer.Option("--matrix", "-m", help="The access matrix.", show_default=True)]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment name (environments/<name>.yaml).")]
DEFAULT_MATRIX = Path("access-matrix.yaml")
TIMEOUT_HELP = "Seconds before a Terraform call is stopped (default: 1800)."


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def _version(value: bool) -> None:
    if value:
        out.print(f"securecart-tf {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """securecart-tf: validate the access matrix, render Terraform, plan and apply per account, promote."""


# ---- helpers ------------------------------------------------------------------------------------------


def _load(matrix: Path) -> Any:
    from securecart_tf.config.load import load_project

    return load_project(matrix)


def _valid_project(matrix: Path) -> Any:
    from securecart_tf.checks.validate import require_valid

    project = _load(matrix)
    warnings = require_valid(project)
    active = [f for f in warnings if f.active and f.severity == "warning"]
    if active:
        err.print(f"[yellow]{len(active)} warning(s)[/]; run `securecart-tf validate` to see them")
    return project


def _workspace(project: Any) -> Any:
    from securecart_tf.run.workspace import Workspace

    return Workspace(project.root)


class Progress:
    """A live table of stacks on a terminal; one line per event otherwise."""

    def __init__(self, title: str, enabled: bool = True):
        self.title = title
        self.rows: dict[str, tuple[str, str, float]] = {}
        self.live: Live | None = None
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, stack: str, status: str, detail: str = "") -> None:
        self.rows[stack] = (status, detail, time.monotonic())
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(self._table())
        else:
            err.print(
                f"[dim]{time.monotonic() - self.started:6.1f}s[/] {stack}: {status}"
                + (f" ({escape(detail)})" if detail else ""),
                highlight=False,
            )

    def _table(self) -> Table:
        from securecart_tf.run.status import StackStatus

        t = Table(title=self.title, title_justify="left", show_edge=False)
        t.add_column("stack")
        t.add_column("status")
        t.add_column("detail", overflow="fold")
        for stack, (status, detail, _) in self.rows.items():
            t.add_row(stack, f"[{StackStatus.style_of(status, 'cyan')}]{status}[/]", escape(detail))
        return t

    def __enter__(self) -> Progress:
        if self.enabled and err.is_terminal:
            self.live = Live(self._table(), console=err, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)


@contextmanager
def _interruptible() -> Iterator[None]:
    """First Ctrl-C or SIGTERM: each Terraform finishes its resource in flight and writes state. Second: stop now.

    SIGTERM (a service manager, a CI runner cancelling a job, `kill`) is a request to stop, like Ctrl-C:
    cut off, an apply leaves resources in AWS that no state knows, and its state lock held.
    """
    from securecart_tf.run.terraform import REGISTRY

    presses = 0

    def handler(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if presses == 1:
            finishing = REGISTRY.interrupt()
            err.print(
                f"\n[yellow]Interrupted.[/] ({name}) No new stack starts and plans stop now. "
                + (
                    f"Letting the applies in flight finish and write state ({', '.join(finishing)}): cut off "
                    "half-way, an apply can leave resources in AWS that no state knows. "
                    if finishing
                    else ""
                )
                + "Press Ctrl-C again (or send SIGTERM again) to stop at once."
            )
        else:
            running = REGISTRY.kill()
            err.print(
                "\n[red]Stopped at once.[/] "
                + (
                    f"These stacks may be left locked: {', '.join(running)}. The next run names the lock's ID "
                    "and the `terraform force-unlock` command to release it, in the stack's build folder, once "
                    "you have checked nobody else runs. What they were creating may exist in AWS without being "
                    "in their state: check, and `terraform import` it, before the next apply."
                    if running
                    else "No Terraform was running."
                )
            )
            os._exit(130)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def _confirmer(confirm_env: str | None) -> Any:
    def confirm(command: str, env: Any, results: list[Any]) -> bool:
        from securecart_tf.config.environments import Approval

        if confirm_env is not None:
            if confirm_env != env.name:
                raise SecureCartError(f"--confirm-env {confirm_env} does not name environment '{env.name}'")
            if env.approval == Approval.always:
                err.print(f"[bold]{command}[/] of [bold]{env.name}[/] confirmed by --confirm-env {env.name}")
                return True
        return _confirm(command, env, results)

    return confirm


def _confirm(command: str, env: Any, results: list[Any]) -> bool:
    from securecart_tf.config.environments import Approval

    total = sum(r.add + r.change + r.remove for r in results)
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


def _print_report(report: Any, as_json: bool, ws: Any) -> None:
    from securecart_tf.run.summary import table, write_summary

    write_summary(report, ws)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
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
    out.print(f"Summary for the pull request: [bold]{escape(str(report.summary_file))}[/]")


def _with_progress(title: str, options: Any, work: Any) -> Any:
    """Run `work` under the progress view and the Ctrl-C handling every run shares."""
    with Progress(title) as progress, _interruptible():
        options.listener = progress
        return work()


def _options(
    *, auto_approve: bool, confirm_env: str | None, parallelism: int | None, timeout: float | None = None
) -> Any:
    from securecart_tf.run import orchestrate

    options = orchestrate.Options(auto_approve=auto_approve, confirm=_confirmer(confirm_env))
    if parallelism is not None:
        if parallelism < 1:
            raise SecureCartError("--parallelism must be at least 1")
        options.parallelism = parallelism
    if timeout is not None:
        if not timeout > 0:
            raise SecureCartError("--timeout must be a positive number of seconds")
        options.timeout = timeout
    return options


def _run_env(
    command: str,
    matrix: Path,
    env_name: str,
    *,
    parallelism: int | None,
    as_json: bool,
    auto_approve: bool = False,
    refresh: bool = False,
    timeout: float | None = None,
    confirm_env: str | None = None,
) -> int:
    from securecart_tf.render import load_env
    from securecart_tf.run import orchestrate
    from securecart_tf.run.apply import apply as apply_env
    from securecart_tf.run.plan import plan as plan_env

    project = _valid_project(matrix)
    env = load_env(project, env_name)
    ws = _workspace(project)
    options = _options(auto_approve=auto_approve, confirm_env=confirm_env, parallelism=parallelism, timeout=timeout)
    options.refresh = refresh
    with ws.lock(env.name, command):
        progress = Progress(f"{command} · {env.name}", enabled=True)
        options.listener = progress
        run = orchestrate.Run(project, env, ws, options, command)
        if not as_json:
            err.print(
                f"[bold]{command}[/] environment [bold]{env.name}[/] at revision [bold]{run.revision}[/] "
                f"on {run.target.id} (parallelism {options.parallelism})"
            )
        with progress, _interruptible():
            report = plan_env(run) if command == "plan" else apply_env(run, destroy=command == "destroy")
    _print_report(report, as_json, ws)
    return report.exit_code()


# ---- commands -----------------------------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold the SecureCart example project: access-matrix.yaml, environments/ and policies/."""
    from securecart_tf.config.schema import export_json_schema
    from securecart_tf.resources import example_dir

    src = example_dir()
    names = ["access-matrix.yaml", "environments", "policies"]
    existing = [n for n in names if (directory / n).exists()]
    if existing and not force:
        raise SecureCartError(
            f"{directory} already has {', '.join(existing)}",
            hint="choose an empty folder, or pass --force to overwrite",
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        s, d = src / name, directory / name
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)
    # the matrix's first line points editors at this schema
    (directory / "access-matrix.schema.json").write_text(json.dumps(export_json_schema(), indent=2) + "\n")
    out.print(
        f"Created the SecureCart example in [bold]{directory}[/]. Next:\n"
        f"  cd {directory}\n  securecart-tf validate\n  securecart-tf apply --env dev --auto-approve"
    )


@app.command()
def validate(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    format: Annotated[
        ValidateFormat, typer.Option("--format", "-f", help="table, json or sarif.")
    ] = ValidateFormat.table,
) -> None:
    """Check the matrix and environment files before any Terraform runs. Exit 1 on any error."""
    from securecart_tf.checks.formats import findings_json, findings_sarif, findings_table
    from securecart_tf.checks.validate import run_checks
    from securecart_tf.findings import has_errors

    project = _load(matrix)
    findings = run_checks(project)
    if format == ValidateFormat.json:
        print(json.dumps(findings_json(findings, project.root), indent=2))
    elif format == ValidateFormat.sarif:
        print(json.dumps(findings_sarif(findings, project.root), indent=2))
    else:
        if findings:
            out.print(findings_table(findings, project.root))
        errors = sum(1 for f in findings if f.blocks)
        warnings = sum(1 for f in findings if f.active and f.severity == "warning")
        suppressed = sum(1 for f in findings if not f.active)
        verdict = "[red]invalid[/]" if errors else "[green]valid[/]"
        out.print(
            f"{escape(str(matrix))}: {verdict} — {errors} error(s), {warnings} warning(s), {suppressed} suppressed"
        )
    raise typer.Exit(1 if has_errors(findings) else 0)


@app.command()
def generate(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("build"),
) -> None:
    """Render one Terraform root per stack, a manifest.json, and the modules they use."""
    from securecart_tf.model import OrgFacts, build_model
    from securecart_tf.render import default_environment, load_env, render
    from securecart_tf.run.workspace import Workspace

    project = _valid_project(matrix)
    facts = OrgFacts()
    ws = Workspace(project.root)
    state = ws.state_file("organization")
    if state.is_file():  # reuse real account IDs once the organization exists
        try:
            outputs = {k: v.get("value") for k, v in json.loads(state.read_text()).get("outputs", {}).items()}
            facts = OrgFacts(
                dict(outputs.get("account_ids") or {}), outputs.get("organization_id"), outputs.get("root_id")
            )
        except (OSError, ValueError, AttributeError):
            pass
    model = build_model(project, facts)
    if env is not None:
        envs = [load_env(project, env)]
    else:
        envs = list(project.environments.values()) or [default_environment(model)]
    result = render(model, envs, out_dir)
    stacks = len(result.stacks)
    out.print(
        f"Rendered {stacks} stack(s) for {', '.join(e.name for e in envs)} into [bold]{out_dir}[/] "
        f"({len(result.rewritten)} file(s) written, {result.unchanged} unchanged)"
    )
    pending = sorted({s.stack.name for s in result.stacks.values() if s.stack.pending_accounts})
    if pending:
        from securecart_tf.iam.lint import shorten

        err.print(
            f"[cyan]note:[/] {len(pending)} stack(s) use stand-in account IDs until the organization stack "
            f"is applied: {shorten(pending, 8)}"
        )


@app.command()
def plan(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    parallelism: Annotated[
        int | None, typer.Option(help="Concurrent stacks (default: what the machine holds).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    refresh: Annotated[
        bool, typer.Option(help="Plan every stack, even those unchanged since their last apply.")
    ] = False,
    timeout: Annotated[float | None, typer.Option(help=TIMEOUT_HELP)] = None,
) -> None:
    """Plan every stack of an environment and save the plans. Exit 0 no changes, 2 changes, 1 error."""
    raise typer.Exit(
        _run_env("plan", matrix, env, parallelism=parallelism, as_json=as_json, refresh=refresh, timeout=timeout)
    )


@app.command()
def apply(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask (unless approval: always).")] = False,
    parallelism: Annotated[int | None, typer.Option(help="Concurrent stacks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    refresh: Annotated[bool, typer.Option(help="Plan even stacks unchanged since their last apply.")] = False,
    timeout: Annotated[float | None, typer.Option(help=TIMEOUT_HELP)] = None,
    confirm_env: Annotated[
        str | None, typer.Option("--confirm-env", help="Type the environment's name here instead of at the prompt.")
    ] = None,
) -> None:
    """Apply the saved plans of an environment (planning afresh where none is saved), in dependency order."""
    raise typer.Exit(
        _run_env(
            "apply",
            matrix,
            env,
            parallelism=parallelism,
            as_json=as_json,
            auto_approve=auto_approve,
            refresh=refresh,
            timeout=timeout,
            confirm_env=confirm_env,
        )
    )


@app.command()
def destroy(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask (sandbox only).")] = False,
    parallelism: Annotated[int | None, typer.Option(help="Concurrent stacks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    timeout: Annotated[float | None, typer.Option(help=TIMEOUT_HELP)] = None,
    confirm_env: Annotated[
        str | None, typer.Option("--confirm-env", help="Type the environment's name here instead of at the prompt.")
    ] = None,
) -> None:
    """Destroy an environment's stacks in reverse dependency order."""
    from securecart_tf.render import load_env

    project = _load(matrix)
    environment = load_env(project, env)
    if environment.target.type != "sandbox":
        typed = confirm_env or typer.prompt(
            f"This destroys the resources of '{env}' in real AWS (never the organization, its accounts and OUs, "
            f"or the log bucket and its key). Type '{env}' to go ahead",
            default="",
            show_default=False,
            err=True,
        )
        if typed.strip() != env:
            raise SecureCartError("destroy was not confirmed; nothing was changed")
        auto_approve = True
    raise typer.Exit(
        _run_env(
            "destroy",
            matrix,
            env,
            parallelism=parallelism,
            as_json=as_json,
            auto_approve=auto_approve,
            timeout=timeout,
            confirm_env=confirm_env,
        )
    )


@app.command()
def promote(
    from_env: Annotated[str, typer.Option("--from", help="The stage the revision applied cleanly in.")],
    to_env: Annotated[str, typer.Option("--to", help="The next stage.")],
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask (unless approval: always).")] = False,
    confirm_env: Annotated[
        str | None, typer.Option("--confirm-env", help="Type the target environment's name here, not at the prompt.")
    ] = None,
    parallelism: Annotated[int | None, typer.Option(help="Concurrent stacks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Apply to the next stage the revision that applied cleanly to every stack of the one before."""
    from securecart_tf.run import promote as promotion

    project = _valid_project(matrix)
    ws = _workspace(project)
    options = _options(auto_approve=auto_approve, confirm_env=confirm_env, parallelism=parallelism)
    err.print(f"[bold]promote[/] {from_env} → {to_env}")
    report = _with_progress(
        f"promote · {to_env}", options, lambda: promotion.promote(project, ws, from_env, to_env, options)
    )
    _print_report(report, as_json, ws)
    raise typer.Exit(report.exit_code())


@app.command()
def rollback(
    env: EnvOpt,
    to: Annotated[str, typer.Option("--to", help="A revision recorded in the ledger (a unique prefix will do).")],
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask (unless approval: always).")] = False,
    confirm_env: Annotated[
        str | None, typer.Option("--confirm-env", help="Type the environment's name here, not at the prompt.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Re-render an earlier revision from its stored inputs and apply it to an environment."""
    from securecart_tf.run import promote as promotion

    project = _load(matrix)
    ws = _workspace(project)
    options = _options(auto_approve=auto_approve, confirm_env=confirm_env, parallelism=None)
    err.print(f"[bold]rollback[/] {env} to revision {escape(to)}")
    report = _with_progress(f"rollback · {env}", options, lambda: promotion.rollback(project, ws, env, to, options))
    _print_report(report, as_json, ws)
    raise typer.Exit(report.exit_code())


@app.command()
def status(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Which revision each environment runs, in promotion order, against the working tree's."""
    from dataclasses import asdict

    from securecart_tf.run import promote as promotion

    project = _load(matrix)
    rows = promotion.status(project, _workspace(project))
    if as_json:
        print(json.dumps([asdict(r) | {"state": r.state} for r in rows], indent=2))
        return
    t = Table(title=f"Working tree at revision {rows[0].working_tree if rows else '-'}", title_justify="left")
    for col in ("environment", "promotes from", "runs", "last attempt", "when", "state"):
        t.add_column(col)
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.when)) if r.when else "-"
        attempt = f"{r.last_attempt} ({r.last_result})" if r.last_attempt else "-"
        t.add_row(r.environment, r.promotes_from or "-", r.current or "-", attempt, when, r.state)
    out.print(t)


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Print the access matrix's JSON Schema, for editors to complete and check the file."""
    from securecart_tf.config.schema import export_json_schema

    text = json.dumps(export_json_schema(), indent=2) + "\n"
    if output is None:
        print(text, end="")
    else:
        output.write_text(text)
        out.print(f"Wrote {escape(str(output))}")


@app.command()
def guardrails() -> None:
    """List the built-in guardrails and their parameters."""
    from securecart_tf.iam.guardrails import LIBRARY

    t = Table(title="Guardrail library", title_justify="left")
    t.add_column("builtin")
    t.add_column("type")
    t.add_column("what it does")
    t.add_column("parameters")
    for g in LIBRARY.values():
        params = ", ".join(
            f"{n}" + ("" if f.is_required() else " (optional)") for n, f in g.params.model_fields.items()
        )
        t.add_row(g.id, g.type, g.summary, params or "—")
    out.print(t)


# ---- sandbox -------------------------------------------------------------------------------------------


def _sandbox_home() -> Path:
    from securecart_tf.run.workspace import Workspace

    return Workspace(Path.cwd()).home


@sandbox_app.command("up")
def sandbox_up() -> None:
    """Start the sandbox on a free loopback port (no-op if it runs)."""
    from securecart_tf import sandbox

    info, started = sandbox.up(_sandbox_home())
    verb = "started" if started else "already running"
    out.print(f"sandbox {verb}: {info.endpoint} (pid {info.pid}, session {info.session})")


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop the sandbox. Its AWS resources are gone with it."""
    from securecart_tf import sandbox

    done = sandbox.down(_sandbox_home())
    if done.info is not None:
        out.print(f"sandbox stopped (pid {done.info.pid}, session {done.info.session})")
    elif done.left_alone is not None:
        out.print(f"sandbox was not running; its recorded pid {done.left_alone} is another program now, left alone")
    elif not done.unrecorded:
        out.print("sandbox was not running")
    if done.unrecorded:
        pids = ", ".join(map(str, done.unrecorded))
        out.print(f"stopped a sandbox server of this project that no record named (pid {pids})")


@sandbox_app.command("status")
def sandbox_status() -> None:
    """Tell whether the sandbox runs. Exit 0 if it does, 1 if not."""
    from securecart_tf import sandbox

    try:
        info = sandbox.running(_sandbox_home())
    except SecureCartError as exc:
        out.print(escape(exc.message), highlight=False)
        if exc.hint:
            out.print(f"  hint: {escape(exc.hint)}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"sandbox running: {info.endpoint} (pid {info.pid}, session {info.session}, "
        f"up {time.time() - info.started:.0f}s)"
    )


report_cli.register(app)
drift_cli.register(app)


# ---- entry point ---------------------------------------------------------------------------------------


def main() -> None:
    from securecart_tf.run import ledger

    debug = bool(os.environ.get("SECURECART_DEBUG"))
    ledger.warning_handler = lambda message: err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        err.print("[red]Aborted.[/]")
        code = 1
    except typer.TyperException as exc:  # usage errors: exit 1, so that 2 always means "changes"
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"[red]error:[/] {escape(str(exc))}")
        code = 1
    except ConfigErrors as exc:
        for e in exc.errors:
            _print_error(e)
        err.print(f"[red]{len(exc.errors)} error(s)[/]")
        code = 1
    except SecureCartError as exc:
        _print_error(exc)
        code = 1
    except KeyboardInterrupt:
        err.print("[red]Interrupted.[/]")
        code = 1
    except OSError as exc:  # a full disk or a read-only folder mid-run: say which file, not a traceback
        if debug:
            raise
        import errno

        where = f": {exc.filename}" if exc.filename else ""
        err.print(f"[red]error:[/] {escape((exc.strerror or str(exc)) + where)}", highlight=False)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            err.print("  [dim]hint:[/] free some disk space or make the folder writable, then run again")
        code = 1
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "Please report it; rerun with SECURECART_DEBUG=1 for details."
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _print_error(exc: SecureCartError) -> None:
    where = f"{exc.location}: " if exc.location else ""
    err.print(f"[red]error:[/] {escape(where + exc.message)}", highlight=False)
    if exc.hint:
        err.print(f"  [dim]hint:[/] {escape(exc.hint)}", highlight=False)


if __name__ == "__main__":
    main()
