"""The `status` command: which revision each environment runs, from the ledger."""

from __future__ import annotations

import json
import time

import typer

from securecart_tf.cli.console import out
from securecart_tf.cli.options import DEFAULT_MATRIX, JsonOpt, MatrixOpt
from securecart_tf.cli.project import read_project, workspace


def status(matrix: MatrixOpt = DEFAULT_MATRIX, as_json: JsonOpt = False) -> None:
    """Which revision each environment runs, in promotion order, against the working tree's."""
    from dataclasses import asdict

    from rich.table import Table

    from securecart_tf.run import promote as promotion

    project = read_project(matrix)
    rows = promotion.status(project, workspace(project))
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


def register(app: typer.Typer) -> None:
    """Add `status` to the securecart-tf app."""
    app.command()(status)
