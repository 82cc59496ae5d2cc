"""Cross-reference checks: each check has a project it refuses and a near miss it accepts.

The projects are written to disk and loaded, so a finding's line is the real line in the written file; the
expected line is found by reading that file, never by asking the checker.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from securecart_tf.checks.references import check_references
from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.findings import Finding, Severity
from tests.helpers import write_project

Data = dict[str, Any]
Edit = Callable[[Data, dict[str, Data]], None]

ALLOW_READ = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}

BASE: Data = {
    "version": 1,
    "organization": {
        "name": "shop",
        "management_account": "management",
        "units": [
            {"name": "SecurityOU"},
            {"name": "WorkloadsOU", "units": [{"name": "NonProdOU"}, {"name": "ProdOU"}]},
        ],
    },
    "accounts": [
        {"name": "management", "email": "aws-management@shop.example", "ou": "/"},
        {"name": "security", "email": "aws-security@shop.example", "ou": "SecurityOU"},
        {"name": "dev", "email": "aws-dev@shop.example", "ou": "WorkloadsOU/NonProdOU", "environment": "dev"},
        {"name": "prod", "email": "aws-prod@shop.example", "ou": "WorkloadsOU/ProdOU", "environment": "prod"},
    ],
    "guardrails": [{"name": "deny-root-user", "builtin": "deny-root-user", "targets": {"ous": ["WorkloadsOU"]}}],
    "identity_center": {
        "identity_source": {"provider": "okta"},
        "groups": [{"name": "Developers", "source": "scim"}, {"name": "Auditors", "source": "created"}],
        "permission_sets": [
            {
                "name": "DevAccess",
                "customer_managed_policies": ["ShopRead"],
                "permissions_boundary": {"policy": "ShopBoundary"},
            },
            {"name": "AuditAccess", "managed_policies": ["arn:aws:iam::aws:policy/SecurityAudit"]},
        ],
        "assignments": [{"group": "Developers", "permission_set": "DevAccess", "accounts": ["dev"]}],
    },
    "policies": [
        {"name": "ShopRead", "document": ALLOW_READ},
        {"name": "ShopBoundary", "document": ALLOW_READ},
    ],
    "roles": [
        {
            "name": "AuditRole",
            "audience": "human",
            "ous": ["/"],
            "trust": {"principals": [{"identity_center": {"permission_set": "AuditAccess", "account": "security"}}]},
            "permissions_boundary": {"policy": "ShopBoundary"},
            "managed_policies": [{"policy": "ShopRead"}],
        }
    ],
    "service_roles": [
        {
            "name": "checkout",
            "service": "ecs-tasks",
            "environments": ["dev"],
            "permissions_boundary": {"policy": "ShopBoundary"},
            "managed_policies": [{"policy": "ShopRead"}],
        }
    ],
    "security_baseline": {"account": "security"},
}

ENVS: dict[str, Data] = {
    "dev": {
        "name": "dev",
        "stacks": ["organization", "security", "identity-center"],
        "accounts": ["management", "security", "dev"],
    },
    "prod": {"name": "prod", "promotes_from": "dev", "accounts": ["prod"]},
}


@dataclass(frozen=True)
class Check:
    rule: str
    message: str
    """A fragment of the finding's message."""
    file: str
    """Where the finding must point: the file, relative to the project ..."""
    line: str
    """... and the text of the line, without indentation."""
    bad: Edit
    ok: Edit | None
    """A near miss the check must accept; None when the base project is the near miss."""
    nth: int = 1
    """Which line with that text, when the text repeats (a duplicate)."""


def findings_for(folder: Path, edit: Edit | None) -> list[Finding]:
    matrix, envs = copy.deepcopy(BASE), copy.deepcopy(ENVS)
    if edit is not None:
        edit(matrix, envs)
    return check_references(load_project(write_project(folder, matrix, envs) / "access-matrix.yaml"))


def line_in(file: Path, text: str, nth: int) -> int:
    hits = [i + 1 for i, line in enumerate(file.read_text().splitlines()) if line.strip() == text]
    assert len(hits) >= nth, f"{file.name} has {len(hits)} lines reading {text!r}"
    return hits[nth - 1]


