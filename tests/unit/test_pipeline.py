"""The pipeline on the SecureCart example: load, check references, model, render."""

from __future__ import annotations

import json
from pathlib import Path

from securecart_tf.checks.references import check_references
from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.render import render


def test_example_loads_without_reference_errors(example_project: Path) -> None:
    project = load_project(example_project)
    assert check_references(project) == []
    assert set(project.environments) == {"dev", "staging", "prod"}


def test_model_orders_stacks_by_their_data_dependencies(example_project: Path) -> None:
    model = build_model(load_project(example_project))
    order = [s.name for s in model.ordered()]
    assert order[0] == "organization"
    # identity-center references a customer-managed policy that must exist in shared-services first
    assert order.index("identity-center") > order.index("access-shared-services")
    assert model.stacks["identity-center"].depends_on == ("organization", "access-shared-services")
    for name, stack in model.stacks.items():
        if stack.layer == "access":
            assert stack.depends_on == ("organization",), name


def test_developer_role_lives_only_in_dev_and_staging(example_project: Path) -> None:
    model = build_model(load_project(example_project))
    assert model.placements["DeveloperRole"] == ["dev", "staging"]
    assert "DeveloperRole" not in model.stacks["access-prod"].inputs["roles"]
    assert model.placements["SecurityAuditRole"] == [a.name for a in model.matrix.accounts]


def test_render_is_byte_identical_on_rerun(example_project: Path, tmp_path: Path) -> None:
    project = load_project(example_project)
    model = build_model(project)
    out = tmp_path / "build"
    first = render(model, list(project.environments.values()), out)
    snapshot = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    second = render(build_model(load_project(example_project)), list(project.environments.values()), out)
    assert second.rewritten == []
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot
    assert len(first.rewritten) == len(snapshot)


def test_policies_reach_terraform_as_json_data_not_templates(example_project: Path, tmp_path: Path) -> None:
    project = load_project(example_project)
    result = render(build_model(project), [project.environments["dev"]], tmp_path / "build")
    org = result.stacks["organization"]
    tfvars = json.loads(org.files["terraform.tfvars.json"])
    policy = json.loads(tfvars["guardrails"]["deny-root-user"]["content"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert "Statement" not in org.files["main.tf"]
