"""Policy lint: parliament's findings mapped to our rules, and our own rules, each on a matrix that triggers
it and one that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import EXEMPTION, by_rule, check, deny, errors, line_of, one, policy, rules, write_matrix

from securecart_tf.iam.lint import Kind, parliament_issues, unbounded_creation

# ------------------------------------------------------------------------------------ parliament, in SCPs

SEED_SCP = {  # the seed's "Block Non-Compliant S3 Buckets" example, as a policy file
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "s3:PutBucketPolicy",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
        }
    ],
}


def scp_matrix(tmp_path: Path, document: dict[str, Any]) -> Path:
    extra = "guardrails:\n  - name: custom\n    file: scp.json\n    targets: { ous: [WorkloadsOU] }\n"
    return write_matrix(tmp_path, extra, {"scp.json": document})


def test_the_seed_scp_is_reported_for_a_condition_key_its_action_does_not_support(tmp_path: Path) -> None:
    path = scp_matrix(tmp_path, SEED_SCP)
    f = one(check(path), "condition-key-not-supported")
    assert (f.severity, f.subject, f.location.line) == ("error", "custom", line_of(path, "file: scp.json"))
    assert (
        "statement #1: condition key s3:x-amz-server-side-encryption does not apply to s3:PutBucketPolicy" in f.message
    )


def test_the_encryption_key_on_put_object_is_supported(tmp_path: Path) -> None:
    condition = {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}, **EXEMPTION}
    path = scp_matrix(tmp_path, policy(deny("DenyPlainObjects", ["s3:PutObject"], "*", condition)))
    assert check(path) == []


def test_an_unknown_action_is_a_warning(tmp_path: Path) -> None:
    path = scp_matrix(tmp_path, policy(deny("DenyTypo", ["s3:PutBuckitPolicy"], "*", EXEMPTION)))
    f = one(check(path), "unknown-action")
    assert (f.severity, f.subject, f.location.line) == ("warning", "custom", line_of(path, "file: scp.json"))
    assert 'statement "DenyTypo": s3:PutBuckitPolicy is not an IAM action' in f.message
    path = scp_matrix(tmp_path, policy(deny("DenyTypo", ["s3:PutBucketPolicy"], "*", EXEMPTION)))
    assert check(path) == []


def test_region_deny_with_not_action_is_not_checked_against_the_excluded_actions(tmp_path: Path) -> None:
    # Parliament would check s3:x-amz-acl against iam:* (the actions this statement does NOT cover).
    statement = {
        "Sid": "DenyPublicAcls",
        "Effect": "Deny",
        "NotAction": ["iam:*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}, **EXEMPTION},
    }
    assert "condition-key-not-supported" not in rules(check(scp_matrix(tmp_path, policy(statement))))


# ----------------------------------------------------------------------------- parliament, in policies


def customer_policy(tmp_path: Path, document: dict[str, Any], *, admin: bool = False, boundary: bool = False) -> Path:
    use = "    permissions_boundary: { policy: Custom }\n" if boundary else "    managed_policies: [Custom]\n"
    extra = f"""
policies:
  - name: Custom
    file: custom.json
