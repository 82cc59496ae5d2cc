"""`securecart-tf report`: effective access on the SecureCart example, cell by cell.

Expectations come from the matrix and the seed: who is assigned what, which roles trust whom, and what
the policies allow. They are not copied from the report's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from securecart_tf.config.load import load_project
from securecart_tf.report.access import Report, build_report
from securecart_tf.report.actions import Level, action_level, expand, level_of
from securecart_tf.report.policies import managed_policy_level

BEFORE_EXPIRY = dt.date(2026, 6, 1)
VENDOR_EXPIRY = dt.date(2027, 6, 30)  # access-matrix.yaml: ObservabilityVendorRole trust.expires
VENDOR_EXTERNAL_ID = "securecart-acme-7f3a9c"  # access-matrix.yaml: the vendor's external_id
ALL_ACCOUNTS = ["management", "security", "shared-services", "dev", "staging", "prod"]


def report_of(matrix: Path, as_of: dt.date = BEFORE_EXPIRY) -> Report:
    return build_report(load_project(matrix), as_of=as_of)


def edit_matrix(matrix: Path, change: Any) -> None:
    data = yaml.safe_load(matrix.read_text())
    change(data)
    matrix.write_text(yaml.safe_dump(data, sort_keys=False))


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(i for i in items if i["name"] == name)


# ---------------------------------------------------------------------------------------------- key cells


def test_developers_write_in_dev_and_staging_and_have_nothing_in_prod(example_project: Path) -> None:
    report = report_of(example_project)
    assert report.level("group:Developers", "dev") == Level.write
    assert report.level("group:Developers", "staging") == Level.write
    assert report.level("group:Developers", "prod") == Level.none
    assert report.cell("group:Developers", "prod").paths == []
    # the seed: developers assume DeveloperRole in dev, from their landing session in shared-services
    ways = [p.way_in() for p in report.cell("group:Developers", "dev").active_paths]
    assert ways == ["Developers → DeveloperAccess @shared-services → DeveloperRole @dev"]
    assert report.level("group:Developers", "shared-services") == Level.read


def test_security_team_reads_every_account_and_writes_in_none(example_project: Path) -> None:
    report = report_of(example_project)
    assert report.account_names == ALL_ACCOUNTS
    for account in ALL_ACCOUNTS:
        assert report.level("group:SecurityTeam", account) == Level.read, account


def test_vendor_role_requires_the_external_id_and_expires(example_project: Path) -> None:
    report = report_of(example_project)
    for principal in ("vendor:999988887777", "role:ObservabilityVendorRole"):
        for account in ("staging", "prod"):
            cell = report.cell(principal, account)
            assert cell.level == Level.read, (principal, account)
            (path,) = cell.active_paths
            assert path.conditions.expires == VENDOR_EXPIRY
            assert path.conditions.external_id == VENDOR_EXTERNAL_ID
        assert report.level(principal, "dev") == Level.none


def test_vendor_access_ends_on_the_expiry_date(example_project: Path) -> None:
    report = report_of(example_project, as_of=VENDOR_EXPIRY)
    cell = report.cell("vendor:999988887777", "prod")
    assert cell.level == Level.none
    assert [p.status for p in cell.paths] == ["expired"]


def test_deployment_role_is_reachable_only_from_the_ci_subject_of_its_environment(example_project: Path) -> None:
    report = report_of(example_project)
    environment = {"dev": "dev", "staging": "staging", "prod": "prod"}
    reached_by: set[str] = set()
    reached_in: set[str] = set()
    for (principal, account), cell in report.cells.items():
        for path in cell.active_paths:
            if not path.seat.startswith("role:DeploymentRole@"):
                continue
            reached_by.add(principal)
            reached_in.add(account)
            first = path.chain[0]
            assert first.kind == "oidc", (principal, path.way_in())
            assert first.name == f"repo:securecart/platform:environment:{environment[account]}"
            assert path.conditions.oidc_subject == first.name
    ci = "ci:github:repo:securecart/platform:environment:{environment}"
    assert reached_by == {ci, "role:DeploymentRole"}
    assert reached_in == {"dev", "staging", "prod"}
    assert report.level(ci, "prod") == Level.write


def test_platform_admins_are_admin_where_assigned(example_project: Path) -> None:
    report = report_of(example_project)
    for account in ("management", "shared-services"):  # the PlatformAdmin assignment's accounts
        cell = report.cell("group:PlatformAdmins", account)
        assert cell.level == Level.admin
        assert f"PlatformAdmins → PlatformAdmin @{account}" in [p.way_in() for p in cell.active_paths]


def test_platform_admins_reach_every_account_through_break_glass(example_project: Path) -> None:
    # BreakGlassRole sits in every account (ous: ["/"]) and trusts PlatformAdmin sessions in management
    report = report_of(example_project)
    cell = report.cell("group:PlatformAdmins", "prod")
    assert cell.level == Level.admin
    assert [p.way_in() for p in cell.active_paths] == [
        "PlatformAdmins → PlatformAdmin @management → BreakGlassRole @prod"
    ]


def test_management_account_cells_say_scps_do_not_apply(example_project: Path) -> None:
    report = report_of(example_project)
    seat = report.seats["permission-set:SecurityAudit@management"]
    assert seat.scps_apply is False
    assert all(effect.status == "not-enforced" for effect in seat.scps)
    cells = {(c["principal"], c["account"]): c for c in report.to_json()["cells"]}
    management = cells[("group:SecurityTeam", "management")]
    assert management["scps_apply"] is False
    assert "SCPs do not apply" in management["note"]
    assert cells[("group:SecurityTeam", "dev")]["scps_apply"] is True
    # in a member account the same permission set is restricted by the guardrails above it
    member = report.seats["permission-set:SecurityAudit@dev"]
    assert member.scps_apply is True
    assert any(effect.status == "restricts" for effect in member.scps)


def test_scp_exemptions_follow_the_matrix(example_project: Path) -> None:
    # protect-security-services exempts SecurityAuditRole (exempt_roles) and the platform roles
    report = report_of(example_project)
    statuses = {
        seat: {e.guardrail: e.status for e in report.seats[seat].scps}
        for seat in ("role:SecurityAuditRole@dev", "role:DeveloperRole@dev", "role:BreakGlassRole@dev")
    }
    assert statuses["role:SecurityAuditRole@dev"]["protect-security-services"] == "exempt"
    assert statuses["role:DeveloperRole@dev"]["protect-security-services"] == "restricts"
    assert statuses["role:BreakGlassRole@dev"]["protect-security-services"] == "exempt"
    assert statuses["role:DeveloperRole@dev"]["deny-root-user"] == "does-not-apply"


def test_scp_exemptions_hold_in_govcloud(example_project: Path) -> None:
    """Guardrail exemptions name the partition's role ARNs; the report's principals must live there too."""
    matrix = example_project.read_text()
    assert "home_region: us-east-1" in matrix
    example_project.write_text(
        matrix.replace("home_region: us-east-1", "home_region: us-gov-west-1").replace("arn:aws:", "arn:aws-us-gov:")
    )
    for policy in (example_project.parent / "policies").rglob("*.json"):
        policy.write_text(policy.read_text().replace("arn:aws:", "arn:aws-us-gov:"))
    report = report_of(example_project)
    for seat in ("role:SecurityAuditRole@dev", "role:BreakGlassRole@dev"):
        assert {e.guardrail: e.status for e in report.seats[seat].scps}["protect-security-services"] == "exempt"
        assert report.seats[seat].principal_arn.startswith("arn:aws-us-gov:iam::")


# ---------------------------------------------------------------------------------- boundaries and chains


def test_a_boundary_caps_an_administrator_permission_set(example_project: Path) -> None:
    def add_boundary(data: dict[str, Any]) -> None:
        ps = named(data["identity_center"]["permission_sets"], "PlatformAdmin")
        ps["permissions_boundary"] = {"policy": "SecureCartWorkloadBoundary"}

    edit_matrix(example_project, add_boundary)
    report = report_of(example_project)
    # the workload boundary allows service writes (ecs:*, s3:*) but not every action
    assert report.level("group:PlatformAdmins", "shared-services") == Level.write
    seat = report.seats["permission-set:PlatformAdmin@shared-services"]
    assert seat.boundary is not None and seat.boundary.lowered
    # ... and no sts:AssumeRole, so the way into BreakGlassRole is blocked
    cell = report.cell("group:PlatformAdmins", "prod")
    assert cell.level == Level.none
    assert [p.status for p in cell.paths] == ["blocked"]
    assert "boundary SecureCartWorkloadBoundary" in cell.paths[0].reason


def test_a_read_only_boundary_caps_at_read(example_project: Path) -> None:
    def add_boundary(data: dict[str, Any]) -> None:
        data["policies"].append(
            {
                "name": "ReadBoundary",
                "document": {
                    "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*", "s3:Get*"], "Resource": "*"}]
                },
            }
        )
        named(data["identity_center"]["permission_sets"], "PlatformAdmin")["permissions_boundary"] = {
            "policy": "ReadBoundary"
        }

    edit_matrix(example_project, add_boundary)
    report = report_of(example_project)
    assert report.level("group:PlatformAdmins", "shared-services") == Level.read


def test_trust_without_permission_to_assume_is_blocked(example_project: Path) -> None:
    def drop_assume_policy(data: dict[str, Any]) -> None:
        named(data["identity_center"]["permission_sets"], "DeveloperAccess")["customer_managed_policies"] = []

    edit_matrix(example_project, drop_assume_policy)
    report = report_of(example_project)
    cell = report.cell("group:Developers", "dev")
    assert cell.level == Level.none
    (path,) = cell.paths
    assert path.status == "blocked"
    assert "sts:AssumeRole" in path.reason
    assert report.level("group:Developers", "shared-services") == Level.read


# ------------------------------------------------------------------------------------ actions and policies


def test_action_levels_come_from_the_iam_reference() -> None:
    assert action_level("s3:putobject") == Level.write
    assert action_level("s3:getobject") == Level.read
    assert action_level("iam:attachrolepolicy") == Level.write  # permissions management
    assert action_level("ec2:createtags") == Level.write  # tagging
    # the reference files this read of permissions under "Permissions management"; it only reads
    assert action_level("quicksight:describedatasetpermissions") == Level.read


def test_wildcards_expand_to_the_actions_they_name() -> None:
    gets = expand("s3:Get*")
    assert "s3:getobject" in gets
    assert "s3:putobject" not in gets
    assert level_of(expand("s3:Get*")) == Level.read
    assert level_of(["sts:assumerole"]) == Level.none  # a hop, followed as a trust chain


def test_aws_managed_policies_from_the_table_and_from_moto() -> None:
    policy = "arn:aws:iam::aws:policy/"
    assert managed_policy_level(policy + "AdministratorAccess") == Level.admin
    assert managed_policy_level(policy + "PowerUserAccess") == Level.write
    assert managed_policy_level(policy + "ReadOnlyAccess") == Level.read
    assert managed_policy_level(policy + "job-function/ViewOnlyAccess") == Level.read
    assert managed_policy_level(policy + "SecurityAudit") == Level.read
    # not in the table: classified from moto's bundled documents
    assert managed_policy_level(policy + "AmazonDynamoDBReadOnlyAccess") == Level.read
    assert managed_policy_level(policy + "AmazonEC2FullAccess") == Level.write
    assert managed_policy_level(policy + "NoSuchPolicyAnywhere") is None


# ---------------------------------------------------------------------------------- resource control policies


def test_rcps_show_on_the_organization_tree_and_do_not_count_as_scps(example_project: Path) -> None:
    def add_rcp(data: dict[str, Any]) -> None:
        rcp = {"name": "enforce-tls", "type": "rcp", "builtin": "rcp-enforce-tls", "targets": {"ous": ["WorkloadsOU"]}}
        data["guardrails"].append(rcp)

    edit_matrix(example_project, add_rcp)
    report = report_of(example_project)
    tree = report.to_json()["ou_tree"]
    workloads = named_path(tree, "WorkloadsOU")
    assert workloads["rcps"] == ["enforce-tls"]
    assert "enforce-tls" not in workloads["scps"]
    assert tree["rcps"] == []
    assert report.guardrails["enforce-tls"].type == "rcp"
    # an RCP caps resources, not seats: no seat lists it among the SCPs that restrict it
    assert all(e.guardrail != "enforce-tls" for seat in report.seats.values() for e in seat.scps)
    assert report.level("group:Developers", "dev") == Level.write


def test_rcps_show_on_the_organization_tree_in_markdown_and_html(example_project: Path) -> None:
    from securecart_tf.report.render_html import render as render_html
    from securecart_tf.report.render_md import render as render_md

    def add_rcp(data: dict[str, Any]) -> None:
        rcp = {"name": "enforce-tls", "type": "rcp", "builtin": "rcp-enforce-tls", "targets": {"ous": ["WorkloadsOU"]}}
        data["guardrails"].append(rcp)

    edit_matrix(example_project, add_rcp)
    report = report_of(example_project)
    text = render_md(report)
    tree = text[text.index("## Organization") :]
    tree = tree[: tree.index("\n## ", 1)]

    def attached(name: str) -> dict[str, str]:
        [line] = [line for line in tree.splitlines() if f"- **{name}** — " in line]
        return dict(part.split(": ", 1) for part in line.split(" — ", 1)[1].split("; "))

    assert attached("WorkloadsOU")["RCPs"] == "enforce-tls"
    assert "enforce-tls" not in attached("WorkloadsOU").get("SCPs", "")
    assert "RCPs" not in attached("Root") and "deny-root-user" in attached("Root")["SCPs"]
    assert attached("NonProdOU")["accounts"] == "dev, staging"
    assert "- **enforce-tls** (RCP, attached at WorkloadsOU)" in text

    page = render_html(report)
    box = page[page.index('data-ou="WorkloadsOU"') :]
    head = box[: box.index('<div class="ou-body">')]
    assert 'data-rcp="enforce-tls"' in head and 'data-scp="enforce-tls"' not in head
    listed = page[page.index('id="guardrails"') :]
    heading = listed[listed.index("<h3>enforce-tls") :]
    assert "RCP" in heading[: heading.index("</h3>")]


def named_path(node: dict[str, Any], path: str) -> dict[str, Any]:
    nodes = [node]
    while nodes:
        current = nodes.pop()
        if current["path"] == path:
            return current
        nodes += current["children"]
    raise KeyError(path)
