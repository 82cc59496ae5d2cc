"""`import` adopts an organization built by hand: the first plan imports and creates and destroys nothing.

Each organization is made in the project's own sandbox with boto3 alone; afterwards boto3 shows that every
object kept its ID, so nothing was replaced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from securecart_tf import sandbox
from tests import brownfield
from tests.brownfield import Brownfield
from tests.helpers import explain, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brownfield]:
    # two promotion stages; the management account joins the first, which owns the organization-wide stacks
    stages = "dev=payments-dev,log-archive prod=payments-prod"
    with brownfield.imported(tmp_path_factory.mktemp("payments"), brownfield.payments, "--stages", stages) as bf:
        yield bf


def _matrix(bf: Brownfield) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((bf.project / "access-matrix.yaml").read_text())
    return loaded


def _named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in entries if e["name"] == name)


def test_import_writes_a_matrix_in_the_shapes_a_person_would(payments: Brownfield) -> None:
    matrix = _matrix(payments)
    assert _named(matrix["guardrails"], "DenyRootUser")["builtin"] == "deny-root-user"
    custom = _named(matrix["guardrails"], "KeepProdBuckets")
    assert json.loads((payments.project / custom["file"]).read_text()) == brownfield.DENY_BUCKET_DELETE
    assert custom["targets"] == {"ous": ["Workloads/Prod"]}
    assert _named(matrix["guardrails"], "NoInternetGateways")["targets"] == {"accounts": ["payments-dev"]}
    groups = {g["name"]: g["source"] for g in matrix["identity_center"]["groups"]}
    assert groups == {"Engineers": "scim", "Auditors": "created"}
    # Auditors hold AuditAccess in every account of Security and of Workloads: two OUs, no account listed
    auditors = [a for a in matrix["identity_center"]["assignments"] if a["group"] == "Auditors"]
    assert auditors == [{"group": "Auditors", "permission_set": "AuditAccess", "ous": ["Security", "Workloads"]}]
    lambda_role = _named(matrix["roles"], "PaymentsLambda")
    assert lambda_role["accounts"] == ["payments-dev", "payments-prod"]
    assert lambda_role["path"] == "/service-role/"
    assert [p["name"] for p in lambda_role["inline_policies"]] == ["write-logs"]
    assert lambda_role["trust"]["principals"] == [{"service": "lambda.amazonaws.com"}]
    deploy = _named(matrix["roles"], "AppDeploy")["trust"]["principals"]
    assert deploy == [{"oidc": {"provider": "github", "subject": "repo:payments/app:ref:refs/heads/main"}}]
    vendor = _named(matrix["roles"], "VendorRead")["trust"]
    assert vendor["principals"] == [{"external": {"account_id": brownfield.VENDOR_ACCOUNT, "external_id": "acme-7f3a"}}]
    assert str(vendor["expires"]) == "2031-01-01"
    assert _named(matrix["roles"], "AuditFromLogArchive")["trust"]["principals"] == [{"account": "log-archive"}]
    office = _named(matrix["roles"], "OfficeOnly")
    kept = json.loads((payments.project / office["trust"]["policy_file"]).read_text())
    assert kept["Statement"][0]["Condition"] == {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    validated = run_cli(payments.project, "validate")
    assert validated.returncode == 0, explain(validated)


def _creates_and_destroys_nothing(results: list[dict[str, Any]]) -> dict[str, int]:
    """Each stack's count of imports, once every stack is seen to add and remove nothing."""
    assert {r["stack"]: (r["add"], r["remove"]) for r in results} == {r["stack"]: (0, 0) for r in results}
    return {r["stack"]: r["imports"] for r in results}