roles:
  - name: AppRole
    audience: ci
    environments: [dev]
    admin: {str(admin).lower()}
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/app:ref:refs/heads/main" }}
{use}"""
    return write_matrix(tmp_path, extra, {"custom.json": document})


def allow(actions: Any, resources: Any, condition: dict[str, Any] | None = None, sid: str = "Grant") -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition is not None:
        statement["Condition"] = condition
    return statement


READ_OBJECTS = allow("s3:GetObject", "arn:aws:s3:::acme-data/*")


@pytest.mark.parametrize(
    ("rule", "severity", "bad", "text"),
    [
        (
            "malformed-policy",
            "error",
            {**READ_OBJECTS, "Effect": "Permit"},
            "Effect must be either Allow or Deny",
        ),
        ("malformed-policy", "error", {**READ_OBJECTS, "Sid": "read-objects"}, "may only hold letters and digits"),
        ("invalid-arn", "error", {**READ_OBJECTS, "Resource": "arn:aws:s3"}, "is not a valid ARN"),
        (
            "condition-type-mismatch",
            "error",
            {**READ_OBJECTS, "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}},
            "aws:CurrentTime requires a value of type Date",
        ),
        (
            "mfa-condition-pattern",
            "error",
            {**READ_OBJECTS, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
            "does not enforce MFA",
        ),
        (
            "resource-mismatch",
            "warning",
            {**READ_OBJECTS, "Resource": "arn:aws:s3:::acme-data"},
            "no listed resource matches s3:GetObject",
        ),
        (
            "condition-operator-type",
            "info",
            allow(
                "iam:CreateRole",
                "arn:aws:iam::*:role/app-*",
                {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/Bound"}},
            ),
            "StringEquals requires a value of type String but given Arn",
        ),
    ],
)
def test_parliament_statement_findings_point_at_the_policy(
    tmp_path: Path, rule: str, severity: str, bad: dict[str, Any], text: str
) -> None:
    path = customer_policy(tmp_path, policy(bad), boundary=True)
    f = one(check(path), rule)
    assert (f.severity, f.subject, f.location.line) == (severity, "Custom", line_of(path, "file: custom.json"))
    assert text in f.message


def test_a_clean_policy_has_no_parliament_findings(tmp_path: Path) -> None:
    assert check(customer_policy(tmp_path, policy(READ_OBJECTS))) == []


def test_duplicate_sids_are_malformed(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, policy(READ_OBJECTS, allow("s3:ListBucket", "arn:aws:s3:::acme-data")))
    f = one(check(path), "malformed-policy")
    assert (f.severity, f.subject) == ("error", "Custom")
    assert "Duplicate Statement Id 'Grant'" in f.message


def test_a_policy_without_version_is_a_warning(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, {"Statement": [READ_OBJECTS]})
    f = one(check(path), "policy-lint")
    assert (f.severity, f.subject, f.location.line) == ("warning", "Custom", line_of(path, "file: custom.json"))
    assert "no Version" in f.message


def test_bucket_policy_rights_without_object_rights_are_a_warning(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, policy(allow("s3:PutBucketPolicy", "arn:aws:s3:::acme-data")))
    found = by_rule(check(path), "resource-policy-escalation")
    assert {(f.severity, f.subject) for f in found} == {("warning", "Custom")}
    path = customer_policy(tmp_path, policy(allow("s3:PutBucketPolicy", "arn:aws:s3:::acme-data")), boundary=True)
    assert by_rule(check(path), "resource-policy-escalation") == []  # a boundary grants nothing


def test_an_unknown_principal_in_a_trust_policy_is_reported() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "sts:AssumeRole"}],
    }
    assert [i.rule for i in parliament_issues(trust, Kind.trust)] == ["unknown-principal"]


def test_trust_policies_are_linted_without_identity_policy_noise() -> None:
    github = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:x"}},
            }
        ],
    }
    # no "missing Resource", no "unknown federation source", no IdP claim reported as an unknown key
    assert parliament_issues(github, Kind.trust) == []
    # but a wrong key on sts:AssumeRole is still caught
    wrong = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/Caller"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}},
            }
        ],
    }
    assert [i.rule for i in parliament_issues(wrong, Kind.trust)] == ["condition-key-not-supported"]


def test_generated_trust_and_service_policies_of_a_matrix_lint_clean(tmp_path: Path) -> None:
    extra = """
roles:
  - name: Deployer
    audience: ci
    environments: [dev, prod]
    trust:
      principals:
        - oidc: { subject: "repo:acme/app:environment:{environment}" }
        - role: { role: Builder, account: dev }
service_roles:
  - name: worker
    service: ecs-tasks
    environments: [dev]
    s3:
      - { bucket: "acme-{environment}-data", access: write }
    dynamodb:
      - { table: jobs, access: write }
    rds:
      - { resource_id: "db-ABC", db_user: worker }
