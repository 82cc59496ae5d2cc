"""The security baseline's settings in every account: which accounts and regions get what, how overrides and
region guardrails change it, what `validate` refuses, and the provider aliases and module blocks rendered.

Expected lines are counted in the text each test writes; expected regions and settings are the matrix's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_project
from securecart_tf.config.schema import SecurityBaseline
from securecart_tf.errors import ConfigErrors
from securecart_tf.findings import Finding
from securecart_tf.model import OrgFacts, Singletons, build_model
from securecart_tf.render import render
from securecart_tf.run.singletons import CHANNEL, CONFIG, CONFIG_ROLE, kept_names, look, managed_in, wanted
from securecart_tf.sandbox.shims import patch_moto
from tests.helpers import write_project

MATRIX = """\
version: 1
organization:
  name: shop
  management_account: management
  units:
    - name: Security
    - name: Workloads
    - name: Sandbox
accounts:
  - {name: management, email: mgmt@shop.example, ou: /}
  - {name: security, email: security@shop.example, ou: Security}
  - {name: alpha, email: alpha@shop.example, ou: Workloads, environment: dev}
  - {name: play, email: play@shop.example, ou: Sandbox, environment: dev}
guardrails:
  - name: region-allow-list
    builtin: region-allow-list
    parameters: {regions: [eu-west-1, us-east-1]}
    targets: {ous: [Security, Workloads]}
security_baseline:
  account: security
  every_account:
    s3_public_access_block: true
    ebs_encryption: true
    config_recorder: true
    overrides:
      play: {config_recorder: false}
"""
OVERRIDE_LINE = MATRIX.splitlines().index("      play: {config_recorder: false}") + 1

DEV = "name: dev\nstacks: [organization, security]\naccounts: [management, security, alpha, play]\napproval: none\n"

BLOCK = """\
resource "aws_s3_account_public_access_block" "mine" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
"""
CUSTOMIZATION = """\
customizations:
  - name: public-access-block
    source: ./customizations/pab
    targets: {ous: [Workloads]}
"""


def _project(tmp_path: Path, matrix: str = MATRIX, files: dict[str, str] | None = None) -> Path:
    return write_project(tmp_path / "project", matrix, {"dev": DEV}, files)


def _settings(tmp_path: Path, matrix: str = MATRIX) -> dict[str, dict[str, Any]]:
    """access stack's account → its `account_settings` data, for the stacks that have some."""
    model = build_model(load_project(_project(tmp_path, matrix) / "access-matrix.yaml"))
    return {s.account: s.inputs["account_settings"] for s in model.stacks.values() if "account_settings" in s.inputs}


def _findings(tmp_path: Path, matrix: str, files: dict[str, str] | None = None) -> list[Finding]:
    return [f for f in run_checks(load_project(_project(tmp_path, matrix, files) / "access-matrix.yaml")) if f.blocks]


# ------------------------------------------------------------------------------------------------ model


def test_with_no_every_account_section_no_stack_gets_settings_and_no_stack_is_added(tmp_path: Path) -> None:
    matrix = MATRIX.split("  every_account:")[0]
    model = build_model(load_project(_project(tmp_path, matrix) / "access-matrix.yaml"))
    assert sorted(model.stacks) == ["organization", "security"]


