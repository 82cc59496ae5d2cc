"""`drift` without Terraform: classifying drift events, import blocks, unmanaged items, the report.

Every input is written by hand, in the shapes Terraform (state format 4, plan files, `show -json`) and the
AWS APIs produce. Expected addresses and import IDs follow the provider's documented import formats and
the rendered roots (templates/*.tf.j2), written out here, not taken from the code under test.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from securecart_tf.config.schema import DriftIgnore
from securecart_tf.drift import (
    Assignment,
    Change,
    DriftReport,
    DriftStatus,
    ImportBlock,
    Instance,
    Role,
    ScpAttachment,
    StackDrift,
    Unmanaged,
    attribute_changes,
    classify,
    instances,
    normalize,
    plan_snapshots,
    render,
    set_aside_ignored,
    show_snapshots,
    unmanaged_assignments,
    unmanaged_roles,
    unmanaged_scp_attachments,
)
from securecart_tf.run.status import StackStatus
from securecart_tf.run.terraform import ResourceChange

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
AUDIT_ROLE = 'module.role["AuditRole"].aws_iam_role.this'


def _state(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "x", "resources": list(resources)}


def _resource(module: str, type_: str, name: str, *instances_: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    return {
        "module": module,
        "mode": "managed",
        "type": type_,
        "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [
            {"index_key": key, "schema_version": 0, "attributes": attrs, "sensitive_attributes": []}
            for key, attrs in instances_
        ],
    }


def _audit_role(managed_policy_arns: list[str], tags: Any = None) -> dict[str, Any]:
    return _resource(
        'module.role["AuditRole"]',
        "aws_iam_role",
        "this",
        (None, {"name": "AuditRole", "managed_policy_arns": managed_policy_arns, "tags": tags, "inline_policy": []}),
    )


def _read_only_attachment() -> dict[str, Any]:
    return _resource(
        'module.role["AuditRole"]',
        "aws_iam_role_policy_attachment",
        "this",
        (READ_ONLY, {"id": "AuditRole-2026", "role": "AuditRole", "policy_arn": READ_ONLY}),
    )


def _event(address: str, action: str = "update", type_: str = "aws_iam_role") -> ResourceChange:
    return ResourceChange(address=address, action=action, resource_type=type_)


# ---- normalization -----------------------------------------------------------------------------------


def test_null_and_empty_values_are_the_same_absence() -> None:
    assert normalize(None) == normalize({}) == normalize([]) == normalize("") == normalize([{"regions": []}])
    assert normalize({"a": None, "b": 1}) == normalize({"b": 1})


def test_a_policy_document_compares_by_content_not_formatting() -> None:
    compact = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
    spaced = (
        '{\n  "Statement": [{"Resource": "*", "Action": "s3:GetObject", "Effect": "Allow"}],\n'
        '  "Version": "2012-10-17"\n}'
    )
    assert normalize(compact) == normalize(spaced)
    assert normalize(compact) != normalize(compact.replace("GetObject", "PutObject"))


def test_false_is_a_value_not_an_absence() -> None:
    assert normalize(False) is False
    assert normalize(False) != normalize(None)


def test_sets_compare_without_order() -> None:
    assert normalize(["b", "a"]) == normalize(["a", "b"])


# ---- attribute changes -------------------------------------------------------------------------------


def test_tags_appearing_as_an_empty_map_after_refresh_is_no_change() -> None:
    before = Instance("x", "aws_kms_key", {"tags": None, "description": "logs"})
    after = Instance("x", "aws_kms_key", {"tags": {}, "description": "logs"})
    assert attribute_changes(before, after) == []


def test_a_real_change_names_the_attribute_and_both_values() -> None:
    before = Instance("x", "aws_guardduty_detector", {"enable": True, "tags": None})
    after = Instance("x", "aws_guardduty_detector", {"enable": False, "tags": {}})
    (change,) = attribute_changes(before, after)
    assert (change.name, change.before, change.after) == ("enable", True, False)
    assert change.detail == "true → false"


def test_bucket_settings_owned_by_their_own_resources_are_set_aside() -> None:
    before = Instance("b", "aws_s3_bucket", {"versioning": [{"enabled": False}], "policy": "", "bucket": "logs"})
    after = Instance("b", "aws_s3_bucket", {"versioning": [{"enabled": True}], "policy": '{"a":1}', "bucket": "logs"})
    assert attribute_changes(before, after) == []


def test_how_many_use_a_policy_is_not_a_change_of_the_policy() -> None:
    before = Instance("p", "aws_iam_policy", {"attachment_count": 0, "policy": '{"Statement":[]}'})
    after = Instance("p", "aws_iam_policy", {"attachment_count": 1, "policy": '{"Statement":[]}'})
    assert attribute_changes(before, after) == []
    edited = Instance("p", "aws_iam_policy", {"attachment_count": 1, "policy": '{"Statement":[{"Effect":"Allow"}]}'})
    assert [c.name for c in attribute_changes(before, edited)] == ["policy"]


def test_a_sensitive_attribute_never_shows_its_value() -> None:
    before = Instance("k", "aws_iam_access_key", {"secret": "old-secret"}, frozenset({"secret"}))
    after = Instance("k", "aws_iam_access_key", {"secret": "new-secret"}, frozenset({"secret"}))
    (change,) = attribute_changes(before, after)
    assert "secret" not in json.dumps([change.before, change.after, change.detail]).replace('"secret"', "")
    assert change.detail == "sensitive value changed"


# ---- classification ----------------------------------------------------------------------------------


def test_a_policy_attached_to_a_managed_role_by_hand_is_drift_with_an_import_block() -> None:
    previous = instances(_state(_audit_role([READ_ONLY]), _read_only_attachment()))
    refreshed = instances(_state(_audit_role([READ_ONLY, ADMIN]), _read_only_attachment()))
    changes, normalized = classify("access-alpha", "dev", [_event(AUDIT_ROLE)], previous, refreshed)
    assert normalized == []
    (change,) = changes
    assert (change.stack, change.address, change.action) == ("access-alpha", AUDIT_ROLE, "update")
    assert ADMIN in change.summary and READ_ONLY not in change.summary
    assert change.remove == [f"aws iam detach-role-policy --role-name AuditRole --policy-arn {ADMIN}"]
    assert change.imports == [
        ImportBlock(
            "access-alpha",
            f'module.role["AuditRole"].aws_iam_role_policy_attachment.this["{ADMIN}"]',
            f"AuditRole/{ADMIN}",
        )
    ]
    assert "does not undo" in change.hint


def test_policies_terraform_attached_itself_are_only_a_refreshed_mirror() -> None:
    # right after apply the role's managed_policy_arns still reads [] in state; the refresh fills it in
    previous = instances(_state(_audit_role([]), _read_only_attachment()))
    refreshed = instances(_state(_audit_role([READ_ONLY], tags={}), _read_only_attachment()))
    changes, normalized = classify("access-alpha", "dev", [_event(AUDIT_ROLE)], previous, refreshed)
    assert changes == []
    assert normalized == [AUDIT_ROLE]


def test_a_policy_attached_by_hand_to_a_baseline_role_can_only_be_removed() -> None:
    address = "module.security_baseline.aws_iam_role.config_aggregator[0]"
    role = _resource(
        "module.security_baseline",
        "aws_iam_role",
        "config_aggregator",
        (0, {"name": "org-config-aggregator", "managed_policy_arns": []}),
    )
    grown = json.loads(json.dumps(role))
    grown["instances"][0]["attributes"]["managed_policy_arns"] = [ADMIN]
    changes, _ = classify("security", "dev", [_event(address)], instances(_state(role)), instances(_state(grown)))
    (change,) = changes
    assert change.address == address
    assert change.imports == []
    assert change.remove == [f"aws iam detach-role-policy --role-name org-config-aggregator --policy-arn {ADMIN}"]


def test_a_resource_deleted_outside_terraform_is_drift_that_apply_restores() -> None:
    address = 'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave|ou:Workloads"]'
    attachment = _resource(
        "module.service_control_policies",
        "aws_organizations_policy_attachment",
        "this",
        ("deny-leave|ou:Workloads", {"id": "ou-ab12-cdef3456:p-abcd1234", "policy_id": "p-abcd1234"}),
    )
    event = _event(address, "delete", "aws_organizations_policy_attachment")
    changes, _ = classify("organization", "staging", [event], instances(_state(attachment)), instances(_state()))
    (change,) = changes
    assert (change.address, change.action, change.summary) == (address, "delete", "deleted outside Terraform")
    assert "securecart-tf apply --env staging --refresh" in change.hint


def test_an_event_without_snapshots_is_still_reported() -> None:
    changes, normalized = classify("organization", "dev", [_event("module.x.aws_y.z")], {}, {})
    assert [c.address for c in changes] == ["module.x.aws_y.z"]
    assert normalized == []


def test_addresses_follow_terraforms_module_and_key_syntax() -> None:
    state = _state(
        _audit_role([]),
        _resource("", "aws_kms_key", "logs", (None, {})),
        _resource("module.security_baseline", "aws_cloudtrail", "organization", (0, {})),
        {"mode": "data", "type": "aws_partition", "name": "current", "instances": [{"attributes": {}}]},
    )
    assert set(instances(state)) == {
        AUDIT_ROLE,
        "aws_kms_key.logs",
        "module.security_baseline.aws_cloudtrail.organization[0]",
    }


# ---- snapshots ---------------------------------------------------------------------------------------


def test_the_plan_file_carries_the_state_before_and_after_the_refresh(tmp_path: Path) -> None:
    planfile = tmp_path / "access-alpha.tfplan"
    with zipfile.ZipFile(planfile, "w") as z:
        z.writestr("tfplan", b"\x00binary")
        z.writestr("tfstate-prev", json.dumps(_state(_audit_role([READ_ONLY]))))
        z.writestr("tfstate", json.dumps(_state(_audit_role([READ_ONLY, ADMIN]))))
    snapshots = plan_snapshots(planfile)
    assert snapshots is not None
    previous, refreshed = snapshots
    assert previous[AUDIT_ROLE].attributes["managed_policy_arns"] == [READ_ONLY]
    assert refreshed[AUDIT_ROLE].attributes["managed_policy_arns"] == [READ_ONLY, ADMIN]


def test_an_unreadable_plan_file_gives_no_snapshots(tmp_path: Path) -> None:
    not_zip = tmp_path / "a.tfplan"
    not_zip.write_bytes(b"not a zip")
    assert plan_snapshots(not_zip) is None
    assert plan_snapshots(tmp_path / "missing.tfplan") is None
    other = tmp_path / "b.tfplan"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("tfplan", b"")
    assert plan_snapshots(other) is None


def test_show_json_gives_the_same_two_snapshots() -> None:
    role_after = {"name": "AuditRole", "managed_policy_arns": [READ_ONLY, ADMIN]}
    plan = {
        "prior_state": {
            "values": {
                "root_module": {
                    "child_modules": [
                        {
                            "address": 'module.role["AuditRole"]',
                            "resources": [
                                {
                                    "address": AUDIT_ROLE,
                                    "mode": "managed",
                                    "type": "aws_iam_role",
                                    "values": role_after,
                                    "sensitive_values": {},
                                }
                            ],
                        }
                    ]
                }
            }
        },
        "resource_drift": [
            {
                "address": AUDIT_ROLE,
                "type": "aws_iam_role",
                "change": {
                    "actions": ["update"],
                    "before": {"name": "AuditRole", "managed_policy_arns": [READ_ONLY]},
                    "after": role_after,
                },
            },
            {
                "address": "aws_kms_key.gone",
                "type": "aws_kms_key",
                "change": {"actions": ["delete"], "before": {"id": "k"}, "after": None},
            },
        ],
    }
    previous, refreshed = show_snapshots(plan)
    assert previous[AUDIT_ROLE].attributes["managed_policy_arns"] == [READ_ONLY]
    assert refreshed[AUDIT_ROLE].attributes["managed_policy_arns"] == [READ_ONLY, ADMIN]
    assert "aws_kms_key.gone" in previous and "aws_kms_key.gone" not in refreshed


# ---- import blocks -----------------------------------------------------------------------------------


def test_an_import_block_is_valid_hcl_with_a_quoted_id() -> None:
    block = ImportBlock("access-beta", 'module.role["HandRole"].aws_iam_role.this', "HandRole")
    assert block.hcl() == 'import {\n  to = module.role["HandRole"].aws_iam_role.this\n  id = "HandRole"\n}\n'


# ---- not managed: SCP attachments --------------------------------------------------------------------

TARGETS = {"r-root1": "root", "ou-root1-work0001": "ou:Workloads", "111122223333": "account:alpha"}


def test_an_scp_attached_by_hand_gets_the_attachment_import_of_the_organization_root() -> None:
    actual = [
        ScpAttachment("p-FullAWSAccess", "FullAWSAccess", "ou-root1-work0001", "Workloads", aws_managed=True),
        ScpAttachment("p-deny0001", "deny-leave", "r-root1", "Root"),
        ScpAttachment("p-deny0001", "deny-leave", "ou-root1-work0001", "Workloads"),
    ]
    found = unmanaged_scp_attachments(
        actual,
        managed={("p-deny0001", "r-root1")},
        managed_policies={"p-deny0001": "deny-leave"},
        target_keys=TARGETS,
        guardrail_of={"deny-leave": "deny-leave"},
        environment="dev",
    )
    (item,) = found
    assert (item.kind, item.account, item.stack) == ("scp-attachment", "Workloads", "organization")
    assert item.imports == [
        ImportBlock(
            "organization",
            'module.service_control_policies.aws_organizations_policy_attachment.this["deny-leave|ou:Workloads"]',
            "ou-root1-work0001:p-deny0001",
        )
    ]
    assert item.remove == ["aws organizations detach-policy --policy-id p-deny0001 --target-id ou-root1-work0001"]
    assert "guardrail 'deny-leave'" in item.hint and "ous: [Workloads]" in item.hint


def test_an_scp_the_matrix_lacks_is_imported_with_its_attachment() -> None:
    actual = [ScpAttachment("p-hand0001", "hand-made", "111122223333", "alpha")]
    (item,) = unmanaged_scp_attachments(actual, set(), {}, TARGETS, {}, "dev")
    assert [(b.to, b.id) for b in item.imports] == [
        ('module.service_control_policies.aws_organizations_policy.this["hand-made"]', "p-hand0001"),
        (
            'module.service_control_policies.aws_organizations_policy_attachment.this["hand-made|account:alpha"]',
            "111122223333:p-hand0001",
        ),
    ]


def test_an_scp_on_a_target_outside_the_matrix_can_only_be_detached() -> None:
    actual = [ScpAttachment("p-deny0001", "deny-leave", "ou-root1-hand0001", "HandOU")]
    (item,) = unmanaged_scp_attachments(actual, set(), {"p-deny0001": "deny-leave"}, TARGETS, {}, "dev")
    assert item.imports == []
    assert "HandOU is not in the matrix" in item.hint


def test_a_packed_guardrail_part_points_the_hint_at_its_guardrail() -> None:
    actual = [ScpAttachment("p-part0002", "regions-2", "r-root1", "Root")]
    (item,) = unmanaged_scp_attachments(
        actual, set(), {"p-part0002": "regions-2"}, TARGETS, {"regions-2": "regions"}, "dev"
    )
    assert "guardrail 'regions'" in item.hint and 'ous: ["/"]' in item.hint
    assert item.imports[-1].to.endswith('this["regions-2|root"]')


# ---- not managed: assignments ------------------------------------------------------------------------

INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
PS = "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef"


def _assignment(kind: str = "GROUP", name: str = "Engineers", account: str = "222233334444") -> Assignment:
    return Assignment(kind, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", name, account, PS, "EngineerAccess", INSTANCE)


def test_an_assignment_made_by_hand_gets_the_documented_import_id() -> None:
    managed_id = f"f81d4fae-7dec-11d0-a765-00a0c91e6bf6,GROUP,111122223333,AWS_ACCOUNT,{PS},{INSTANCE}"
    actual = [_assignment(account="111122223333"), _assignment()]
    found = unmanaged_assignments(
        actual,
        {managed_id},
        {"111122223333": "alpha", "222233334444": "beta"},
        {"Engineers"},
        {"EngineerAccess"},
        "dev",
    )
    (item,) = found
    assert (item.kind, item.account, item.stack) == ("assignment", "beta", "identity-center")
    assert item.imports == [
        ImportBlock(
            "identity-center",
            'module.identity_center.aws_ssoadmin_account_assignment.this["Engineers|EngineerAccess|beta"]',
            f"f81d4fae-7dec-11d0-a765-00a0c91e6bf6,GROUP,222233334444,AWS_ACCOUNT,{PS},{INSTANCE}",
        )
    ]
    assert "identity_center.assignments" in item.hint


def test_a_user_assignment_cannot_be_declared_only_removed() -> None:
    (item,) = unmanaged_assignments(
        [_assignment("USER", "jane")], set(), {"222233334444": "beta"}, {"Engineers"}, {"EngineerAccess"}, "dev"
    )
    assert item.imports == []
    assert "groups, not users" in item.hint
    assert "--principal-type USER" in item.remove[0]


# ---- not managed: roles ------------------------------------------------------------------------------


def test_only_roles_nobody_manages_are_listed_with_their_imports() -> None:
    actual = [
        Role("AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/"),
        Role("AWSReservedSSO_EngineerAccess_0123456789abcdef", "/aws-reserved/sso.amazonaws.com/"),
        Role("OrganizationAccountAccessRole", "/", (ADMIN,)),
        Role("AuditRole", "/", (READ_ONLY,)),
        Role("HandRole", "/", (READ_ONLY, "arn:aws:iam::222233334444:policy/SmallReadLogs"), ("extra",)),
    ]
    found = unmanaged_roles(
        "beta",
        actual,
        managed={"AuditRole"},
        platform_roles={"OrganizationAccountAccessRole"},
        customer_policies={"arn:aws:iam::222233334444:policy/SmallReadLogs": "SmallReadLogs"},
        environment="dev",
    )
    (item,) = found
    assert (item.kind, item.account, item.stack) == ("role", "beta", "access-beta")
    role_block, *policy_blocks = item.imports
    assert (role_block.to, role_block.id) == ('module.role["HandRole"].aws_iam_role.this', "HandRole")
    assert {(b.to, b.id) for b in policy_blocks} == {
        (
            'module.role["HandRole"].aws_iam_role_policy_attachment.this["arn:aws:iam::aws:policy/ReadOnlyAccess"]',
            f"HandRole/{READ_ONLY}",
        ),
        (
            'module.role["HandRole"].aws_iam_role_policy_attachment.this["policy:SmallReadLogs"]',
            "HandRole/arn:aws:iam::222233334444:policy/SmallReadLogs",
        ),
        ('module.role["HandRole"].aws_iam_role_policy.this["extra"]', "HandRole:extra"),
    }
    assert item.remove[-1] == "aws iam delete-role --role-name HandRole"
    assert "build/dev/access-beta/imports.tf" in item.hint


# ---- the report --------------------------------------------------------------------------------------


def _unmanaged_role() -> Unmanaged:
    block = ImportBlock("access-beta", 'module.role["HandRole"].aws_iam_role.this', "HandRole")
    return Unmanaged("role", "beta", "role HandRole", "access-beta", "adopt it", ["aws iam delete-role"], [block])


def test_exit_codes_follow_detailed_exitcode() -> None:
    clean = [StackDrift("organization", "management", "clean")]
    assert DriftReport("dev", "r1", "sandbox:s", clean).exit_code() == 0
    drifted = [
        StackDrift("access-alpha", "alpha", "drifted", [Change("access-alpha", AUDIT_ROLE, "aws_iam_role", "update")])
    ]
    assert DriftReport("dev", "r1", "sandbox:s", drifted).exit_code() == 2
    assert DriftReport("dev", "r1", "sandbox:s", clean, [_unmanaged_role()]).exit_code() == 2
    failed = [*drifted, StackDrift("identity-center", "management", "failed", message="boom")]
    assert DriftReport("dev", "r1", "sandbox:s", failed).exit_code() == 1
    assert DriftReport("dev", "r1", "sandbox:s", clean, errors=["roles in beta: AccessDenied"]).exit_code() == 1
    not_applied = [StackDrift("access-gamma", "gamma", "not applied")]
    assert DriftReport("dev", "r1", "sandbox:s", not_applied).exit_code() == 0


def test_json_says_whether_it_drifted_and_carries_the_import_blocks() -> None:
    report = DriftReport("dev", "r1", "sandbox:s", [StackDrift("access-beta", "beta", "clean")], [_unmanaged_role()])
    data = json.loads(json.dumps(report.to_json()))
    assert (data["command"], data["drift"], data["exit_code"]) == ("drift", True, 2)
    assert data["unmanaged"][0]["imports"] == [
        {"stack": "access-beta", "to": 'module.role["HandRole"].aws_iam_role.this', "id": "HandRole"}
    ]


def test_import_files_group_blocks_by_stack_once_each() -> None:
    role = _unmanaged_role()
    report = DriftReport("dev", "r1", "sandbox:s", [], [role, role])
    assert report.import_files() == {
        "access-beta": 'import {\n  to = module.role["HandRole"].aws_iam_role.this\n  id = "HandRole"\n}\n'
    }


def _text(report: DriftReport) -> str:
    console = Console(record=True, width=200, color_system=None)
    for part in render(report):
        console.print(part)
    return console.export_text()


def test_the_human_report_names_stack_resource_and_what_to_do() -> None:
    change = Change(
        "access-alpha",
        AUDIT_ROLE,
        "aws_iam_role",
        "update",
        hint="remove it",
        remove=[f"aws iam detach-role-policy --role-name AuditRole --policy-arn {ADMIN}"],
    )
    report = DriftReport(
        "dev",
        "r1",
        "sandbox:s",
        [StackDrift("access-alpha", "alpha", "drifted", [change], normalized=["x", "y"])],
        [_unmanaged_role()],
    )
    text = _text(report)
    assert "Changed outside Terraform" in text and "Exists but not managed" in text
    assert 'module.role["AuditRole"].aws_iam_role.this' in text
    assert "2 normalization(s) set aside" in text
    assert f"aws iam detach-role-policy --role-name AuditRole --policy-arn {ADMIN}" in text
    assert '# To adopt: build/dev/access-beta/imports.tf\nimport {\n  to = module.role["HandRole"]' in text
    assert "drift found: 1 resource(s) changed outside Terraform in 1 stack(s), 1 item(s) not managed" in text


def test_the_human_report_of_a_clean_environment_says_so() -> None:
    text = _text(DriftReport("dev", "r1", "sandbox:s", [StackDrift("organization", "management", "clean")]))
    assert "no drift" in text
    assert "Changed outside Terraform" not in text and "import {" not in text


# ---- drift.ignore ------------------------------------------------------------------------------------

REASON = "owned by the monitoring vendor's CloudFormation stack"


def _found() -> list[Unmanaged]:
    """One of each kind, as the scans report them."""
    roles = unmanaged_roles(
        "beta",
        [Role("DatadogIntegration", "/"), Role("HandRole", "/")],
        managed=set(),
        platform_roles=set(),
        customer_policies={},
        environment="dev",
    )
    assignments = unmanaged_assignments(
        [_assignment(), _assignment("USER", "jane")], set(), {"222233334444": "beta"}, set(), set(), "dev"
    )
    scps = unmanaged_scp_attachments(
        [ScpAttachment("p-legacy01", "LegacyDenyAll", "ou-root1-work0001", "Workloads")], set(), {}, TARGETS, {}, "dev"
    )
    return roles + assignments + scps


def _ignore(**rule: Any) -> DriftIgnore:
    return DriftIgnore.model_validate({"reason": REASON, **rule})


def test_an_ignore_rule_sets_aside_only_what_it_names_and_keeps_its_reason() -> None:
    kept, ignored = set_aside_ignored(_found(), [_ignore(kind="role", name="datadog*")])
    assert [i.item.name for i in ignored] == ["role DatadogIntegration"]
    assert ignored[0].reason == REASON
    assert "role HandRole" in [u.name for u in kept] and len(kept) == 4


def test_ignore_rules_match_kind_principal_and_account() -> None:
    found = _found()
    # a role rule never matches an SCP of the same name, nor a role in another account
    assert set_aside_ignored(found, [_ignore(kind="role", name="LegacyDenyAll")])[1] == []
    assert set_aside_ignored(found, [_ignore(kind="role", name="*", accounts=["alpha"])])[1] == []
    _, scp = set_aside_ignored(found, [_ignore(kind="scp-attachment", name="Legacy*")])
    assert [i.item.kind for i in scp] == ["scp-attachment"]
    _, users = set_aside_ignored(found, [_ignore(kind="assignment", name="EngineerAccess", principal="jane")])
    assert [i.item.name for i in users] == ["user jane → EngineerAccess in beta"]
    _, both = set_aside_ignored(found, [_ignore(kind="assignment", name="Engineer*", accounts=["beta"])])
    assert len(both) == 2


def test_ignored_items_are_shown_but_are_not_drift() -> None:
    kept, ignored = set_aside_ignored([_unmanaged_role()], [_ignore(kind="role", name="*")])
    report = DriftReport("dev", "r1", "sandbox:s", [StackDrift("access-beta", "beta", "clean")], kept, ignored=ignored)
    assert report.exit_code() == 0
    text = _text(report)
    assert "ignored by drift.ignore" in text and REASON in text and "role HandRole" in text
    assert "import {" not in text
    data = json.loads(json.dumps(report.to_json()))
    assert data["ignored"] == [{"item": data["ignored"][0]["item"], "reason": REASON}]
    assert data["ignored"][0]["item"]["name"] == "role HandRole"


def test_principal_is_only_for_assignments_and_a_reason_is_required() -> None:
    with pytest.raises(ValueError, match="'principal' applies only to kind 'assignment'"):
        _ignore(kind="role", name="x", principal="jane")
    with pytest.raises(ValueError, match="at least 10 characters"):
        DriftIgnore.model_validate({"kind": "role", "name": "x", "reason": "because"})


def test_each_drift_status_has_its_ledger_word_and_only_failures_fail() -> None:
    # the ledger spells results with hyphens, as earlier versions wrote them and readers expect
    words = {
        "clean": "no-drift",
        "drifted": "drift",
        "not applied": "not-applied",
        "failed": "failed",
        "timed out": "timed-out",
        "interrupted": "interrupted",
    }
    assert {status.value: status.ledger for status in DriftStatus} == words
    assert {s.value for s in DriftStatus if s.failed} == {"failed", "timed out", "interrupted"}
    assert [StackDrift("organization", "management", word).failed for word in words] == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_a_stack_whose_check_did_not_finish_looks_as_in_plan_and_apply() -> None:
    for status in ("failed", "timed out", "interrupted"):
        assert DriftStatus(status).style == StackStatus(status).style
    assert [DriftStatus(s).style for s in ("clean", "drifted", "not applied")] == ["green", "yellow", "dim"]


def test_a_stack_whose_last_state_was_not_saved_is_not_compared_with_the_older_one() -> None:
    """Until errored.tfstate is pushed, the backend's state predates what the last apply made: a refresh from it
    would call that apply's resources unmanaged. The stack fails with where the state is and how to push it."""
    from types import SimpleNamespace

    from securecart_tf.drift.scan import refresh_stack

    def no_terraform(stack: str) -> None:
        raise AssertionError("Terraform ran on the older state")

    heard: list[tuple[str, ...]] = []
    why = "an earlier apply could not save its state and left it in /b/dev/org/errored.tfstate: push it"
    run = SimpleNamespace(
        unsaved_state=lambda stack: why,
        state_exists=lambda stack: True,
        runner=no_terraform,
        before_plan=no_terraform,
        listen=lambda *said: heard.append(said),
    )
    result = refresh_stack(run, SimpleNamespace(name="organization", account="management"))  # type: ignore[arg-type]
    assert result.status == DriftStatus.FAILED and result.message == why
    assert heard == [("organization", DriftStatus.FAILED, why)]
