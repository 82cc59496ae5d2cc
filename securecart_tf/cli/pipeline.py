"""The `pipeline` command: write the GitLab CI file or the GitHub Actions workflow that runs the project in CI."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from securecart_tf.cli.console import err
from securecart_tf.cli.options import DEFAULT_MATRIX, MatrixOpt
from securecart_tf.cli.project import valid_project
from securecart_tf.errors import SecureCartError


class CiKind(StrEnum):
    gitlab = "gitlab"
    github = "github"


def _positive(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise typer.BadParameter("must be at least 1: the number of jobs each wave is split into")
    return value


def pipeline(
    ci: Annotated[CiKind, typer.Argument(help="gitlab (.gitlab-ci.yml) or github (.github/workflows/securecart.yml).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here instead (relative to the current folder).")
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            callback=_positive,
            help="Split each wave into this many jobs (default: one job per stack, shards only past the CI's cap).",
        ),
    ] = None,
    matrix: MatrixOpt = DEFAULT_MATRIX,
) -> None:
    """Write the CI pipeline: validate and plan on a merge request, apply and promote on the default branch,
    drift on a schedule; one job per wave of each environment's stack graph."""
    from securecart_tf.pipeline import DEFAULT_PATHS, emit

    project = valid_project(matrix)
    built, text = emit(project, ci.value, shards)
    path = out if out is not None else Path(DEFAULT_PATHS[ci.value])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SecureCartError(f"cannot write {path}: {exc.strerror}", hint="choose a writable path") from None
    jobs = sum(len(w.entries) for e in built.environments for w in e.waves)
    err.print(f"Wrote {path}: {len(built.environments)} environment(s), {jobs} plan job(s) per merge request")


def register(app: typer.Typer) -> None:
    """Add `pipeline` to the securecart-tf app."""
    app.command("pipeline")(pipeline)