def test_the_first_plan_imports_and_creates_and_destroys_nothing_then_apply_and_promote_keep_every_id(
    payments: Brownfield,
) -> None:
    planned = run_cli(payments.project, "plan", "--env", "dev", "--json")
    assert planned.returncode == 2, explain(planned)
    imports = _creates_and_destroys_nothing(json.loads(planned.stdout)["results"])
    assert imports["organization"] >= 1 + 4 + 3 + 3 * 2, imports  # organization, OUs, accounts, SCPs+attachments
    assert imports["identity-center"] >= 1 + 2 + 4 + 4, imports  # group, permission sets, policies, assignments
    assert imports["access-payments-dev"] >= 5 + 1, imports  # five roles and the OIDC provider

    assert "access-payments-prod" not in imports, "prod is the later stage"

    applied = run_cli(payments.project, "apply", "--env", "dev", "--auto-approve")
    assert applied.returncode == 0, explain(applied)
    promoted = run_cli(
        payments.project,
        "promote",
        "--from",
        "dev",
        "--to",
        "prod",
        "--auto-approve",
        "--confirm-env",
        "prod",
        "--json",
    )
    assert promoted.returncode == 0, explain(promoted)
    assert _creates_and_destroys_nothing(json.loads(promoted.stdout)["results"])["access-payments-prod"] >= 5 + 1
    for env in ("dev", "prod"):
        again = run_cli(payments.project, "plan", "--env", env, "--refresh")
        assert again.returncode == 0, explain(again)
    _every_id_kept(payments)


def _every_id_kept(bf: Brownfield) -> None:
    org = bf.client("organizations")
    for path, ou in bf.ous.items():
        assert (
            org.describe_organizational_unit(OrganizationalUnitId=ou)["OrganizationalUnit"]["Name"] == Path(path).name
        )
    listed = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert {n: listed.get(n) for n in bf.policies} == bf.policies
    assert {a["Name"]: a["Id"] for a in org.list_accounts()["Accounts"] if a["Name"] in bf.accounts} == bf.accounts
    sso = bf.client("sso-admin")
    arns = sso.list_permission_sets(InstanceArn=bf.instance)["PermissionSets"]
    assert sorted(arns) == sorted(bf.permission_sets.values())
    store = bf.client("identitystore")
    groups = {g["DisplayName"]: g["GroupId"] for g in store.list_groups(IdentityStoreId=bf.store)["Groups"]}
    assert groups == bf.groups
    for (account, role), role_id in bf.role_ids.items():
        assert bf.client("iam", account).get_role(RoleName=role)["Role"]["RoleId"] == role_id, role
    for (account, name), policy_id in bf.iam_policy_ids.items():
        local = bf.client("iam", account).list_policies(Scope="Local")["Policies"]
        assert {p["PolicyName"]: p["PolicyId"] for p in local}.get(name) == policy_id, (account, name)


def test_import_refuses_a_folder_with_a_matrix_unless_forced(payments: Brownfield) -> None:
    before = (payments.project / "access-matrix.yaml").read_text()
    refused = run_cli(payments.project, "import")
    assert refused.returncode == 1, explain(refused)
    assert "already has access-matrix.yaml" in refused.stderr and "--force" in refused.stderr
    assert (payments.project / "access-matrix.yaml").read_text() == before


def test_import_names_what_it_cannot_read_and_the_rules_the_live_organization_breaks(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "sandbox", "up").returncode == 0
    bf = Brownfield(tmp_path)
    try:
        nothing = run_cli(tmp_path, "import")
        assert nothing.returncode == 1, explain(nothing)
        assert "not in an organization" in nothing.stderr, explain(nothing)
        assert not (tmp_path / "access-matrix.yaml").exists()

        brownfield.organization(bf, ["Workloads"], {"open": "Workloads", "locked": "Workloads"})
        bf.client("iam", "locked").delete_role(RoleName=brownfield.ACCESS_ROLE)
        # a role in `open` that securecart-tf will manage, so its deployment role needs IAM there
        trust = brownfield.doc(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        )
        bf.client("iam", "open").create_role(RoleName="Worker", AssumeRolePolicyDocument=json.dumps(trust))
        # a Deny on everything, with no exemption for the role securecart-tf deploys through
        brownfield.scp(
            bf, "DenyAll", brownfield.doc({"Effect": "Deny", "Action": "*", "Resource": "*"}), bf.ous["Workloads"]
        )
        found = run_cli(tmp_path, "import")
        assert found.returncode == 1, explain(found)
        assert f"account locked ({bf.accounts['locked']}): not read" in found.stdout, explain(found)
        assert "could not enter 1 of 3 accounts" in found.stderr, explain(found)
        assert "DenyAll" in found.stdout and "fix:" in found.stdout, explain(found)
        assert "suppressions" not in _matrix(bf), "import must not suppress what a person has to decide"
    finally:
        sandbox.down(tmp_path / ".securecart")
