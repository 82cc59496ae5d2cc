"""Roles that exist live can be written exactly: a service principal, a trust policy file, named inline
policies and an IAM path; and bad input for each is an error at its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.errors import ConfigErrors
from securecart_tf.model import build_model
from securecart_tf.render import render
from securecart_tf.report.access import build_report
from tests.helpers import write_project

HEAD = """\
version: 1
organization:
  name: hatch
  management_account: management
accounts:
  - {name: management, email: m@hatch.example, ou: /}
  - {name: app, email: app@hatch.example, ou: /, environment: dev}
roles:
"""

DEV = "name: dev\nstacks: [organization]\naccounts: [management, app]\napproval: none\n"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ],
}


def _project(tmp_path: Path, roles: str, files: dict[str, str] | None = None) -> Path:
    return write_project(tmp_path / "p", HEAD + roles, {"dev": DEV}, files) / "access-matrix.yaml"


def _role_inputs(matrix: Path, name: str) -> dict[str, object]:
    project = load_project(matrix)
    inputs: dict[str, object] = build_model(project).stacks["access-app"].inputs["roles"][name]
    return inputs


def _error(matrix: Path) -> tuple[str, int, str]:
    with pytest.raises(ConfigErrors) as caught:
        load_project(matrix)
    first = caught.value.errors[0]
    assert first.location is not None
    return first.location.file.name, first.location.line, first.message


# ------------------------------------------------------------------------------------------- service


def test_a_service_principal_is_trusted_as_the_console_writes_it(tmp_path: Path) -> None:
    roles = """\
  - name: Worker
    audience: service
    accounts: [app]
    trust:
      principals: [{service: lambda}, {service: states.amazonaws.com}]
"""
    trust = json.loads(str(_role_inputs(_project(tmp_path, roles), "Worker")["trust_policy"]))
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]


def test_a_service_that_is_not_a_service_name_is_an_error_at_its_line(tmp_path: Path) -> None:
    roles = """\
  - name: Worker
    audience: service
    accounts: [app]
    trust:
      principals:
        - service: "Lambda Service"
"""
    file, line, message = _error(_project(tmp_path, roles))
    assert (file, line) == ("access-matrix.yaml", 14)
    assert "is not an AWS service principal such as lambda.amazonaws.com" in message


def test_a_principal_with_two_kinds_names_them(tmp_path: Path) -> None:
    roles = """\
  - name: Worker
    audience: service
    accounts: [app]
    trust:
      principals:
        - {service: lambda, account: app}
"""
    file, line, message = _error(_project(tmp_path, roles))
    assert (file, line) == ("access-matrix.yaml", 14)
    assert "got account, service" in message


# ----------------------------------------------------------------------------------------- policy file


def test_a_trust_policy_file_is_used_as_written(tmp_path: Path) -> None:
    roles = """\
  - name: Scheduler
    audience: service
    accounts: [app]
    trust:
      policy_file: policies/scheduler-trust.json
"""
    matrix = _project(tmp_path, roles, {"policies/scheduler-trust.json": json.dumps(TRUST, indent=2)})
    assert json.loads(str(_role_inputs(matrix, "Scheduler")["trust_policy"])) == TRUST
    assert "policies/scheduler-trust.json" in load_project(matrix).inputs()


@pytest.mark.parametrize(
    ("trust", "words"),
    [
        ("{principals: [{account: app}], policy_file: t.json}", "give exactly one of 'principals'"),
        ("{principals: []}", "give exactly one of 'principals'"),
        ("{policy_file: t.json, require_mfa: true}", "write MFA and expiry conditions in the file"),
    ],
)
def test_a_trust_needs_principals_or_a_file_alone(tmp_path: Path, trust: str, words: str) -> None:
    roles = f"  - name: Scheduler\n    audience: service\n    accounts: [app]\n    trust: {trust}\n"
    file, line, message = _error(_project(tmp_path, roles, {"t.json": json.dumps(TRUST)}))
    assert (file, line) == ("access-matrix.yaml", 12)
    assert words in message


def test_a_missing_trust_policy_file_is_an_error_where_the_matrix_names_it(tmp_path: Path) -> None:
    roles = (
        "  - name: Scheduler\n    audience: service\n    accounts: [app]\n    trust:\n      policy_file: nope.json\n"
    )
    file, line, message = _error(_project(tmp_path, roles))
    assert (file, line) == ("access-matrix.yaml", 13)
    assert "nope.json" in message


def test_a_trust_policy_file_that_is_not_json_is_an_error_in_that_file(tmp_path: Path) -> None:
    roles = "  - name: Scheduler\n    audience: service\n    accounts: [app]\n    trust:\n      policy_file: t.json\n"
    file, line, _ = _error(_project(tmp_path, roles, {"t.json": '{\n  "Statement": [,]\n}\n'}))
    assert (file, line) == ("t.json", 2)


# ------------------------------------------------------------------------------------- inline policies


def test_inline_policies_are_rendered_by_name_from_a_document_or_a_file(tmp_path: Path) -> None:
    queue = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
    roles = """\
  - name: Worker
    audience: service
    accounts: [app]
    trust: {principals: [{service: lambda}]}
    inline_policies:
      - name: logs
        document:
          Statement: [{Effect: Allow, Action: "logs:PutLogEvents", Resource: "*"}]
      - {name: queue, file: policies/queue.json}
