"""The matrix index the model is built from, and the model a project keeps for reuse."""

from __future__ import annotations

from pathlib import Path

from securecart_tf.config.load import load_project
from securecart_tf.config.schema import Targets
from securecart_tf.model import MatrixIndex, OrgFacts, build_model


def test_an_ou_reaches_the_accounts_of_its_nested_ous_in_matrix_order(example_project: Path) -> None:
    index = MatrixIndex(load_project(example_project))
    assert index.accounts_under["WorkloadsOU"] == ["dev", "staging", "prod"]
    assert index.accounts_under["WorkloadsOU/ProdOU"] == ["prod"]
    assert index.accounts_under["/"] == ["management", "security", "shared-services", "dev", "staging", "prod"]
    targets = Targets(accounts=["prod", "not-in-the-matrix", "dev"], ous=["WorkloadsOU/NonProdOU"])
    assert index.expand(targets) == ["dev", "staging", "prod", "not-in-the-matrix"]


def test_an_account_is_staged_by_the_environment_file_that_lists_it(example_project: Path) -> None:
    index = MatrixIndex(load_project(example_project))
    # the matrix gives management no environment; the dev environment file deploys it
    assert index.accounts["management"].environment is None
    assert index.stage_of_account["management"] == "dev"
    assert index.stage_of_stack["access-management"] == "dev"
    assert index.stage_of_stack["identity-center"] == "dev"
    assert index.stages(["prod", "management", "staging", "dev"]) == ["dev", "prod", "staging"]


def test_each_project_keeps_its_own_model(example_project: Path) -> None:
    first, second = load_project(example_project), load_project(example_project)
    model = build_model(first)
    other = build_model(second)
    assert other is not model
    assert build_model(first) is model  # building another project's model did not drop this one
    assert build_model(first, OrgFacts()) is model


def test_other_org_facts_build_another_model(example_project: Path) -> None:
    project = load_project(example_project)
    facts = OrgFacts(account_ids={"prod": "123456789012"})
    model = build_model(project, facts)
    facts.account_ids["prod"] = "210987654321"  # the caller's facts change after the build
    again = build_model(project, facts)
    assert again is not model
    assert model.directory("prod") == "123456789012"
    assert again.directory("prod") == "210987654321"
