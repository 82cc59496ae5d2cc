"""Lockout: an SCP Deny is an error only where it can deny the deployment role what its Terraform does, or
the break-glass role what it needs to recover; anything else that binds them is noted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import BASE, EXEMPTION, by_rule, check, deny, line_of, one, policy, rules, write_matrix

from securecart_tf.iam.lockout import excludes

REGIONS = {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}


def region_deny(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyOtherRegions",
        "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*"],
        "Resource": "*",
        "Condition": condition,
    }


BREAK_GLASS_ONLY = {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassRole"}}


def scp_matrix(
    tmp_path: Path, document: dict[str, Any], targets: str = "{ ous: [WorkloadsOU] }", roles: str = ""
) -> Path:
    extra = f"guardrails:\n  - name: regions\n    file: scp.json\n    targets: {targets}\n{roles}"
    return write_matrix(tmp_path, extra, {"scp.json": document})


ROLES = """
roles:
  - name: AppDeploy
    audience: ci
    environments: [dev, prod]
    trust:
      principals:
        - oidc: { subject: "repo:acme/app:ref:refs/heads/main" }
"""


def test_a_region_deny_that_spares_iam_only_binds_the_platform_roles(tmp_path: Path) -> None:
    # IAM and STS are excluded, so nothing the roles need is denied: an info finding, not an error.
    path = scp_matrix(tmp_path, policy(region_deny(REGIONS)))
    found = check(path)
    assert "scp-lockout" not in rules(found)
    notes = sorted(f.message for f in by_rule(found, "scp-binds-platform-role"))
    assert notes == [
        "guardrail 'regions' statement \"DenyOtherRegions\" also binds BreakGlassRole (the break-glass role): "
        "every action except iam:*, sts:* in dev, prod",
        "guardrail 'regions' statement \"DenyOtherRegions\" also binds OrganizationAccountAccessRole (the "
        "deployment role): every action except iam:*, sts:* in dev, prod",
    ]
    assert {f.severity for f in found} == {"info"}


def test_a_region_deny_that_covers_iam_outside_us_east_1_locks_out_both_roles(tmp_path: Path) -> None:
    # IAM requests carry aws:RequestedRegion us-east-1; allowing only eu-west-1 denies them.
    statement = region_deny({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})
    statement["NotAction"] = ["cloudfront:*"]
    path = scp_matrix(tmp_path, policy(statement), roles=ROLES)
    found = by_rule(check(path), "scp-lockout")
    assert {(f.severity, f.subject, f.location.line) for f in found} == {
        ("error", "regions", line_of(path, "file: scp.json"))
    }
    deploy = next(f.message for f in found if "OrganizationAccountAccessRole" in f.message)
    assert deploy.startswith(
        "guardrail 'regions' statement \"DenyOtherRegions\" can deny OrganizationAccountAccessRole (the deployment "
        "role) iam:CreateRole, iam:GetRole"
    )
    assert deploy.endswith("in dev, prod, which its Terraform needs")
    glass = next(f.message for f in found if "BreakGlassRole" in f.message)
    assert "BreakGlassRole (the break-glass role) sts:AssumeRole, iam:CreateRole" in glass


def test_a_region_deny_allowing_us_east_1_does_not_lock_out_iam(tmp_path: Path) -> None:
    statement = region_deny(REGIONS)
    statement["NotAction"] = ["cloudfront:*"]
    found = check(scp_matrix(tmp_path, policy(statement), roles=ROLES))
    assert "scp-lockout" not in rules(found)
    assert len(by_rule(found, "scp-binds-platform-role")) == 2


def test_a_deny_on_what_the_deployment_role_does_is_an_error_only_where_it_has_a_stack(tmp_path: Path) -> None:
    document = policy(deny("NoRoleChanges", ["iam:PutRolePolicy", "iam:AttachRolePolicy"], "*", BREAK_GLASS_ONLY))
    path = scp_matrix(tmp_path, document, roles=ROLES.replace("[dev, prod]", "[prod]"))
    found = check(path)
    [f] = by_rule(found, "scp-lockout")
    assert f.message == (
        "guardrail 'regions' statement \"NoRoleChanges\" can deny OrganizationAccountAccessRole (the deployment "
        "role) iam:PutRolePolicy, iam:AttachRolePolicy in prod, which its Terraform needs"
    )
    [note] = by_rule(found, "scp-binds-platform-role")
    assert note.message.endswith("iam:PutRolePolicy, iam:AttachRolePolicy in dev")


def test_a_deny_on_roles_the_stack_does_not_manage_is_not_a_lockout(tmp_path: Path) -> None:
    document = policy(
        deny("ProtectAudit", ["iam:PutRolePolicy", "iam:DeleteRole"], "arn:aws:iam::*:role/Audit*", BREAK_GLASS_ONLY)
    )
    found = check(scp_matrix(tmp_path, document, roles=ROLES))
    assert "scp-lockout" not in rules(found)
    assert rules(found) == {"scp-binds-platform-role"}


def test_an_unnamed_statement_is_named_by_its_position(tmp_path: Path) -> None:
    document = policy(
        deny("Fine", ["s3:DeleteBucket"], "*", EXEMPTION), {"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}
    )
    found = by_rule(check(scp_matrix(tmp_path, document)), "scp-binds-platform-role")
    assert {f.message.split(" also binds ")[0] for f in found} == {"guardrail 'regions' statement #2"}
    assert {f.message.split(": ", 1)[1] for f in found} == {"ec2:* in dev, prod"}


def test_a_deny_that_exempts_the_role_by_condition_is_silent(tmp_path: Path) -> None:
    document = policy(deny("NoRoleChanges", ["iam:*"], "*", EXEMPTION))
    assert check(scp_matrix(tmp_path, document, roles=ROLES)) == []


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
        # keys a direct call never carries: absent, so only a negated or ...IfExists operator holds
        ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}, False),
        ({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:lambda:*:*:function:x"}}, False),
        ({"StringNotEquals": {"aws:SourceOrgID": "o-abcdef1234"}}, False),
        # where the call comes from is not known here: the Terraform runner may be anywhere
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, False),
        ({"StringEquals": {"aws:SourceVpc": "vpc-0123456789abcdef0"}}, False),
        ({"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}, False),
        ({}, False),
    ],
)
def test_which_conditions_keep_a_deny_off_a_role(condition: dict[str, Any], excluded: bool) -> None:
    assert excludes({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}, ROLE) is excluded


# ------------------------------------------------------------------ what the stacks manage, account by account

SECURITY = """
  - name: security
    email: security@acme.example
    ou: WorkloadsOU
