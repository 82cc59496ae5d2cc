"""Synthetic access matrices at a chosen size, for benchmarks: valid, deterministic, with environment files.

`write_project(dest, Size.scaled(1000))` writes an organization of 1,000 accounts, 120 OUs up to 5 levels
deep, 60 permission sets, 10,000 (group, permission set, account) assignments, 3,000 role placements and
a set of guardrails, split over dev, staging and prod environment files that cover every stack.
`securecart-tf validate` reports no errors on it. The same size and seed always give the same bytes.

`write_sandbox_project(dest, members=8)` writes the small project the orchestration figures run in the
sandbox: an organization stack plus one small access stack per member account.

    python bench/synth.py --accounts 1000 --out /tmp/org-1000
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SEED = 8
ENVIRONMENTS = ("dev", "staging", "prod")
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
VIEW_ONLY = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
ONE_LINE_CHANGE = ("description: On-call responder access", "description: On-call responder access (edited)")
"""The one-line edit the incremental figure makes: the description of a role placed in one account."""


@dataclass(frozen=True)
class Size:
    """How big an organization to generate. Assignments and placements count expanded (…, account) pairs."""

    accounts: int
    ous: int
    permission_sets: int
    groups: int
    assignments: int
    placements: int
    policies: int

    @classmethod
    def scaled(cls, accounts: int) -> Size:
        """Every dimension in proportion to the account count, as in an organization of 1,000 accounts."""
        if accounts < 6:
            raise ValueError("a synthetic organization has at least 6 accounts")
        return cls(
            accounts=accounts,
            ous=max(6, round(accounts * 0.12)),
            permission_sets=max(8, round(accounts * 0.06)),
            groups=max(12, accounts // 5),
            assignments=accounts * 10,
            placements=accounts * 3,
            policies=max(3, accounts // 50),
        )


@dataclass
class Stats:
    """What was generated, counted the way the model counts it."""

    accounts: int
    ous: int
    max_ou_depth: int
    permission_sets: int
    groups: int
    assignment_entries: int
    assignments: int
    roles: int
    service_roles: int
    placements: int
    policies: int
    guardrails: int
    yaml_bytes: int


class _Org:
    """The OU tree and the accounts under each OU, kept so that targets can be expanded while generating."""

    def __init__(self) -> None:
        self.depth: dict[str, int] = {}
        self.children: dict[str, list[dict[str, Any]]] = {"/": []}
        self.accounts_under: dict[str, list[str]] = {"/": []}
        self.env_accounts: dict[str, list[str]] = {e: [] for e in ENVIRONMENTS}
        self.all: list[str] = []
        self.position: dict[str, int] = {}

    def add_ou(self, parent: str, name: str) -> str:
        path = name if parent == "/" else f"{parent}/{name}"
        node: dict[str, Any] = {"name": name}
        self.children[parent].append(node)
        self.children[path] = []
        self.depth[path] = 1 if parent == "/" else self.depth[parent] + 1
        self.accounts_under[path] = []
        return path

    def add_account(self, name: str, ou: str, environment: str | None) -> None:
        self.position[name] = len(self.all)
        self.all.append(name)
        self.accounts_under["/"].append(name)
        if ou != "/":
            parts = ou.split("/")
            for i in range(1, len(parts) + 1):
                self.accounts_under["/".join(parts[:i])].append(name)
        if environment:
            self.env_accounts[environment].append(name)

    def units(self, parent: str = "/") -> list[dict[str, Any]]:
        out = []
        for node in self.children[parent]:
            path = node["name"] if parent == "/" else f"{parent}/{node['name']}"
            unit: dict[str, Any] = {"name": node["name"]}
            kids = self.units(path)
            if kids:
                unit["units"] = kids
            out.append(unit)
        return out

    def expand(self, accounts: list[str], ous: list[str], environments: list[str]) -> set[str]:
        chosen = set(accounts)
        for ou in ous:
            chosen.update(self.accounts_under[ou])
        for env in environments:
            chosen.update(self.env_accounts[env])
        return chosen


def _targets(
    rng: random.Random, org: _Org, ous: list[str], budget: int, members: list[str], want: int = 12
) -> tuple[dict[str, list[str]], int]:
    """Targets for an assignment or role, expanding to at most `budget` accounts: an OU, an environment or a
    list of about `want` accounts or fewer."""
    roll = rng.random()
    if roll < 0.3:
        fitting = [ou for ou in ous if 0 < len(org.accounts_under[ou]) <= budget]
        if fitting:
            ou = rng.choice(fitting)
            return {"ous": [ou]}, len(org.accounts_under[ou])
    elif roll < 0.36:
        fitting_env = [e for e in ENVIRONMENTS if 0 < len(org.env_accounts[e]) <= budget]
        if fitting_env:
            env = rng.choice(fitting_env)
            return {"environments": [env]}, len(org.env_accounts[env])
    count = min(budget, len(members), rng.randint(3, max(12, want)))
    chosen = sorted(rng.sample(members, count), key=org.position.__getitem__)
    return {"accounts": chosen}, count


def _identity_center(permission_set: str, account: str) -> dict[str, Any]:
    return {"identity_center": {"permission_set": permission_set, "account": account}}


def synth_matrix(size: Size, seed: int = SEED) -> tuple[dict[str, Any], dict[str, dict[str, Any]], Stats]:
    """The matrix as data, the environment files as data (by name), and what they hold."""
    rng = random.Random(seed)
    org = _Org()

    # --- OUs: a fixed top, then OUs under random parents, never deeper than 5 levels
    security_ou = org.add_ou("/", "SecurityOU")
    workloads = org.add_ou("/", "WorkloadsOU")
    shared_ou = org.add_ou("/", "SharedServicesOU")
    sandbox_ou = org.add_ou("/", "SandboxOU")
    nonprod = org.add_ou(workloads, "NonProdOU")
    prod = org.add_ou(workloads, "ProdOU")
    ous = [security_ou, workloads, shared_ou, sandbox_ou, nonprod, prod]
    growable = [nonprod, prod, sandbox_ou, shared_ou]
    for i in range(size.ous - len(ous)):
        parents = [p for p in growable if org.depth[p] < 5]
        parent = rng.choice(parents)
        path = org.add_ou(parent, f"Team{i:03d}OU")
        ous.append(path)
        growable.append(path)

    # --- accounts: three core accounts, then members spread over the OUs; the OU says the stage
    accounts: list[dict[str, Any]] = []

    def account(name: str, ou: str, environment: str | None, **extra: Any) -> None:
        entry: dict[str, Any] = {"name": name, "email": f"aws+{name}@example.com", "ou": ou}
        if environment:
            entry["environment"] = environment
        entry.update(extra)
        accounts.append(entry)
        org.add_account(name, ou, environment)

    account("management", "/", None, description="Owns the organization")
    account("security", security_ou, None, description="Logging and threat detection")
    account("shared-services", shared_ou, None, networking=True)
    member_ous = [ou for ou in ous if ou.startswith((workloads + "/", shared_ou, sandbox_ou))]
    for i in range(size.accounts - 3):
        name = f"acct-{i:04d}"
        # the first three make sure every stage holds an account
        ou = {0: nonprod, 1: nonprod, 2: prod}[i] if i < 3 else rng.choice(member_ous)
        if ou.startswith(prod):
            env: str | None = "prod"
        elif ou.startswith(nonprod):
            env = "dev" if i == 0 else "staging" if i == 1 else rng.choice(["dev", "staging"])
        else:
            env = None
        account(name, ou, env)
    members = [a["name"] for a in accounts[3:]]

    # --- guardrails: at most 4 per target, so FullAWSAccess still fits in the 5 slots
    guardrails: list[dict[str, Any]] = [
        {"name": "deny-root-user", "builtin": "deny-root-user", "targets": {"ous": ["/"]}},
        {"name": "deny-leave-organization", "builtin": "deny-leave-organization", "targets": {"ous": ["/"]}},
        {
            "name": "protect-security-services",
            "builtin": "protect-security-services",
            "targets": {"ous": ["/"]},
            "exempt_roles": ["SecurityAuditRole"],
        },
        {
            "name": "region-allow-list",
            "builtin": "region-allow-list",
            "parameters": {"regions": ["us-east-1", "eu-west-1"]},
            "targets": {"ous": [workloads, shared_ou, sandbox_ou]},
        },
        {"name": "require-encryption", "builtin": "require-encryption", "targets": {"ous": [workloads]}},
        {
            "name": "deny-internet-gateway",
            "builtin": "deny-internet-gateway",
            "targets": {"ous": [security_ou, workloads]},
        },
        {
            "name": "deny-public-s3",
            "file": "policies/scp-deny-public-s3.json",
            "description": "Keep S3 Block Public Access on in production",
            "targets": {"ous": [prod]},
        },
    ]

    # --- customer-managed policies: a workload boundary and one policy per team
    policies: list[dict[str, Any]] = [
        {
            "name": "WorkloadBoundary",
            "description": "The most a team role can do",
            "document": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Workloads",
                        "Effect": "Allow",
                        "Action": ["s3:*", "dynamodb:*", "logs:*", "cloudwatch:*", "sts:AssumeRole"],
                        "Resource": "*",
                    },
                    {"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
                ],
            },
        }
    ]
    for k in range(size.policies - 1):
        policies.append(
            {
                "name": f"Team{k:03d}Data",
                "description": f"Team {k}'s buckets and tables",
                "document": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "Objects",
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject"],
                            "Resource": f"arn:aws:s3:::team-{k:03d}-*/*",
                        },
                        {
                            "Sid": "Tables",
                            "Effect": "Allow",
                            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                            "Resource": f"arn:aws:dynamodb:*:*:table/team-{k:03d}-*",
                        },
                    ],
                },
            }
        )
    team_policies = [p["name"] for p in policies[1:]]

    # --- Identity Center: fixed permission sets, then one per team
    permission_sets: list[dict[str, Any]] = [
        {
            "name": "SecurityAudit",
            "session_duration": "PT4H",
            "managed_policies": ["arn:aws:iam::aws:policy/SecurityAudit", VIEW_ONLY],
            "inline_policy": {
                "Statement": [
                    {
                        "Sid": "AssumeSecurityAuditRole",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": "arn:aws:iam::*:role/SecurityAuditRole",
                    }
                ]
            },
        },
        {
            "name": "PlatformAdmin",
            "session_duration": "PT1H",
            "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            "admin": True,
        },
        {"name": "AuditReadOnly", "session_duration": "PT2H", "managed_policies": [VIEW_ONLY]},
    ]
    for k in range(size.permission_sets - len(permission_sets)):
        ps: dict[str, Any] = {
            "name": f"Team{k:03d}Access",
            "description": f"Team {k}'s landing session",
            "session_duration": f"PT{rng.choice([1, 2, 4, 8])}H",
            "managed_policies": [READ_ONLY],
        }
        if k % 3 == 1:
            ps["customer_managed_policies"] = [team_policies[k % len(team_policies)]]
        elif k % 3 == 2:
            ps["inline_policy"] = {
                "Statement": [
                    {
                        "Sid": "ReadMetrics",
                        "Effect": "Allow",
                        "Action": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
                        "Resource": "*",
                    }
                ]
            }
        permission_sets.append(ps)
    team_sets = [p["name"] for p in permission_sets[3:]]
    groups = [
        {"name": "SecurityTeam", "source": "scim"},
        {"name": "PlatformAdmins", "source": "scim"},
        {"name": "AuditReaders", "source": "created", "description": "External auditors"},
    ]
    groups += [{"name": f"Team{k:03d}", "source": "scim"} for k in range(size.groups - len(groups))]

    assignments: list[dict[str, Any]] = [
        {"group": "SecurityTeam", "permission_set": "SecurityAudit", "ous": ["/"]},
        {"group": "PlatformAdmins", "permission_set": "PlatformAdmin", "accounts": ["management", "shared-services"]},
        {"group": "AuditReaders", "permission_set": "AuditReadOnly", "accounts": ["security"]},
    ]
    expanded = size.accounts + 3
    pairs = [(g["name"], p) for g in groups[3:] for p in team_sets]
    rng.shuffle(pairs)
    for i, (group, pset) in enumerate(pairs):
        left = len(pairs) - i
        remaining = size.assignments - expanded
        if remaining <= 0:
            break
        targets, count = _targets(rng, org, ous, remaining, members, -(-remaining // left) * 2)
        assignments.append({"group": group, "permission_set": pset, **targets})
        expanded += count

    # --- roles: two in every account, then team roles until the placements add up
    roles: list[dict[str, Any]] = [
        {
            "name": "SecurityAuditRole",
            "description": "Security engineers' read access in every account",
            "audience": "human",
            "ous": ["/"],
            "trust": {"principals": [_identity_center("SecurityAudit", "security")]},
            "managed_policies": ["arn:aws:iam::aws:policy/SecurityAudit", VIEW_ONLY],
        },
        {
            "name": "BreakGlassRole",
            "description": "Emergency administrator access",
            "audience": "platform",
            "ous": ["/"],
            "admin": True,
            "trust": {"principals": [_identity_center("PlatformAdmin", "management")]},
            "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
        },
        {
            "name": "OnCallRole",
            "description": "On-call responder access",
            "audience": "human",
            "accounts": [members[0]],
            "trust": {"principals": [_identity_center("SecurityAudit", "security")]},
            "managed_policies": [READ_ONLY],
        },
        {
            "name": "MetricsVendorRole",
            "description": "An observability vendor reads metrics until the contract ends",
            "audience": "vendor",
            "accounts": [members[-1]],
            "trust": {
                "principals": [{"external": {"account_id": "999988887777", "external_id": "bench-vendor-7f3a9c"}}],
                "expires": "2035-01-01",
            },
            "permissions_boundary": {"policy": "WorkloadBoundary"},
            "managed_policies": [{"policy": team_policies[0]}],
        },
    ]
    service_roles: list[dict[str, Any]] = [
        {
            "name": "orders-service",
            "description": "ECS task role of the orders service",
            "service": "ecs-tasks",
            "environments": ["prod"],
            "s3": [{"bucket": "bench-{environment}-orders", "access": "write", "prefix": "orders/*"}],
            "dynamodb": [{"table": "orders", "access": "write"}],
            "permissions_boundary": {"policy": "WorkloadBoundary"},
        }
    ]
    placed = 2 * size.accounts + 2 + len(org.env_accounts["prod"])
    k = 0
    while placed < size.placements:
        targets, count = _targets(rng, org, ous, size.placements - placed, members)
        pset = team_sets[k % len(team_sets)]
        role: dict[str, Any] = {"name": f"Team{k:03d}Operator", "description": f"Team {k}'s operators", **targets}
        if k % 4 == 3:
            role["audience"] = "ci"
            subject = f"repo:bench/team-{k}:environment:{{environment}}"
            role["trust"] = {"principals": [{"oidc": {"provider": "github", "subject": subject}}]}
        else:
            role["audience"] = "human"
            role["trust"] = {"principals": [_identity_center(pset, "shared-services")]}
        role["permissions_boundary"] = {"policy": "WorkloadBoundary"}
        role["managed_policies"] = [READ_ONLY, {"policy": team_policies[k % len(team_policies)]}]
        roles.append(role)
        placed += count
        k += 1

    matrix: dict[str, Any] = {
        "version": 1,
        "organization": {
            "name": "bench",
            "home_region": "us-east-1",
            "management_account": "management",
            "deployment_role": "OrganizationAccountAccessRole",
            "break_glass_role": "BreakGlassRole",
            "units": org.units(),
        },
        "accounts": accounts,
        "guardrails": guardrails,
        "identity_center": {
            "identity_source": {"type": "external", "provider": "okta", "protocol": "saml", "scim": True},
            "groups": groups,
            "permission_sets": permission_sets,
            "assignments": assignments,
        },
        "policies": policies,
        "roles": roles,
        "service_roles": service_roles,
        "security_baseline": {"account": "security"},
        # an organization this size has had its account quota raised
        "limits": {"accounts_per_organization": max(10, len(accounts))},
    }
    untagged = [a["name"] for a in accounts if "environment" not in a]
    environments = {
        "dev": {
            "name": "dev",
            "description": "The first stage, with the organization-wide stacks",
            "stacks": ["organization", "security", "identity-center"],
            "accounts": untagged + org.env_accounts["dev"],
            "approval": "none",
        },
        "staging": {
            "name": "staging",
            "promotes_from": "dev",
            "accounts": org.env_accounts["staging"],
            "approval": "none",
        },
        "prod": {"name": "prod", "promotes_from": "staging", "accounts": org.env_accounts["prod"], "approval": "none"},
    }
    stats = Stats(
        accounts=len(accounts),
        ous=len(ous),
        max_ou_depth=max(org.depth.values()),
        permission_sets=len(permission_sets),
        groups=len(groups),
        assignment_entries=len(assignments),
        assignments=expanded,
        roles=len(roles),
        service_roles=len(service_roles),
        placements=placed,
        policies=len(policies),
        guardrails=len(guardrails),
        yaml_bytes=0,
    )
    return matrix, environments, stats


SCP_DENY_PUBLIC_S3 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyDisablingBlockPublicAccess",
            "Effect": "Deny",
            "Action": "s3:PutAccountPublicAccessBlock",
            "Resource": "*",
            "Condition": {
                "ArnNotLike": {
                    "aws:PrincipalArn": [
                        "arn:aws:iam::*:role/OrganizationAccountAccessRole",
                        "arn:aws:iam::*:role/BreakGlassRole",
                    ]
                }
            },
        }
    ],
}


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)


def _write_files(dest: Path, matrix: dict[str, Any], environments: dict[str, dict[str, Any]]) -> int:
    dest.mkdir(parents=True, exist_ok=True)
    text = "# A synthetic organization for benchmarks, written by bench/synth.py.\n" + _dump(matrix)
    (dest / "access-matrix.yaml").write_text(text)
    env_dir = dest / "environments"
    env_dir.mkdir(exist_ok=True)
    for name, env in environments.items():
        (env_dir / f"{name}.yaml").write_text(_dump(env))
    return len(text.encode())


def write_project(dest: Path, size: Size, seed: int = SEED) -> Stats:
    """Write access-matrix.yaml, environments/ and policies/ for a synthetic organization into `dest`."""
    matrix, environments, stats = synth_matrix(size, seed)
    (dest / "policies").mkdir(parents=True, exist_ok=True)
    (dest / "policies" / "scp-deny-public-s3.json").write_text(json.dumps(SCP_DENY_PUBLIC_S3, indent=2) + "\n")
    stats.yaml_bytes = _write_files(dest, matrix, environments)
    return stats


def write_sandbox_project(dest: Path, members: int) -> list[str]:
    """A small project for the sandbox: environment `org` holds the organization stack, environment
    `members` one access stack per member account (a Lambda role with an inline policy). Returns the
    member stacks' names."""
    names = [f"member-{i:02d}" for i in range(1, members + 1)]
    matrix = {
        "version": 1,
        "organization": {
            "name": "benchsandbox",
            "management_account": "management",
            "units": [{"name": "MembersOU"}],
        },
        "accounts": [{"name": "management", "email": "aws+management@example.com", "ou": "/"}]
        + [{"name": n, "email": f"aws+{n}@example.com", "ou": "MembersOU"} for n in names],
        "limits": {"accounts_per_organization": max(10, len(names) + 1)},
        "guardrails": [{"name": "deny-root-user", "builtin": "deny-root-user", "targets": {"ous": ["/"]}}],
        "service_roles": [
            {
                "name": "app-service",
                "description": "The application's Lambda role",
                "service": "lambda",
                "ous": ["MembersOU"],
                "dynamodb": [{"table": "app", "access": "read"}],
            }
        ],
    }
    environments = {
        "org": {"name": "org", "stacks": ["organization"], "accounts": ["management"], "approval": "none"},
        "members": {"name": "members", "promotes_from": "org", "accounts": names, "approval": "none"},
    }
    _write_files(dest, matrix, environments)
    return [f"access-{n}" for n in names]


def write_security_project(dest: Path) -> None:
    """A small project for the sandbox whose environment `baseline` holds only the security stack: the
    full security baseline in a security account. Environment `org` holds the organization stack it needs."""
    matrix = {
        "version": 1,
        "organization": {
            "name": "benchsecurity",
            "management_account": "management",
            "units": [{"name": "SecurityOU"}],
        },
        "accounts": [
            {"name": "management", "email": "aws+management@example.com", "ou": "/"},
            {"name": "security", "email": "aws+security@example.com", "ou": "SecurityOU"},
        ],
        "security_baseline": {"account": "security", "log_retention_days": 30},
    }
    environments = {
        "org": {"name": "org", "stacks": ["organization"], "accounts": ["management"], "approval": "none"},
        "baseline": {
            "name": "baseline",
            "promotes_from": "org",
            "stacks": ["security"],
            "accounts": ["security"],
            "approval": "none",
        },
    }
    _write_files(dest, matrix, environments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stats = write_project(args.out, Size.scaled(args.accounts), args.seed)
    print(json.dumps(stats.__dict__, indent=2))


if __name__ == "__main__":
    main()
