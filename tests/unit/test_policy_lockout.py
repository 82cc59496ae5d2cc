"""Lockout: no SCP Deny may hit the deployment or break-glass role in an account it targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import EXEMPTION, by_rule, check, deny, line_of, one, policy, rules, write_matrix

from securecart_tf.policy.lockout import excludes

REGIONS = {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}


def region_deny(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyOtherRegions",
        "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*"],
        "Resource": "*",
        "Condition": condition,
    }


def scp_matrix(tmp_path: Path, document: dict[str, Any], targets: str = "{ ous: [WorkloadsOU] }") -> Path:
    extra = f"guardrails:\n  - name: regions\n    file: scp.json\n    targets: {targets}\n"
    return write_matrix(tmp_path, extra, {"scp.json": document})


def test_a_region_deny_without_the_exemption_locks_out_both_platform_roles(tmp_path: Path) -> None:
    path = scp_matrix(tmp_path, policy(region_deny(REGIONS)))
    found = by_rule(check(path), "scp-lockout")
    assert {(f.severity, f.subject, f.location.line) for f in found} == {
        ("error", "regions", line_of(path, "file: scp.json"))
    }
    messages = sorted(f.message for f in found)
    tail = "in dev, prod: it has no aws:PrincipalArn exemption covering it"
    assert messages == [
        f"guardrail 'regions' statement \"DenyOtherRegions\" can deny BreakGlassRole (the break-glass role) {tail}",
        "guardrail 'regions' statement \"DenyOtherRegions\" can deny OrganizationAccountAccessRole "
        f"(the deployment role) {tail}",
    ]


def test_a_region_deny_exempting_both_roles_passes(tmp_path: Path) -> None:
    assert check(scp_matrix(tmp_path, policy(region_deny({**REGIONS, **EXEMPTION})))) == []


def test_an_exemption_for_the_deployment_role_only_still_locks_out_break_glass(tmp_path: Path) -> None:
    only_deploy = {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}
    found = by_rule(check(scp_matrix(tmp_path, policy(region_deny({**REGIONS, **only_deploy})))), "scp-lockout")
    assert [f.message.split(" can deny ")[1].split(" ")[0] for f in found] == ["BreakGlassRole"]


def test_an_unnamed_statement_is_named_by_its_position(tmp_path: Path) -> None:
    document = policy(
        deny("Fine", ["s3:DeleteBucket"], "*", EXEMPTION), {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}
    )
    found = by_rule(check(scp_matrix(tmp_path, document)), "scp-lockout")
    assert {f.message.split(" can deny ")[0] for f in found} == {"guardrail 'regions' statement #2"}


def test_a_deny_that_only_matches_the_root_user_needs_no_exemption(tmp_path: Path) -> None:
    root_only = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
    assert check(scp_matrix(tmp_path, policy(deny("DenyRoot", ["*"], "*", root_only)))) == []


def test_a_guardrail_on_the_management_account_is_noted_and_not_counted_for_lockout(tmp_path: Path) -> None:
    path = scp_matrix(tmp_path, policy(region_deny(REGIONS)), targets="{ accounts: [management] }  # mgmt")
    found = check(path)
    f = one(found, "scp-management-account")
    assert (f.severity, f.subject, f.location.line) == ("info", "regions", line_of(path, "# mgmt"))
    assert "SCPs never restrict the management account" in f.message
    assert "scp-lockout" not in rules(found)


def test_a_guardrail_at_the_root_is_noted_for_the_management_account(tmp_path: Path) -> None:
    path = scp_matrix(tmp_path, policy(region_deny({**REGIONS, **EXEMPTION})), targets='{ ous: ["/"] }')
    f = one(check(path), "scp-management-account")
    assert "through the root" in f.message


def test_a_guardrail_below_the_root_does_not_mention_the_management_account(tmp_path: Path) -> None:
    assert "scp-management-account" not in rules(
        check(scp_matrix(tmp_path, policy(region_deny({**REGIONS, **EXEMPTION}))))
    )


ROLE = "arn:aws:iam::123456789012:role/OrganizationAccountAccessRole"


@pytest.mark.parametrize(
    ("condition", "excluded"),
    [
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}, True),
        ({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/Organization*"}}, True),
        (
            {
                "StringNotLike": {
                    "aws:PrincipalArn": ["arn:aws:iam::*:role/Other", "*:role/OrganizationAccountAccessRole"]
                }
            },
            True,
        ),
        ({"StringNotEquals": {"aws:PrincipalArn": ROLE}}, True),
        ({"StringNotEqualsIfExists": {"aws:PrincipalArn": ROLE}}, True),
        ({"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}, False),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassRole"}}, False),
        # an Arn wildcard does not reach across the colon-separated parts of an ARN
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*OrganizationAccountAccessRole"}}, False),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}, True),
        ({"StringEquals": {"aws:PrincipalType": "Root"}}, True),
        ({"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}, False),
        ({"ForAnyValue:StringNotLike": {"aws:PrincipalArn": "*"}}, False),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}, True),
        ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/${aws:username}"}}, False),
        ({}, False),
    ],
)
def test_which_conditions_keep_a_deny_off_a_role(condition: dict[str, Any], excluded: bool) -> None:
    assert excludes({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}, ROLE) is excluded
