"""A real organization's settings and accounts survive securecart-tf: what it finds it keeps, what it may not
remove it refuses to remove. Applied to the sandbox by real Terraform and checked with boto3.

The tests run in file order on one organization: each starts from what the one before left.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import Deployed

pytestmark = pytest.mark.integration

SAFETY_MATRIX = """\
version: 1
organization:
  name: safeorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@safe.example, ou: /}
  - {name: alpha, email: alpha@safe.example, ou: Workloads, environment: dev}
  - {name: beta, email: beta@safe.example, ou: Workloads, environment: dev}
guardrails:
  - name: deny-leave-organization
    builtin: deny-leave-organization
    targets: {ous: [Workloads]}
"""

SAFETY_DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha, beta]
approval: none
"""


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(tmp_path_factory.mktemp("safety") / "project", SAFETY_MATRIX, {"dev": SAFETY_DEV})
    deployed = Deployed(project)
    try:
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert result.returncode == 0, explain(result)
        yield deployed
    finally:
        deployed.stop()


def _trusted(org: Deployed) -> set[str]:
    client = org.client("organizations")
    return {
        s["ServicePrincipal"] for s in client.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    }


def _policy_types(org: Deployed) -> set[str]:
    (root,) = org.client("organizations").list_roots()["Roots"]
    return {t["Type"] for t in root["PolicyTypes"] if t["Status"] == "ENABLED"}


def test_trusted_services_and_policy_types_enabled_outside_the_matrix_survive_an_apply(org: Deployed) -> None:
    client = org.client("organizations")
    (root,) = client.list_roots()["Roots"]
    # what another team (RAM sharing, tag policies) turned on after securecart-tf created the organization
    client.enable_aws_service_access(ServicePrincipal="ram.amazonaws.com")
    client.enable_policy_type(RootId=root["Id"], PolicyType="TAG_POLICY")

    result = run_cli(org.project, "apply", "--env", "dev", "--refresh", "--auto-approve")
    assert result.returncode == 0, explain(result)
    assert "ram.amazonaws.com" in _trusted(org)
    assert {"SERVICE_CONTROL_POLICY", "TAG_POLICY"} <= _policy_types(org)
    assert "keeps trusted access for ram.amazonaws.com" in result.stdout + result.stderr
    assert "keeps policy types TAG_POLICY" in result.stdout + result.stderr

    # and the matrix still adds what it lists
    matrix = org.project / "access-matrix.yaml"
    matrix.write_text(
        matrix.read_text() + "security_baseline: {account: alpha, cloudtrail: false, guardduty: false,"
        " config: false, access_analyzer: true}\n"
    )
    dev = org.project / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("stacks: [organization]", "stacks: [organization, security]"))
    result = run_cli(org.project, "apply", "--env", "dev", "--auto-approve")
    assert result.returncode == 0, explain(result)
    assert {"ram.amazonaws.com", "access-analyzer.amazonaws.com"} <= _trusted(org)
    assert {"SERVICE_CONTROL_POLICY", "TAG_POLICY"} <= _policy_types(org)


def _accounts(org: Deployed) -> dict[str, str]:
    """Account name → status, as Organizations reports them."""
    return {a["Name"]: a["Status"] for a in org.client("organizations").list_accounts()["Accounts"]}


def _edit(org: Deployed, old: str, new: str, file: str = "access-matrix.yaml") -> None:
    path = org.project / file
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new))


