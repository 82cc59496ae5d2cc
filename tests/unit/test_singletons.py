"""What an account holds only one of: found with boto3, turned into import blocks and kept names.

`look` runs against moto in-process; the model and the renderer get what it found as facts, as a run gives
them. Expected addresses and IDs are written out by hand from the module's resource names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from securecart_tf.config.load import load_project
from securecart_tf.model import OrgFacts, Singletons, build_model
from securecart_tf.model.security import SECURITY_HUB_STANDARDS
from securecart_tf.render import render
from securecart_tf.run.singletons import (
    CHANNEL,
    CONFIG,
    CONFIG_ROLE,
    GUARDDUTY,
    OIDC,
    SECURITY_HUB,
    kept_names,
    look,
    managed_in,
    merged,
    wanted,
)
from tests.helpers import sandbox_client, write_project
from tests.inprocess import serve

MATRIX = """\
version: 1
organization:
  name: once
  management_account: management
accounts:
  - {name: management, email: m@once.example, ou: /}
  - {name: security, email: s@once.example, ou: /, id: "222222222222"}
  - {name: alpha, email: a@once.example, ou: /, id: "333333333333", environment: dev}
roles:
  - name: Ship
    description: deploys from GitHub
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: { provider: github, subject: "repo:once/app:ref:refs/heads/main" }
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
security_baseline:
  account: security
  cloudtrail: false
  access_analyzer: false
