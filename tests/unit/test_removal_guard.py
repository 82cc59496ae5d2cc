"""What a plan may not remove, and what destroy keeps: judged from Terraform's plan events and state."""

from __future__ import annotations

from typing import Any

from securecart_tf.run.guards import removal_refusal, split_for_destroy
from securecart_tf.run.terraform import ResourceChange

ACCOUNT = "module.organization.aws_organizations_account.this"


def _state(closing: dict[str, bool]) -> dict[str, Any]:
    return {
        "resources": [
            {
                "module": "module.organization",
                "mode": "managed",
                "type": "aws_organizations_account",
                "name": "this",
                "instances": [
                    {"index_key": name, "attributes": {"name": name, "close_on_deletion": flag}}
                    for name, flag in closing.items()
                ],
            }
        ]
    }


def _change(action: str, index: str, kind: str = "aws_organizations_account") -> ResourceChange:
    return ResourceChange(address=f'{ACCOUNT}["{index}"]', action=action, resource_type=kind, index=index)


def test_removing_or_replacing_an_account_not_marked_closing_is_refused() -> None:
    state = _state({"alpha": False, "beta": False})
    removed = removal_refusal([_change("delete", "beta")], state)
    assert removed is not None and "remove account 'beta'" in removed
    replaced = removal_refusal([_change("replace", "alpha"), _change("update", "beta")], state)
    assert replaced is not None and "replace account 'alpha'" in replaced and "beta" not in replaced
    assert "closing: true" in replaced


def test_an_account_applied_with_closing_may_be_removed_and_other_changes_pass() -> None:
    state = _state({"alpha": False, "beta": True})
    assert removal_refusal([_change("delete", "beta")], state) is None
    assert removal_refusal([_change("update", "alpha"), _change("create", "gamma")], state) is None
    policy = ResourceChange('module.scp.aws_organizations_policy.this["x"]', "delete", "aws_organizations_policy")
    assert removal_refusal([policy], state) is None


def test_deleting_the_organization_is_always_refused() -> None:
    org = ResourceChange(
        "module.organization.aws_organizations_organization.this", "delete", "aws_organizations_organization"
    )
    refusal = removal_refusal([org], _state({}))
    assert refusal is not None and "delete the organization" in refusal


def test_destroy_keeps_the_organization_its_accounts_and_the_log_bucket_and_key() -> None:
    def resource(module: str, kind: str, name: str, mode: str = "managed") -> dict[str, Any]:
        return {"module": module, "mode": mode, "type": kind, "name": name, "instances": [{"attributes": {}}]}

    organization = {
        "resources": [
            resource("module.organization", "aws_organizations_organization", "this"),
            resource("module.organization", "aws_organizations_organizational_unit", "level1"),
            resource("module.organization", "aws_organizations_account", "this"),
            resource("module.organization", "aws_organizations_delegated_administrator", "this"),
            resource("module.service_control_policies", "aws_organizations_policy", "this"),
            resource("module.organization", "aws_caller_identity", "current", mode="data"),
        ]
    }
    destroyable, kept = split_for_destroy("organization", organization)
    assert destroyable == [
        "module.organization.aws_organizations_delegated_administrator.this",
        "module.service_control_policies.aws_organizations_policy.this",
    ]
    assert kept == [
        "module.organization.aws_organizations_organization.this",
        "module.organization.aws_organizations_organizational_unit.level1",
        "module.organization.aws_organizations_account.this",
    ]
    security = {
        "resources": [
            resource("module.security_baseline", "aws_kms_key", "logs"),
            resource("module.security_baseline", "aws_s3_bucket", "logs"),
            resource("module.security_baseline", "aws_s3_bucket_policy", "logs"),
            resource("module.security_baseline", "aws_cloudtrail", "organization"),
        ]
    }
    destroyable, kept = split_for_destroy("security", security)
    assert destroyable == ["module.security_baseline.aws_cloudtrail.organization"]
    assert len(kept) == 3
    # an access stack keeps nothing: its roles and policies go
    destroyable, kept = split_for_destroy(
        "access", {"resources": [resource('module.role["Dev"]', "aws_iam_role", "this")]}
    )
    assert (destroyable, kept) == (['module.role["Dev"].aws_iam_role.this'], [])
