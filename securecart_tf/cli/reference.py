"""Commands that describe what a matrix may say: its JSON `schema` and the built-in `guardrails`."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from securecart_tf.cli.console import out
from securecart_tf.cli.options import OutputOpt


def schema(output: OutputOpt = None) -> None:
    """Print the access matrix's JSON Schema, for editors to complete and check the file."""
    from securecart_tf.config.schema import export_json_schema

    text = json.dumps(export_json_schema(), indent=2) + "\n"
    if output is None:
        print(text, end="")
    else:
        output.write_text(text)
        out.print(f"Wrote {escape(str(output))}")


def guardrails() -> None:
    """List the built-in guardrails and their parameters."""
    from rich.table import Table

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


def register(app: typer.Typer) -> None:
    """Add `schema` and `guardrails` to the securecart-tf app."""
    for command in (schema, guardrails):
        app.command()(command)
