"""Escalation through service roles: a policy that can change what a more privileged role runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_policy_support import by_rule, check, line_of, write_matrix

from securecart_tf.iam.escalation import escalations


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


ORDERS = policy(allow(["dynamodb:PutItem", "dynamodb:GetItem"], "arn:aws:dynamodb:*:*:table/orders"))


def matrix(tmp_path: Path, document: dict[str, Any]) -> Path:
    extra = """
policies:
  - name: ShipIt
    file: ship.json
roles:
  - name: AppRole
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: { subject: "repo:acme/app:ref:refs/heads/main" }
    managed_policies: [ShipIt]
service_roles:
  - name: orders
    service: ecs-tasks
    environments: [dev]
    dynamodb:
      - { table: orders, access: write }
"""
    return write_matrix(tmp_path, extra, {"ship.json": document})


def test_updating_any_functions_code_is_reported_with_its_path(tmp_path: Path) -> None:
    path = matrix(tmp_path, policy(allow(["lambda:UpdateFunctionCode"])))
    [f] = by_rule(check(path), "service-role-escalation")
    assert (f.severity, f.subject, f.location.line) == ("error", "ShipIt", line_of(path, "file: ship.json"))
    assert f.message == (
        "policy 'ShipIt' lets role 'AppRole' change what a more privileged role runs: lambda:UpdateFunctionCode "
        "on * → acts as any Lambda function's execution role"
    )


def test_updating_named_functions_is_not_an_escalation(tmp_path: Path) -> None:
    document = policy(allow(["lambda:UpdateFunctionCode"], "arn:aws:lambda:us-east-1:111122223333:function:app"))
    assert by_rule(check(matrix(tmp_path, document)), "service-role-escalation") == []


def test_passing_a_role_that_may_do_more_to_a_task_definition_is_reported(tmp_path: Path) -> None:
    document = policy(allow(["ecs:RegisterTaskDefinition"]), allow(["iam:PassRole"], "arn:aws:iam::*:role/orders"))
    [f] = by_rule(check(matrix(tmp_path, document)), "service-role-escalation")
    assert "ecs:RegisterTaskDefinition + iam:PassRole on orders → acts as role orders, which may also " in f.message
    assert "dynamodb:BatchWriteItem" in f.message  # write access to the orders table


ADMIN = policy(allow(["*"]))


def test_passing_an_administrator_role_to_a_task_definition_is_reported() -> None:
    caller = [policy(allow(["ecs:RegisterTaskDefinition"]), allow(["iam:PassRole"], "arn:aws:iam::*:role/boss"))]
    [path] = escalations(caller, None, {"boss": [ADMIN], "orders": [ORDERS]})
    assert path.text() == "ecs:RegisterTaskDefinition + iam:PassRole on boss → acts as role boss, which may do anything"
    conditional = policy({**allow(["*"]), "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    assert escalations(caller, None, {"boss": [conditional]}) == []


def test_passing_a_role_that_may_do_no_more_is_not_an_escalation() -> None:
    caller = [policy(allow(["ecs:RegisterTaskDefinition"]), allow(["iam:PassRole"], "arn:aws:iam::*:role/orders"))]
    caller.append(ORDERS)
    assert escalations(caller, None, {"orders": [ORDERS]}) == []


def test_a_boundary_without_the_action_closes_the_path() -> None:
    boundary = policy(allow(["logs:*"]))
    assert escalations([policy(allow(["lambda:UpdateFunctionCode"]))], boundary, {}) == []
    assert escalations([policy(allow(["lambda:UpdateFunctionCode"]))], None, {}) != []


def test_the_example_finds_and_justifies_the_developer_policys_escalation(example_project: Path) -> None:
    found = [f for f in check(example_project) if f.rule == "service-role-escalation"]
    developer = [f for f in found if f.subject == "SecureCartDeveloperDeploy"]
    prefix = "policy 'SecureCartDeveloperDeploy' lets role 'DeveloperRole' change what a more privileged role runs: "
    assert {f.message.removeprefix(prefix).split(", which may also ")[0] for f in developer} == {
        "lambda:UpdateFunctionCode on * → acts as any Lambda function's execution role",
        "ecs:RegisterTaskDefinition + iam:PassRole on checkout-service → acts as role checkout-service",
        "ecs:RegisterTaskDefinition + iam:PassRole on order-events → acts as role order-events",
    }
    assert all(f.suppressed and "Developers ship code" in f.suppressed for f in developer)