"""
    assert check(write_matrix(tmp_path, extra)) == []


# ---------------------------------------------------------------------------------------- our own rules


def test_allow_of_every_action_outside_an_admin_role_is_an_error(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, policy(allow("*", "*")))
    f = one(check(path), "wildcard-action")
    assert (f.severity, f.subject, f.location.line) == ("error", "Custom", line_of(path, "file: custom.json"))
    assert 'allows Action "*"' in f.message and "(attached to role AppRole)" in f.message
    assert "wildcard-action" not in rules(check(customer_policy(tmp_path, policy(allow("*", "*")), admin=True)))


def test_aws_administrator_access_on_a_role_not_marked_admin_is_an_error(tmp_path: Path) -> None:
    def matrix(admin: bool) -> Path:
        extra = f"""
roles:
  - name: OpsRole
    audience: platform
    environments: [dev]
    admin: {str(admin).lower()}
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/ops:ref:refs/heads/main" }}
    managed_policies:
      - arn:aws:iam::aws:policy/ReadOnlyAccess
      - arn:aws:iam::aws:policy/AdministratorAccess
"""
        return write_matrix(tmp_path, extra)

    path = matrix(admin=False)
    found = check(path)
    f = one(found, "wildcard-action")
    assert (f.severity, f.subject, f.location.line) == ("error", "OpsRole", line_of(path, "AdministratorAccess"))
    assert one(found, "privilege-escalation-without-boundary").subject == "OpsRole"
    assert check(matrix(admin=True)) == []


def test_allow_with_not_action_is_a_wildcard(tmp_path: Path) -> None:
    statement = {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    f = one(check(customer_policy(tmp_path, policy(statement))), "wildcard-action")
    assert "NotAction grants every action except iam:*" in f.message


def test_write_actions_on_every_resource_outside_an_admin_role_are_a_warning(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, policy(allow(["s3:GetObject", "s3:PutObject"], "*")))
    f = one(check(path), "wildcard-resource-write")
    assert (f.severity, f.subject, f.location.line) == ("warning", "Custom", line_of(path, "file: custom.json"))
    assert 'allows 1 write action(s) on Resource "*" that could name their resources: s3:PutObject' in f.message


@pytest.mark.parametrize(
    ("document", "admin", "boundary"),
    [
        (policy(allow(["s3:PutObject"], "arn:aws:s3:::acme-data/*")), False, False),  # scoped
        (policy(allow(["s3:GetObject", "s3:ListBucket"], "*")), False, False),  # reads only
        (policy(allow(["ec2:CreateDefaultVpc"], "*")), False, False),  # a write that cannot name one
        (policy(allow(["s3:PutObject"], "*")), True, False),  # admin
        (policy(allow(["s3:PutObject"], "*")), False, True),  # a boundary caps, it grants nothing
    ],
)
def test_write_on_every_resource_is_fine_when_scoped_read_only_unavoidable_admin_or_a_boundary(
    tmp_path: Path, document: dict[str, Any], admin: bool, boundary: bool
) -> None:
    assert "wildcard-resource-write" not in rules(
        check(customer_policy(tmp_path, document, admin=admin, boundary=boundary))
    )


def test_a_permission_set_inline_policy_granting_everything_needs_admin(tmp_path: Path) -> None:
    def matrix(admin: bool) -> Path:
        text = f"""
identity_center:
  identity_source: {{ provider: okta }}
  permission_sets:
    - name: Ops
      admin: {str(admin).lower()}
      inline_policy:
        Statement:
          - {{ Sid: Everything, Effect: Allow, Action: "*", Resource: "*" }}
"""
        return write_matrix(tmp_path, text)

    path = matrix(admin=False)
    f = one(check(path), "wildcard-action")
    assert (f.severity, f.subject, f.location.line) == ("error", "Ops", line_of(path, "inline_policy:"))
    assert f.message.startswith('permission set \'Ops\' inline policy statement "Everything": allows Action "*"')
    assert check(matrix(admin=True)) == []


def test_passrole_on_any_role_is_an_error(tmp_path: Path) -> None:
    path = customer_policy(tmp_path, policy(allow("iam:PassRole", "*", sid="Pass")))
    found = check(path)
    f = one(found, "passrole-wildcard")
    assert (f.severity, f.subject, f.location.line) == ("error", "Custom", line_of(path, "file: custom.json"))
    assert "statement \"Pass\": allows iam:PassRole on '*'" in f.message
    assert "wildcard-resource-write" not in rules(found)  # one finding for one problem
    path = customer_policy(tmp_path, policy(allow("iam:PassRole", "arn:aws:iam::*:role/checkout-service")))
    assert check(path) == []


# ------------------------------------------------------------------------------------------------ trust


def role_matrix(tmp_path: Path, principals: str, *, audience: str = "ci", trust: str = "", extra: str = "") -> Path:
    text = f"""
