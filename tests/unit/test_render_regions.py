"""The security services in every region the region guardrail allows: which regions, and how the stacks reach them.

The SecureCart example's guardrail allows us-east-1 (the home region) and eu-west-1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.model.security import allowed_regions
from tests.unit.test_render_targets import FACTS


def _provider_blocks(text: str) -> dict[str | None, str]:
    """alias (None for the stack's own provider) → the provider block's text without its alias and region lines."""
    blocks: dict[str | None, str] = {}
    for block in re.findall(r'^provider "aws" \{\n.*?^\}\n', text, flags=re.MULTILINE | re.DOTALL):
        alias = re.search(r'^  alias  = "([^"]+)"$', block, flags=re.MULTILINE)
        body = re.sub(r"^  (alias|region) +=.*\n", "", block, flags=re.MULTILINE)
        blocks[alias.group(1) if alias else None] = body
    return blocks


def _render(matrix: Path, env: dict[str, Any]) -> dict[str, dict[str, str]]:
    from securecart_tf.render import render

    project = load_project(matrix)
    model = build_model(project, FACTS)
    result = render(model, [Environment.model_validate(env)], matrix.parent / "build")
    return {name: stack.files for name, stack in result.stacks.items()}


SANDBOX_DEV = {"name": "dev", "stacks": ["organization", "security"], "accounts": ["management", "security"]}


def test_the_allowed_regions_are_the_home_region_then_each_region_the_guardrails_allow(example_project: Path) -> None:
    text = example_project.read_text()
    assert allowed_regions(load_project(example_project).matrix) == ["us-east-1", "eu-west-1"]
    # a second allow-list (a v2 being staged) adds its regions once, in the order the matrix names them
    second = (
        "  - name: regions-v2\n    builtin: region-allow-list\n    parameters:\n"
        "      regions: [ap-south-1, eu-west-1]\n    targets: { accounts: [dev] }\n"
    )
    example_project.write_text(text.replace("guardrails:\n", "guardrails:\n" + second, 1))
    assert allowed_regions(load_project(example_project).matrix) == ["us-east-1", "ap-south-1", "eu-west-1"]
    # an allow-list without the home region still leaves the home region first: the baseline lives there
    example_project.write_text(text.replace("regions: [us-east-1, eu-west-1]", "regions: [eu-west-1, eu-central-1]"))
    assert allowed_regions(load_project(example_project).matrix) == ["us-east-1", "eu-west-1", "eu-central-1"]


def test_without_a_region_guardrail_only_the_home_region_has_the_services(example_project: Path) -> None:
    text = example_project.read_text()
    start = text.index("  - name: region-allow-list")
    end = text.index("  - name: require-encryption")
    example_project.write_text(text[:start] + text[end:])
    assert allowed_regions(load_project(example_project).matrix) == ["us-east-1"]
    files = _render(example_project, SANDBOX_DEV)
    for stack in ("organization", "security"):
        assert list(_provider_blocks(files[stack]["providers.tf"])) == [None], stack
        assert '/region"' not in files[stack]["main.tf"], stack
    assert json.loads(files["security"]["terraform.tfvars.json"])["baseline"]["regions"] == []


@pytest.mark.parametrize(
    "target",
    [
        {"type": "sandbox"},
        {"type": "aws", "profile": "securecart-mgmt", "role_name": "PlatformDeployer", "external_id": "deploy-7d1"},
    ],
    ids=["sandbox", "aws"],
)
def test_each_other_region_gets_an_alias_with_the_stacks_own_provider_settings(
    example_project: Path, target: dict[str, Any]
) -> None:
    files = _render(example_project, {**SANDBOX_DEV, "target": target})
    for stack in ("organization", "security"):
        providers = files[stack]["providers.tf"]
        blocks = _provider_blocks(providers)
        assert list(blocks) == [None, "eu_west_1"], stack
        assert blocks["eu_west_1"] == blocks[None], stack  # credentials, role, retries and tags alike
        assert 'alias  = "eu_west_1"\n  region = "eu-west-1"\n' in providers
    security = files["security"]["providers.tf"]
    if target["type"] == "aws":
        assert security.count('role_arn     = "arn:aws:iam::${var.account_id}:role/PlatformDeployer"') == 2
        assert security.count('external_id  = "deploy-7d1"') == 2
        assert security.count('profile = "securecart-mgmt"') == 2
    else:
        assert security.count("skip_credentials_validation = true") == 2
        assert security.count("role/OrganizationAccountAccessRole") == 2


def test_the_security_stack_runs_the_regional_services_in_the_other_region_through_its_alias(
    example_project: Path,
) -> None:
    files = _render(example_project, SANDBOX_DEV)
    main = files["security"]["main.tf"]
    (block,) = re.findall(r'^module "security_baseline_eu_west_1" \{\n.*?^\}\n', main, flags=re.MULTILINE | re.DOTALL)
    assert 'source          = "../../modules/security-baseline/region"' in block
    assert "providers       = { aws = aws.eu_west_1 }" in block
    assert "config_role_arn = module.security_baseline.config_role_arn" in block
    baseline = json.loads(files["security"]["terraform.tfvars.json"])["baseline"]
    assert (baseline["regions"], baseline["security_hub"]) == (["eu-west-1"], True)
    assert "regions               = var.baseline.regions" in main  # the aggregator covers both

    organization = files["organization"]["main.tf"]
    (block,) = re.findall(
        r'^module "organization_eu_west_1" \{\n.*?^\}\n', organization, flags=re.MULTILINE | re.DOTALL
    )
    assert "providers        = { aws = aws.eu_west_1 }" in block
    assert "admin_account_id = module.organization.security_administrator_id" in block
    tfvars = json.loads(files["organization"]["terraform.tfvars.json"])
    assert tfvars["security_hub_admin_account"] == tfvars["guardduty_admin_account"] == "security"
    assert "securityhub.amazonaws.com" in tfvars["organization"]["service_access_principals"]


def test_security_hub_off_is_neither_trusted_nor_delegated(example_project: Path) -> None:
    text = example_project.read_text()
    assert "security_baseline:\n  account: security\n" in text
    off = "security_baseline:\n  account: security\n  security_hub: false\n"
    example_project.write_text(text.replace("security_baseline:\n  account: security\n", off))
    files = _render(example_project, SANDBOX_DEV)
    tfvars = json.loads(files["organization"]["terraform.tfvars.json"])
    assert tfvars["security_hub_admin_account"] is None
    assert "securityhub.amazonaws.com" not in tfvars["organization"]["service_access_principals"]
    assert json.loads(files["security"]["terraform.tfvars.json"])["baseline"]["security_hub"] is False
    # GuardDuty still designates its administrator in every allowed region
    assert list(_provider_blocks(files["organization"]["providers.tf"])) == [None, "eu_west_1"]
