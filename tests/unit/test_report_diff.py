"""`report --diff REV`: who gains what between two revisions of the matrix."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from securecart_tf.cli.report import register
from securecart_tf.config.load import load_project
from securecart_tf.errors import SecureCartError
from securecart_tf.report.access import build_report
from securecart_tf.report.actions import Level
from securecart_tf.report.diff import ChangeKind, diff_reports
from securecart_tf.run.revision import revision_of, snapshot
from securecart_tf.run.workspace import Workspace
from tests.unit.test_report import BEFORE_EXPIRY, edit_matrix, named


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A stand-in for the securecart-tf app."""

    register(app)
    return app


def add_prod_to_developer_role(data: dict[str, Any]) -> None:
    named(data["roles"], "DeveloperRole")["environments"] = ["dev", "staging", "prod"]


def test_adding_prod_to_developer_role_shows_developers_gaining_write_in_prod(example_project: Path) -> None:
    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    edit_matrix(example_project, add_prod_to_developer_role)
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    diff = diff_reports(base, head)
    gained = {(c.principal.id, c.account): c for c in diff.changes if c.kind == ChangeKind.gained}
    change = gained[("group:Developers", "prod")]
    assert (change.before, change.after) == (Level.none, Level.write)
    assert any("DeveloperRole @prod" in way for way in change.ways_after)
    assert ("role:DeveloperRole", "prod") in gained
    # nobody else's access moved
    assert {(c.principal.id, c.account) for c in diff.changes} == set(gained)


def test_a_changed_policy_document_shows_as_changed_at_the_same_level(example_project: Path) -> None:
    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    deploy = example_project.parent / "policies" / "developer-deploy.json"
    doc = json.loads(deploy.read_text())
    doc["Statement"][0]["Action"].append("ecs:DeleteService")
    deploy.write_text(json.dumps(doc))
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    changes = {(c.principal.id, c.account): c for c in diff_reports(base, head).changes}
    change = changes[("group:Developers", "dev")]
    assert change.kind == ChangeKind.changed
    assert change.before == change.after == Level.write
    assert change.detail == "policies changed"
    assert ("group:Developers", "prod") not in changes


def test_no_change_means_an_empty_diff(example_project: Path) -> None:
    report = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    assert diff_reports(report, build_report(load_project(example_project), as_of=BEFORE_EXPIRY)).changes == []


def test_exempting_a_role_from_an_scp_is_a_change_for_everyone_who_reaches_it(example_project: Path) -> None:
    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)

    def exempt_developer_role(data: dict[str, Any]) -> None:
        named(data["guardrails"], "protect-security-services")["exempt_roles"].append("DeveloperRole")

    edit_matrix(example_project, exempt_developer_role)
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    changes = {(c.principal.id, c.account): c for c in diff_reports(base, head).changes}
    for account in ("dev", "staging"):
        change = changes[("group:Developers", account)]
        assert change.kind == ChangeKind.changed
        assert change.detail == "SCPs (protect-security-services) changed"
    # the developers' own session in shared-services is not DeveloperRole, so it stays restricted
    assert ("group:Developers", "shared-services") not in changes


