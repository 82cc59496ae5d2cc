"""The import writer: live inventories built by hand, and the project files they become.

Expected values are written from each scenario, never read from the writer. Cases the schema already knows are
loaded with the project loader and validated; the shapes the schema is still gaining (a `service` principal,
a trust policy file, inline policies, a role path) are checked on the written YAML.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from securecart_tf.adopt.inventory import (
    CustomerPolicyRef,
    Inventory,
    LiveAccount,
    LiveAccountIam,
    LiveAssignment,
    LiveCustomerPolicy,
    LiveDelegatedAdmin,
    LiveGroup,
    LiveIdentityCenter,
    LiveOidcProvider,
    LivePermissionSet,
    LivePolicy,
    LiveRole,
    LiveUnit,
    Skipped,
)
from securecart_tf.adopt.write import Written, write_project
from securecart_tf.adopt.yamltext import Commented, dump
from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.errors import SecureCartError
from securecart_tf.findings import Severity
from securecart_tf.iam.guardrails import GLOBAL_SERVICES

ORG = "o-abcdefghij"
ROOT = "r-ab12"
MGMT, SECURITY, DEV, STAGING, PROD, OLD = (
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
)
VENDOR = "999988887777"
WORKLOADS, NONPROD, PRODOU, SECOU = "ou-ab12-aaaaaaa1", "ou-ab12-aaaaaaa2", "ou-ab12-aaaaaaa3", "ou-ab12-aaaaaaa4"
INSTANCE = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
PS_DEV = f"{INSTANCE.replace(':instance/', ':permissionSet/')}/ps-1111111111111111"
PS_AUDIT = f"{INSTANCE.replace(':instance/', ':permissionSet/')}/ps-2222222222222222"
GH = "token.actions.githubusercontent.com"
SSO_PATH = f"arn:aws:iam::{SECURITY}:role/aws-reserved/sso.amazonaws.com"
ALLOW_READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
EXEMPT = {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]}}

DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyLeaveOrganization",
            "Effect": "Deny",
            "Action": "organizations:LeaveOrganization",  # a string where the library writes a list: the same
            "Resource": "*",
            "Condition": {
                "ArnNotLike": {
                    "aws:PrincipalArn": [
                        "arn:aws:iam::*:role/BreakGlassRole",
                        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
                    ]
                }
            },
        }
    ],
}
REGIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyOutsideAllowedRegions",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "organizations:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]},
                "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/OrganizationAccountAccessRole"]},
            },
        }
    ],
}
DENY_PUBLIC_S3 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "KeepBlockPublicAccess",
            "Effect": "Deny",
            "Action": ["s3:PutAccountPublicAccessBlock"],
            "Resource": "*",
            "Condition": EXEMPT,
        }
    ],
}


def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role(name: str, account: str, trust: dict[str, Any], **kw: Any) -> LiveRole:
    path = kw.pop("path", "/")
    return LiveRole(
        name=name,
        path=path,
        arn=f"arn:aws:iam::{account}:role{path}{name}",
        description=kw.pop("description", ""),
        trust_policy=trust,
        max_session_duration=kw.pop("max_session_duration", 3600),
        permissions_boundary=kw.pop("permissions_boundary", None),
        **kw,
    )


def _shop_read(account: str) -> LiveCustomerPolicy:
    return LiveCustomerPolicy("ShopRead", "/", f"arn:aws:iam::{account}:policy/ShopRead", "Read the shop", ALLOW_READ)


ACCOUNT_TRUST = _trust(
    {
        "Sid": "Accountsecurity",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{SECURITY}:root"},
        "Action": "sts:AssumeRole",
    }
)


def _deploy_role(account: str) -> LiveRole:
    return _role(
        "DeployRole",
        account,
        ACCOUNT_TRUST,
        description="Deploys from the security account",
        managed_policies=(f"arn:aws:iam::{account}:policy/ShopRead", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    )


def organization() -> Inventory:
    """A clean brownfield organization: every object in it is one the matrix expresses."""
    return Inventory(
        organization_id=ORG,
        management_account_id=MGMT,
        root_id=ROOT,
        feature_set="ALL",
        enabled_policy_types=("SERVICE_CONTROL_POLICY",),
        service_access_principals=("sso.amazonaws.com",),
        home_region="us-east-1",
        units=(
            LiveUnit(SECOU, "Security", "Security", ROOT),
            LiveUnit(WORKLOADS, "Workloads", "Workloads", ROOT),
            LiveUnit(NONPROD, "NonProd", "Workloads/NonProd", WORKLOADS),
            LiveUnit(PRODOU, "Prod", "Workloads/Prod", WORKLOADS),
        ),
        accounts=(
            LiveAccount(MGMT, "Management Account", "aws-mgmt@shop.example", ROOT),
            LiveAccount(SECURITY, "Security Tooling", "aws-security@shop.example", SECOU),
            LiveAccount(DEV, "Dev", "aws-dev@shop.example", NONPROD),
            LiveAccount(STAGING, "Staging", "aws-staging@shop.example", NONPROD),
            LiveAccount(PROD, "Prod", "aws-prod@shop.example", PRODOU),
            LiveAccount(OLD, "Old Sandbox", "aws-old@shop.example", NONPROD, status="SUSPENDED"),
        ),
        policies=(
            LivePolicy("p-FullAWSAccess", "FullAWSAccess", "SERVICE_CONTROL_POLICY", "", {}, (ROOT,), aws_managed=True),
            LivePolicy("p-aaaa1111", "no-leaving", "SERVICE_CONTROL_POLICY", "Stay", DENY_LEAVE, (ROOT,)),
            LivePolicy("p-aaaa2222", "regions", "SERVICE_CONTROL_POLICY", "Two regions", REGIONS, (WORKLOADS, SECOU)),
            LivePolicy("p-aaaa3333", "Deny Public S3", "SERVICE_CONTROL_POLICY", "Keep BPA", DENY_PUBLIC_S3, (PROD,)),
        ),
        identity_center=LiveIdentityCenter(
            instance_arn=INSTANCE,
            identity_store_id="d-1234567890",
            region="us-east-1",
            groups=(
                LiveGroup("g-dev", "Developers", "", scim=True),
                LiveGroup("g-audit", "Auditors", "External auditors", scim=False),
            ),
            permission_sets=(
                LivePermissionSet(
                    PS_DEV,
                    "DevAccess",
                    "Developers' access",
                    "PT8H",
                    managed_policies=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
                    customer_managed_policies=(CustomerPolicyRef("ShopRead"),),
                ),
                LivePermissionSet(
                    PS_AUDIT,
                    "AuditAccess",
                    "",
                    "PT2H",
                    managed_policies=("arn:aws:iam::aws:policy/SecurityAudit",),
                    inline_policy=ALLOW_READ,
                ),
            ),
            assignments=(
                *(LiveAssignment(PS_DEV, "GROUP", "g-dev", acc) for acc in (DEV, STAGING)),
                *(LiveAssignment(PS_AUDIT, "GROUP", "g-audit", acc) for acc in (MGMT, SECURITY, DEV, STAGING, PROD)),
                LiveAssignment(PS_AUDIT, "USER", "u-alice", PROD),
            ),
        ),
        iam=(
            LiveAccountIam(MGMT),
            LiveAccountIam(SECURITY),
            LiveAccountIam(DEV, roles=(_deploy_role(DEV),), policies=(_shop_read(DEV),)),
            LiveAccountIam(STAGING, roles=(_deploy_role(STAGING),), policies=(_shop_read(STAGING),)),
            LiveAccountIam(PROD),
        ),
    )


def _with_iam(inv: Inventory, account: str, *roles: LiveRole, **kw: Any) -> Inventory:
    """`inv` with `roles` (and other IAM fields) added to one account."""
    iam = []
    for entry in inv.iam:
        if entry.account_id == account:
            extra: dict[str, Any] = {k: (*getattr(entry, k), *v) for k, v in kw.items()}
            entry = dataclasses.replace(entry, roles=(*entry.roles, *roles), **extra)
        iam.append(entry)
    return dataclasses.replace(inv, iam=tuple(iam))


def _write(inv: Inventory, **kw: Any) -> Written:
    return write_project(inv, target=kw.pop("target", {"type": "sandbox"}), stages=kw.pop("stages", None), **kw)


def _matrix(written: Written) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(written.files["access-matrix.yaml"])
    return data


def _save(written: Written, folder: Path) -> Path:
    for rel, text in written.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder / "access-matrix.yaml"


def _errors(written: Written, folder: Path) -> list[str]:
    """The error findings of the written project, loaded from `folder` as `validate` loads it."""
    findings = run_checks(load_project(_save(written, folder)))
    return [f"{f.rule}: {f.message}" for f in findings if f.severity == Severity.error]


def _role_entry(written: Written, name: str) -> dict[str, Any]:
    roles: list[dict[str, Any]] = [r for r in _matrix(written).get("roles", []) if r["name"] == name]
    assert len(roles) == 1, roles
    return roles[0]


# ------------------------------------------------------------------------------------------- whole project


def test_a_clean_organization_loads_and_validates_without_errors(tmp_path: Path) -> None:
    written = _write(organization())
    project = load_project(_save(written, tmp_path))
    assert [f for f in run_checks(project) if f.severity == Severity.error] == []
    assert [a.name for a in project.matrix.accounts] == [
        "management-account",
        "dev",
        "prod",
        "security-tooling",
        "staging",
    ]
    assert set(project.environments) == {"main"}
    assert project.environments["main"].stacks == ["organization", "identity-center"]


def test_accounts_keep_their_ids_and_the_management_account_gets_none() -> None:
    accounts = {a["name"]: a for a in _matrix(_write(organization()))["accounts"]}
    assert accounts["management-account"] == {"name": "management-account", "email": "aws-mgmt@shop.example", "ou": "/"}
    assert accounts["security-tooling"] == {
        "name": "security-tooling",
        "email": "aws-security@shop.example",
        "ou": "Security",
        "id": SECURITY,
        "access_role_exists": True,
    }


def test_each_entry_says_where_it_came_from() -> None:
    text = _write(organization()).files["access-matrix.yaml"]
    assert f'# {SECURITY} "Security Tooling"' in text
    assert f"# {NONPROD}" in text
    assert "# p-aaaa2222, attached to 2 targets" in text
    assert f"# arn:aws:iam::{DEV}:role/DeployRole in dev and staging" in text


def test_a_suspended_account_is_left_out_and_listed() -> None:
    written = _write(organization())
    assert OLD not in written.files["access-matrix.yaml"]
    assert [u for u in written.unexpressed if OLD in u] == [
        f"account 'Old Sandbox' ({OLD}) is SUSPENDED: left out of the matrix, with what it holds"
    ]


def test_an_organization_past_the_default_account_quota_writes_the_quota_it_must_have(tmp_path: Path) -> None:
    # 5 active accounts and a suspended one, then 7 more: 13 held, past AWS's default quota of 10
    inv = organization()
    extra = tuple(LiveAccount(f"77777777770{i}", f"Team {i}", f"aws-team{i}@shop.example", NONPROD) for i in range(7))
    bigger = dataclasses.replace(inv, accounts=inv.accounts + extra)
    written = _write(bigger)
    assert _matrix(written)["limits"] == {"accounts_per_organization": 13}
    assert any("accounts_per_organization is 13" in note for note in written.notes)
    project = load_project(_save(written, tmp_path))
    assert [f.rule for f in run_checks(project) if f.severity == Severity.error] == []
    assert "limits" not in _matrix(_write(inv))  # within the default quota: nothing to say


# ---------------------------------------------------------------------------------------------- guardrails


def test_a_policy_equal_to_a_builtin_becomes_builtin_with_inferred_parameters() -> None:
    guardrails = {g["name"]: g for g in _matrix(_write(organization()))["guardrails"]}
    assert guardrails["no-leaving"] == {
        "name": "no-leaving",
        "builtin": "deny-leave-organization",
        "description": "Stay",
        "targets": {"ous": ["/"]},
        "exempt_roles": ["BreakGlassRole"],
    }
    assert guardrails["regions"] == {
        "name": "regions",
        "builtin": "region-allow-list",
        "description": "Two regions",
        "parameters": {"regions": ["eu-west-1", "us-east-1"], "global_services": ["iam:*", "sts:*", "organizations:*"]},
        "targets": {"ous": ["Security", "Workloads"]},
    }


def test_a_custom_scp_becomes_a_policy_file_under_a_name_the_matrix_accepts() -> None:
    written = _write(organization())
    guardrail = next(g for g in _matrix(written)["guardrails"] if g.get("file"))
    assert guardrail == {
        "name": "Deny-Public-S3",
        "file": "policies/scp-Deny-Public-S3.json",
        "description": "Keep BPA",
        "targets": {"accounts": ["prod"]},
    }
    assert json.loads(written.files["policies/scp-Deny-Public-S3.json"]) == DENY_PUBLIC_S3
    assert (
        "policy 'Deny Public S3' (p-aaaa3333) is renamed Deny-Public-S3, a name the matrix accepts" in written.changes
    )
    assert written.adoption.guardrails == {
        "Deny-Public-S3": "p-aaaa3333",
        "no-leaving": "p-aaaa1111",
        "regions": "p-aaaa2222",
    }
    assert written.adoption.guardrail_attachments["regions"] == ["ou:Security", "ou:Workloads"]


def test_a_builtin_whose_exemption_misses_the_deployment_role_stays_a_file() -> None:
    doc = json.loads(json.dumps(DENY_LEAVE))
    doc["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"] = ["arn:aws:iam::*:role/BreakGlassRole"]
    inv = dataclasses.replace(
        organization(), policies=(LivePolicy("p-b1", "no-leaving", "SERVICE_CONTROL_POLICY", "x", doc, (ROOT,)),)
    )
    assert _matrix(_write(inv))["guardrails"][0]["file"] == "policies/scp-no-leaving.json"


def test_an_rcp_equal_to_a_builtin_is_typed_rcp() -> None:
    tls = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:*", "sts:*", "sqs:*", "secretsmanager:*", "kms:*"],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    inv = dataclasses.replace(
        organization(), policies=(LivePolicy("p-r1", "tls", "RESOURCE_CONTROL_POLICY", "TLS", tls, (ROOT,)),)
    )
    assert _matrix(_write(inv))["guardrails"] == [
        {"name": "tls", "type": "rcp", "builtin": "rcp-enforce-tls", "description": "TLS", "targets": {"ous": ["/"]}}
    ]


# ---------------------------------------------------------------------------------------- identity center


def test_identity_center_groups_permission_sets_and_a_placeholder_identity_source() -> None:
    written = _write(organization())
    ic = _matrix(written)["identity_center"]
    assert ic["groups"] == [
        {"name": "Auditors", "source": "created", "description": "External auditors"},
        {"name": "Developers", "source": "scim"},
    ]
    assert ic["permission_sets"] == [
        {
            "name": "AuditAccess",
            "session_duration": "PT2H",
            "managed_policies": ["arn:aws:iam::aws:policy/SecurityAudit"],
            "inline_policy": ALLOW_READ,
        },
        {
            "name": "DevAccess",
            "description": "Developers' access",
            "session_duration": "PT8H",
            "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "customer_managed_policies": ["ShopRead"],
        },
    ]
    assert "set provider (and protocol) to yours" in written.files["access-matrix.yaml"]
    assert any("identity_source is a placeholder" in u for u in written.unexpressed)
    adopted = written.adoption.identity_center
    assert adopted is not None
    assert adopted.groups == {"Auditors": "g-audit"}  # SCIM groups are looked up, not imported
    assert adopted.permission_sets == {"AuditAccess": PS_AUDIT, "DevAccess": PS_DEV}
    assert adopted.customer_managed_policies == {"DevAccess": ["/ShopRead"]}
    assert adopted.inline_policies == ["AuditAccess"]


def test_assignments_collapse_to_the_root_and_to_an_ou_they_cover_exactly() -> None:
    # Developers have DevAccess in dev and staging: all of NonProd's active accounts (the suspended one is out)
    ic = _matrix(_write(organization()))["identity_center"]
    assert ic["assignments"] == [
        {"group": "Auditors", "permission_set": "AuditAccess", "ous": ["/"]},
        {"group": "Developers", "permission_set": "DevAccess", "ous": ["Workloads/NonProd"]},
    ]


def test_an_assignment_missing_one_account_of_an_ou_lists_accounts() -> None:
    inv = organization()
    assert inv.identity_center is not None
    kept = tuple(
        a for a in inv.identity_center.assignments if not (a.principal_id == "g-audit" and a.account_id == DEV)
    )
    inv = dataclasses.replace(inv, identity_center=dataclasses.replace(inv.identity_center, assignments=kept))
    ic = _matrix(_write(inv))["identity_center"]
    # Security and Prod are whole OUs; NonProd lacks dev; management sits at the root
    assert ic["assignments"][0] == {
        "group": "Auditors",
        "permission_set": "AuditAccess",
        "ous": ["Security", "Workloads/Prod"],
        "accounts": ["management-account", "staging"],
    }


def test_a_user_assignment_is_listed_not_written() -> None:
    written = _write(organization())
    assert "u-alice" not in written.files["access-matrix.yaml"]
    assert (
        "assignment of AuditAccess to user u-alice in prod: the matrix assigns permission sets to groups only; "
        "left as it is"
    ) in written.unexpressed
    adopted = written.adoption.identity_center
    assert adopted is not None
    assert [(a.group, a.accounts, a.principal_id) for a in adopted.assignments if a.permission_set == "DevAccess"] == [
        ("Developers", ["dev", "staging"], "g-dev")
    ]


# --------------------------------------------------------------------------------------------------- roles


def test_one_role_in_two_accounts_is_one_entry_with_its_policy_and_adoption_record() -> None:
    written = _write(organization())
    assert _role_entry(written, "DeployRole") == {
        "name": "DeployRole",
        "description": "Deploys from the security account",
        "audience": "platform",
        "accounts": ["dev", "staging"],
        "trust": {"principals": [{"account": "security-tooling"}]},
        "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess", {"policy": "ShopRead"}],
    }
    assert _matrix(written)["policies"] == [
        {"name": "ShopRead", "description": "Read the shop", "document": ALLOW_READ}
    ]
    dev = written.adoption.accounts["dev"]
    assert dev.policies == {"ShopRead": f"arn:aws:iam::{DEV}:policy/ShopRead"}
    assert dev.roles["DeployRole"].managed_policies == [
        f"arn:aws:iam::{DEV}:policy/ShopRead",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]
    # the live statement id differs from the one securecart-tf writes, so the first apply rewrites it
    assert (
        "trust policy of role DeployRole in dev: statement id 'Accountsecurity' becomes 'Accountsecuritytooling'"
        in written.changes
    )


def _trust_of(statement: dict[str, Any], account: str = PROD, **kw: Any) -> tuple[Written, dict[str, Any]]:
    written = _write(_with_iam(organization(), account, _role("Probe", account, _trust(statement)), **kw))
    return written, _role_entry(written, "Probe")


def test_trust_shape_role(tmp_path: Path) -> None:
    statement = {
        "Sid": "RoleDeployRole",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEV}:role/DeployRole"},
        "Action": "sts:AssumeRole",
    }
    written, role = _trust_of(statement)
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {"principals": [{"role": {"role": "DeployRole", "account": "dev"}}]}
    assert role["audience"] == "platform"
    assert not any("Probe" in c for c in written.changes)


def test_trust_shape_identity_center_as_securecart_writes_it(tmp_path: Path) -> None:
    statement = {
        "Sid": "IdentityCenterAuditAccess",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{SECURITY}:root"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"{SSO_PATH}/*AWSReservedSSO_AuditAccess_*"}},
    }
    written, role = _trust_of(statement)
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {
        "principals": [{"identity_center": {"permission_set": "AuditAccess", "account": "security-tooling"}}]
    }
    assert role["audience"] == "human"


def test_trust_shape_identity_center_from_the_sso_role_arn_is_rewritten_and_said(tmp_path: Path) -> None:
    sso = f"{SSO_PATH}/eu-west-1/AWSReservedSSO_DevAccess_0123abcd4567ef89"
    written, role = _trust_of({"Effect": "Allow", "Principal": {"AWS": sso}, "Action": "sts:AssumeRole"})
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {
        "principals": [{"identity_center": {"permission_set": "DevAccess", "account": "security-tooling"}}]
    }
    assert [c for c in written.changes if "Probe" in c] == [
        "trust policy of role Probe in prod: DevAccess's Identity Center role is trusted through its account's root "
        "and an ArnLike condition"
    ]


def test_trust_shape_oidc_with_its_provider_in_the_adoption_record(tmp_path: Path) -> None:
    provider = f"arn:aws:iam::{DEV}:oidc-provider/{GH}"
    statement = {
        "Sid": "GitHubActions",
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com", f"{GH}:sub": "repo:shop/app:environment:dev"}},
    }
    oidc = (LiveOidcProvider(provider, GH, ("sts.amazonaws.com",)),)
    written, role = _trust_of(statement, DEV, oidc_providers=oidc)
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {
        "principals": [{"oidc": {"provider": "github", "subject": "repo:shop/app:environment:dev"}}]
    }
    assert role["audience"] == "ci"
    assert written.adoption.accounts["dev"].oidc_providers == {"github": provider}


def test_trust_shape_external_with_external_id_and_expiry(tmp_path: Path) -> None:
    statement = {
        "Sid": f"External{VENDOR}",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"sts:ExternalId": "shop-acme-1"},
            "DateLessThan": {"aws:CurrentTime": "2027-06-30T00:00:00Z"},
        },
    }
    written, role = _trust_of(statement)
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {
        "principals": [{"external": {"account_id": VENDOR, "external_id": "shop-acme-1"}}],
        "expires": "2027-06-30",
    }
    assert role["audience"] == "vendor"


def test_trust_shape_account_with_mfa(tmp_path: Path) -> None:
    statement = {
        "Sid": "Accountdev",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }
    written, role = _trust_of(statement)
    assert _errors(written, tmp_path) == []
    assert role["trust"] == {"principals": [{"account": "dev"}], "require_mfa": True}


def test_trust_shape_service() -> None:
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    _, role = _trust_of(statement)
    assert role["trust"] == {"principals": [{"service": "lambda.amazonaws.com"}]}
    assert role["audience"] == "service"


def test_a_trust_condition_no_shape_renders_keeps_the_live_policy_in_a_file() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DEV}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    }
    written, role = _trust_of(statement)
    assert role["trust"] == {"policy_file": "trust/Probe.json"}
    assert json.loads(written.files["trust/Probe.json"]) == _trust(statement)
    assert any("Probe" in n and "trust/Probe.json" in n for n in written.notes)


def test_path_inline_policies_and_session_length_are_kept() -> None:
    role = _role(
        "Reader",
        PROD,
        ACCOUNT_TRUST,
        path="/team/",
        max_session_duration=7200,
        inline_policies=(("read", ALLOW_READ),),
    )
    entry = _role_entry(_write(_with_iam(organization(), PROD, role)), "Reader")
    assert entry == {
        "name": "Reader",
        "path": "/team/",
        "audience": "platform",
        "accounts": ["prod"],
        "trust": {"principals": [{"account": "security-tooling"}]},
        "inline_policies": [{"name": "read", "document": ALLOW_READ}],
        "max_session_duration": 7200,
    }


def test_the_same_role_name_defined_differently_keeps_the_largest_group_and_lists_the_rest() -> None:
    other = _role("DeployRole", PROD, ACCOUNT_TRUST, description="Something else")
    written = _write(_with_iam(organization(), PROD, other))
    assert _role_entry(written, "DeployRole")["accounts"] == ["dev", "staging"]
    assert (
        "role DeployRole in prod: defined differently from the one in dev and staging, which the matrix keeps; "
        "left as it is, unmanaged"
    ) in written.unexpressed
    assert "prod" not in written.adoption.accounts or "DeployRole" not in written.adoption.accounts["prod"].roles


def test_role_tags_the_matrix_cannot_hold_are_named_as_removed() -> None:
    role = dataclasses.replace(_deploy_role(DEV), tags=(("team", "payments"), ("securecart:audience", "platform")))
    inv = organization()
    iam = tuple(dataclasses.replace(i, roles=(role,)) if i.account_id == DEV else i for i in inv.iam)
    written = _write(dataclasses.replace(inv, iam=iam))
    assert "tags team=payments on role DeployRole in dev are removed by the first apply" in written.changes


def test_an_unused_customer_policy_and_a_skipped_account_are_listed() -> None:
    spare = LiveCustomerPolicy("Spare", "/", f"arn:aws:iam::{PROD}:policy/Spare", "", ALLOW_READ)
    inv = _with_iam(organization(), PROD, policies=(spare,))
    inv = dataclasses.replace(inv, skipped=(Skipped("account prod (555555555555)", "AccessDenied"),))
    written = _write(inv)
    assert (
        f"policy Spare in prod (arn:aws:iam::{PROD}:policy/Spare): not used by any role or permission set the "
        "matrix keeps; left as it is"
    ) in written.unexpressed
    assert "account prod (555555555555): not read (AccessDenied)" in written.unexpressed


# -------------------------------------------------------------------------------------------------- stages


def test_stages_split_the_accounts_and_tag_the_matrix(tmp_path: Path) -> None:
    stages = {"dev": ["security-tooling", "Dev"], "staging": [STAGING], "prod": ["prod"]}
    written = _write(organization(), stages=stages, target={"type": "aws", "profile": "shop-admin"})
    assert sorted(written.files) == [
        "access-matrix.yaml",
        "adopted.yaml",
        "environments/dev.yaml",
        "environments/prod.yaml",
        "environments/staging.yaml",
        "policies/scp-Deny-Public-S3.json",
    ]
    project = load_project(_save(written, tmp_path))
    envs = project.environments
    assert envs["dev"].stacks == ["organization", "identity-center"]
    assert envs["dev"].accounts == ["management-account", "dev", "security-tooling"]
    assert (envs["staging"].promotes_from, envs["staging"].accounts) == ("dev", ["staging"])
    assert (envs["prod"].promotes_from, envs["prod"].accounts) == ("staging", ["prod"])
    assert envs["prod"].target.model_dump() == {
        "type": "aws",
        "profile": "shop-admin",
        "role_name": None,
        "role_name_reason": None,
        "account_profiles": {},
        "external_id": None,
    }
    stage = {a.name: a.environment for a in project.matrix.accounts}
    assert stage == {
        "management-account": None,
        "dev": "dev",
        "prod": "prod",
        "security-tooling": "dev",
        "staging": "staging",
    }
    assert [f for f in run_checks(project) if f.severity == Severity.error] == []


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ({"dev": ["dev", "nope"]}, "stage dev: no account is called 'nope'"),
        ({"dev": ["dev", "prod"], "prod": ["prod"]}, "account prod is in two stages, dev and prod"),
        ({"dev": ["dev", "staging", "prod"]}, "accounts security-tooling are in no stage"),
        ({"Dev": ["dev"]}, "stage name 'Dev' is not an environment name"),
    ],
)
def test_bad_stages_are_refused_with_a_clear_message(stages: dict[str, list[str]], message: str) -> None:
    with pytest.raises(SecureCartError) as caught:
        _write(organization(), stages=stages)
    assert caught.value.message == message


def test_a_region_allow_list_with_the_default_global_services_needs_only_its_regions() -> None:
    # the live policy lists the library's global services, in an order of its own
    doc = json.loads(json.dumps(REGIONS))
    doc["Statement"][0]["NotAction"] = sorted(GLOBAL_SERVICES, reverse=True)
    inv = dataclasses.replace(
        organization(), policies=(LivePolicy("p-c1", "regions", "SERVICE_CONTROL_POLICY", "x", doc, (WORKLOADS,)),)
    )
    guardrail = _matrix(_write(inv))["guardrails"][0]
    assert (guardrail["builtin"], guardrail["parameters"]) == (
        "region-allow-list",
        {"regions": ["eu-west-1", "us-east-1"]},
    )


def test_a_permission_set_policy_held_only_outside_its_accounts_is_defined_and_created_there(tmp_path: Path) -> None:
    # DevAccess (dev, staging) names ShopRead, which only prod holds
    inv = organization()
    iam = tuple(dataclasses.replace(i, roles=(), policies=()) for i in inv.iam if i.account_id != PROD)
    inv = dataclasses.replace(inv, iam=(*iam, LiveAccountIam(PROD, policies=(_shop_read(PROD),))))
    written = _write(inv)
    assert _matrix(written)["policies"] == [
        {"name": "ShopRead", "description": "Read the shop", "document": ALLOW_READ}
    ]
    assert (
        "policy ShopRead is created in dev and staging, where permission set DevAccess is assigned and Identity Center "
        "expects it"
    ) in written.changes
    assert written.adoption.accounts == {}
    assert _errors(written, tmp_path) == []


def test_delegated_administrators_are_recorded_and_listed() -> None:
    admins = (LiveDelegatedAdmin(SECURITY, "guardduty.amazonaws.com"), LiveDelegatedAdmin(OLD, "config.amazonaws.com"))
    written = _write(dataclasses.replace(organization(), delegated_admins=admins))
    assert [(d.account, d.service_principal) for d in written.adoption.delegated_administrators] == [
        ("security-tooling", "guardduty.amazonaws.com")
    ]
    assert [u for u in written.unexpressed if u.startswith("delegated administrator")] == [
        f"delegated administrator {OLD} for config.amazonaws.com: an account the matrix does not list; left as it is",
        "delegated administrator security-tooling for guardduty.amazonaws.com: the matrix names delegated "
        "administrators only through security_baseline; left as it is",
    ]


def test_an_assignment_covering_a_whole_parent_ou_names_the_parent_only() -> None:
    inv = organization()
    assert inv.identity_center is not None
    kept = tuple(
        a
        for a in inv.identity_center.assignments
        if a.principal_id != "g-audit" or a.account_id in (DEV, STAGING, PROD)
    )
    inv = dataclasses.replace(inv, identity_center=dataclasses.replace(inv.identity_center, assignments=kept))
    assert _matrix(_write(inv))["identity_center"]["assignments"][0] == {
        "group": "Auditors",
        "permission_set": "AuditAccess",
        "ous": ["Workloads"],
    }


def test_the_management_account_in_an_ou_is_placed_at_the_root_and_said(tmp_path: Path) -> None:
    inv = organization()
    accounts = tuple(dataclasses.replace(a, parent_id=SECOU) if a.id == MGMT else a for a in inv.accounts)
    written = _write(dataclasses.replace(inv, accounts=accounts))
    assert _matrix(written)["accounts"][0]["ou"] == "/"
    assert (
        "the management account management-account sits in an OU; the matrix places it at the root and "
        "securecart-tf never moves it"
    ) in written.unexpressed
    assert _errors(written, tmp_path) == []


def test_an_account_under_an_ou_the_inventory_lacks_is_a_named_move() -> None:
    inv = organization()
    accounts = tuple(dataclasses.replace(a, parent_id="ou-ab12-zzzzzzz9") if a.id == PROD else a for a in inv.accounts)
    written = _write(dataclasses.replace(inv, accounts=accounts))
    assert (
        "account prod sits in ou-ab12-zzzzzzz9, an OU the inventory does not hold; the matrix places it at the root, "
        "where the first apply moves it"
    ) in written.changes


TRICKY = [
    *("true", "yes", "No", "on", "null", "~", "=", "<<", "", " lead", "trail ", "x\ny", "é", "'q'", 'say "hi"'),
    *("123456789012", "0755", "0x1F", "1e3", "3.0", ".inf", "2027-06-30", "2027-06-30T00:00:00Z", "1_000"),
    *("a: b", "a:b", "#x", "a #b", "- x", "-", "?", "@x", "*x", "&x", "!x", "%x", "{x}", "[x]", "a,b", "|", ">"),
    *(True, 0, 42, "s3:GetObject", "arn:aws:iam::aws:policy/ReadOnlyAccess", "/", "/team/", "PT1H"),
]


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_yaml_text_reads_back_every_scalar_as_written(value: Any) -> None:
    data = {"key": value, "list": [value, value], "nested": [{"name": value, "more": [{"deep": value}]}]}
    text = dump(
        {"key": value, "list": [value, value], "nested": [Commented({"name": value, "more": [{"deep": value}]}, "c")]}
    )
    assert yaml.safe_load(text) == data


def test_trusting_an_organization_account_the_matrix_leaves_out_keeps_the_policy_in_a_file() -> None:
    # the suspended account is in the organization, so it is no vendor to call `external`
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OLD}:root"}, "Action": "sts:AssumeRole"}
    _, role = _trust_of(statement)
    assert role["trust"] == {"policy_file": "trust/Probe.json"}


def test_attachments_listed_in_another_order_are_the_same_role() -> None:
    inv = organization()
    swapped = _deploy_role(STAGING)
    swapped = dataclasses.replace(swapped, managed_policies=tuple(reversed(swapped.managed_policies)))
    iam = tuple(dataclasses.replace(i, roles=(swapped,)) if i.account_id == STAGING else i for i in inv.iam)
    written = _write(dataclasses.replace(inv, iam=iam))
    assert _role_entry(written, "DeployRole")["accounts"] == ["dev", "staging"]


def test_a_security_services_guardrail_for_cloudtrail_alone_infers_its_services_and_exempt_role() -> None:
    actions = [
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
    ]
    roles = ["OrganizationAccountAccessRole", "SecurityAuditRole"]
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProtectSecurityServices",
                "Effect": "Deny",
                "Action": actions,
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::*:role/{r}" for r in roles]}},
            }
        ],
    }
    inv = dataclasses.replace(
        organization(), policies=(LivePolicy("p-d1", "trail", "SERVICE_CONTROL_POLICY", "x", doc, (ROOT,)),)
    )
    guardrail = _matrix(_write(inv))["guardrails"][0]
    assert guardrail == {
        "name": "trail",
        "builtin": "protect-security-services",
        "description": "x",
        "parameters": {"services": ["cloudtrail"]},
        "targets": {"ous": ["/"]},
        "exempt_roles": ["SecurityAuditRole"],
    }


def test_the_adoption_record_stands_in_for_the_organization_state_the_first_plan_lacks() -> None:
    record = yaml.safe_load(_write(organization()).files["adopted.yaml"])
    assert (record["organization_id"], record["root_id"]) == (ORG, ROOT)
    assert record["management_account_id"] == MGMT
    assert record["service_access_principals"] == ["sso.amazonaws.com"]
    assert record["enabled_policy_types"] == ["SERVICE_CONTROL_POLICY"]


def test_ten_thousand_assignments_make_a_record_the_loader_takes(tmp_path: Path) -> None:
    """1,000 accounts, each given 10 permission sets: the record keeps one entry per (group, permission set)."""
    from securecart_tf.config.load import load_adoption

    inv = organization()
    assert inv.identity_center is not None
    many = tuple(LiveAccount(f"{i:012d}", f"Team {i}", f"team{i}@shop.example", NONPROD) for i in range(1000))
    sets = tuple(
        dataclasses.replace(inv.identity_center.permission_sets[1], arn=f"{PS_AUDIT}-{n}", name=f"Audit{n}")
        for n in range(10)
    )
    assigned = tuple(LiveAssignment(ps.arn, "GROUP", "g-audit", acc.id) for ps in sets for acc in many)
    ic = dataclasses.replace(inv.identity_center, permission_sets=sets, assignments=assigned)
    big = dataclasses.replace(inv, accounts=(*inv.accounts, *many), identity_center=ic)

    written = _write(big)
    path = tmp_path / "adopted.yaml"
    path.write_text(written.files["adopted.yaml"])
    record = load_adoption(path)
    assert record.identity_center is not None
    assert sum(len(a.accounts) for a in record.identity_center.assignments) == 10_000