"""
REGIONAL = MATRIX.replace(
    "security_baseline:",
    "guardrails:\n  - name: regions\n    builtin: region-allow-list\n"
    "    parameters: {regions: [us-east-1, eu-west-1]}\n    targets: {ous: [/]}\nsecurity_baseline:",
)
"""The same organization, where a region guardrail allows eu-west-1 too: the baseline runs there as well."""
DEV = "name: dev\nstacks: [organization, security]\naccounts: [management, security, alpha]\napproval: none\n"
GITHUB_ARN = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com"
SLR_ARN = "arn:aws:iam::222222222222:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        yield lambda service, region="us-east-1": boto3.client(service, region_name=region)


def test_look_finds_the_detector_recorder_channel_config_role_and_providers(aws: Any) -> None:
    detector = aws("guardduty").create_detector(Enable=True)["DetectorId"]
    role = aws("iam").create_service_linked_role(AWSServiceName="config.amazonaws.com")["Role"]["Arn"]
    aws("s3").create_bucket(Bucket="by-hand")
    aws("config").put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
    aws("config").put_delivery_channel(DeliveryChannel={"name": "main", "s3BucketName": "by-hand"})
    provider = aws("iam").create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]

    found = look(
        aws, {(GUARDDUTY, "us-east-1"), (CONFIG, "us-east-1"), (CONFIG_ROLE, "us-east-1"), (OIDC, "us-east-1")}
    )

    assert found.guardduty_detectors == {"us-east-1": detector}
    assert found.config_recorders == {"us-east-1": "default"}
    assert found.config_delivery_channels == {"us-east-1": "main"}
    assert found.service_linked_roles == {"config.amazonaws.com": role}
    assert found.oidc_providers == {"token.actions.githubusercontent.com": provider}


def test_look_asks_only_for_the_kinds_wanted_and_an_empty_account_holds_nothing(aws: Any) -> None:
    aws("guardduty").create_detector(Enable=True)
    assert look(aws, {(OIDC, "us-east-1")}) == Singletons()
    assert not look(aws, {(CONFIG, "us-east-1"), (OIDC, "us-east-1")})
    assert look(aws, {(GUARDDUTY, "us-east-1")})


def test_look_asks_each_region_it_is_given_for_what_is_wanted_there(aws: Any) -> None:
    home = aws("guardduty").create_detector(Enable=True)["DetectorId"]
    ireland = aws("guardduty", "eu-west-1").create_detector(Enable=True)["DetectorId"]
    aws("s3").create_bucket(Bucket="by-hand")
    role = "arn:aws:iam::123456789012:role/by-hand"
    config = aws("config", "eu-west-1")
    config.put_configuration_recorder(ConfigurationRecorder={"name": "ireland", "roleARN": role})
    config.put_delivery_channel(DeliveryChannel={"name": "ireland-channel", "s3BucketName": "by-hand"})
    aws("config").put_configuration_recorder(ConfigurationRecorder={"name": "not-wanted", "roleARN": role})

    found = look(aws, {(GUARDDUTY, "us-east-1"), (GUARDDUTY, "eu-west-1"), (CONFIG, "eu-west-1")})

    assert found.guardduty_detectors == {"us-east-1": home, "eu-west-1": ireland}
    assert found.config_recorders == {"eu-west-1": "ireland"}
    assert found.config_delivery_channels == {"eu-west-1": "ireland-channel"}


FSBP = "aws-foundational-security-best-practices/v/1.0.0"


def test_look_finds_security_hub_and_the_standards_it_has_where_it_is_on() -> None:
    """Security Hub answers InvalidAccessException where it is off: nothing found there, and no error."""
    with serve() as info:
        account = sandbox_client(info, "sts").get_caller_identity()["Account"]
        hub = sandbox_client(info, "securityhub", region="us-east-1")
        hub.enable_security_hub(EnableDefaultStandards=False)
        hub.batch_enable_standards(
            StandardsSubscriptionRequests=[{"StandardsArn": f"arn:aws:securityhub:us-east-1::standards/{FSBP}"}]
        )
        found = look(
            lambda service, region: sandbox_client(info, service, region=region),
            {(SECURITY_HUB, "us-east-1"), (SECURITY_HUB, "eu-west-1")},
        )
    assert found.security_hubs == {"us-east-1": account}
    assert found.security_hub_standards == {
        f"us-east-1 {FSBP}": f"arn:aws:securityhub:us-east-1:{account}:subscription/{FSBP}"
    }


def test_the_security_stack_adopts_security_hub_and_the_baselines_standards_it_already_has(tmp_path: Path) -> None:
    fsbp = f"arn:aws:securityhub:eu-west-1:222222222222:subscription/{FSBP}"
    older_cis = "arn:aws:securityhub:eu-west-1:222222222222:subscription/cis-aws-foundations-benchmark/v/1.2.0"
    found = Singletons(
        security_hubs={"eu-west-1": "222222222222"},
        security_hub_standards={
            f"eu-west-1 {FSBP}": fsbp,
            "eu-west-1 cis-aws-foundations-benchmark/v/1.2.0": older_cis,  # not the version the baseline subscribes
        },
    )
    model, project = _model(tmp_path, {"security": found}, REGIONAL)
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)
    ireland = "module.security_baseline_eu_west_1"
    assert _blocks((out / "dev" / "security" / "imports.tf").read_text()) == {
        (f"{ireland}.aws_securityhub_account.this[0]", "222222222222"),
        (f'{ireland}.aws_securityhub_standards_subscription.this["foundational-best-practices"]', fsbp),
    }


def test_the_standards_adopted_are_the_ones_the_module_subscribes() -> None:
    module = (Path(__file__).resolve().parents[2] / "modules/security-baseline/region/main.tf").read_text()
    subscribed = dict(
        re.findall(
            r'^\s*([\w-]+)\s*=\s*"arn:\$\{local\.partition\}:securityhub:\$\{local\.region\}::standards/([^"]+)"',
            module,
            re.M,
        )
    )
    assert subscribed == SECURITY_HUB_STANDARDS
    assert set(subscribed) == {"cis", "foundational-best-practices"}


def _model(tmp_path: Path, singletons: dict[str, Singletons], matrix: str = MATRIX) -> Any:
    project = load_project(write_project(tmp_path / "p", matrix, {"dev": DEV}) / "access-matrix.yaml")
    return build_model(project, OrgFacts(singletons=singletons)), project


def test_the_security_stack_adopts_what_it_found_and_keeps_the_recorders_name(tmp_path: Path) -> None:
    found = Singletons(
        guardduty_detectors={"us-east-1": "d1", "eu-west-1": "d2"},
        config_recorders={"us-east-1": "default"},
        config_delivery_channels={"us-east-1": "main"},
        service_linked_roles={"config.amazonaws.com": SLR_ARN},
    )
    model, project = _model(tmp_path, {"security": found})
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)

    text = (out / "dev" / "security" / "imports.tf").read_text()
    blocks = {(to, id_) for to, id_ in _blocks(text)}
    assert blocks == {
        # the regional services of the home region live in the baseline's region submodule; the role is global
        ("module.security_baseline.module.home_region.aws_guardduty_detector.this[0]", "d1"),
        ("module.security_baseline.aws_iam_service_linked_role.config[0]", SLR_ARN),
        ("module.security_baseline.module.home_region.aws_config_configuration_recorder.this[0]", "default"),
        ("module.security_baseline.module.home_region.aws_config_configuration_recorder_status.this[0]", "default"),
        ("module.security_baseline.module.home_region.aws_config_delivery_channel.this[0]", "main"),
    }
    tfvars = json.loads((out / "dev" / "security" / "terraform.tfvars.json").read_text())["baseline"]
    assert (tfvars["config_recorder_name"], tfvars["config_delivery_channel_name"]) == ("default", "main")


def test_an_access_stack_adopts_the_provider_of_its_url_and_no_other(tmp_path: Path) -> None:
    other = "arn:aws:iam::333333333333:oidc-provider/gitlab.example.com"
    found = Singletons(oidc_providers={"token.actions.githubusercontent.com": GITHUB_ARN, "gitlab.example.com": other})
    model, project = _model(tmp_path, {"alpha": found})
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)

    text = (out / "dev" / "access-alpha" / "imports.tf").read_text()
    assert _blocks(text) == {('module.account_iam.aws_iam_openid_connect_provider.this["github"]', GITHUB_ARN)}
    assert not (out / "dev" / "security" / "imports.tf").exists()


def test_nothing_found_renders_no_imports_and_the_baselines_own_names(tmp_path: Path) -> None:
    model, project = _model(tmp_path, {})
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)
    assert list(out.rglob("imports.tf")) == []
    tfvars = json.loads((out / "dev" / "security" / "terraform.tfvars.json").read_text())["baseline"]
    assert (tfvars["config_recorder_name"], tfvars["config_delivery_channel_name"]) == (None, None)


def test_a_stack_is_looked_at_only_for_what_its_state_does_not_hold(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, {})
    security, alpha = model.stacks["security"], model.stacks["access-alpha"]
    home = "us-east-1"
    assert wanted(security, set(), home) == {
        (GUARDDUTY, home),
        (CONFIG, home),
        (CONFIG_ROLE, home),
        (SECURITY_HUB, home),
    }
    assert wanted(security, {(GUARDDUTY, home), ("aws_s3_bucket", home), (SECURITY_HUB, home)}, home) == {
        (CONFIG, home),
        (CONFIG_ROLE, home),
    }
    assert wanted(alpha, set(), home) == {(OIDC, home)}
    assert wanted(alpha, {(OIDC, home)}, home) == set()
    # the management account's own detector, which the organization stack creates beside GuardDuty's administrator
    assert wanted(model.stacks["organization"], set(), home) == {(GUARDDUTY, home)}
    assert wanted(model.stacks["organization"], {(GUARDDUTY, home)}, home) == set()


def _resource(kind: str, module: str, name: str = "") -> dict[str, Any]:
    return {"module": module, "type": kind, "instances": [{"attributes": {"name": name}}]}


def test_each_region_is_looked_at_until_the_state_holds_it_there(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, {}, REGIONAL)
    security, organization = model.stacks["security"], model.stacks["organization"]
    home, ireland = "us-east-1", "eu-west-1"
    everywhere = {(kind, region) for kind in (GUARDDUTY, CONFIG, SECURITY_HUB) for region in (home, ireland)}
    assert wanted(security, set(), home) == everywhere | {(CONFIG_ROLE, home)}
    assert wanted(organization, set(), home) == {(GUARDDUTY, home), (GUARDDUTY, ireland)}

    # a state from before eu-west-1 was allowed: the home region's are managed, eu-west-1's are still wanted
    state = [
        _resource(GUARDDUTY, "module.security_baseline.module.home_region"),
        _resource(CONFIG, "module.security_baseline.module.home_region", "once-recorder"),
        _resource(CONFIG_ROLE, "module.security_baseline"),
        _resource(SECURITY_HUB, "module.security_baseline.module.home_region"),
    ]
    assert managed_in(security, state, home) == {
        (GUARDDUTY, home),
        (CONFIG, home),
        (CONFIG_ROLE, home),
        (SECURITY_HUB, home),
    }
    assert wanted(security, managed_in(security, state, home), home) == {
        (GUARDDUTY, ireland),
        (CONFIG, ireland),
        (SECURITY_HUB, ireland),
    }
    state += [
        _resource(GUARDDUTY, "module.security_baseline_eu_west_1"),
        _resource(SECURITY_HUB, "module.security_baseline_eu_west_1"),
    ]
    assert wanted(security, managed_in(security, state, home), home) == {(CONFIG, ireland)}
    management = [_resource(GUARDDUTY, "module.organization_eu_west_1")]
    assert wanted(organization, managed_in(organization, management, home), home) == {(GUARDDUTY, home)}


def test_the_security_stack_adopts_in_every_region_and_keeps_each_recorders_name(tmp_path: Path) -> None:
    found = Singletons(
        guardduty_detectors={"us-east-1": "d1", "eu-west-1": "d2"},
        config_recorders={"eu-west-1": "ireland"},
        config_delivery_channels={"eu-west-1": "ireland-channel"},
    )
    model, project = _model(tmp_path, {"security": found}, REGIONAL)
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)

    text = (out / "dev" / "security" / "imports.tf").read_text()
    ireland = "module.security_baseline_eu_west_1"
    assert _blocks(text) == {
        ("module.security_baseline.module.home_region.aws_guardduty_detector.this[0]", "d1"),
        (f"{ireland}.aws_guardduty_detector.this[0]", "d2"),
        (f"{ireland}.aws_config_configuration_recorder.this[0]", "ireland"),
        (f"{ireland}.aws_config_configuration_recorder_status.this[0]", "ireland"),
        (f"{ireland}.aws_config_delivery_channel.this[0]", "ireland-channel"),
    }
    tfvars = json.loads((out / "dev" / "security" / "terraform.tfvars.json").read_text())["baseline"]
    assert (tfvars["config_recorder_name"], tfvars["config_delivery_channel_name"]) == (None, None)
    assert tfvars["config_recorder_names"] == {"eu-west-1": "ireland"}
    assert tfvars["config_delivery_channel_names"] == {"eu-west-1": "ireland-channel"}
    main = (out / "dev" / "security" / "main.tf").read_text()
    regional = main.split(f'module "{ireland.removeprefix("module.")}" {{', 1)[1].split("\n}\n", 1)[0]
    assert 'config_recorder_name         = var.baseline.config_recorder_names["eu-west-1"]' in regional
    assert 'config_delivery_channel_name = var.baseline.config_delivery_channel_names["eu-west-1"]' in regional


def test_the_organization_stack_adopts_the_management_accounts_detector_in_every_region(tmp_path: Path) -> None:
    found = Singletons(guardduty_detectors={"us-east-1": "dm", "eu-west-1": "dm2", "ap-south-1": "not-allowed"})
    model, project = _model(tmp_path, {"management": found}, REGIONAL)
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)
    text = (out / "dev" / "organization" / "imports.tf").read_text()
    assert _blocks(text) == {
        ("module.organization.module.home_region.aws_guardduty_detector.management[0]", "dm"),
        ("module.organization_eu_west_1.aws_guardduty_detector.management[0]", "dm2"),
    }


def test_the_organization_stack_adopts_the_management_accounts_detector(tmp_path: Path) -> None:
    model, project = _model(tmp_path, {"management": Singletons(guardduty_detectors={"us-east-1": "dm"})})
    out = tmp_path / "build"
    render(model, list(project.environments.values()), out)
    text = (out / "dev" / "organization" / "imports.tf").read_text()
    assert set(_blocks(text)) == {("module.organization.module.home_region.aws_guardduty_detector.management[0]", "dm")}


def test_names_adopted_once_are_read_back_from_the_state_and_the_baselines_own_are_not(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, {})
    security = model.stacks["security"]

    def state(recorder: str, channel: str) -> list[dict[str, Any]]:
        return [
            _resource(CONFIG, "module.security_baseline.module.home_region", recorder),
            _resource(CHANNEL, "module.security_baseline.module.home_region", channel),
            _resource("aws_s3_bucket", "module.security_baseline", "ignored"),
        ]

    kept = kept_names(security, state("default", "main"), "us-east-1", "once")
    assert (kept.config_recorders, kept.config_delivery_channels) == ({"us-east-1": "default"}, {"us-east-1": "main"})
    assert not kept_names(security, state("once-recorder", "once-delivery"), "us-east-1", "once")
    assert not kept_names(model.stacks["organization"], state("default", "main"), "us-east-1", "once")


def test_names_adopted_in_another_region_are_read_back_for_that_region(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, {}, REGIONAL)
    state = [
        _resource(CONFIG, "module.security_baseline.module.home_region", "once-recorder"),
        _resource(CONFIG, "module.security_baseline_eu_west_1", "ireland"),
        _resource(CHANNEL, "module.security_baseline_eu_west_1", "ireland-channel"),
    ]
    kept = kept_names(model.stacks["security"], state, "us-east-1", "once")
    assert kept == Singletons(
        config_recorders={"eu-west-1": "ireland"}, config_delivery_channels={"eu-west-1": "ireland-channel"}
    )


def test_what_is_read_live_adds_to_what_the_state_kept() -> None:
    kept = Singletons(config_recorders={"us-east-1": "default"})
    live = Singletons(guardduty_detectors={"us-east-1": "d1"}, config_recorders={"eu-west-1": "other"})
    assert merged(kept, live) == Singletons(
        guardduty_detectors={"us-east-1": "d1"}, config_recorders={"us-east-1": "default", "eu-west-1": "other"}
    )


def _blocks(text: str) -> set[tuple[str, str]]:
    import re

    found = set(re.findall(r'import \{\n  to = (.+)\n  id = "(.*)"\n\}\n', text))
    assert text.count("import {") == len(found), text
    return found


def test_import_blocks_leave_the_stacks_content_hash_as_it_was(tmp_path: Path) -> None:
    """After the first apply the state holds what was adopted, the lookup finds nothing more and the import blocks
    go: the stack is the same stack, so the no-change fast path and saved plans still recognise it."""
    found = Singletons(security_hubs={"us-east-1": "222222222222"}, guardduty_detectors={"us-east-1": "d1"})
    adopting, project = _model(tmp_path / "a", {"security": found})
    adopted, _ = _model(tmp_path / "b", {})
    environments = list(project.environments.values())
    first = render(adopting, environments, tmp_path / "a" / "build").stacks["security"]
    later = render(adopted, environments, tmp_path / "b" / "build").stacks["security"]
    assert "imports.tf" in first.files and "imports.tf" not in later.files
    assert first.hash == later.hash
    changed, _ = _model(tmp_path / "c", {}, MATRIX.replace("cloudtrail: false", "cloudtrail: true"))
    assert render(changed, environments, tmp_path / "c" / "build").stacks["security"].hash != later.hash
