"""Commands that need no AWS: `init` a project, `validate` its matrix, `generate` its Terraform."""

from __future__ import annotations

import json
import shutil
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from securecart_tf.cli.console import err, out
from securecart_tf.cli.options import DEFAULT_MATRIX, MatrixOpt
from securecart_tf.cli.project import read_project, valid_project, workspace
from securecart_tf.errors import SecureCartError

if TYPE_CHECKING:
    from securecart_tf.config.load import Project
    from securecart_tf.model import OrgFacts


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold the SecureCart example project: access-matrix.yaml, environments/ and policies/."""
    from securecart_tf.config.schema import export_json_schema
    from securecart_tf.resources import example_dir

    src = example_dir()
    names = ["access-matrix.yaml", "environments", "policies"]
    existing = [n for n in names if (directory / n).exists()]
    if existing and not force:
        raise SecureCartError(
            f"{directory} already has {', '.join(existing)}",
            hint="choose an empty folder, or pass --force to overwrite",
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        s, d = src / name, directory / name
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)
    # the matrix's first line points editors at this schema
    (directory / "access-matrix.schema.json").write_text(json.dumps(export_json_schema(), indent=2) + "\n")
    out.print(
        f"Created the SecureCart example in [bold]{directory}[/]. Next:\n"
        f"  cd {directory}\n  securecart-tf validate\n  securecart-tf apply --env dev --auto-approve"
    )


def validate(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    format: Annotated[
        ValidateFormat, typer.Option("--format", "-f", help="table, json or sarif.")
    ] = ValidateFormat.table,
) -> None:
    """Check the matrix and environment files before any Terraform runs. Exit 1 on any error."""
    from securecart_tf.checks.formats import findings_json, findings_sarif, findings_table
    from securecart_tf.checks.validate import run_checks
    from securecart_tf.findings import has_errors

    project = read_project(matrix)
    findings = run_checks(project)
    if format == ValidateFormat.json:
        print(json.dumps(findings_json(findings, project.root), indent=2))
    elif format == ValidateFormat.sarif:
        print(json.dumps(findings_sarif(findings, project.root), indent=2))
    else:
        if findings:
            out.print(findings_table(findings, project.root))
        errors = sum(1 for f in findings if f.blocks)
        warnings = sum(1 for f in findings if f.active and f.severity == "warning")
        suppressed = sum(1 for f in findings if not f.active)
        verdict = "[red]invalid[/]" if errors else "[green]valid[/]"
        out.print(
            f"{escape(str(matrix))}: {verdict} — {errors} error(s), {warnings} warning(s), {suppressed} suppressed"
        )
    raise typer.Exit(1 if has_errors(findings) else 0)


def generate(
    matrix: MatrixOpt = DEFAULT_MATRIX,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Only this environment.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("build"),
) -> None:
    """Render one Terraform root per stack, a manifest.json, and the modules they use."""
    from securecart_tf.model import build_model
    from securecart_tf.render import default_environment, load_env, render

    project = valid_project(matrix)
    model = build_model(project, _known_facts(project))
    if env is not None:
        envs = [load_env(project, env)]
    else:
        envs = list(project.environments.values()) or [default_environment(model)]
    result = render(model, envs, out_dir)
    stacks = len(result.stacks)
    out.print(
        f"Rendered {stacks} stack(s) for {', '.join(e.name for e in envs)} into [bold]{out_dir}[/] "
        f"({len(result.rewritten)} file(s) written, {result.unchanged} unchanged)"
    )
    pending = sorted({s.stack.name for s in result.stacks.values() if s.stack.pending_accounts})
    if pending:
        from securecart_tf.iam.lint import shorten

        err.print(
            f"[cyan]note:[/] {len(pending)} stack(s) use stand-in account IDs until the organization stack "
            f"is applied: {shorten(pending, 8)}"
        )


def _known_facts(project: Project) -> OrgFacts:
    """The real account IDs once the organization stack is applied; stand-ins until then."""
    from securecart_tf.model import OrgFacts

    state = workspace(project).state_file("organization")
    if state.is_file():
        try:
            outputs = {k: v.get("value") for k, v in json.loads(state.read_text()).get("outputs", {}).items()}
            return OrgFacts(
                dict(outputs.get("account_ids") or {}), outputs.get("organization_id"), outputs.get("root_id")
            )
        except (OSError, ValueError, AttributeError):
            pass
    return OrgFacts()


def register(app: typer.Typer) -> None:
    """Add `init`, `validate` and `generate` to the securecart-tf app."""
    for command in (init, validate, generate):
        app.command()(command)
