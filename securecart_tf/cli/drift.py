"""The `drift` command. `securecart_tf.cli` mounts it with `register(app)`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from securecart_tf.errors import SecureCartError


def drift(
    env: Annotated[str, typer.Option("--env", "-e", help="Environment name (environments/<name>.yaml).")],
    matrix: Annotated[Path, typer.Option("--matrix", "-m", help="The access matrix.")] = Path("access-matrix.yaml"),
    parallelism: Annotated[
        int | None, typer.Option(help="Concurrent stacks (default: what the machine holds).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds before a Terraform call is stopped.")] = None,
) -> None:
    """What changed outside Terraform, and what exists that the matrix does not declare.

    Runs a refresh-only plan of every stack of the environment (nothing is changed), then lists SCP
    attachments, permission-set assignments and IAM roles that no stack manages, each with an import block
    or a hint. Exit 0 no drift, 2 drift found, 1 error.
    """
    from rich.markup import escape

    from securecart_tf import drift as drift_mod
    from securecart_tf import sandbox
    from securecart_tf.cli import Progress, _interruptible, _options, _valid_project, _workspace, err, out
    from securecart_tf.render import load_env
    from securecart_tf.run import orchestrate

    project = _valid_project(matrix)
    environment = load_env(project, env)
    ws = _workspace(project)
    options = _options(auto_approve=False, confirm_env=None, parallelism=parallelism, timeout=timeout)
    if environment.target.type == "sandbox" and sandbox.read(ws.home) is None:
        # a sandbox started now would be empty: nothing deployed, nothing to compare
        raise SecureCartError(
            f"the sandbox is not running, so environment '{environment.name}' has nothing deployed to compare",
            hint=f"apply it first: securecart-tf apply --env {environment.name}",
        )
    with ws.lock(environment.name, "drift"):
        progress = Progress(f"drift · {environment.name}", enabled=True)
        options.listener = progress
        run = orchestrate.Run(project, environment, ws, options, "drift")
        if not as_json:
            err.print(
                f"[bold]drift[/] environment [bold]{environment.name}[/] at revision [bold]{run.revision}[/] "
                f"on {run.target.id} (parallelism {options.parallelism})"
            )
        with progress, _interruptible():
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


def register(app: typer.Typer) -> None:
    """Add the `drift` command to the securecart-tf app."""
    app.command("drift")(drift)
