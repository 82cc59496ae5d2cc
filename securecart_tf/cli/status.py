"""The `status` command: which revision each environment runs, from the ledger."""

from __future__ import annotations

import json
import time

import typer

from securecart_tf.cli.console import out
from securecart_tf.cli.options import DEFAULT_MATRIX, EnvOpt, JsonOpt, MatrixOpt, ShardOpt
from securecart_tf.cli.project import check_selection, read_project, valid_project, workspace


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


def stacks(env: EnvOpt, matrix: MatrixOpt = DEFAULT_MATRIX, as_json: JsonOpt = False, shard: ShardOpt = None) -> None:
    """The stacks of an environment in dependency order, with what each depends on and its wave."""
    from securecart_tf.model import build_model
    from securecart_tf.render import load_env, stacks_of
    from securecart_tf.run.selection import Selection, waves

    selection = Selection.parse(None, shard)
    project = valid_project(matrix)
    environment = load_env(project, env)
    check_selection(project, environment, selection)
    ordered = stacks_of(build_model(project), environment)
    wave = waves(ordered)
    rows: list[dict[str, object]] = [
        {
            "name": s.name,
            "layer": s.layer,
            "account": s.account,
            "depends_on": [d for d in s.depends_on if d in wave],
            "depends_elsewhere": [d for d in s.depends_on if d not in wave],
            "wave": wave[s.name],
        }
        for s in selection.of(ordered)
    ]
    if as_json:
        print(json.dumps({"environment": environment.name, "stacks": rows}, indent=2))
        return
    from rich.table import Table

    t = Table(title=f"Environment {environment.name}, in dependency order", title_justify="left")
    for col in ("wave", "stack", "account", "depends on"):
        t.add_column(col)
    for s in selection.of(ordered):
        t.add_row(str(wave[s.name]), s.name, s.account, ", ".join(s.depends_on))
    out.print(t)


def register(app: typer.Typer) -> None:
    """Add `status` and `stacks` to the securecart-tf app."""
    app.command()(status)
    app.command()(stacks)