security_baseline:
  account: security
  cloudtrail: {cloudtrail}
  guardduty: true
  config: false
  access_analyzer: true
"""


def baseline_matrix(
    tmp_path: Path, document: dict[str, Any], cloudtrail: bool = True, base: str = BASE, roles: str = ""
) -> Path:
    extra = SECURITY.format(cloudtrail=str(cloudtrail).lower())
    extra += "guardrails:\n  - name: regions\n    file: scp.json\n    targets: { ous: [WorkloadsOU] }\n" + roles
    return write_matrix(tmp_path, extra, {"scp.json": document}, base)


def test_a_deny_on_the_baseline_is_an_error_in_the_security_account_only(tmp_path: Path) -> None:
    document = policy(deny("NoNewTrails", ["cloudtrail:CreateTrail", "kms:CreateKey"], "*", BREAK_GLASS_ONLY))
    found = check(baseline_matrix(tmp_path, document))
    [f] = by_rule(found, "scp-lockout")
    assert f.message == (
        "guardrail 'regions' statement \"NoNewTrails\" can deny OrganizationAccountAccessRole (the deployment "
        "role) kms:CreateKey, cloudtrail:CreateTrail in security, which its Terraform needs"
    )
    [note] = by_rule(found, "scp-binds-platform-role")
    assert note.message.endswith(": cloudtrail:CreateTrail, kms:CreateKey in dev, prod")


def test_a_deny_on_a_baseline_service_switched_off_is_not_a_lockout(tmp_path: Path) -> None:
    document = policy(deny("NoNewTrails", ["cloudtrail:CreateTrail"], "*", BREAK_GLASS_ONLY))
    found = check(baseline_matrix(tmp_path, document, cloudtrail=False))
    assert "scp-lockout" not in rules(found)
    [note] = by_rule(found, "scp-binds-platform-role")
    assert note.message.endswith(": cloudtrail:CreateTrail in dev, prod, security")


def test_protecting_the_baseline_from_teardown_is_not_a_lockout(tmp_path: Path) -> None:
    teardown = ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "guardduty:DeleteDetector"]
    teardown += ["kms:ScheduleKeyDeletion", "kms:DisableKey"]
    found = check(baseline_matrix(tmp_path, policy(deny("Protect", teardown, "*", BREAK_GLASS_ONLY))))
    assert "scp-lockout" not in rules(found)


HOME_EU = BASE.replace("  name: acme\n", "  name: acme\n  home_region: eu-west-1\n")


def test_a_region_deny_is_judged_against_the_home_region_and_iam_in_us_east_1(tmp_path: Path) -> None:
    only_us = region_deny({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}, **BREAK_GLASS_ONLY})
    [f] = by_rule(check(baseline_matrix(tmp_path, policy(only_us), base=HOME_EU)), "scp-lockout")
    assert f.message.startswith(
        "guardrail 'regions' statement \"DenyOtherRegions\" can deny OrganizationAccountAccessRole (the deployment "
        "role) kms:CreateKey,"
    )
    assert f.message.endswith(" in security, which its Terraform needs")
    # The home region allowed: the baseline's calls go there, IAM's to us-east-1, which NotAction spares anyway.
    only_eu = region_deny({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}, **BREAK_GLASS_ONLY})
    assert "scp-lockout" not in rules(check(baseline_matrix(tmp_path, policy(only_eu), base=HOME_EU)))
    # IAM is global: its requests carry us-east-1 even when the home region is eu-west-1.
    iam_too = {**only_eu, "NotAction": ["sts:*"]}
    [f] = by_rule(check(baseline_matrix(tmp_path, policy(iam_too), base=HOME_EU, roles=ROLES)), "scp-lockout")
    assert "(the deployment role) iam:CreateRole, iam:GetRole" in f.message
    # security too: the trail delivers to CloudWatch Logs through an IAM role the baseline creates
    assert f.message.endswith(" in dev, prod, security, which its Terraform needs")


def test_a_deny_on_oidc_providers_is_an_error_where_the_access_stack_manages_one(tmp_path: Path) -> None:
    actions = ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"]
    document = policy(deny("NoProviders", actions, "*", BREAK_GLASS_ONLY))
    path = scp_matrix(tmp_path, document, roles=ROLES.replace("[dev, prod]", "[prod]"))
    found = check(path)
    [f] = by_rule(found, "scp-lockout")
    assert f.message.endswith(
        "(the deployment role) iam:CreateOpenIDConnectProvider, iam:TagOpenIDConnectProvider in prod, which its "
        "Terraform needs"
    )
    [note] = by_rule(found, "scp-binds-platform-role")
    assert note.message.endswith("in dev")