def test_scps_attached_outside_the_matrix_count_against_the_attachment_quota(org: Deployed) -> None:
    client = org.client("organizations")
    (root,) = client.list_roots()["Roots"]
    (workloads,) = client.list_organizational_units_for_parent(ParentId=root["Id"])["OrganizationalUnits"]
    content = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ec2:RunInstances","Resource":"*"}]}'
    others = []
    for i in range(3):  # with FullAWSAccess and the matrix's guardrail: 5, the default quota
        policy = client.create_policy(
            Name=f"other-team-{i}", Description="", Content=content, Type="SERVICE_CONTROL_POLICY"
        )["Policy"]["PolicySummary"]["Id"]
        client.attach_policy(PolicyId=policy, TargetId=workloads["Id"])
        others.append(policy)
    fits = run_cli(org.project, "plan", "--env", "dev", "--refresh")
    assert fits.returncode in (0, 2), explain(fits)

    _edit(
        org,
        "targets: {ous: [Workloads]}",
        "targets: {ous: [Workloads]}\n"
        "  - name: deny-root-user\n    builtin: deny-root-user\n    targets: {ous: [Workloads]}",
    )
    over = run_cli(org.project, "plan", "--env", "dev")
    assert over.returncode == 1, explain(over)
    text = over.stdout + over.stderr
    assert "more than 5 SCPs would be attached directly to ou:Workloads" in text
    assert "FullAWSAccess, other-team-0, other-team-1, other-team-2" in text

    _edit(org, "\n  - name: deny-root-user\n    builtin: deny-root-user\n    targets: {ous: [Workloads]}", "")
    for policy in others:
        client.detach_policy(PolicyId=policy, TargetId=workloads["Id"])


def test_a_plan_that_removes_or_replaces_an_account_is_refused(org: Deployed) -> None:
    beta = "  - {name: beta, email: beta@safe.example, ou: Workloads, environment: dev}\n"
    _edit(org, beta, "")
    _edit(org, "accounts: [management, alpha, beta]", "accounts: [management, alpha]", "environments/dev.yaml")
    removed = run_cli(org.project, "plan", "--env", "dev")
    assert removed.returncode == 1, explain(removed)
    assert "remove account 'beta'" in removed.stdout + removed.stderr
    assert "closing: true" in removed.stdout + removed.stderr
    refused_apply = run_cli(org.project, "apply", "--env", "dev", "--auto-approve")
    assert refused_apply.returncode == 1, explain(refused_apply)
    assert _accounts(org)["beta"] == "ACTIVE"

    _edit(org, "  - {name: alpha", beta + "  - {name: alpha")
    _edit(org, "accounts: [management, alpha]", "accounts: [management, alpha, beta]", "environments/dev.yaml")
    _edit(org, "email: alpha@safe.example", "email: alpha-new@safe.example")
    replaced = run_cli(org.project, "plan", "--env", "dev")
    assert replaced.returncode == 1, explain(replaced)
    assert "replace account 'alpha'" in replaced.stdout + replaced.stderr
    _edit(org, "email: alpha-new@safe.example", "email: alpha@safe.example")
    assert _accounts(org) == {"master": "ACTIVE", "alpha": "ACTIVE", "beta": "ACTIVE"}


def test_an_account_marked_closing_and_applied_may_then_be_removed_and_is_closed(org: Deployed) -> None:
    _edit(org, "email: beta@safe.example, ou: Workloads,", "email: beta@safe.example, ou: Workloads, closing: true,")
    replanned = run_cli(org.project, "plan", "--env", "dev")  # the plans saved before were refused or are stale
    assert replanned.returncode == 2, explain(replanned)
    marked = run_cli(org.project, "apply", "--env", "dev", "--auto-approve")
    assert marked.returncode == 0, explain(marked)
    assert _accounts(org)["beta"] == "ACTIVE"  # marking changes nothing in AWS

    _edit(org, "  - {name: beta, email: beta@safe.example, ou: Workloads, closing: true, environment: dev}\n", "")
    _edit(org, "accounts: [management, alpha, beta]", "accounts: [management, alpha]", "environments/dev.yaml")
    removed = run_cli(org.project, "apply", "--env", "dev", "--auto-approve")
    assert removed.returncode == 0, explain(removed)
    assert _accounts(org)["beta"] == "SUSPENDED"  # closed, as closing: true asked; not removed
    assert _accounts(org)["alpha"] == "ACTIVE"
