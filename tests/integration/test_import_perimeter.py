"""A second organization made by hand, imported into one environment: OUs five deep, an RCP beside the SCPs,
no Identity Center in use, and roles that trust a role and an account elsewhere in the organization.

What each check expects is what `tests.brownfield.perimeter` made, read back by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests import brownfield
from tests.brownfield import Brownfield
from tests.helpers import explain, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def perimeter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brownfield]:
    with brownfield.imported(tmp_path_factory.mktemp("perimeter"), brownfield.perimeter, "--name", "perimeter") as bf:
        yield bf


def _matrix(bf: Brownfield) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((bf.project / "access-matrix.yaml").read_text())
    return loaded


def test_the_deep_tree_the_rcp_and_the_trusts_are_written_as_the_matrix_says_them(perimeter: Brownfield) -> None:
    matrix = _matrix(perimeter)

    def paths(units: list[dict[str, Any]], above: str = "") -> list[str]:
        found = []
        for unit in units:
            here = f"{above}/{unit['name']}" if above else unit["name"]
            found += [here, *paths(unit.get("units", []), here)]
        return found

    assert paths(matrix["organization"]["units"]) == brownfield.DEEP
    types = {g["name"]: g.get("type", "scp") for g in matrix["guardrails"]}
    assert types == {"StayInTheOrganization": "scp", "NoInternetGateways": "scp", "OnlyOurOrganization": "rcp"}
    roles = {r["name"]: r for r in matrix["roles"]}
    assert roles["RouteReader"]["trust"]["principals"] == [{"role": {"role": "NetworkAuditor", "account": "tooling"}}]
    assert roles["ToolingDeploy"]["trust"]["principals"] == [{"account": "tooling"}]
    assert not (matrix.get("identity_center") or {}).get("permission_sets"), "Identity Center is not in use"
    assert sorted(p.name for p in (perimeter.project / "environments").iterdir()) == ["main.yaml"]


def test_one_environment_adopts_everything_then_applies_and_plans_clean(perimeter: Brownfield) -> None:
    project = perimeter.project
    assert run_cli(project, "validate").returncode == 0
    planned = run_cli(project, "plan", "--env", "main", "--json")
    assert planned.returncode == 2, explain(planned)
    results = json.loads(planned.stdout)["results"]
    assert [(r["stack"], r["add"], r["remove"]) for r in results if r["add"] or r["remove"]] == []
    imports = {r["stack"]: r["imports"] for r in results}
    # the organization, five OUs, two accounts, three policies and their three attachments
    assert imports["organization"] >= 1 + 5 + 2 + 3 + 3, imports
    assert imports["access-edge-network"] >= 1 + 2 + 2, imports  # the policy, two roles, their attachments
    assert imports["access-tooling"] >= 1, imports

    applied = run_cli(project, "apply", "--env", "main", "--auto-approve")
    assert applied.returncode == 0, explain(applied)
    again = run_cli(project, "plan", "--env", "main", "--refresh")
    assert again.returncode == 0, explain(again)

    org = perimeter.client("organizations")
    for path, ou in perimeter.ous.items():
        assert (
            org.describe_organizational_unit(OrganizationalUnitId=ou)["OrganizationalUnit"]["Name"]
            == path.split("/")[-1]
        )
    listed = {
        p["Name"]: p["Id"]
        for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
        for p in org.list_policies(Filter=kind)["Policies"]
    }
    assert {name: listed.get(name) for name in perimeter.policies} == perimeter.policies
    for (account, role), role_id in perimeter.role_ids.items():
        assert perimeter.client("iam", account).get_role(RoleName=role)["Role"]["RoleId"] == role_id, role
    local = perimeter.client("iam", "edge-network").list_policies(Scope="Local")["Policies"]
    assert {p["PolicyName"]: p["PolicyId"] for p in local}.get("ReadRoutes") == perimeter.iam_policy_ids[
        ("edge-network", "ReadRoutes")
    ]
