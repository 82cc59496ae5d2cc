"""The `report` command: who can do what, where, from the matrix alone."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from securecart_tf.cli.options import DEFAULT_MATRIX, MatrixOpt, OutputOpt
from securecart_tf.errors import SecureCartError
from securecart_tf.report.formats import ReportFormat


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SecureCartError(f"--as-of {value!r} is not a date", hint="write it as YYYY-MM-DD") from None


def report(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Only the accounts of this environment, as columns.")
    ] = None,
    format: Annotated[ReportFormat, typer.Option("--format", "-f", help="md, json or html.")] = ReportFormat.md,
    output: OutputOpt = None,
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff",
            metavar="REV",
            help="Show how access changed since REV: a recorded revision (.securecart/revisions) or a git commit.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Judge expiry dates on this day (default: today)."),
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="With --diff, exit 2 when any access changed.")
    ] = False,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON Schema of `-f json`'s output, and nothing else.")
    ] = False,
) -> None:
    """Who can do what, where: effective access of each principal in each account, from the matrix alone."""
    if schema:
        from securecart_tf.report.render_json import schema_text

        _write(schema_text(), output)
        return
    from securecart_tf.report.run import produce

    result = produce(matrix, format, env=env, diff_rev=diff, as_of=_date(as_of))
    _write(result.text, output)
    if detailed_exitcode and result.diff is not None and result.diff.changes:
        raise typer.Exit(2)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SecureCartError(f"cannot write {output}: {exc.strerror}", hint="choose a writable path") from None
    typer.echo(f"Wrote {output}", err=True)


def register(app: typer.Typer) -> None:
    """Add the `report` command to the securecart-tf app."""
    app.command("report")(report)
