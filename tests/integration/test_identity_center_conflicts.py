"""Identity Center at scale: a ConflictException on an assignment, which the provider does not retry, is
retried by securecart-tf a bounded number of times, through a fault proxy in front of the sandbox.

The tests run in file order on one organization.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_MATRIX, Deployed
from tests.integration.faultproxy import FaultProxy, Rule, Seen, statuses

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha, beta]
approval: none
"""
PEOPLE = """\
name: people
stacks: [identity-center]
approval: none
"""


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    project = write_project(
        tmp_path_factory.mktemp("conflicts") / "small", SMALL_MATRIX, {"dev": DEV, "people": PEOPLE}
    )
    try:
        applied = run_cli(project, "apply", "--env", "dev", "--auto-approve")
        assert applied.returncode == 0, explain(applied)
        yield Deployed(project)
    finally:
        sandbox.down(project / ".securecart")


def _assign(seen: Seen) -> bool:
    return seen.operation == "CreateAccountAssignment"


def test_an_assignment_refused_with_a_conflict_is_applied_on_a_retry(org: Deployed) -> None:
    # every attempt of the first call conflicts, so the provider gives up on it and the apply fails
    first: dict[str, str] = {}
    conflict = Rule("conflict", match=lambda s: _assign(s) and first.setdefault("call", s.invocation) == s.invocation)
    with FaultProxy(org.info.endpoint, [conflict]) as proxy:
        applied = run_cli(org.project, "apply", "--env", "people", "--json", env={sandbox.ENDPOINT_VAR: proxy.url})
    assert len(proxy.faulted) == 1 and proxy.injected["conflict"] >= 1, proxy.injected
    assert applied.returncode == 0, explain(applied)
    assert statuses(applied.stdout) == {"identity-center": "applied"}
    (result,) = json.loads(applied.stdout)["results"]
    assert "applied after 1 retry" in result["message"]

    sso = org.client("sso-admin")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    (permission_set,) = sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]
    assignments = sso.list_account_assignments(
        InstanceArn=instance, AccountId=org.account_ids["alpha"], PermissionSetArn=permission_set
    )["AccountAssignments"]
    assert len(assignments) == 1


def test_a_conflict_that_does_not_clear_fails_after_three_attempts(org: Deployed) -> None:
    matrix = org.project / "access-matrix.yaml"
    text = matrix.read_text()
    old = "{group: Engineers, permission_set: EngineerAccess, accounts: [alpha]}"
    assert old in text
    matrix.write_text(text.replace(old, old.replace("[alpha]", "[alpha, beta]")))
    policies = run_cli(org.project, "apply", "--env", "dev", "--auto-approve")  # the permission set's policy, in beta
    assert policies.returncode == 0, explain(policies)
    conflict = Rule("conflict", match=_assign)
    with FaultProxy(org.info.endpoint, [conflict]) as proxy:
        applied = run_cli(org.project, "apply", "--env", "people", "--json", env={sandbox.ENDPOINT_VAR: proxy.url})
    assert applied.returncode == 1, explain(applied)
    assert statuses(applied.stdout) == {"identity-center": "failed"}
    assert len(proxy.faulted) == 3, proxy.faulted  # one call to create the assignment per apply, three applies
