"""Organizations that exist before securecart-tf: built in a project's sandbox with boto3 alone.

Each builder records what it made (IDs by name), so that a test can check that an import kept every one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, sandbox_client

REGION = "us-east-1"
ACCESS_ROLE = "OrganizationAccountAccessRole"
GITHUB = "token.actions.githubusercontent.com"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
VIEW_ONLY = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
VENDOR_ACCOUNT = "999988887777"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# The root-user guardrail as a team that once copied securecart-tf's library would have it.
DENY_ROOT_USER = doc(
    {
        "Sid": "DenyRootUser",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}},
    }
)
DENY_BUCKET_DELETE = doc(
    {
        "Sid": "KeepProdBuckets",
        "Effect": "Deny",
        "Action": ["s3:DeleteBucket"],
        "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [f"arn:aws:iam::*:role/{ACCESS_ROLE}"]}},
    }
)
DENY_IGW = doc(
    {"Sid": "NoInternetGateways", "Effect": "Deny", "Action": ["ec2:CreateInternetGateway"], "Resource": "*"}
)
APP_READ = doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::payments-data/*"})
VENDOR_METRICS = doc({"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"})
PS_INLINE = doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})
LAMBDA_LOGS = doc({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"})


@dataclass
class Brownfield:
    """A project folder whose sandbox holds an organization made by hand, and what was made, by name."""

    project: Path
    management: str = ""
    root: str = ""
    ous: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    permission_sets: dict[str, str] = field(default_factory=dict)
    role_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    """(account, role name) → RoleId, which changes if the role is ever replaced."""
    iam_policy_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    instance: str = ""
    store: str = ""

    @property
    def info(self) -> sandbox.SandboxInfo:
        info = sandbox.read(self.project / ".securecart")
        assert info is not None, "the sandbox is not running"
        return info

    def client(self, service: str, account: str | None = None) -> Any:
        return sandbox_client(self.info, service, self.accounts[account] if account else None)


@contextlib.contextmanager
def imported(project: Path, build: Callable[[Brownfield], None], *import_args: str) -> Iterator[Brownfield]:
    """The organization `build` makes in the project's own sandbox, then `securecart-tf import IMPORT_ARGS`
    run there; the sandbox stops when the block ends."""
    started = run_cli(project, "sandbox", "up")
    assert started.returncode == 0, explain(started)
    bf = Brownfield(project)
    try:
        build(bf)
        done = run_cli(project, "import", *import_args)
        assert done.returncode == 0, explain(done)
        yield bf
    finally:
        sandbox.down(project / ".securecart")


def organization(bf: Brownfield, ous: list[str], accounts: dict[str, str]) -> None:
    """An organization with all features and SCPs on, the OUs (parents first) and accounts placed in them."""
    org = bf.client("organizations")
    bf.management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    bf.root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=bf.root, PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    for path in ous:
        parent, _, name = path.rpartition("/")
        made = org.create_organizational_unit(ParentId=bf.ous.get(parent, bf.root), Name=name)
        bf.ous[path] = made["OrganizationalUnit"]["Id"]
    for name, path in accounts.items():
        account = org.create_account(AccountName=name, Email=f"{name}@payments.example")["CreateAccountStatus"]
        bf.accounts[name] = account["AccountId"]
        if path:
            org.move_account(AccountId=account["AccountId"], SourceParentId=bf.root, DestinationParentId=bf.ous[path])


def scp(bf: Brownfield, name: str, content: dict[str, Any], target: str) -> None:
    org = bf.client("organizations")
    made = org.create_policy(
        Name=name, Description=f"{name}, made by hand", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(content)
    )["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=made["Id"], TargetId=target)
    bf.policies[name] = made["Id"]


def payments(bf: Brownfield) -> None:
    """The organization most teams have: nested OUs, SCPs at each level, Identity Center, and roles of every
    trust shape in a workload account."""
    organization(
        bf,
        ["Security", "Workloads", "Workloads/NonProd", "Workloads/Prod"],
        {"log-archive": "Security", "payments-dev": "Workloads/NonProd", "payments-prod": "Workloads/Prod"},
    )
    scp(bf, "DenyRootUser", DENY_ROOT_USER, bf.root)
    scp(bf, "KeepProdBuckets", DENY_BUCKET_DELETE, bf.ous["Workloads/Prod"])
    scp(bf, "NoInternetGateways", DENY_IGW, bf.accounts["payments-dev"])
    made = bf.client("iam", "payments-dev").create_policy(PolicyName="AppRead", PolicyDocument=json.dumps(APP_READ))
    bf.iam_policy_ids[("payments-dev", "AppRead")] = made["Policy"]["PolicyId"]
    identity_center(bf)
    for account in ("payments-dev", "payments-prod"):  # the same roles in both: one matrix entry each
        workload_roles(bf, account)


def identity_center(bf: Brownfield) -> None:
    """A SCIM group and a created group; permission sets with each kind of policy; an OU-wide assignment."""
    sso, store = bf.client("sso-admin"), bf.client("identitystore")
    instance = sso.list_instances()["Instances"][0]
    bf.instance, bf.store = instance["InstanceArn"], instance["IdentityStoreId"]
    bf.groups["Engineers"] = sandbox.provision_scim_group(store, bf.store, "Engineers")
    bf.groups["Auditors"] = store.create_group(IdentityStoreId=bf.store, DisplayName="Auditors")["GroupId"]
    ids = {"InstanceArn": bf.instance}
    for name, duration in (("DeveloperAccess", "PT4H"), ("AuditAccess", "PT1H")):
        made = sso.create_permission_set(Name=name, SessionDuration=duration, Description=f"{name} by hand", **ids)
        bf.permission_sets[name] = made["PermissionSet"]["PermissionSetArn"]
    dev = {**ids, "PermissionSetArn": bf.permission_sets["DeveloperAccess"]}
    sso.attach_managed_policy_to_permission_set(ManagedPolicyArn=READ_ONLY, **dev)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        CustomerManagedPolicyReference={"Name": "AppRead", "Path": "/"}, **dev
    )
    sso.put_inline_policy_to_permission_set(InlinePolicy=json.dumps(PS_INLINE), **dev)
    sso.put_permissions_boundary_to_permission_set(PermissionsBoundary={"ManagedPolicyArn": POWER_USER}, **dev)
    audit = {**ids, "PermissionSetArn": bf.permission_sets["AuditAccess"]}
    sso.attach_managed_policy_to_permission_set(ManagedPolicyArn=VIEW_ONLY, **audit)
    for group, permission_set, account in (
        ("Engineers", "DeveloperAccess", "payments-dev"),
        ("Auditors", "AuditAccess", "payments-dev"),  # with payments-prod: all of Workloads
        ("Auditors", "AuditAccess", "payments-prod"),
        ("Auditors", "AuditAccess", "log-archive"),
    ):
        sso.create_account_assignment(
            TargetId=bf.accounts[account],
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=bf.permission_sets[permission_set],
            PrincipalType="GROUP",
            PrincipalId=bf.groups[group],
            **ids,
        )


def workload_roles(bf: Brownfield, account: str) -> None:
    """Roles trusted by a service, another account, a vendor, GitHub Actions, and one with trust of its own."""
    iam = bf.client("iam", account)
    oidc = iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB}",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
    )["OpenIDConnectProviderArn"]
    vendor = iam.create_policy(PolicyName="VendorMetrics", PolicyDocument=json.dumps(VENDOR_METRICS))["Policy"]
    bf.iam_policy_ids[(account, "VendorMetrics")] = vendor["PolicyId"]
    log_archive = bf.accounts["log-archive"]
    roles: dict[str, dict[str, Any]] = {
        "PaymentsLambda": doc(_allow({"Service": "lambda.amazonaws.com"})),
        "AuditFromLogArchive": doc(_allow({"AWS": f"arn:aws:iam::{log_archive}:root"})),
        "VendorRead": doc(
            _allow(
                {"AWS": f"arn:aws:iam::{VENDOR_ACCOUNT}:root"},
                {
                    "StringEquals": {"sts:ExternalId": "acme-7f3a"},
                    "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"},  # the contract's end
                },
            )
        ),
        "AppDeploy": doc(
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB}:aud": "sts.amazonaws.com",
                        f"{GITHUB}:sub": "repo:payments/app:ref:refs/heads/main",
                    },
                },
            }
        ),
        # a condition no principal shape says: kept exactly, as a trust policy file
        "OfficeOnly": doc(
            _allow({"AWS": f"arn:aws:iam::{log_archive}:root"}, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
        ),
    }
    for name, trust in roles.items():
        path = "/service-role/" if name == "PaymentsLambda" else "/"
        made = iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), Description=f"{name} by hand"
        )
        bf.role_ids[(account, name)] = made["Role"]["RoleId"]
    iam.put_role_policy(RoleName="PaymentsLambda", PolicyName="write-logs", PolicyDocument=json.dumps(LAMBDA_LOGS))
    iam.attach_role_policy(RoleName="VendorRead", PolicyArn=vendor["Arn"])
    iam.attach_role_policy(RoleName="AuditFromLogArchive", PolicyArn=VIEW_ONLY)


def _allow(principal: dict[str, str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


DENY_OUTSIDE_ORG = doc(
    {
        "Sid": "OnlyOurOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:*"],
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-placeholder"}},
    }
)
DENY_LEAVE = doc(
    {"Sid": "StayInTheOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
)
DEEP = [
    "Platform",
    "Platform/Shared",
    "Platform/Shared/Network",
    "Platform/Shared/Network/Core",
    "Platform/Shared/Network/Core/Edge",
]


def perimeter(bf: Brownfield) -> None:
    """A platform team's organization: OUs five deep, an RCP beside the SCPs, no Identity Center in use, and
    roles that trust a role and an account elsewhere in the organization."""
    organization(bf, DEEP, {"edge-network": "Platform/Shared/Network/Core/Edge", "tooling": "Platform"})
    org = bf.client("organizations")
    org.enable_policy_type(RootId=bf.root, PolicyType="RESOURCE_CONTROL_POLICY")
    scp(bf, "StayInTheOrganization", DENY_LEAVE, bf.root)
    scp(bf, "NoInternetGateways", DENY_IGW, bf.accounts["edge-network"])
    perimeter_rcp = dict(DENY_OUTSIDE_ORG)
    perimeter_rcp["Statement"] = [
        {
            **DENY_OUTSIDE_ORG["Statement"][0],
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": org.describe_organization()["Organization"]["Id"]}
            },
        }
    ]
    made = org.create_policy(
        Name="OnlyOurOrganization",
        Description="OnlyOurOrganization, made by hand",
        Type="RESOURCE_CONTROL_POLICY",
        Content=json.dumps(perimeter_rcp),
    )["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=made["Id"], TargetId=bf.ous["Platform/Shared"])
    bf.policies["OnlyOurOrganization"] = made["Id"]
    tooling = bf.client("iam", "tooling")
    auditor = tooling.create_role(
        RoleName="NetworkAuditor",
        AssumeRolePolicyDocument=json.dumps(doc(_allow({"AWS": f"arn:aws:iam::{bf.management}:root"}))),
    )["Role"]
    bf.role_ids[("tooling", "NetworkAuditor")] = auditor["RoleId"]
    iam = bf.client("iam", "edge-network")
    routes = iam.create_policy(
        PolicyName="ReadRoutes",
        PolicyDocument=json.dumps(doc({"Effect": "Allow", "Action": "ec2:DescribeRouteTables", "Resource": "*"})),
    )["Policy"]
    bf.iam_policy_ids[("edge-network", "ReadRoutes")] = routes["PolicyId"]
    trusts = {
        "RouteReader": doc(_allow({"AWS": auditor["Arn"]})),
        "ToolingDeploy": doc(_allow({"AWS": f"arn:aws:iam::{bf.accounts['tooling']}:root"})),
    }
    for name, trust in trusts.items():
        made_role = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=f"{name} by hand"
        )
        bf.role_ids[("edge-network", name)] = made_role["Role"]["RoleId"]
        iam.attach_role_policy(RoleName=name, PolicyArn=routes["Arn"])
