"""The securecart-tf app: its commands in the order `--help` lists them, and `main`, which maps errors to exit codes.

Exit codes follow `terraform plan -detailed-exitcode`: 0 success with no changes, 1 error (bad input,
findings at error level, a failed run, bad usage), 2 changes present.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from securecart_tf import __version__
from securecart_tf.cli import adopt, build, deploy, drift, pipeline, promote, reference, report, sandbox, status
from securecart_tf.cli.console import err, out, print_error
from securecart_tf.errors import ConfigErrors, SecureCartError

app = typer.Typer(
    name="securecart-tf",
    help="Govern access across a multi-account AWS organization from one access-matrix YAML.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


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


for module in (build, adopt, deploy, promote, status, reference, report, drift, pipeline, sandbox):
    module.register(app)


def main() -> None:
    """The console script: run the command, turn what went wrong into a message and an exit code."""
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
            print_error(e)
        err.print(f"[red]{len(exc.errors)} error(s)[/]")
        code = 1
    except SecureCartError as exc:
        print_error(exc)
        code = 1
    except KeyboardInterrupt:
        err.print("[red]Interrupted.[/]")
        code = 1
    except OSError as exc:  # a full disk or a read-only folder mid-run: say which file, not a traceback
        if debug:
            raise
        code = _os_error(exc)
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {exc}\n"
            "Please report it; rerun with SECURECART_DEBUG=1 for details."
        )
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


def _os_error(exc: OSError) -> int:
    import errno

    where = f": {exc.filename}" if exc.filename else ""
    err.print(f"[red]error:[/] {escape((exc.strerror or str(exc)) + where)}", highlight=False)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        err.print("  [dim]hint:[/] free some disk space or make the folder writable, then run again")
    return 1
