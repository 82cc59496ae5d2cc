"""The organization's trusted services and policy types are what the live organization has plus what the matrix
adds: the provider disables, on update, everything its configuration does not list."""

from __future__ import annotations

import json
from pathlib import Path

from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_project
from securecart_tf.model import OrgFacts, build_model
from securecart_tf.render import render

LIVE = OrgFacts(
    account_ids={"management": "111111111111", "security": "222222222222"},
    organization_id="o-abcdefghij",
    root_id="r-abcd",
    # RAM sharing and tag policies another team turned on; SSO, which the matrix asks for too
    service_access_principals=["ram.amazonaws.com", "sso.amazonaws.com"],
    enabled_policy_types=["SERVICE_CONTROL_POLICY", "TAG_POLICY"],
)


def _organization(example_project: Path, tmp_path: Path, facts: OrgFacts) -> tuple[dict[str, list[str]], list[str]]:
    """The organization settings Terraform is given, and the notes plan shows."""
    model = build_model(load_project(example_project), facts)
    env = Environment.model_validate({"name": "dev", "stacks": ["organization"]})
    files = render(model, [env], tmp_path / "build").stacks["organization"].files
    return json.loads(files["terraform.tfvars.json"])["organization"], model.stacks["organization"].notes


def test_what_the_organization_has_is_kept_beside_what_the_matrix_adds(example_project: Path, tmp_path: Path) -> None:
    matrix_only, _ = _organization(example_project, tmp_path / "fresh", OrgFacts())
    settings, notes = _organization(example_project, tmp_path / "live", LIVE)
    assert set(settings["service_access_principals"]) == {
        *matrix_only["service_access_principals"],
        "ram.amazonaws.com",
    }
    assert len(settings["service_access_principals"]) == len(set(settings["service_access_principals"]))
    assert set(settings["enabled_policy_types"]) == {*matrix_only["enabled_policy_types"], "TAG_POLICY"}
    assert len(notes) == 2
    assert "ram.amazonaws.com" in notes[0] and "sso.amazonaws.com" not in notes[0]
    assert "TAG_POLICY" in notes[1]


def test_a_fresh_organization_gets_what_the_matrix_lists(example_project: Path, tmp_path: Path) -> None:
    settings, notes = _organization(example_project, tmp_path, OrgFacts())
    assert "ram.amazonaws.com" not in settings["service_access_principals"]
    assert "TAG_POLICY" not in settings["enabled_policy_types"]
    assert notes == []
