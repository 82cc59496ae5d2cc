"""The `sandbox` commands: start, stop and ask after the local AWS (moto's server with shims)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape

from securecart_tf.cli.console import out
from securecart_tf.errors import SecureCartError

sandbox_app = typer.Typer(help="The local sandbox AWS (moto's server with shims).", no_args_is_help=True)


def _home() -> Path:
    from securecart_tf.run.workspace import Workspace

    return Workspace(Path.cwd()).home


@sandbox_app.command("up")
def up() -> None:
    """Start the sandbox on a free loopback port (no-op if it runs)."""
    from securecart_tf import sandbox

    info, started = sandbox.up(_home())
    verb = "started" if started else "already running"
    out.print(f"sandbox {verb}: {info.endpoint} (pid {info.pid}, session {info.session})")


@sandbox_app.command("down")
def down() -> None:
    """Stop the sandbox. Its AWS resources are gone with it."""
    from securecart_tf import sandbox

    done = sandbox.down(_home())
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
def status() -> None:
    """Tell whether the sandbox runs. Exit 0 if it does, 1 if not."""
    from securecart_tf import sandbox

    try:
        info = sandbox.running(_home())
    except SecureCartError as exc:
        out.print(escape(exc.message), highlight=False)
        if exc.hint:
            out.print(f"  hint: {escape(exc.hint)}", highlight=False)
        raise typer.Exit(1) from None
    out.print(
        f"sandbox running: {info.endpoint} (pid {info.pid}, session {info.session}, "
        f"up {time.time() - info.started:.0f}s)"
    )


def register(app: typer.Typer) -> None:
    """Add the `sandbox` group to the securecart-tf app."""
    app.add_typer(sandbox_app, name="sandbox")