roles:
  - name: TheRole
    audience: {audience}
    environments: [dev]
    trust:
      principals:
{principals}
{trust}{extra}"""
    return write_matrix(tmp_path, text)


def test_trust_in_an_external_account_without_external_id_is_an_error(tmp_path: Path) -> None:
    trust = "      expires: 2099-12-31\n"
    path = role_matrix(
        tmp_path, '        - external: { account_id: "999988887777" }  # vendor', audience="vendor", trust=trust
    )
    f = one(check(path), "trust-root-without-external-id")
    assert (f.severity, f.subject, f.location.line) == ("error", "TheRole", line_of(path, "# vendor"))
    assert "external account 999988887777 without an ExternalId" in f.message
    with_id = '        - external: { account_id: "999988887777", external_id: acme-7f3a }'
    assert check(role_matrix(tmp_path, with_id, audience="vendor", trust=trust)) == []


def test_trust_in_another_organization_accounts_root_is_a_warning(tmp_path: Path) -> None:
    path = role_matrix(tmp_path, "        - account: prod  # root")
    f = one(check(path), "trust-root-without-external-id")
    assert (f.severity, f.subject, f.location.line) == ("warning", "TheRole", line_of(path, "# root"))
    assert "root of account 'prod' in dev" in f.message
    # the role's own account root delegates to IAM in that account: not another account
    assert check(role_matrix(tmp_path, "        - account: dev")) == []


def test_a_human_role_trusting_iam_principals_without_mfa_is_an_error(tmp_path: Path) -> None:
    principal = "        - role: { role: Jumpbox, account: prod }"
    path = role_matrix(tmp_path, principal, audience="human")
    f = one(check(path), "trust-human-without-mfa")
    assert (f.severity, f.subject, f.location.line) == ("error", "TheRole", line_of(path, "    trust:"))
    assert check(role_matrix(tmp_path, principal, audience="human", trust="      require_mfa: true\n")) == []


def test_identity_center_trust_needs_mfa_at_the_identity_source(tmp_path: Path) -> None:
    def matrix(mfa: str) -> Path:
        ic = f"""
identity_center:
  identity_source: {{ provider: okta, mfa: {mfa} }}
  permission_sets:
    - name: Dev
"""
        principal = "        - identity_center: { permission_set: Dev, account: dev }"
        return role_matrix(tmp_path, principal, audience="human", extra=ic)

    path = matrix("disabled")
    f = one(check(path), "trust-human-without-mfa")
    assert (f.severity, f.subject, f.location.line) == ("error", "TheRole", line_of(path, "identity_source:"))
    assert check(matrix("required")) == []


@pytest.mark.parametrize(("trust", "needle"), [("", "    trust:"), ("      expires: 2020-01-31\n", "expires:")])
def test_a_vendor_role_without_expiry_or_expired_is_an_error(tmp_path: Path, trust: str, needle: str) -> None:
    principal = '        - external: { account_id: "999988887777", external_id: acme-7f3a }'
    path = role_matrix(tmp_path, principal, audience="vendor", trust=trust)
    f = one(check(path), "vendor-role-expiry")
    assert (f.severity, f.subject, f.location.line) == ("error", "TheRole", line_of(path, needle))


def test_a_vendor_role_expiring_in_the_future_is_fine(tmp_path: Path) -> None:
    principal = '        - external: { account_id: "999988887777", external_id: acme-7f3a }'
    assert check(role_matrix(tmp_path, principal, audience="vendor", trust="      expires: 2099-12-31\n")) == []


@pytest.mark.parametrize(
    ("placement", "needle"),
    [("environments: [dev, prod]", "environments: [dev, prod]"), ("accounts: [dev, prod]", "accounts: [dev, prod]")],
)
def test_a_developer_role_in_prod_is_an_error(tmp_path: Path, placement: str, needle: str) -> None:
    def matrix(placement: str) -> Path:
        text = f"""
