"""The `drift` command: what changed outside Terraform, and what exists that the matrix does not declare."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from securecart_tf.cli.console import err, out
from securecart_tf.cli.options import (
    DEFAULT_MATRIX,
    EnvOpt,
    JsonOpt,
    MatrixOpt,
    ParallelismOpt,
    ShardOpt,
    StacksOpt,
    TimeoutOpt,
)
from securecart_tf.cli.project import EnvironmentSetup, RunFlags, prepare_environment
from securecart_tf.errors import SecureCartError


def drift(
    env: EnvOpt,
    matrix: MatrixOpt = DEFAULT_MATRIX,
    parallelism: ParallelismOpt = None,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = None,
    stacks: StacksOpt = None,
    shard: ShardOpt = None,
) -> None:
    """What changed outside Terraform, and what exists that the matrix does not declare.

    Runs a refresh-only plan of every stack of the environment (nothing is changed), then lists SCP
    attachments, permission-set assignments and IAM roles that no stack manages, each with an import block
    or a hint. With --stacks or --shard, only those stacks are refreshed, and only what they cover is scanned.
    Exit 0 no drift, 2 drift found, 1 error.
    """
    from securecart_tf import drift as drift_mod

    flags = RunFlags(parallelism=parallelism, timeout=timeout, stacks=stacks, shard=shard)
    setup = prepare_environment(matrix, env, flags)
    _require_deployed(setup)
    with setup.run("drift", as_json=as_json) as run:
        report = drift_mod.drift(run)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for notice in report.notices:
            err.print(f"[cyan]note:[/] {escape(notice)}")
        for part in drift_mod.render(report):
            out.print(part)
        for s in report.stacks:
            if s.failed:
                err.print(f"[red]✗ {s.stack}[/] ({s.account}): {escape(s.message or s.status)}")
    raise typer.Exit(report.exit_code())


def _require_deployed(setup: EnvironmentSetup) -> None:
    from securecart_tf import sandbox

    if setup.env.target.type == "sandbox" and sandbox.read(setup.ws.home) is None:
        # a sandbox started now would be empty: nothing deployed, nothing to compare
        raise SecureCartError(
            f"the sandbox is not running, so environment '{setup.env.name}' has nothing deployed to compare",
            hint=f"apply it first: securecart-tf apply --env {setup.env.name}",
        )


def register(app: typer.Typer) -> None:
    """Add `drift` to the securecart-tf app."""
    app.command("drift")(drift)
