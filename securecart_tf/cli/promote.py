"""Commands that move revisions between stages: `promote` to the next one, `rollback` to an earlier one."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from securecart_tf.cli.console import err
from securecart_tf.cli.options import (
    DEFAULT_MATRIX,
    AutoApproveOpt,
    ConfirmEnvOpt,
    ConfirmTargetOpt,
    EnvOpt,
    JsonOpt,
    MatrixOpt,
    ParallelismOpt,
    ShardOpt,
    StacksOpt,
)
from securecart_tf.cli.project import (
    RunFlags,
    print_run_report,
    read_project,
    select,
    valid_project,
    with_progress,
    workspace,
)


def promote(
    from_env: Annotated[str, typer.Option("--from", help="The stage the revision applied cleanly in.")],
    to_env: Annotated[str, typer.Option("--to", help="The next stage.")],
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: AutoApproveOpt = False,
    confirm_env: ConfirmTargetOpt = None,
    parallelism: ParallelismOpt = None,
    as_json: JsonOpt = False,
    stacks: StacksOpt = None,
    shard: ShardOpt = None,
) -> None:
    """Apply to the next stage the revision that applied cleanly to every stack of the one before.

    With --stacks or --shard, only those stacks of the next stage: the runs that take its parts (one CI job
    each, say) together bring the stage to the revision, and the stage after it waits until they all have.
    """
    from securecart_tf.run import promote as promotion
    from securecart_tf.run.selection import Selection

    selection = Selection.parse(stacks, shard)
    project = valid_project(matrix)
    ws = workspace(project)
    options = RunFlags(auto_approve=auto_approve, confirm_env=confirm_env, parallelism=parallelism).options()
    select(project, project.environments.get(to_env), selection, options)
    err.print(f"[bold]promote[/] {from_env} → {to_env}")
    report = with_progress(
        f"promote · {to_env}", options, lambda: promotion.promote(project, ws, from_env, to_env, options)
    )
    print_run_report(report, as_json, ws)
    raise typer.Exit(report.exit_code())


def rollback(
    env: EnvOpt,
    to: Annotated[str, typer.Option("--to", help="A revision recorded in the ledger (a unique prefix will do).")],
    matrix: MatrixOpt = DEFAULT_MATRIX,
    auto_approve: AutoApproveOpt = False,
    confirm_env: ConfirmEnvOpt = None,
    as_json: JsonOpt = False,
    stacks: StacksOpt = None,
    shard: ShardOpt = None,
) -> None:
    """Re-render an earlier revision from its stored inputs and apply it to an environment (with --stacks or
    --shard, to those of its stacks)."""
    from securecart_tf.run import promote as promotion
    from securecart_tf.run.selection import Selection

    selection = Selection.parse(stacks, shard)
    project = read_project(matrix)
    ws = workspace(project)
    options = RunFlags(auto_approve=auto_approve, confirm_env=confirm_env).options()
    select(project, project.environments.get(env), selection, options)
    err.print(f"[bold]rollback[/] {env} to revision {escape(to)}")
    report = with_progress(f"rollback · {env}", options, lambda: promotion.rollback(project, ws, env, to, options))
    print_run_report(report, as_json, ws)
    raise typer.Exit(report.exit_code())


def register(app: typer.Typer) -> None:
    """Add `promote` and `rollback` to the securecart-tf app."""
    for command in (promote, rollback):
        app.command()(command)