roles:
  - name: DeveloperRole
    audience: ci
    {placement}
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/app:ref:refs/heads/main" }}
"""
        return write_matrix(tmp_path, text)

    path = matrix(placement)
    f = one(check(path), "developer-role-in-prod")
    assert (f.severity, f.subject, f.location.line) == ("error", "DeveloperRole", line_of(path, needle))
    assert "prod account(s) prod" in f.message
    assert check(matrix(placement.replace(", prod", ""))) == []


# --------------------------------------------------------------------------------- privilege escalation

CREATE_ROLES = allow(["iam:CreateRole", "iam:AttachRolePolicy"], "*", sid="MakeRoles")
FORCED = allow(
    ["iam:CreateRole", "iam:AttachRolePolicy"],
    "*",
    {"ArnEquals": {"iam:PermissionsBoundary": "arn:aws:iam::*:policy/Bound"}},
    sid="OnlyBounded",
)


def escalation_matrix(tmp_path: Path, boundary: dict[str, Any] | None) -> Path:
    files: dict[str, Any] = {"grant.json": policy(CREATE_ROLES)}
    policies = "  - name: Grant\n    file: grant.json\n"
    use = ""
    if boundary is not None:
        files["bound.json"] = boundary
        policies += "  - name: Bound\n    file: bound.json\n"
        use = "    permissions_boundary: { policy: Bound }  # boundary\n"
    text = f"""
policies:
{policies}roles:
  - name: Builder
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/infra:ref:refs/heads/main" }}
    managed_policies: [Grant]
{use}"""
    return write_matrix(tmp_path, text, files)


def test_a_role_that_can_create_roles_without_a_boundary_is_an_error(tmp_path: Path) -> None:
    path = escalation_matrix(tmp_path, None)
    f = one(check(path), "privilege-escalation-without-boundary")
    assert (f.severity, f.subject, f.location.line) == ("error", "Builder", line_of(path, "name: Builder"))
    assert "can iam:CreateRole, iam:AttachRolePolicy, but it has no permissions boundary" in f.message


def test_a_boundary_that_does_not_force_boundaries_is_an_error_at_the_boundary(tmp_path: Path) -> None:
    path = escalation_matrix(tmp_path, policy(CREATE_ROLES))
    f = one(check(path), "privilege-escalation-without-boundary")
    assert (f.subject, f.location.line) == ("Builder", line_of(path, "# boundary"))
    assert "its boundary Bound does not require iam:PermissionsBoundary" in f.message


def test_a_boundary_that_forces_boundaries_on_what_it_creates_is_fine(tmp_path: Path) -> None:
    assert "privilege-escalation-without-boundary" not in rules(check(escalation_matrix(tmp_path, policy(FORCED))))


def _amplify_admin(tmp_path: Path, boundary: str) -> Path:
    return write_matrix(
        tmp_path,
        f"""
