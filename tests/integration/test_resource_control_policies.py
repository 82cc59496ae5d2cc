"""Resource control policies, applied to the sandbox by the organization stack and checked with boto3.

A small organization with one workload OU: an RCP from the library at the OU and an SCP at the root. The
organization must have the RCP type enabled, hold the RCP as a RESOURCE_CONTROL_POLICY (not an SCP), and
attach it to the OU only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

RCP_MATRIX = """\
version: 1
organization:
  name: rcporg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@rcp.example, ou: /}
  - {name: alpha, email: alpha@rcp.example, ou: Workloads, environment: dev}
guardrails:
  - name: enforce-tls
    type: rcp
    builtin: rcp-enforce-tls
    targets: {ous: [Workloads]}
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: {ous: ["/"]}
"""

RCP_DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha]
approval: none
"""


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(tmp_path_factory.mktemp("rcp") / "project", RCP_MATRIX, {"dev": RCP_DEV})
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


def test_the_rcp_is_created_attached_to_its_ou_and_the_type_enabled(organization: Deployed) -> None:
    orgs = organization.client("organizations")
    (root,) = orgs.list_roots()["Roots"]
    enabled = {t["Type"] for t in root["PolicyTypes"] if t["Status"] == "ENABLED"}
    assert {"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"} <= enabled

    rcps = orgs.list_policies(Filter="RESOURCE_CONTROL_POLICY")["Policies"]
    (rcp,) = [p for p in rcps if p["Name"] == "enforce-tls"]
    scps = {p["Name"] for p in orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert "enforce-tls" not in scps and "deny-leave-organization" in scps

    content = json.loads(orgs.describe_policy(PolicyId=rcp["Id"])["Policy"]["Content"])
    (statement,) = content["Statement"]
    assert (statement["Effect"], statement["Principal"]) == ("Deny", "*")
    assert statement["Condition"] == {"BoolIfExists": {"aws:SecureTransport": "false"}}

    (ou,) = orgs.list_organizational_units_for_parent(ParentId=root["Id"])["OrganizationalUnits"]
    targets = orgs.list_targets_for_policy(PolicyId=rcp["Id"])["Targets"]
    assert [(t["TargetId"], t["Type"]) for t in targets] == [(ou["Id"], "ORGANIZATIONAL_UNIT")]