def test_regions_are_the_guardrails_regions_home_first_and_the_home_region_elsewhere(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert list(settings["alpha"]["regions"]) == ["us-east-1", "eu-west-1"]
    assert list(settings["security"]["regions"]) == ["us-east-1", "eu-west-1"]
    assert list(settings["play"]["regions"]) == ["us-east-1"]  # no region guardrail reaches the Sandbox OU
    assert list(settings["management"]["regions"]) == ["us-east-1"]  # SCPs never restrict it


def test_two_region_guardrails_leave_the_regions_both_allow(tmp_path: Path) -> None:
    matrix = MATRIX.replace(
        "security_baseline:",
        "  - name: region-allow-list-eu\n    builtin: region-allow-list\n"
        "    parameters: {regions: [eu-west-1, eu-central-1]}\n    targets: {accounts: [alpha]}\nsecurity_baseline:",
    )
    settings = _settings(tmp_path, matrix)
    assert list(settings["alpha"]["regions"]) == ["us-east-1", "eu-west-1"]
    assert settings["alpha"]["regions"]["us-east-1"] == {"ebs_encryption": False, "config_recorder": None}
    assert settings["alpha"]["regions"]["eu-west-1"]["ebs_encryption"] is True


def test_a_member_account_records_config_in_each_region_into_the_security_accounts_bucket(tmp_path: Path) -> None:
    alpha = _settings(tmp_path)["alpha"]
    assert alpha["s3_public_access_block"] is True
    assert alpha["config_service_linked_role"] is True
    home, other = alpha["regions"]["us-east-1"], alpha["regions"]["eu-west-1"]
    assert home["ebs_encryption"] is other["ebs_encryption"] is True
    assert home["config_recorder"]["include_global_resource_types"] is True
    assert other["config_recorder"]["include_global_resource_types"] is False
    for recorder in (home["config_recorder"], other["config_recorder"]):
        assert recorder["name"] == "shop-recorder"
        assert recorder["delivery_channel_name"] == "shop-delivery"
        assert re.fullmatch(r"shop-security-logs-[0-9]{12}", recorder["bucket"])
        assert recorder["key_prefix"] == "config"
        assert re.fullmatch(
            r"arn:aws:iam::[0-9]{12}:role/aws-service-role/config\.amazonaws\.com/AWSServiceRoleForConfig",
            recorder["role_arn"],
        )


def test_the_security_account_leaves_its_recorders_and_role_to_the_security_stack(tmp_path: Path) -> None:
    # the security stack records in every region a region guardrail allows; AWS allows one recorder per region
    security = _settings(tmp_path)["security"]
    assert security["config_service_linked_role"] is False
    assert security["regions"]["us-east-1"] == {"ebs_encryption": True, "config_recorder": None}
    assert security["regions"]["eu-west-1"] == {"ebs_encryption": True, "config_recorder": None}


def test_an_override_turns_one_setting_off_in_one_account_and_keeps_the_others(tmp_path: Path) -> None:
    play = _settings(tmp_path)["play"]
    assert play == {
        "s3_public_access_block": True,
        "config_service_linked_role": False,
        "regions": {"us-east-1": {"ebs_encryption": True, "config_recorder": None}},
    }


def test_the_management_account_records_config_only_when_its_override_says_so(tmp_path: Path) -> None:
    assert _settings(tmp_path)["management"]["regions"]["us-east-1"]["config_recorder"] is None
    matrix = MATRIX.replace("      play: {config_recorder: false}", "      management: {config_recorder: true}")
    management = _settings(tmp_path / "2", matrix)["management"]
    assert management["regions"]["us-east-1"]["config_recorder"]["name"] == "shop-recorder"


def test_without_the_baselines_config_no_account_records(tmp_path: Path) -> None:
    matrix = MATRIX.replace("    config_recorder: true\n", "").replace(
        "  every_account:", "  config: false\n  every_account:"
    )
    settings = _settings(tmp_path, matrix)
    assert all(r["config_recorder"] is None for s in settings.values() for r in s["regions"].values())
    assert all(s["config_service_linked_role"] is False for s in settings.values())


def test_only_stacks_that_record_config_wait_for_the_security_stack(tmp_path: Path) -> None:
    model = build_model(load_project(_project(tmp_path) / "access-matrix.yaml"))
    assert "security" in model.stacks["access-alpha"].depends_on
    assert "security" not in model.stacks["access-play"].depends_on
    # the security account's home recorder is the security stack's own, and no guardrail gives it another region
    single = MATRIX.replace("targets: {ous: [Security, Workloads]}", "targets: {ous: [Workloads]}")
    model = build_model(load_project(_project(tmp_path / "2", single) / "access-matrix.yaml"))
    assert "security" not in model.stacks["access-security"].depends_on


# ------------------------------------------------------------------------------------------------ validate


def test_a_valid_matrix_has_no_findings_about_the_settings(tmp_path: Path) -> None:
    assert _findings(tmp_path, MATRIX) == []


def test_an_override_for_an_unknown_account_is_refused_at_its_line(tmp_path: Path) -> None:
    (finding,) = _findings(tmp_path, MATRIX.replace("      play: {", "      pley: {"))
    assert finding.rule == "unknown-reference"
    assert finding.location.line == OVERRIDE_LINE
    assert finding.fix == "did you mean 'play'?"


def test_a_recorder_without_the_baselines_config_is_refused(tmp_path: Path) -> None:
    (finding,) = _findings(tmp_path, MATRIX.replace("  every_account:", "  config: false\n  every_account:"))
    assert finding.rule == "baseline-config-off"
    # config_recorder: true, one line further down for the inserted config: false
    assert finding.location.line == MATRIX.splitlines().index("    config_recorder: true") + 2
    assert "security_baseline.config is false" in finding.message


def test_a_customization_managing_the_same_block_is_refused_naming_both(tmp_path: Path) -> None:
    (finding,) = _findings(tmp_path, MATRIX + CUSTOMIZATION, {"customizations/pab/main.tf": BLOCK})
    assert finding.rule == "baseline-customization-conflict"
    assert finding.location.line == MATRIX.count("\n") + 3  # the customization's source
    assert "aws_s3_account_public_access_block" in finding.message
    assert "customizations/pab/main.tf:1" in finding.message
    assert "in alpha:" in finding.message  # the Workloads OU holds alpha only


def test_a_customization_is_accepted_where_the_setting_is_off(tmp_path: Path) -> None:
    matrix = MATRIX.replace("    s3_public_access_block: true\n", "") + CUSTOMIZATION
    assert _findings(tmp_path, matrix, {"customizations/pab/main.tf": BLOCK}) == []


def test_an_unknown_setting_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    project = _project(tmp_path, MATRIX.replace("    ebs_encryption: true", "    ebs_encryptoin: true"))
    with pytest.raises(ConfigErrors) as raised:
        load_project(project / "access-matrix.yaml")
    assert "ebs_encryption" in str(raised.value.errors[0].hint)


# ------------------------------------------------------------------------------------------------ render


def _rendered(tmp_path: Path, environment: dict[str, Any]) -> Path:
    project = load_project(_project(tmp_path) / "access-matrix.yaml")
    out = tmp_path / "build"
    render(build_model(project), [Environment.model_validate(environment)], out)
    return out / environment["name"]


def _providers(text: str) -> list[str]:
    return re.findall(r'^provider "aws" \{\n.*?^\}\n', text, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize(
    "target",
    [
        {"type": "sandbox"},
        {"type": "aws", "profile": "org", "external_id": "securecart-deploy"},
    ],
)
def test_each_other_region_gets_an_alias_configured_as_the_default_provider(
    tmp_path: Path, target: dict[str, str]
) -> None:
    env = {
        "name": "dev",
        "stacks": ["organization", "security"],
        "accounts": ["management", "security", "alpha", "play"],
    }
    root = _rendered(tmp_path, {**env, "target": target})
    default, alias = _providers((root / "access-alpha" / "providers.tf").read_text())
    assert '  alias  = "eu_west_1"\n  region = "eu-west-1"\n' in alias
    assert alias.replace('  alias  = "eu_west_1"\n  region = "eu-west-1"\n', "  region = var.region\n") == default
    assert len(_providers((root / "access-play" / "providers.tf").read_text())) == 1  # the home region only


def test_the_other_regions_module_block_reads_its_regions_settings(tmp_path: Path) -> None:
    root = _rendered(tmp_path, {"name": "dev", "stacks": ["organization", "security"], "accounts": ["alpha"]})
    main = (root / "access-alpha" / "main.tf").read_text()
    block = main.split('module "account_iam_eu_west_1" {\n', 1)[1].split("\n}\n", 1)[0]
    assert "providers = { aws = aws.eu_west_1 }" in block
    assert 'ebs_encryption  = var.account_settings.regions["eu-west-1"].ebs_encryption' in block
    assert "config_recorder            = var.account_settings.regions[var.region].config_recorder" in main
    data = json.loads((root / "access-alpha" / "terraform.tfvars.json").read_text())
    assert data["region"] == "us-east-1" and set(data["account_settings"]["regions"]) == {"us-east-1", "eu-west-1"}


DENY_BLOCK_CHANGES = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:PutAccountPublicAccessBlock", "Resource": "*"}],
}


@pytest.mark.parametrize("block", [True, False])
def test_an_scp_denying_the_deployment_role_a_setting_locks_it_out_only_where_the_setting_is_on(
    tmp_path: Path, block: bool
) -> None:
    matrix = MATRIX.replace("    s3_public_access_block: true\n", f"    s3_public_access_block: {str(block).lower()}\n")
    matrix = matrix.replace(
        "security_baseline:",
        "  - name: no-block-changes\n    file: policies/no-block-changes.json\n    targets: {ous: [Workloads]}\n"
        "security_baseline:",
    )
    files = {"policies/no-block-changes.json": json.dumps(DENY_BLOCK_CHANGES)}
    lockouts = [f for f in _findings(tmp_path, matrix, files) if f.rule == "scp-lockout"]
    assert bool(lockouts) is block
    if block:
        assert "s3:PutAccountPublicAccessBlock" in lockouts[0].message


# ------------------------------------------------------------------------------------------------ adoption

SLR = "arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


def test_a_member_account_adopts_the_config_role_it_already_has(tmp_path: Path) -> None:
    found = {
        name: Singletons(service_linked_roles={"config.amazonaws.com": SLR.format(name)})
        for name in ("alpha", "security")
    }
    project = load_project(_project(tmp_path) / "access-matrix.yaml")
    model = build_model(project, OrgFacts(singletons=found))
    adopts = {s.account: [(b.to, b.id) for b in s.adopts] for s in model.stacks.values() if s.layer == "access"}
    assert adopts["alpha"] == [("module.account_iam.aws_iam_service_linked_role.config[0]", SLR.format("alpha"))]
    assert adopts["security"] == []  # the security stack manages the role there


def test_an_access_stack_that_records_looks_for_the_config_role_until_its_state_holds_it(tmp_path: Path) -> None:
    model = build_model(load_project(_project(tmp_path) / "access-matrix.yaml"))
    alpha = model.stacks["access-alpha"]
    recorders = {(CONFIG, "us-east-1"), (CONFIG, "eu-west-1")}
    assert wanted(alpha, set(), "us-east-1") == {(CONFIG_ROLE, "us-east-1"), *recorders}
    assert wanted(alpha, {(CONFIG_ROLE, "us-east-1")}, "us-east-1") == recorders
    assert wanted(model.stacks["access-play"], set(), "us-east-1") == set()  # its override turns Config off


def test_an_access_stack_looks_for_a_recorder_in_each_region_it_records_in_until_its_state_holds_one(
    tmp_path: Path,
) -> None:
    alpha = build_model(load_project(_project(tmp_path) / "access-matrix.yaml")).stacks["access-alpha"]
    state = [
        {"module": "module.account_iam", "type": CONFIG_ROLE, "instances": [{}]},
        {"module": "module.account_iam_eu_west_1", "type": CONFIG, "instances": [{"attributes": {"name": "ct"}}]},
        {"module": "module.account_iam_eu_west_1", "type": CHANNEL, "instances": [{"attributes": {"name": "ct-d"}}]},
    ]
    assert wanted(alpha, managed_in(alpha, state, "us-east-1"), "us-east-1") == {(CONFIG, "us-east-1")}
    # the names adopted in eu-west-1 stay; the home region's would be the baseline's own
    kept = kept_names(alpha, state, "us-east-1", "shop")
    assert kept == Singletons(config_recorders={"eu-west-1": "ct"}, config_delivery_channels={"eu-west-1": "ct-d"})


def test_a_member_account_adopts_its_recorders_in_each_region_and_keeps_their_names(tmp_path: Path) -> None:
    found = Singletons(
        config_recorders={"us-east-1": "aws-controltower-BaselineConfigRecorder", "eu-west-1": "ireland"},
        config_delivery_channels={"eu-west-1": "ireland-channel"},
    )
    project = load_project(_project(tmp_path) / "access-matrix.yaml")
    model = build_model(project, OrgFacts(singletons={"alpha": found, "play": found}))
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)

    home, ireland = "module.account_iam", "module.account_iam_eu_west_1"
    control_tower = "aws-controltower-BaselineConfigRecorder"
    assert {(b.to, b.id) for b in model.stacks["access-alpha"].adopts} == {
        (f"{home}.aws_config_configuration_recorder.this[0]", control_tower),
        (f"{home}.aws_config_configuration_recorder_status.this[0]", control_tower),
        (f"{ireland}.aws_config_configuration_recorder.this[0]", "ireland"),
        (f"{ireland}.aws_config_configuration_recorder_status.this[0]", "ireland"),
        (f"{ireland}.aws_config_delivery_channel.this[0]", "ireland-channel"),
    }
    assert model.stacks["access-play"].adopts == ()  # it records nowhere: nothing to adopt into
    regions = json.loads((out / "dev" / "access-alpha" / "terraform.tfvars.json").read_text())["account_settings"]
    regions = regions["regions"]
    assert (
        regions["us-east-1"]["config_recorder"]["name"],
        regions["us-east-1"]["config_recorder"]["delivery_channel_name"],
    ) == (control_tower, "shop-delivery")
    assert (
        regions["eu-west-1"]["config_recorder"]["name"],
        regions["eu-west-1"]["config_recorder"]["delivery_channel_name"],
    ) == ("ireland", "ireland-channel")
    imports = (out / "dev" / "access-alpha" / "imports.tf").read_text()
    assert f"to = {ireland}.aws_config_delivery_channel.this[0]" in imports


def test_look_finds_the_config_role_alone() -> None:
    patch_moto()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        arn = iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]["Arn"]
        found = look(lambda service, region: boto3.client(service, region_name=region), {(CONFIG_ROLE, "us-east-1")})
    assert found == Singletons(service_linked_roles={"config.amazonaws.com": arn})


def test_the_readmes_example_is_a_valid_baseline() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The security baseline in every account\n", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    baseline = SecurityBaseline.model_validate(example["security_baseline"])
    assert baseline.every_account.for_account("sandbox", "management").config_recorder is False
    assert baseline.every_account.for_account("management", "management").config_recorder is True
    assert baseline.every_account.for_account("dev", "management").config_recorder is True
