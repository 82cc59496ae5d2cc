"""`import` reads the security services where they run, and writes them as a security_baseline left commented out.

The reader runs against the sandbox's app served in-process, with an organization built by boto3 alone: the
security account is GuardDuty's and Config's delegated administrator and runs a detector, a recorder and an
organization analyzer. The writer's tests feed it an inventory written by hand.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from securecart_tf.adopt import live
from securecart_tf.adopt.clients import TargetClients
from securecart_tf.adopt.inventory import LiveBaseline
from securecart_tf.adopt.write import write_project
from securecart_tf.run.workspace import Target
from securecart_tf.sandbox import SandboxInfo
from tests.helpers import sandbox_client
from tests.inprocess import serve
from tests.unit.test_adopt_write import SECURITY, _errors, organization

REGION = "us-east-1"
ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def served() -> Iterator[SandboxInfo]:
    with serve() as info:
        yield info


def _organization(info: SandboxInfo, *, delegate: bool) -> dict[str, str]:
    org = sandbox_client(info, "organizations")
    management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    status = org.create_account(AccountName="security", Email="security@baseline.example")["CreateAccountStatus"]
    security = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    ids = {"management": management, "security": security["AccountId"]}
    if delegate:
        for principal in ("guardduty.amazonaws.com", "config.amazonaws.com"):
            org.enable_aws_service_access(ServicePrincipal=principal)
            org.register_delegated_administrator(AccountId=ids["security"], ServicePrincipal=principal)
    return ids


def _read(info: SandboxInfo) -> Any:
    clients = TargetClients(Target("sandbox", "sandbox:unit", REGION, info=info), ROLE)
    return live.read_inventory(clients.management, enter=clients.enter, region=REGION, deployment_role=ROLE)


def test_the_security_services_are_read_in_the_account_they_are_delegated_to(served: SandboxInfo) -> None:
    ids = _organization(served, delegate=True)
    detector = sandbox_client(served, "guardduty", ids["security"]).create_detector(Enable=True)["DetectorId"]
    config = sandbox_client(served, "config", ids["security"])
    role = f"arn:aws:iam::{ids['security']}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
    analyzer = sandbox_client(served, "accessanalyzer", ids["security"])
    analyzer.create_analyzer(analyzerName="org-wide", type="ORGANIZATION")
    sandbox_client(served, "guardduty").create_detector(Enable=True)  # the management account's own: not read

    inventory = _read(served)

    assert inventory.baseline == LiveBaseline(
        account_id=ids["security"],
        guardduty_detector=detector,
        config_recorder="default",
        organization_trails=(),
        organization_analyzers=("org-wide",),
    )


def test_without_a_delegate_the_management_accounts_services_are_read_and_none_is_no_baseline(
    served: SandboxInfo,
) -> None:
    ids = _organization(served, delegate=False)
    assert _read(served).baseline is None
    detector = sandbox_client(served, "guardduty").create_detector(Enable=True)["DetectorId"]
    assert _read(served).baseline == LiveBaseline(account_id=ids["management"], guardduty_detector=detector)


def _baseline_written(tmp_path: Path) -> tuple[str, list[str], list[str]]:
    inv = dataclasses.replace(
        organization(),
        baseline=LiveBaseline(
            account_id=SECURITY, guardduty_detector="d-1", config_recorder="default", organization_trails=("t",)
        ),
    )
    written = write_project(inv, target={"type": "sandbox"})
    return written.files["access-matrix.yaml"], written.unexpressed, _errors(written, tmp_path)


def test_the_baseline_is_written_commented_out_so_the_first_plan_creates_nothing(tmp_path: Path) -> None:
    text, unexpressed, errors = _baseline_written(tmp_path)
    assert errors == []
    assert "security_baseline" not in yaml.safe_load(text)
    (said,) = [u for u in unexpressed if "security services" in u]
    assert "security-tooling" in said and "GuardDuty detector d-1" in said and "Config recorder default" in said


def test_uncommented_the_baseline_names_the_account_and_the_services_that_run(tmp_path: Path) -> None:
    text, _, _ = _baseline_written(tmp_path)
    block = text[text.index("# security_baseline:") :]
    uncommented = re.sub(r"^# ?", "", block, flags=re.MULTILINE)
    assert yaml.safe_load(uncommented) == {
        "security_baseline": {
            "account": "security-tooling",
            "guardduty": True,
            "config": True,
            "cloudtrail": True,
            "access_analyzer": False,
        }
    }