def role(m: Data) -> Data:
    return m["roles"][0]


def ic(m: Data) -> Data:
    return m["identity_center"]


def add_account(m: Data, name: str, email: str, **extra: Any) -> None:
    m["accounts"].append({"name": name, "email": email, "ou": "WorkloadsOU/ProdOU", **extra})


def cover(envs: dict[str, Data], account: str) -> None:
    envs["prod"]["accounts"].append(account)


CHECKS: dict[str, Check] = {
    # ---- accounts and OUs
    "duplicate-account-name": Check(
        "duplicate-name",
        "account 'prod' is declared twice (first on line",
        "access-matrix.yaml",
        "- name: prod",
        bad=lambda m, e: add_account(m, "prod", "aws-prod-2@shop.example"),
        ok=lambda m, e: (add_account(m, "prod-2", "aws-prod-2@shop.example"), cover(e, "prod-2")),
        nth=2,
    ),
    "duplicate-account-email": Check(
        "duplicate-name",
        "account email 'aws-prod@shop.example' is declared twice",
        "access-matrix.yaml",
        "email: AWS-Prod@shop.example",
        bad=lambda m, e: (add_account(m, "prod-2", "AWS-Prod@shop.example"), cover(e, "prod-2")),
        ok=lambda m, e: (add_account(m, "prod-2", "aws-prod-2@shop.example"), cover(e, "prod-2")),
    ),
    "duplicate-account-id": Check(
        "duplicate-name",
        "account id 111122223333 is used by more than one account",
        "access-matrix.yaml",
        "id: '111122223333'",
        bad=lambda m, e: (m["accounts"][2].update(id="111122223333"), m["accounts"][3].update(id="111122223333")),
        ok=lambda m, e: (
            m["accounts"][2].update(id="111122223333", access_role_exists=True),
            m["accounts"][3].update(id="444455556666", access_role_exists=True),
        ),
        nth=2,
    ),
    "adopted-account-without-access-role": Check(
        "adopted-account-access",
        "account 'prod' is adopted (id 444455556666), and AWS creates OrganizationAccountAccessRole only in",
        "access-matrix.yaml",
        "id: '444455556666'",
        bad=lambda m, e: m["accounts"][3].update(id="444455556666"),
        ok=lambda m, e: m["accounts"][3].update(id="444455556666", access_role_exists=True),
    ),
    "duplicate-sibling-ou": Check(
        "duplicate-name",
        "OU 'ProdOU' is declared twice",
        "access-matrix.yaml",
        "- name: ProdOU",
        bad=lambda m, e: m["organization"]["units"][1]["units"].append({"name": "ProdOU"}),
        ok=lambda m, e: m["organization"]["units"][0].update(units=[{"name": "ProdOU"}]),  # same name, other parent
        nth=2,
    ),
    "management-account-unknown": Check(
        "unknown-reference",
        "account 'mgmt' is not declared",
        "access-matrix.yaml",
        "management_account: mgmt",
        bad=lambda m, e: m["organization"].update(management_account="mgmt"),
        ok=None,
    ),
    "account-in-unknown-ou": Check(
        "unknown-reference",
        "OU 'WorkloadsOU/StagingOU' is not declared",
        "access-matrix.yaml",
        "ou: WorkloadsOU/StagingOU",
        bad=lambda m, e: m["accounts"][2].update(ou="WorkloadsOU/StagingOU"),
        ok=lambda m, e: m["accounts"][2].update(ou="WorkloadsOU"),  # a parent OU holds accounts too
    ),
    "management-account-off-root": Check(
        "management-account-placement",
        "the management account always sits at the root",
        "access-matrix.yaml",
        "ou: SecurityOU",
        bad=lambda m, e: m["accounts"][0].update(ou="SecurityOU"),
        ok=lambda m, e: m["accounts"][1].update(ou="/"),  # another account at the root is fine
        nth=1,
    ),
    # ---- guardrails
    "duplicate-guardrail": Check(
        "duplicate-name",
        "guardrail 'deny-root-user' is declared twice",
        "access-matrix.yaml",
        "- name: deny-root-user",
        bad=lambda m, e: m["guardrails"].append(copy.deepcopy(m["guardrails"][0])),
        ok=lambda m, e: m["guardrails"].append({**copy.deepcopy(m["guardrails"][0]), "name": "deny-root-user-2"}),
        nth=2,
    ),
    "guardrail-unknown-ou": Check(
        "unknown-reference",
        "OU 'Workloads' is not declared",
        "access-matrix.yaml",
        "- Workloads",
        bad=lambda m, e: m["guardrails"][0]["targets"].update(ous=["Workloads"]),
        ok=lambda m, e: m["guardrails"][0]["targets"].update(ous=["/"]),
    ),
    "guardrail-unknown-account": Check(
        "unknown-reference",
        "account 'staging' is not declared",
        "access-matrix.yaml",
        "- staging",
        bad=lambda m, e: m["guardrails"][0]["targets"].update(accounts=["staging"]),
        ok=lambda m, e: m["guardrails"][0]["targets"].update(accounts=["prod"]),
    ),
    "guardrail-attached-nowhere": Check(
        "empty-targets",
        "guardrail 'deny-root-user' is attached nowhere",
        "access-matrix.yaml",
        "targets: {}",
        bad=lambda m, e: m["guardrails"][0].update(targets={}),
        ok=lambda m, e: m["guardrails"][0].update(targets={"accounts": ["dev"]}),
    ),
    "unknown-library-guardrail": Check(
        "unknown-reference",
        "library guardrail 'deny-rooot-user' is not declared",
        "access-matrix.yaml",
        "builtin: deny-rooot-user",
        bad=lambda m, e: m["guardrails"][0].update(builtin="deny-rooot-user"),
        ok=lambda m, e: m["guardrails"][0].update(builtin="deny-leave-organization"),
    ),
    "guardrail-parameter-type": Check(
        "guardrail-parameters",
        "guardrails[0].parameters.regions: expected a list, got 'eu-west-1'",
        "access-matrix.yaml",
        "regions: eu-west-1",
        bad=lambda m, e: m["guardrails"][0].update(builtin="region-allow-list", parameters={"regions": "eu-west-1"}),
        ok=lambda m, e: m["guardrails"][0].update(builtin="region-allow-list", parameters={"regions": ["eu-west-1"]}),
    ),
    "guardrail-unknown-parameter": Check(
        "guardrail-parameters",
        "unknown key 'service' in guardrails[0].parameters",
        "access-matrix.yaml",
        "service:",
        bad=lambda m, e: m["guardrails"][0].update(builtin="require-encryption", parameters={"service": ["s3"]}),
        ok=lambda m, e: m["guardrails"][0].update(builtin="require-encryption", parameters={"services": ["s3"]}),
    ),
    "guardrail-parameter-value": Check(
        "guardrail-parameters",
        "unknown services ['dynamodb']",
        "access-matrix.yaml",
        "parameters:",
        bad=lambda m, e: m["guardrails"][0].update(
            builtin="require-encryption", parameters={"services": ["s3", "dynamodb"]}
        ),
        ok=lambda m, e: m["guardrails"][0].update(builtin="require-encryption", parameters={"services": ["rds"]}),
    ),
    # ---- policies and roles
    "duplicate-policy": Check(
        "duplicate-name",
        "policy 'ShopRead' is declared twice",
        "access-matrix.yaml",
        "- name: ShopRead",
        bad=lambda m, e: m["policies"].append({"name": "ShopRead", "document": ALLOW_READ}),
        ok=lambda m, e: m["policies"].append({"name": "ShopRead2", "document": ALLOW_READ}),
        nth=2,
    ),
    "duplicate-role": Check(
        "duplicate-name",
        "role 'AuditRole' is declared twice",
        "access-matrix.yaml",
        "- name: AuditRole",
        bad=lambda m, e: m["roles"].append(copy.deepcopy(role(m))),
        ok=lambda m, e: m["roles"].append({**copy.deepcopy(role(m)), "name": "AuditRole2"}),
        nth=2,
    ),
    "duplicate-service-role": Check(
        "duplicate-name",
        "service role 'checkout' is declared twice",
        "access-matrix.yaml",
        "- name: checkout",
        bad=lambda m, e: m["service_roles"].append(copy.deepcopy(m["service_roles"][0])),
        ok=lambda m, e: m["service_roles"].append({**copy.deepcopy(m["service_roles"][0]), "name": "checkout-2"}),
        nth=2,
    ),
    "service-role-named-like-a-role": Check(
        "duplicate-name",
        "service role 'AuditRole' has the same name as role 'AuditRole'",
        "access-matrix.yaml",
        "- name: AuditRole",
        bad=lambda m, e: m["service_roles"][0].update(name="AuditRole"),
        ok=lambda m, e: m["service_roles"][0].update(name="AuditRoleForTasks"),
        nth=2,
    ),
    "service-role-named-like-a-role-but-for-case": Check(
        "duplicate-name",
        "service role 'auditrole' has a name differing only in case from role 'AuditRole'",
        "access-matrix.yaml",
        "- name: auditrole",
        bad=lambda m, e: m["service_roles"][0].update(name="auditrole"),
        ok=lambda m, e: m["service_roles"][0].update(name="audit-role"),
    ),
    "policy-names-differing-only-in-case": Check(
        "duplicate-name",
        "differing only in case from policy",
        "access-matrix.yaml",
        "- name: shopread",
        bad=lambda m, e: m["policies"].append({"name": "shopread", "document": ALLOW_READ}),
        ok=lambda m, e: m["policies"].append({"name": "ShopRead2", "document": ALLOW_READ}),
    ),
    "role-unknown-environment": Check(
        "unknown-reference",
        "environment 'staging' is not declared",
        "access-matrix.yaml",
        "- staging",
        bad=lambda m, e: role(m).update(ous=[], environments=["staging"]),
        ok=lambda m, e: role(m).update(ous=[], environments=["prod"]),
    ),
    "role-placed-nowhere": Check(
        "empty-targets",
        "role 'AuditRole' is placed in no account",
        "access-matrix.yaml",
        "- name: AuditRole",
        bad=lambda m, e: role(m).update(ous=[]),
        ok=lambda m, e: role(m).update(ous=[], accounts=["security"]),
    ),
    "trust-unknown-permission-set": Check(
        "unknown-reference",
        "permission set 'AuditAcess' is not declared",
        "access-matrix.yaml",
        "permission_set: AuditAcess",
        bad=lambda m, e: role(m)["trust"]["principals"][0]["identity_center"].update(permission_set="AuditAcess"),
        ok=lambda m, e: role(m)["trust"]["principals"][0]["identity_center"].update(permission_set="DevAccess"),
    ),
    "trust-unknown-identity-center-account": Check(
        "unknown-reference",
        "account 'audit' is not declared",
        "access-matrix.yaml",
        "account: audit",
        bad=lambda m, e: role(m)["trust"]["principals"][0]["identity_center"].update(account="audit"),
        ok=lambda m, e: role(m)["trust"]["principals"][0]["identity_center"].update(account="management"),
    ),
    "trust-unknown-role-account": Check(
        "unknown-reference",
        "account 'tooling' is not declared",
        "access-matrix.yaml",
        "account: tooling",
        bad=lambda m, e: role(m)["trust"].update(principals=[{"role": {"role": "Ci", "account": "tooling"}}]),
        ok=lambda m, e: role(m)["trust"].update(principals=[{"role": {"role": "Ci", "account": "security"}}]),
    ),
    "trust-unknown-account": Check(
        "unknown-reference",
        "account 'tooling' is not declared",
        "access-matrix.yaml",
        "- account: tooling",
        bad=lambda m, e: role(m)["trust"].update(principals=[{"account": "tooling"}]),
        ok=lambda m, e: role(m)["trust"].update(principals=[{"account": "security"}]),
    ),
    "role-unknown-boundary": Check(
        "unknown-reference",
        "policy 'ShopBoundry' is not declared",
        "access-matrix.yaml",
        "policy: ShopBoundry",
        bad=lambda m, e: role(m).update(permissions_boundary={"policy": "ShopBoundry"}),
        ok=lambda m, e: role(m).update(permissions_boundary="arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ),
    "role-unknown-managed-policy": Check(
        "unknown-reference",
        "policy 'ShopWrite' is not declared",
        "access-matrix.yaml",
        "- ShopWrite",
        bad=lambda m, e: role(m).update(managed_policies=["ShopWrite"]),
        ok=lambda m, e: role(m).update(managed_policies=["ShopRead"]),  # the string shorthand
    ),
    "service-role-unknown-ou": Check(
        "unknown-reference",
        "OU 'ProdOU' is not declared",
        "access-matrix.yaml",
        "- ProdOU",
        bad=lambda m, e: m["service_roles"][0].update(environments=[], ous=["ProdOU"]),
        ok=lambda m, e: m["service_roles"][0].update(environments=[], ous=["WorkloadsOU/ProdOU"]),
    ),
    "service-role-placed-nowhere": Check(
        "empty-targets",
        "service role 'checkout' is placed in no account",
        "access-matrix.yaml",
        "- name: checkout",
        bad=lambda m, e: m["service_roles"][0].update(environments=[]),
        ok=lambda m, e: m["service_roles"][0].update(environments=[], accounts=["prod"]),
    ),
    "service-role-unknown-boundary": Check(
        "unknown-reference",
        "policy 'WorkloadBoundary' is not declared",
        "access-matrix.yaml",
        "policy: WorkloadBoundary",
        bad=lambda m, e: m["service_roles"][0].update(permissions_boundary={"policy": "WorkloadBoundary"}),
        ok=lambda m, e: (
            m["policies"].append({"name": "WorkloadBoundary", "document": ALLOW_READ})
            or m["service_roles"][0].update(permissions_boundary={"policy": "WorkloadBoundary"})
        ),
    ),
    "service-role-unknown-managed-policy": Check(
        "unknown-reference",
        "policy 'ShopReed' is not declared",
        "access-matrix.yaml",
        "- policy: ShopReed",
        bad=lambda m, e: m["service_roles"][0].update(managed_policies=[{"policy": "ShopReed"}]),
        ok=lambda m, e: m["service_roles"][0].update(managed_policies=[{"policy": "ShopBoundary"}]),
    ),
    # ---- identity center
    "duplicate-group": Check(
        "duplicate-name",
        "group 'Developers' is declared twice",
        "access-matrix.yaml",
        "- name: Developers",
        bad=lambda m, e: ic(m)["groups"].append({"name": "Developers", "source": "created"}),
        ok=lambda m, e: ic(m)["groups"].append({"name": "Developers-EU", "source": "created"}),
        nth=2,
    ),
    "duplicate-permission-set": Check(
        "duplicate-name",
        "permission set 'AuditAccess' is declared twice",
        "access-matrix.yaml",
        "- name: AuditAccess",
        bad=lambda m, e: ic(m)["permission_sets"].append({"name": "AuditAccess"}),
        ok=lambda m, e: ic(m)["permission_sets"].append({"name": "AuditAccessEU"}),
        nth=2,
    ),
    "permission-set-unknown-customer-policy": Check(
        "unknown-reference",
        "policy 'ShopReadAll' is not declared",
        "access-matrix.yaml",
        "- ShopReadAll",
        bad=lambda m, e: ic(m)["permission_sets"][0].update(customer_managed_policies=["ShopReadAll"]),
        ok=lambda m, e: ic(m)["permission_sets"][0].update(customer_managed_policies=["ShopRead", "ShopBoundary"]),
    ),
    "permission-set-unknown-boundary": Check(
        "unknown-reference",
        "policy 'DevBoundary' is not declared",
        "access-matrix.yaml",
        "policy: DevBoundary",
        bad=lambda m, e: ic(m)["permission_sets"][0].update(permissions_boundary={"policy": "DevBoundary"}),
        ok=lambda m, e: ic(m)["permission_sets"][0].update(permissions_boundary={"policy": "ShopRead"}),
    ),
    "assignment-unknown-group": Check(
        "unknown-reference",
        "group 'Developer' is not declared",
        "access-matrix.yaml",
        "- group: Developer",
        bad=lambda m, e: ic(m)["assignments"][0].update(group="Developer"),
        ok=lambda m, e: ic(m)["assignments"][0].update(group="Auditors"),
    ),
    "assignment-unknown-permission-set": Check(
        "unknown-reference",
        "permission set 'Dev' is not declared",
        "access-matrix.yaml",
        "permission_set: Dev",
        bad=lambda m, e: ic(m)["assignments"][0].update(permission_set="Dev"),
        ok=lambda m, e: ic(m)["assignments"][0].update(permission_set="AuditAccess"),
    ),
    "assignment-unknown-account": Check(
        "unknown-reference",
        "account 'develop' is not declared",
        "access-matrix.yaml",
        "- develop",
        bad=lambda m, e: ic(m)["assignments"][0].update(accounts=["develop"]),
        ok=lambda m, e: ic(m)["assignments"][0].update(accounts=["dev", "prod"]),
    ),
    "assignment-unknown-ou": Check(
        "unknown-reference",
        "OU 'NonProdOU' is not declared",
        "access-matrix.yaml",
        "- NonProdOU",
        bad=lambda m, e: ic(m)["assignments"][0].update(accounts=[], ous=["NonProdOU"]),
        ok=lambda m, e: ic(m)["assignments"][0].update(accounts=[], ous=["WorkloadsOU/NonProdOU"]),
    ),
    "assignment-unknown-environment": Check(
        "unknown-reference",
        "environment 'qa' is not declared",
        "access-matrix.yaml",
        "- qa",
        bad=lambda m, e: ic(m)["assignments"][0].update(accounts=[], environments=["qa"]),
        ok=lambda m, e: ic(m)["assignments"][0].update(accounts=[], environments=["dev", "prod"]),
    ),
    "assignment-covers-nothing": Check(
        "empty-targets",
        "assignment of DevAccess to Developers covers no account",
        "access-matrix.yaml",
        "- group: Developers",
        bad=lambda m, e: ic(m)["assignments"][0].update(accounts=[]),
        ok=lambda m, e: ic(m)["assignments"][0].update(accounts=[], ous=["/"]),
    ),
    "duplicate-assignment": Check(
        "duplicate-name",
        "Developers is given DevAccess twice (first on line",
        "access-matrix.yaml",
        "- group: Developers",
        bad=lambda m, e: ic(m)["assignments"].append(
            {"group": "Developers", "permission_set": "DevAccess", "accounts": ["prod"]}
        ),
        ok=lambda m, e: ic(m)["assignments"].append(
            {"group": "Developers", "permission_set": "AuditAccess", "accounts": ["prod"]}
        ),
        nth=2,
    ),
    "security-baseline-unknown-account": Check(
        "unknown-reference",
        "account 'logging' is not declared",
        "access-matrix.yaml",
        "account: logging",
        bad=lambda m, e: m["security_baseline"].update(account="logging"),
        ok=None,
    ),
    # ---- environment files
    "environment-unknown-account": Check(
        "unknown-reference",
        "account 'production' is not in the matrix",
        "environments/prod.yaml",
        "- production",
        bad=lambda m, e: e["prod"]["accounts"].append("production"),
        ok=None,
    ),
    "environment-tag-mismatch": Check(
        "environment-mismatch",
        "account 'dev' is tagged environment 'dev' in the matrix but rolls out in 'prod'",
        "environments/prod.yaml",
        "- dev",
        bad=lambda m, e: (e["dev"]["accounts"].remove("dev"), e["prod"]["accounts"].append("dev")),
        ok=lambda m, e: (e["dev"]["accounts"].remove("security"), e["prod"]["accounts"].append("security")),
    ),
    "environment-security-stack-without-baseline": Check(
        "unknown-reference",
        "stack 'security' needs a security_baseline in the matrix",
        "environments/dev.yaml",
        "- security",
        bad=lambda m, e: m.pop("security_baseline"),
        ok=lambda m, e: (m.pop("security_baseline"), e["dev"]["stacks"].remove("security")),
    ),
    "environment-identity-center-stack-without-identity-center": Check(
        "unknown-reference",
        "stack 'identity-center' needs identity_center in the matrix",
        "environments/dev.yaml",
        "- identity-center",
        bad=lambda m, e: (m.pop("identity_center"), role(m)["trust"].update(principals=[{"account": "security"}])),
        ok=lambda m, e: (
            m.pop("identity_center"),
            role(m)["trust"].update(principals=[{"account": "security"}]),
            e["dev"]["stacks"].remove("identity-center"),
        ),
    ),
    "stack-in-two-environments": Check(
        "duplicate-name",
        "stack 'organization' is covered by both dev and prod",
        "environments/prod.yaml",
        "- organization",
        bad=lambda m, e: e["prod"].update(stacks=["organization"]),
        ok=lambda m, e: (e["dev"]["stacks"].remove("organization"), e["prod"].update(stacks=["organization"])),
    ),
    "account-twice-in-one-environment": Check(
        "duplicate-name",
        "stack 'access-prod' is listed twice in prod.yaml",
        "environments/prod.yaml",
        "- prod",
        bad=lambda m, e: e["prod"]["accounts"].append("prod"),
        ok=None,
        nth=2,
    ),
    "promotes-from-unknown": Check(
        "unknown-reference",
        "promotes_from names unknown environment 'devel'",
        "environments/prod.yaml",
        "promotes_from: devel",
        bad=lambda m, e: e["prod"].update(promotes_from="devel"),
        ok=None,
    ),
    "account-in-no-environment": Check(
        "uncovered-account",
        "account 'prod' is in no environment file",
        "access-matrix.yaml",
        "- name: prod",
        bad=lambda m, e: e["prod"].update(accounts=[], stacks=["security"]) or e["dev"]["stacks"].remove("security"),
        ok=None,
    ),
    "stack-in-no-environment": Check(
        "uncovered-stack",
        "stack 'identity-center' is in no environment file",
        "environments/dev.yaml",
        "stacks:",
        bad=lambda m, e: e["dev"]["stacks"].remove("identity-center"),
        ok=lambda m, e: e["dev"]["stacks"].remove("identity-center") or e["prod"].update(stacks=["identity-center"]),
    ),
    "role-name-not-the-deployment-role": Check(
        "role-name-mismatch",
        "target.role_name 'PlatformDeployer' differs from the matrix's deployment_role 'OrganizationAccountAccessRole'",
        "environments/prod.yaml",
        "role_name: PlatformDeployer",
        bad=lambda m, e: e["prod"].update(target={"type": "aws", "role_name": "PlatformDeployer"}),
        ok=lambda m, e: e["prod"].update(
            target={
                "type": "aws",
                "role_name": "PlatformDeployer",
                "role_name_reason": "Organizations created these accounts with PlatformDeployer in 2019",
            }
        ),
    ),
    "promotion-cycle": Check(
        "promotion-cycle",
        "promotion order has a cycle: dev → prod → dev",
        "environments/dev.yaml",
        "promotes_from: prod",
        bad=lambda m, e: e["dev"].update(promotes_from="prod"),
        ok=None,
    ),
}


def test_the_base_project_passes_every_check(tmp_path: Path) -> None:
    assert findings_for(tmp_path, None) == []


@pytest.mark.parametrize("name", CHECKS)
def test_a_check_refuses_its_bad_project_at_the_right_line(name: str, tmp_path: Path) -> None:
    check = CHECKS[name]
    findings = findings_for(tmp_path, check.bad)
    line = line_in(tmp_path / check.file, check.line, check.nth)
    matching = [f for f in findings if f.rule == check.rule and check.message in f.message]
    assert matching, "\n".join(f"{f.rule} {f.location}: {f.message}" for f in findings)
    found = matching[0]
    assert found.severity == Severity.error
    assert found.location.file.resolve() == (tmp_path / check.file).resolve()
    assert found.location.line == line, f"{found.location}: {found.message}"
    assert found.fix, "a finding says what to do"
    assert len(matching) == 1, "one mistake, one finding"


@pytest.mark.parametrize("name", [n for n, c in CHECKS.items() if c.ok is not None])
def test_a_check_accepts_its_near_miss(name: str, tmp_path: Path) -> None:
    findings = findings_for(tmp_path, CHECKS[name].ok)
    assert findings == [], "\n".join(f"{f.rule} {f.location}: {f.message}" for f in findings)


def test_an_adopted_account_reached_with_its_own_profile_needs_no_access_role(tmp_path: Path) -> None:
    def adopted_with_profile(m: Data, e: dict[str, Data]) -> None:
        m["accounts"][3].update(id="444455556666")
        e["prod"]["target"] = {"type": "aws", "account_profiles": {"prod": "prod-admin"}}

    assert findings_for(tmp_path / "profile", adopted_with_profile) == []

    def profile_for_another_account(m: Data, e: dict[str, Data]) -> None:
        m["accounts"][3].update(id="444455556666")
        e["prod"]["target"] = {
            "type": "aws",
            "role_name": "Admin",
            "role_name_reason": "prod is reached through the role its operators already use",
            "account_profiles": {"dev": "dev-admin"},
        }

    (finding,) = findings_for(tmp_path / "other", profile_for_another_account)
    assert finding.rule == "adopted-account-access"
    assert "AWS creates Admin only in accounts Organizations creates" in finding.message
    assert "environments/prod.yaml" in finding.fix


def test_a_close_name_is_suggested_and_a_far_one_lists_the_choices(tmp_path: Path) -> None:
    close = findings_for(tmp_path / "a", lambda m, e: ic(m)["assignments"][0].update(group="Developer"))
    assert close[0].fix == "did you mean 'Developers'?"
    far = findings_for(tmp_path / "b", lambda m, e: ic(m)["assignments"][0].update(group="Finance"))
    assert far[0].fix == "declare it, or use one of: Auditors, Developers"


def test_a_promotion_cycle_is_reported_once_however_many_stages_it_spans(tmp_path: Path) -> None:
    def three_stage_cycle(m: Data, e: dict[str, Data]) -> None:
        e["staging"] = {"name": "staging", "promotes_from": "dev", "accounts": []}
        e["staging"]["stacks"] = ["security"]
        e["dev"]["stacks"].remove("security")
        e["prod"]["promotes_from"] = "staging"
        e["dev"]["promotes_from"] = "prod"

    findings = findings_for(tmp_path, three_stage_cycle)
    cycles = [f for f in findings if f.rule == "promotion-cycle"]
    assert [f.message for f in cycles] == [
        "promotion order has a cycle: dev → prod → staging → dev (each stage promotes from the next)"
    ]


def test_ou_paths_walk_nested_units_in_order() -> None:
    from securecart_tf.config.schema import AccessMatrix, ou_paths

    matrix = AccessMatrix.model_validate(BASE)
    assert [(p, d) for p, d, _ in ou_paths(matrix.organization.units)] == [
        ("SecurityOU", 1),
        ("WorkloadsOU", 1),
        ("WorkloadsOU/NonProdOU", 2),
        ("WorkloadsOU/ProdOU", 2),
    ]


# ---- suppressions ------------------------------------------------------------------------------------


def test_a_suppression_that_matches_nothing_is_a_warning_at_its_line(example_project: Path) -> None:
    text = example_project.read_text()
    example_project.write_text(
        text.replace(
            "suppressions:\n",
            "suppressions:\n  - rule: wildcard-resource-write\n    subject: NoSuchPolicy\n"
            "    reason: kept from an older version of the matrix\n",
            1,
        )
    )
    unused = [f for f in run_checks(load_project(example_project)) if f.rule == "unused-suppression"]
    assert [(f.subject, f.severity, f.location.line) for f in unused] == [
        ("NoSuchPolicy", Severity.warning, text.splitlines().index("suppressions:") + 2)
    ]


def test_suppressions_are_not_called_unused_when_a_reference_error_stopped_the_policy_checks(
    example_project: Path,
) -> None:
    text = example_project.read_text()
    example_project.write_text(text.replace("environments: [dev, staging]", "environments: [dev, stagin]", 1))
    findings = run_checks(load_project(example_project))
    assert [f.rule for f in findings if f.severity == Severity.error] == ["unknown-reference"]
    assert [f for f in findings if f.rule == "unused-suppression"] == []