roles:
  - name: AmplifyDeployer
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/web:ref:refs/heads/main" }}
    managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess-Amplify]
{boundary}""",
        {"bound.json": policy(FORCED)},
    )


def test_an_aws_managed_policy_that_creates_roles_is_read_from_its_published_document(tmp_path: Path) -> None:
    # AWS's AdministratorAccess-Amplify allows iam:CreateRole, iam:AttachRolePolicy and iam:PutRolePolicy on "*"
    f = one(check(_amplify_admin(tmp_path, "")), "privilege-escalation-without-boundary")
    assert f.subject == "AmplifyDeployer"
    assert "iam:CreateRole" in f.message and "but it has no permissions boundary" in f.message
    forced = "policies:\n  - name: Bound\n    file: bound.json\n"
    path = _amplify_admin(tmp_path, "    permissions_boundary: { policy: Bound }\n" + forced)
    found = check(path)
    assert "privilege-escalation-without-boundary" not in rules(found)
    assert [f.rule for f in errors(found)] == []  # every check ran, and none objects


def test_a_boundary_that_denies_role_creation_is_fine() -> None:
    blocks = policy(allow("*", "*"), {"Sid": "No", "Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert unbounded_creation([policy(CREATE_ROLES)], blocks) == []
    assert unbounded_creation([policy(CREATE_ROLES)], policy(allow("s3:*", "*"))) == []
    assert unbounded_creation([policy(allow("iam:Get*", "*"))], None) == []


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"Action": [1]}, "Action must be a string or a list of strings"),
        ({"Condition": "oops"}, "Condition must map operators to {key: values} objects"),
        (
            {"Condition": {"StringEquals": ["aws:PrincipalTag/team"]}},
            "Condition must map operators to {key: values} objects",
        ),
    ],
)
def test_elements_of_the_wrong_type_are_malformed_not_a_crash(change: dict[str, Any], text: str) -> None:
    issues = parliament_issues(policy({**READ_OBJECTS, **change}), Kind.identity)
    assert [(i.rule, i.message) for i in issues] == [("malformed-policy", f'statement "Grant": {text}')]


def test_a_permission_set_or_service_role_that_can_create_roles_needs_a_forcing_boundary(tmp_path: Path) -> None:
    def matrix(admin: bool) -> Path:
        text = f"""
policies:
  - name: Grant
    file: grant.json
identity_center:
  identity_source: {{ provider: okta }}
  permission_sets:
    - name: Builders
      admin: {str(admin).lower()}
      customer_managed_policies: [Grant]
service_roles:
  - name: provisioner
    service: lambda
    environments: [dev]
    managed_policies: [Grant]
"""
        return write_matrix(tmp_path, text, {"grant.json": policy(CREATE_ROLES)})

    path = matrix(admin=False)
    found = by_rule(check(path), "privilege-escalation-without-boundary")
    assert {(f.subject, f.location.line) for f in found} == {
        ("Builders", line_of(path, "name: Builders")),
        ("provisioner", line_of(path, "name: provisioner")),
    }
    assert {f.subject for f in by_rule(check(matrix(admin=True)), "privilege-escalation-without-boundary")} == {
        "provisioner"
    }


@pytest.mark.parametrize(
    ("boundary", "escalates"),
    [("AdministratorAccess", True), ("PowerUserAccess", False)],  # PowerUserAccess allows no iam:CreateRole
)
def test_an_aws_managed_boundary_cannot_force_boundaries(tmp_path: Path, boundary: str, escalates: bool) -> None:
    text = f"""
roles:
  - name: IamAdmin
    audience: ci
    environments: [dev]
    trust:
      principals:
        - oidc: {{ subject: "repo:acme/iam:ref:refs/heads/main" }}
    managed_policies: [arn:aws:iam::aws:policy/IAMFullAccess]
    permissions_boundary: arn:aws:iam::aws:policy/{boundary}
"""
    path = write_matrix(tmp_path, text)
    found = check(path)
    assert one(found, "wildcard-resource-write").location.line == line_of(path, "IAMFullAccess")
    assert one(found, "passrole-wildcard").subject == "IamAdmin"
    escalation = by_rule(found, "privilege-escalation-without-boundary")
    assert bool(escalation) is escalates
    if escalates:
        assert escalation[0].location.line == line_of(path, "permissions_boundary:")
        assert f"its boundary {boundary} is AWS-managed and cannot force boundaries" in escalation[0].message


@pytest.mark.parametrize(("expires", "expired"), [("2027-06-30", True), ("2027-07-01", False)])
def test_vendor_trust_ends_at_midnight_utc_on_its_expiry_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expires: str, expired: bool
) -> None:
    import datetime as dt

    from securecart_tf.checks import roles as checks

    monkeypatch.setattr(checks, "today", lambda: dt.date(2027, 6, 30))
    principal = '        - external: { account_id: "999988887777", external_id: acme-7f3a }'
    path = role_matrix(tmp_path, principal, audience="vendor", trust=f"      expires: {expires}\n")
    assert ("vendor-role-expiry" in rules(check(path))) is expired
