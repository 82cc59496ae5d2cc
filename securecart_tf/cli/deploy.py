"""Commands that run Terraform on one environment: `plan`, `apply` and `destroy`."""

from __future__ import annotations

from pathlib import Path

import typer

from securecart_tf.cli.options import (
    DEFAULT_MATRIX,
    AutoApproveOpt,
    ConfirmEnvOpt,
    DestroyAutoApproveOpt,
    EnvOpt,
    JsonOpt,
    MatrixOpt,
    ParallelismOpt,
    PlansOpt,
    RefreshOpt,
    ShardOpt,
    StacksOpt,
    TimeoutOpt,
)
from securecart_tf.cli.project import RunFlags, prepare_environment, print_run_report, read_project
from securecart_tf.errors import SecureCartError


def _run_env(command: str, matrix: Path, env_name: str, flags: RunFlags, *, as_json: bool) -> int:
    from securecart_tf.run.apply import apply
    from securecart_tf.run.plan import plan

    setup = prepare_environment(matrix, env_name, flags)
    with setup.run(command, as_json=as_json) as run:
        report = plan(run) if command == "plan" else apply(run, destroy=command == "destroy")
    print_run_report(report, as_json, setup.ws)
    return report.exit_code()


def plan(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    parallelism: ParallelismOpt = None,
    as_json: JsonOpt = False,
    refresh: RefreshOpt = False,
    timeout: TimeoutOpt = None,
    stacks: StacksOpt = None,
    shard: ShardOpt = None,
    plans: PlansOpt = None,
) -> None:
    """Plan every stack of an environment and save the plans. Exit 0 no changes, 2 changes, 1 error."""
    flags = RunFlags(parallelism=parallelism, timeout=timeout, refresh=refresh, stacks=stacks, shard=shard, plans=plans)
    raise typer.Exit(_run_env("plan", matrix, env, flags, as_json=as_json))


def apply(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: AutoApproveOpt = False,
    parallelism: ParallelismOpt = None,
    as_json: JsonOpt = False,
    refresh: RefreshOpt = False,
    timeout: TimeoutOpt = None,
    confirm_env: ConfirmEnvOpt = None,
    stacks: StacksOpt = None,
    shard: ShardOpt = None,
    plans: PlansOpt = None,
) -> None:
    """Apply the saved plans of an environment (planning afresh where none is saved), in dependency order."""
    flags = RunFlags(
        auto_approve=auto_approve,
        confirm_env=confirm_env,
        parallelism=parallelism,
        timeout=timeout,
        refresh=refresh,
        stacks=stacks,
        shard=shard,
        plans=plans,
    )
    raise typer.Exit(_run_env("apply", matrix, env, flags, as_json=as_json))


def destroy(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: DestroyAutoApproveOpt = False,
    parallelism: ParallelismOpt = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = None,
    confirm_env: ConfirmEnvOpt = None,
) -> None:
    """Destroy an environment's stacks in reverse dependency order."""
    from securecart_tf.render import load_env

    project = read_project(matrix)
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
    flags = RunFlags(auto_approve=auto_approve, confirm_env=confirm_env, parallelism=parallelism, timeout=timeout)
    raise typer.Exit(_run_env("destroy", matrix, env, flags, as_json=as_json))


def register(app: typer.Typer) -> None:
    """Add `plan`, `apply` and `destroy` to the securecart-tf app."""
    for command in (plan, apply, destroy):
        app.command()(command)