def test_diff_against_a_recorded_revision(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECURECART_HOME", raising=False)
    project = load_project(example_project)
    rev = revision_of(project)
    snapshot(project, rev, Workspace(project.root).revisions)
    edit_matrix(example_project, add_prod_to_developer_role)

    result = CliRunner().invoke(
        cli(), ["report", "-m", str(example_project), "--diff", rev[:8], "-f", "json", "--as-of", "2026-06-01"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["base"] == rev
    changes = {(c["principal"], c["account"]): c for c in data["changes"]}
    assert changes[("group:Developers", "prod")]["change"] == "gained"
    assert changes[("group:Developers", "prod")]["after"] == "write"
    assert data["report"]["matrix"]["group:Developers"]["prod"] == "write"

    exit2 = CliRunner().invoke(cli(), ["report", "-m", str(example_project), "--diff", rev, "--detailed-exitcode"])
    assert exit2.exit_code == 2


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_against_a_git_commit(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECURECART_HOME", raising=False)
    root = example_project.parent

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    edit_matrix(example_project, add_prod_to_developer_role)

    result = CliRunner().invoke(cli(), ["report", "-m", str(example_project), "--diff", "HEAD", "-f", "md"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 🔺 gained | Developers (group) | prod |")]
    assert len(rows) == 1
    assert "| none | write |" in rows[0]


def test_an_unknown_revision_is_an_error_with_a_hint(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECURECART_HOME", raising=False)
    result = CliRunner().invoke(cli(), ["report", "-m", str(example_project), "--diff", "0123abcd"])
    assert isinstance(result.exception, SecureCartError)
    assert "0123abcd" in result.exception.message
    assert result.exception.hint


def let_developers_escalate(example_project: Path) -> None:
    """The developer policy may create roles and attach policies, and DeveloperRole loses its boundary."""
    deploy = example_project.parent / "policies" / "developer-deploy.json"
    doc = json.loads(deploy.read_text())
    doc["Statement"].append(
        {
            "Sid": "ManageRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
            "Resource": "*",
        }
    )
    deploy.write_text(json.dumps(doc))

    def change(data: dict[str, Any]) -> None:
        del named(data["roles"], "DeveloperRole")["permissions_boundary"]
        data["suppressions"].append(
            {
                "rule": "privilege-escalation-without-boundary",
                "subject": "DeveloperRole",
                "reason": "accepted for this test only",
            }
        )

    edit_matrix(example_project, change)


def test_a_seat_that_can_escalate_is_admin_equivalent_with_its_path(example_project: Path) -> None:
    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    assert base.level("group:Developers", "dev") == Level.write
    let_developers_escalate(example_project)
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    path = "iam:CreateRole + iam:AttachRolePolicy + iam:PutRolePolicy with no boundary forced on what it creates"
    for account in ("dev", "staging"):
        assert head.level("group:Developers", account) == Level.admin
        assert head.level("role:DeveloperRole", account) == Level.admin
        seat = head.seats[f"role:DeveloperRole@{account}"]
        assert seat.escalation == [path]
        assert seat.to_json()["escalation"] == [path]
    # every format shows the level and the path
    data = head.to_json()
    assert any(path in n for s in data["seats"].values() for n in s["notes"])
    from securecart_tf.report.render_html import render as render_html
    from securecart_tf.report.render_md import render as render_md
    from securecart_tf.report.render_md import render_diff

    assert path in render_md(head) and path in render_html(head)
    diff = diff_reports(base, head)
    changes = {(c.principal.id, c.account): c for c in diff.changes}
    change = changes[("group:Developers", "dev")]
    assert (change.kind, change.before, change.after) == (ChangeKind.escalated, Level.write, Level.admin)
    assert path in change.detail and path in json.dumps(diff.to_json())
    assert path in render_diff(diff)


def test_the_html_diff_names_the_escalation_path_beside_the_change(example_project: Path) -> None:
    from securecart_tf.report.render_html import render as render_html

    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    let_developers_escalate(example_project)
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    page = render_html(head, diff_reports(base, head))
    changes = page[page.index('<section class="card" id="changes">') : page.index('<section class="card" id="grid">')]
    row = changes[changes.index('data-principal="group:Developers" data-account="dev"') :]
    row = row[: row.index("</tr>")]
    assert "escalated" in row
    assert (
        "role:DeveloperRole@dev: iam:CreateRole + iam:AttachRolePolicy + iam:PutRolePolicy with no boundary forced "
        "on what it creates" in row
    )


def test_passing_an_administrator_task_role_is_admin_equivalent_where_that_role_is_placed(
    example_project: Path,
) -> None:
    # A service role with AdministratorAccess in dev, which the developer policy and its boundary let
    # DeveloperRole pass to the task definitions it registers.
    for name in ("developer-deploy.json", "developer-boundary.json"):
        path = example_project.parent / "policies" / name
        doc = json.loads(path.read_text())
        for statement in doc["Statement"]:
            if statement.get("Action") == "iam:PassRole":
                statement["Resource"].append("arn:aws:iam::*:role/batch-admin")
        path.write_text(json.dumps(doc))

    def add_admin_task_role(data: dict[str, Any]) -> None:
        data["service_roles"].append(
            {
                "name": "batch-admin",
                "service": "ecs-tasks",
                "environments": ["dev"],
                "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            }
        )

    base = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    edit_matrix(example_project, add_admin_task_role)
    head = build_report(load_project(example_project), as_of=BEFORE_EXPIRY)
    assert head.level("role:DeveloperRole", "dev") == Level.admin
    assert head.seats["role:DeveloperRole@dev"].escalation == [
        "ecs:RegisterTaskDefinition + iam:PassRole on batch-admin → acts as role batch-admin, an administrator here"
    ]
    assert head.level("role:DeveloperRole", "staging") == Level.write  # batch-admin is not placed in staging
    change = next(
        c for c in diff_reports(base, head).changes if (c.principal.id, c.account) == ("group:Developers", "dev")
    )
    assert change.kind == ChangeKind.escalated
    assert "iam:PassRole on batch-admin" in change.detail