"""
    inputs = _role_inputs(_project(tmp_path, roles, {"policies/queue.json": json.dumps(queue)}), "Worker")
    inline = inputs["inline_policies"]
    assert isinstance(inline, dict) and sorted(inline) == ["logs", "queue"]
    assert json.loads(inline["queue"]) == queue
    assert json.loads(inline["logs"])["Statement"] == [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
    ]


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ("{name: logs}", "give exactly one of 'document' or 'file'"),
        ("{name: 'bad name', document: {Statement: []}}", "is not an IAM name"),
    ],
)
def test_a_bad_inline_policy_is_an_error_at_its_line(tmp_path: Path, policy: str, words: str) -> None:
    roles = f"""\
  - name: Worker
    audience: service
    accounts: [app]
    trust: {{principals: [{{service: lambda}}]}}
    inline_policies:
      - {policy}
"""
    file, line, message = _error(_project(tmp_path, roles))
    assert (file, line) == ("access-matrix.yaml", 14)
    assert words in message


def test_lint_reads_inline_policies_and_points_at_the_one_at_fault(tmp_path: Path) -> None:
    roles = """\
  - name: Worker
    audience: service
    accounts: [app]
    trust: {principals: [{service: lambda}]}
    inline_policies:
      - name: fine
        document: {Statement: [{Effect: Allow, Action: "sqs:SendMessage", Resource: "*"}]}
      - name: everything
        document: {Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}
"""
    findings = run_checks(load_project(_project(tmp_path, roles)))
    wildcard = [f for f in findings if f.rule == "wildcard-action"]
    assert wildcard and all(f.location is not None and f.location.line == 16 for f in wildcard)
    assert "inline policy 'everything'" in wildcard[0].message


# ------------------------------------------------------------------------------------------------- path


def test_a_role_path_reaches_the_role_and_a_stack_at_the_root_path_renders_as_before(tmp_path: Path) -> None:
    roles = """\
  - name: Worker
    path: /service-role/
    audience: service
    accounts: [app]
    trust: {principals: [{service: lambda}]}
"""
    project = load_project(_project(tmp_path, roles))
    out = tmp_path / "build"
    render(build_model(project), list(project.environments.values()), out)
    stack = out / "dev" / "access-app"
    assert json.loads((stack / "terraform.tfvars.json").read_text())["roles"]["Worker"]["path"] == "/service-role/"
    assert "\n  path                 = each.value.path\n" in (stack / "main.tf").read_text()

    plain = load_project(_project(tmp_path / "plain", roles.replace("    path: /service-role/\n", "")))
    render(build_model(plain), list(plain.environments.values()), tmp_path / "plain-build")
    main = (tmp_path / "plain-build" / "dev" / "access-app" / "main.tf").read_text()
    assert "each.value.path" not in main
    assert (
        "path"
        not in json.loads((tmp_path / "plain-build" / "dev" / "access-app" / "terraform.tfvars.json").read_text())[
            "roles"
        ]["Worker"]
    )


def test_a_bad_role_path_is_an_error_at_its_line(tmp_path: Path) -> None:
    roles = "  - name: Worker\n    path: service-role\n    audience: service\n    accounts: [app]\n"
    roles += "    trust: {principals: [{service: lambda}]}\n"
    file, line, message = _error(_project(tmp_path, roles))
    assert (file, line) == ("access-matrix.yaml", 10)
    assert "is not an IAM path" in message


# ----------------------------------------------------------------------------------------------- report


def test_the_access_report_says_a_role_has_a_custom_trust_policy_and_follows_a_service_in(tmp_path: Path) -> None:
    roles = """\
  - name: Scheduler
    audience: service
    accounts: [app]
    trust: {policy_file: t.json}
  - name: Worker
    audience: service
    accounts: [app]
    trust: {principals: [{service: lambda}]}
"""
    report = build_report(load_project(_project(tmp_path, roles, {"t.json": json.dumps(TRUST)})))
    scheduler = next(p for p in report.principals if p.name == "Scheduler")
    assert "custom trust policy" in scheduler.description
    assert any("custom trust policy" in note for note in report.notes)
    worker = report.cell("role:Worker", "app")
    assert [hop.name for hop in worker.paths[0].chain][:1] == ["lambda.amazonaws.com"]


def test_a_role_with_a_trust_file_is_not_taken_for_a_chained_role(tmp_path: Path) -> None:
    roles = "  - name: Scheduler\n    audience: service\n    accounts: [app]\n    max_session_duration: 7200\n"
    roles += "    trust: {policy_file: t.json}\n"
    findings = run_checks(load_project(_project(tmp_path, roles, {"t.json": json.dumps(TRUST)})))
    assert "role-chaining-session" not in {f.rule for f in findings}


def test_a_role_whose_inline_policies_are_too_long_together_is_an_error_at_them(tmp_path: Path) -> None:
    actions = json.dumps([f"sqs:Action{n:05d}" for n in range(700)])
    roles = f"""\
  - name: Worker
    audience: service
    accounts: [app]
    trust: {{principals: [{{service: lambda}}]}}
    inline_policies:
      - name: big
        document: {{Statement: [{{Effect: Allow, Action: {actions}, Resource: "*"}}]}}
"""
    findings = [f for f in run_checks(load_project(_project(tmp_path, roles))) if f.rule == "role-inline-policy-size"]
    assert len(findings) == 1 and findings[0].location is not None and findings[0].location.line == 13
    assert "role 'Worker' has inline policies of" in findings[0].message
