"""Integration fixtures: real Terraform and the real AWS provider against the sandbox, checked with boto3.

Each project gets its own sandbox (one sandbox holds one organization), started by the tool itself on
first use and stopped when the fixture ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from securecart_tf import sandbox
from tests.helpers import copy_example, explain, run_cli, sandbox_client, write_project


@dataclass
class Deployed:
    project: Path

    @property
    def info(self) -> sandbox.SandboxInfo:
        info = sandbox.read(self.project / ".securecart")
        assert info is not None, "the sandbox is not running"
        return info

    def state(self, stack: str) -> dict[str, Any]:
        return json.loads((self.project / ".securecart" / "state" / stack / "terraform.tfstate").read_text())

    def outputs(self, stack: str) -> dict[str, Any]:
        return {k: v["value"] for k, v in self.state(stack).get("outputs", {}).items()}

    @property
    def account_ids(self) -> dict[str, str]:
        return dict(self.outputs("organization")["account_ids"])

    def client(self, service: str, account: str | None = None, region: str = "us-east-1") -> Any:
        """A boto3 client in the management account, or in `account` through STS AssumeRole; in `region`."""
        member = None if account is None or account == "management" else self.account_ids[account]
        return sandbox_client(self.info, service, member, region=region)

    def stop(self) -> None:
        sandbox.down(self.project / ".securecart")


@pytest.fixture(scope="module")
def deployed_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """The SecureCart example applied to a fresh sandbox: dev, then staging, then prod."""
    project = copy_example(tmp_path_factory.mktemp("securecart"))
    deployed = Deployed(project)
    try:
        for args in (
            ("apply", "--env", "dev", "--auto-approve"),
            ("apply", "--env", "staging", "--auto-approve"),
            ("apply", "--env", "prod", "--auto-approve", "--confirm-env", "prod"),
        ):
            result = run_cli(project, *args)
            assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


# A small organization: one workload OU, two accounts, one role each, one permission set with a
# customer-managed policy (so identity-center depends on an access stack).
SMALL_MATRIX = """\
version: 1
organization:
  name: smallorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@small.example, ou: /}
  - {name: alpha, email: alpha@small.example, ou: Workloads, environment: dev}
  - {name: beta, email: beta@small.example, ou: Workloads, environment: dev}
guardrails:
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: {ous: [Workloads]}
identity_center:
  identity_source: {provider: okta}
  groups:
    - {name: Engineers, source: created}
  permission_sets:
    - name: EngineerAccess
      managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      customer_managed_policies: [SmallReadLogs]
  assignments:
    - {group: Engineers, permission_set: EngineerAccess, accounts: [alpha]}
policies:
  - name: SmallReadLogs
    document:
      Statement:
        - {Effect: Allow, Action: ["logs:GetLogEvents"], Resource: "*"}
roles:
  - name: AuditRole
    audience: platform
    accounts: [alpha, beta]
    trust:
      principals:
        - role: {role: OrganizationAccountAccessRole, account: management}
    managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
"""

SMALL_DEV = """\
name: dev
stacks: [organization, identity-center]
accounts: [management, alpha, beta]
approval: none
"""


@pytest.fixture
def small_project(tmp_path: Path) -> Iterator[Path]:
    project = write_project(tmp_path / "small", SMALL_MATRIX, {"dev": SMALL_DEV})
    try:
        yield project
    finally:
        sandbox.down(project / ".securecart")
