"""From a matrix file to report text: load, check references, compute, optionally diff, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from securecart_tf.config.load import Project, load_project
from securecart_tf.errors import SecureCartError
from securecart_tf.report.access import Report, build_report, collector_paused
from securecart_tf.report.diff import AccessDiff, diff_reports
from securecart_tf.report.formats import ReportFormat


@dataclass
class Output:
    text: str
    diff: AccessDiff | None = None


def checked(project: Project, what: str | None = None) -> Project:
    """The project, if its cross-references resolve (the report needs every name to exist)."""
    from securecart_tf.checks.references import check_references
    from securecart_tf.checks.validate import ValidationFailed
    from securecart_tf.findings import has_errors

    findings = check_references(project)
    if has_errors(findings):
        failed = ValidationFailed(findings)
        if what is None:
            raise failed
        raise SecureCartError(f"{what}: {failed.message}", location=failed.location, hint=failed.hint)
    return project


def accounts_of_env(project: Project, env: str) -> list[str]:
    """The accounts a rollout stage covers: its environment file, else the accounts tagged with it."""
    if env in project.environments:
        names = list(project.environments[env].accounts)
    else:
        names = [a.name for a in project.matrix.accounts if a.environment == env]
    if not names:
        known = sorted(set(project.environments) | {a.environment for a in project.matrix.accounts if a.environment})
        raise SecureCartError(
            f"no environment '{env}'", hint=f"choose one of: {', '.join(known)}" if known else "add environments/*.yaml"
        )
    return names


def _revision(project: Project) -> str | None:
    from securecart_tf.run.revision import revision_of

    try:
        return revision_of(project)
    except OSError:
        return None


def produce(
    matrix: Path,
    fmt: ReportFormat = ReportFormat.md,
    *,
    env: str | None = None,
    diff_rev: str | None = None,
    as_of: dt.date | None = None,
) -> Output:
    """Render the report of `matrix` (or, with `diff_rev`, how access changed since that revision). Each
    renderer is imported only when its format is asked for: the HTML one brings its page's assets."""
    # from reading the matrix to the rendered text, nothing is garbage until the end (see collector_paused)
    with collector_paused():
        return _produce(matrix, fmt, env=env, diff_rev=diff_rev, as_of=as_of)


def _produce(
    matrix: Path, fmt: ReportFormat, *, env: str | None, diff_rev: str | None, as_of: dt.date | None
) -> Output:
    project = checked(load_project(matrix))
    head = build_report(project, as_of=as_of, revision=_revision(project))
    diff: AccessDiff | None = None
    if diff_rev is not None:
        from securecart_tf.report.baseline import load_revision

        base_project, label = load_revision(project, diff_rev)
        base = build_report(checked(base_project, f"revision {diff_rev}"), as_of=as_of, revision=label)
        if env is not None:
            base = base.only(accounts_of_env(project, env))
        head = _limit(head, project, env)
        diff = diff_reports(base, head)
    else:
        head = _limit(head, project, env)

    if fmt == ReportFormat.json:
        from securecart_tf.report import render_json

        data = render_json.diff_document(diff) if diff else render_json.document(head)
        return Output(render_json.dumps(data), diff)
    if fmt == ReportFormat.html:
        from securecart_tf.report import render_html

        return Output(render_html.render(head, diff), diff)
    from securecart_tf.report import render_md

    return Output(render_md.render_diff(diff) if diff else render_md.render(head), diff)


def _limit(report: Report, project: Project, env: str | None) -> Report:
    return report.only(accounts_of_env(project, env)) if env is not None else report
