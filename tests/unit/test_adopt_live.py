"""The live reader against a brownfield organization built with boto3 alone, in the sandbox's own app.

The sandbox (moto behind the shims) is served in-process (`tests.inprocess`), so the reader talks HTTP to it
exactly as to the sandbox server; every expected value below is what the test itself created.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.stub import Stubber

from securecart_tf.adopt import live
from securecart_tf.adopt.clients import AccountClient, TargetClients
from securecart_tf.adopt.inventory import CustomerPolicyRef, Inventory, LiveBoundary
from securecart_tf.errors import SecureCartError
from securecart_tf.run.workspace import Target
from securecart_tf.sandbox import SandboxInfo, provision_scim_group
from tests.helpers import sandbox_client
from tests.inprocess import serve

REGION = "us-east-1"
ROLE = "OrganizationAccountAccessRole"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


DENY_LEAVE = doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"})
DENY_REGIONS = doc(
    {
        "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*"],
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
    }
)
DENY_ROOT = doc(
    {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
    }
)
RCP_TLS = doc(
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)
APP_READ_V1 = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app data/*"})
APP_READ_V2 = doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"})
DEV_BOUNDARY = doc({"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"})
PS_INLINE = doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})
ROLE_INLINE = doc({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"})
GITHUB = "token.actions.githubusercontent.com"
SIGNED_BY = re.compile(r"Credential=([^/]+)/")
"""The access key in a SigV4 Authorization header."""
IAM_PREFIX = {"sso-admin": "sso", "accessanalyzer": "access-analyzer", "config-service": "config"}
"""botocore's service name → the prefix of its IAM actions, where the two differ."""


@dataclass
class Brownfield:
    """What the test built, by name: the values the inventory must hold."""

    info: SandboxInfo
    management: str = ""
    root: str = ""
    ous: dict[str, str] = field(default_factory=dict)
    """OU path → ID."""
    accounts: dict[str, str] = field(default_factory=dict)
    """Account name → ID."""
    policies: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    user: str = ""
    permission_sets: dict[str, str] = field(default_factory=dict)
    store: str = ""
    instance: str = ""
    app_read_arn: str = ""
    boundary_arn: str = ""
    oidc_arn: str = ""

    def client(self, service: str, account: str | None = None) -> Any:
        return sandbox_client(self.info, service, self.accounts[account] if account else None, role=ROLE)

    def target(self) -> Target:
        return Target("sandbox", "sandbox:unit", REGION, info=self.info)


@pytest.fixture(scope="module")
def served() -> Iterator[SandboxInfo]:
    with serve() as info:
        yield info


@pytest.fixture(scope="module")
def brownfield(served: SandboxInfo) -> Brownfield:
    org = Brownfield(served)
    build_organization(org)
    build_identity_center(org)
    build_member_iam(org)
    build_management_iam(org)
    return org


def build_organization(org: Brownfield) -> None:
    """Nested OUs three deep, accounts in the root and in OUs, a closed account, SCPs and an RCP, a delegate."""
    organizations = org.client("organizations")
    org.management = organizations.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    org.root = organizations.list_roots()["Roots"][0]["Id"]
    for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        organizations.enable_policy_type(RootId=org.root, PolicyType=kind)
    for principal in ("sso.amazonaws.com", "guardduty.amazonaws.com"):
        organizations.enable_aws_service_access(ServicePrincipal=principal)
    for path in ("Security", "Workloads", "Workloads/Prod", "Workloads/Prod/Payments"):
        parent, _, name = path.rpartition("/")
        created = organizations.create_organizational_unit(ParentId=org.ous.get(parent, org.root), Name=name)
        org.ous[path] = created["OrganizationalUnit"]["Id"]
    placements = {
        "shared-services": "",
        "log-archive": "Security",
        "payments-prod": "Workloads/Prod/Payments",
        "locked": "Workloads/Prod",
        "retired": "Workloads",
    }
    for name, path in placements.items():
        # moto loads AWS's managed policies into an account's IAM as it is created, which takes seconds: only
        # payments-prod, whose roles attach one, gets them
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if name == "payments-prod" else "false")
            status = organizations.create_account(AccountName=name, Email=f"{name}@brownfield.example")
        account = status["CreateAccountStatus"]["AccountId"]
        org.accounts[name] = account
        if path:
            organizations.move_account(AccountId=account, SourceParentId=org.root, DestinationParentId=org.ous[path])
    organizations.close_account(AccountId=org.accounts["retired"])
    # the deployment role is gone from one account: AssumeRole into it is refused
    org.client("iam", "locked").delete_role(RoleName=ROLE)
    attach = {
        "DenyLeave": (DENY_LEAVE, "SERVICE_CONTROL_POLICY", org.root),
        "DenyRegions": (DENY_REGIONS, "SERVICE_CONTROL_POLICY", org.ous["Workloads"]),
        "DenyRoot": (DENY_ROOT, "SERVICE_CONTROL_POLICY", org.accounts["payments-prod"]),
        "RequireTls": (RCP_TLS, "RESOURCE_CONTROL_POLICY", org.ous["Security"]),
    }
    for name, (content, kind, target) in attach.items():
        policy = organizations.create_policy(
            Name=name, Description=f"{name} guardrail", Type=kind, Content=json.dumps(content)
        )["Policy"]["PolicySummary"]
        organizations.attach_policy(PolicyId=policy["Id"], TargetId=target)
        org.policies[name] = policy["Id"]
    organizations.register_delegated_administrator(
        AccountId=org.accounts["log-archive"], ServicePrincipal="guardduty.amazonaws.com"
    )


def build_identity_center(org: Brownfield) -> None:
    """A SCIM group, a group created in Identity Center, a user; permission sets with each kind of policy."""
    sso, identitystore = org.client("sso-admin"), org.client("identitystore")
    instance = sso.list_instances()["Instances"][0]
    org.instance, org.store = instance["InstanceArn"], instance["IdentityStoreId"]
    org.groups["Engineers"] = provision_scim_group(identitystore, org.store, "Engineers", external_id="okta-0042")
    org.groups["Auditors"] = identitystore.create_group(
        IdentityStoreId=org.store, DisplayName="Auditors", Description="made in Identity Center"
    )["GroupId"]
    org.user = identitystore.create_user(
        IdentityStoreId=org.store,
        UserName="jane",
        DisplayName="Jane Doe",
        Name={"GivenName": "Jane", "FamilyName": "Doe"},
    )["UserId"]
    ids = {"InstanceArn": org.instance}
    dev = sso.create_permission_set(Name="DeveloperAccess", SessionDuration="PT4H", Description="devs", **ids)
    org.permission_sets["DeveloperAccess"] = dev["PermissionSet"]["PermissionSetArn"]
    audit = sso.create_permission_set(Name="AuditAccess", **ids)
    org.permission_sets["AuditAccess"] = audit["PermissionSet"]["PermissionSetArn"]
    dev_ids = {**ids, "PermissionSetArn": org.permission_sets["DeveloperAccess"]}
    sso.attach_managed_policy_to_permission_set(ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess", **dev_ids)
    sso.attach_customer_managed_policy_reference_to_permission_set(
        CustomerManagedPolicyReference={"Name": "AppRead", "Path": "/team/"}, **dev_ids
    )
    sso.put_inline_policy_to_permission_set(InlinePolicy=json.dumps(PS_INLINE), **dev_ids)
    sso.put_permissions_boundary_to_permission_set(
        PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "DevBoundary", "Path": "/"}}, **dev_ids
    )
    audit_ids = {**ids, "PermissionSetArn": org.permission_sets["AuditAccess"]}
    sso.attach_managed_policy_to_permission_set(
        ManagedPolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", **audit_ids
    )
    sso.put_permissions_boundary_to_permission_set(
        PermissionsBoundary={"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}, **audit_ids
    )
    for principal, kind, permission_set, account in (
        (org.groups["Engineers"], "GROUP", "DeveloperAccess", "payments-prod"),
        (org.groups["Engineers"], "GROUP", "DeveloperAccess", "shared-services"),
        (org.groups["Auditors"], "GROUP", "AuditAccess", "log-archive"),
        (org.user, "USER", "AuditAccess", "payments-prod"),
    ):
        sso.create_account_assignment(
            TargetId=org.accounts[account],
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=org.permission_sets[permission_set],
            PrincipalType=kind,
            PrincipalId=principal,
            **ids,
        )


def build_member_iam(org: Brownfield) -> None:
    """Roles of each trust shape in payments-prod, plus a service-linked and an SSO role that are left out."""
    iam = org.client("iam", "payments-prod")
    account = org.accounts["payments-prod"]
    org.oidc_arn = iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    app_read = iam.create_policy(
        PolicyName="AppRead", Path="/team/", PolicyDocument=json.dumps(APP_READ_V1), Description="read app data"
    )["Policy"]
    org.app_read_arn = app_read["Arn"]
    iam.create_policy_version(PolicyArn=org.app_read_arn, PolicyDocument=json.dumps(APP_READ_V2), SetAsDefault=True)
    org.boundary_arn = iam.create_policy(PolicyName="DevBoundary", PolicyDocument=json.dumps(DEV_BOUNDARY))["Policy"][
        "Arn"
    ]
    iam.create_role(
        RoleName="AppDeploy",
        AssumeRolePolicyDocument=json.dumps(github_trust(org.oidc_arn)),
        Description="deploys the payments app",
        MaxSessionDuration=7200,
        PermissionsBoundary=org.boundary_arn,
        Tags=[{"Key": "team", "Value": "payments"}, {"Key": "cost-center", "Value": "42"}],
    )
    iam.attach_role_policy(RoleName="AppDeploy", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.attach_role_policy(RoleName="AppDeploy", PolicyArn=org.app_read_arn)
    iam.put_role_policy(RoleName="AppDeploy", PolicyName="write-logs", PolicyDocument=json.dumps(ROLE_INLINE))
    iam.create_role(
        RoleName="AuditFromLogArchive", Path="/audit/", AssumeRolePolicyDocument=json.dumps(cross_account_trust(org))
    )
    iam.create_role(
        RoleName="PaymentsLambda", AssumeRolePolicyDocument=json.dumps(service_trust("lambda.amazonaws.com"))
    )
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    iam.create_role(
        RoleName="AWSReservedSSO_DeveloperAccess_0123456789abcdef",
        Path="/aws-reserved/sso.amazonaws.com/",
        AssumeRolePolicyDocument=json.dumps(saml_trust(account)),
    )


def build_management_iam(org: Brownfield) -> None:
    iam = org.client("iam")
    iam.create_role(RoleName="BreakGlass", AssumeRolePolicyDocument=json.dumps(cross_account_trust(org)))
    iam.create_policy(PolicyName="MgmtBilling", PolicyDocument=json.dumps(APP_READ_V1))


def github_trust(provider: str) -> dict[str, Any]:
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{GITHUB}:sub": "repo:securecart/payments:ref:refs/heads/main"},
            },
        }
    )


def cross_account_trust(org: Brownfield) -> dict[str, Any]:
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{org.accounts['log-archive']}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "audit 100%"}},
        }
    )


def service_trust(service: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def saml_trust(account: str) -> dict[str, Any]:
    provider = f"arn:aws:iam::{account}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"
    return doc({"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"})


class Counting:
    """The target's client factories, counting every AWS call by the account it was signed for (botocore events).

    Member accounts share one client per service, so a call is told apart by the access key that signs it: the
    management account's own, or the one AssumeRole handed out for a member account.
    """

    def __init__(self, clients: TargetClients, management_key: str) -> None:
        self.clients = clients
        self.calls: Counter[tuple[str, str]] = Counter()
        self.actions: set[str] = set()
        """IAM actions, as prefix:Operation (SSO Admin's actions are sso:, see IAM_PREFIX)."""
        self.keys: dict[str, str] = {management_key: "management"}
        """Access key → the account whose calls it signs."""
        self.made: Counter[str] = Counter()
        """boto3 clients made, by service."""
        self.lock = threading.Lock()
        make = clients._make

        def counted(service: str, region: str, **keys: str) -> Any:
            with self.lock:
                self.made[service] += 1
            return make(service, region, **keys)

        clients._make = counted  # type: ignore[method-assign]
        self._watch(clients.management("sts"))  # AssumeRole into each member account

    def _count(self, event_name: str, request: Any, **_: Any) -> None:
        service, operation = event_name.split(".")[1:]
        if operation == "AssumeRole":  # counted against the account it enters, as its RoleArn names
            body = request.body if isinstance(request.body, str) else bytes(request.body).decode()
            account = parse_qs(body)["RoleArn"][0].split(":")[4]
        else:
            authorization = request.headers["Authorization"]
            signed = SIGNED_BY.search(authorization if isinstance(authorization, str) else authorization.decode())
            account = self.keys.get(signed.group(1), "unknown") if signed else "unsigned"
        with self.lock:
            self.calls[(account, operation)] += 1
            self.actions.add(f"{IAM_PREFIX.get(service, service)}:{operation}")

    def _watch(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-send", self._count, unique_id="count")
        events.register("before-parameter-build.sts.AssumeRole", self._entering, unique_id="count-entering")
        events.register("after-call.sts.AssumeRole", self._entered, unique_id="count-entered")
        return client

    def _entering(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["count_account"] = params["RoleArn"].split(":")[4]

    def _entered(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "Credentials" in parsed:
            with self.lock:
                self.keys[parsed["Credentials"]["AccessKeyId"]] = context["count_account"]

    def management(self, service: str, region: str | None = None) -> Any:
        return self._watch(self.clients.management(service, region))

    def enter(self, account_id: str) -> live.ClientFactory:
        factory = self.clients.enter(account_id)

        def client(service: str, region: str | None) -> Any:
            made = factory(service, region)
            self._watch(made.shared if isinstance(made, AccountClient) else made)
            return made

        return client

    def total(self, operation: str) -> int:
        return sum(n for (_, op), n in self.calls.items() if op == operation)


@pytest.fixture(scope="module")
def read(brownfield: Brownfield) -> tuple[Inventory, Counting, list[str]]:
    counting = Counting(TargetClients(brownfield.target(), ROLE), brownfield.info.access_key)
    said: list[str] = []
    inventory = live.read_inventory(
        counting.management, enter=counting.enter, region=REGION, deployment_role=ROLE, progress=said.append
    )
    return inventory, counting, said


# ---- the organization ---------------------------------------------------------------------------------------


def test_the_organization_its_features_and_trusted_services(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    described = brownfield.client("organizations").describe_organization()["Organization"]
    assert inventory.organization_id == described["Id"]
    assert inventory.management_account_id == brownfield.management
    assert inventory.root_id == brownfield.root
    assert inventory.feature_set == "ALL"
    assert inventory.enabled_policy_types == ("RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY")
    assert inventory.service_access_principals == ("guardduty.amazonaws.com", "sso.amazonaws.com")
    assert inventory.home_region == REGION
    assert inventory.deployment_role == ROLE


def test_the_ou_tree_three_deep_with_parents_before_children(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    by_path = {u.path: u for u in inventory.units}
    assert set(by_path) == set(brownfield.ous)
    for path, ou_id in brownfield.ous.items():
        parent_path, _, name = path.rpartition("/")
        assert (by_path[path].id, by_path[path].name) == (ou_id, name)
        assert by_path[path].parent_id == brownfield.ous.get(parent_path, brownfield.root)
    order = [u.path for u in inventory.units]
    assert all(order.index(p.rpartition("/")[0]) < order.index(p) for p in order if "/" in p)


def test_every_account_with_where_it_sits_and_its_status(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    accounts = {a.id: a for a in inventory.accounts}
    assert set(accounts) == {brownfield.management, *brownfield.accounts.values()}
    expected_parent = {
        "shared-services": brownfield.root,
        "log-archive": brownfield.ous["Security"],
        "payments-prod": brownfield.ous["Workloads/Prod/Payments"],
        "locked": brownfield.ous["Workloads/Prod"],
        "retired": brownfield.ous["Workloads"],
    }
    for name, parent in expected_parent.items():
        account = accounts[brownfield.accounts[name]]
        assert (account.name, account.email, account.parent_id) == (name, f"{name}@brownfield.example", parent)
    assert accounts[brownfield.accounts["retired"]].status == "SUSPENDED"
    assert accounts[brownfield.accounts["payments-prod"]].status == "ACTIVE"
    assert accounts[brownfield.management].parent_id == brownfield.root


def test_scps_and_rcps_with_their_content_and_targets(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    policies = {p.name: p for p in inventory.policies}
    expected = {
        "DenyLeave": (DENY_LEAVE, "SERVICE_CONTROL_POLICY", (brownfield.root,)),
        "DenyRegions": (DENY_REGIONS, "SERVICE_CONTROL_POLICY", (brownfield.ous["Workloads"],)),
        "DenyRoot": (DENY_ROOT, "SERVICE_CONTROL_POLICY", (brownfield.accounts["payments-prod"],)),
        "RequireTls": (RCP_TLS, "RESOURCE_CONTROL_POLICY", (brownfield.ous["Security"],)),
    }
    for name, (content, kind, targets) in expected.items():
        policy = policies[name]
        assert (policy.id, policy.type, policy.document, policy.targets) == (
            brownfield.policies[name],
            kind,
            content,
            targets,
        )
        assert policy.description == f"{name} guardrail"
        assert not policy.aws_managed
    assert policies["FullAWSAccess"].aws_managed
    assert brownfield.root in policies["FullAWSAccess"].targets


def test_delegated_administrators(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    assert [(d.account_id, d.service_principal) for d in inventory.delegated_admins] == [
        (brownfield.accounts["log-archive"], "guardduty.amazonaws.com")
    ]


# ---- Identity Center ------------------------------------------------------------------------------------------


def test_groups_tell_scim_from_created_by_external_ids(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    assert inventory.identity_center is not None
    assert (inventory.identity_center.instance_arn, inventory.identity_center.identity_store_id) == (
        brownfield.instance,
        brownfield.store,
    )
    groups = {g.name: g for g in inventory.identity_center.groups}
    assert (groups["Engineers"].id, groups["Engineers"].scim) == (brownfield.groups["Engineers"], True)
    assert (groups["Auditors"].id, groups["Auditors"].scim) == (brownfield.groups["Auditors"], False)
    assert groups["Auditors"].description == "made in Identity Center"
    described = brownfield.client("identitystore").describe_group(
        IdentityStoreId=brownfield.store, GroupId=brownfield.groups["Engineers"]
    )
    assert [e["Id"] for e in described["ExternalIds"]] == ["okta-0042"]


def test_permission_sets_with_each_kind_of_policy(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    assert inventory.identity_center is not None
    sets = {p.name: p for p in inventory.identity_center.permission_sets}
    dev, audit = sets["DeveloperAccess"], sets["AuditAccess"]
    assert (dev.arn, dev.description, dev.session_duration) == (
        brownfield.permission_sets["DeveloperAccess"],
        "devs",
        "PT4H",
    )
    assert dev.managed_policies == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert dev.customer_managed_policies == (CustomerPolicyRef("AppRead", "/team/"),)
    assert dev.inline_policy == PS_INLINE
    assert dev.boundary == LiveBoundary(customer_managed=CustomerPolicyRef("DevBoundary", "/"))
    assert audit.arn == brownfield.permission_sets["AuditAccess"]
    assert audit.managed_policies == ("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",)
    assert (audit.customer_managed_policies, audit.inline_policy) == ((), None)
    assert audit.boundary == LiveBoundary(managed_policy_arn="arn:aws:iam::aws:policy/PowerUserAccess")


def test_assignments_of_groups_and_users(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    assert inventory.identity_center is not None
    found = {
        (a.permission_set_arn, a.principal_type, a.principal_id, a.account_id)
        for a in inventory.identity_center.assignments
    }
    ps, acc, groups = brownfield.permission_sets, brownfield.accounts, brownfield.groups
    assert found == {
        (ps["DeveloperAccess"], "GROUP", groups["Engineers"], acc["payments-prod"]),
        (ps["DeveloperAccess"], "GROUP", groups["Engineers"], acc["shared-services"]),
        (ps["AuditAccess"], "GROUP", groups["Auditors"], acc["log-archive"]),
        (ps["AuditAccess"], "USER", brownfield.user, acc["payments-prod"]),
    }


# ---- IAM in the accounts --------------------------------------------------------------------------------------


def test_roles_in_a_member_account_leave_out_what_aws_and_the_tool_own(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    iam = {i.account_id: i for i in inventory.iam}[brownfield.accounts["payments-prod"]]
    assert [r.name for r in iam.roles] == ["AppDeploy", "AuditFromLogArchive", "PaymentsLambda"]
    roles = {r.name: r for r in iam.roles}
    app = roles["AppDeploy"]
    assert app.arn == f"arn:aws:iam::{brownfield.accounts['payments-prod']}:role/AppDeploy"
    assert (app.path, app.description, app.max_session_duration) == ("/", "deploys the payments app", 7200)
    assert app.trust_policy == github_trust(brownfield.oidc_arn)
    assert app.permissions_boundary == brownfield.boundary_arn
    assert app.managed_policies == tuple(sorted(("arn:aws:iam::aws:policy/ReadOnlyAccess", brownfield.app_read_arn)))
    assert app.inline_policies == (("write-logs", ROLE_INLINE),)
    assert app.tags == (("cost-center", "42"), ("team", "payments"))
    audit = roles["AuditFromLogArchive"]
    assert (audit.path, audit.trust_policy, audit.permissions_boundary) == (
        "/audit/",
        cross_account_trust(brownfield),
        None,
    )
    assert (audit.managed_policies, audit.inline_policies, audit.tags) == ((), (), ())
    assert roles["PaymentsLambda"].trust_policy == service_trust("lambda.amazonaws.com")
    assert roles["PaymentsLambda"].max_session_duration == 3600


def test_customer_policies_with_the_default_version_and_oidc_providers(brownfield: Brownfield, read: Any) -> None:
    inventory: Inventory = read[0]
    iam = {i.account_id: i for i in inventory.iam}[brownfield.accounts["payments-prod"]]
    policies = {p.name: p for p in iam.policies}
    assert set(policies) == {"AppRead", "DevBoundary"}
    app_read = policies["AppRead"]
    assert (app_read.arn, app_read.path, app_read.description) == (brownfield.app_read_arn, "/team/", "read app data")
    assert app_read.document == APP_READ_V2
    assert policies["DevBoundary"].document == DEV_BOUNDARY
    assert [(p.arn, p.url, p.client_ids) for p in iam.oidc_providers] == [
        (brownfield.oidc_arn, GITHUB, ("sts.amazonaws.com",))
    ]


def test_the_management_account_is_read_with_its_own_credentials(brownfield: Brownfield, read: Any) -> None:
    inventory, counting, _ = read
    iam = {i.account_id: i for i in inventory.iam}[brownfield.management]
    assert [r.name for r in iam.roles] == ["BreakGlass"]
    assert [p.name for p in iam.policies] == ["MgmtBilling"]
    assert counting.calls[(brownfield.management, "AssumeRole")] == 0


def test_an_account_the_role_cannot_enter_is_skipped_and_named(brownfield: Brownfield, read: Any) -> None:
    inventory, _, said = read
    locked = brownfield.accounts["locked"]
    assert [s.what for s in inventory.skipped] == [f"account locked ({locked})"]
    assert "AccessDenied" in inventory.skipped[0].reason
    read_ids = {i.account_id for i in inventory.iam}
    active = {brownfield.accounts[n] for n in ("shared-services", "log-archive", "payments-prod")}
    assert read_ids == active | {brownfield.management}
    assert any("could not enter 1 of" in line for line in said)


def test_suspended_accounts_are_listed_but_not_entered(brownfield: Brownfield, read: Any) -> None:
    inventory, counting, _ = read
    retired = brownfield.accounts["retired"]
    assert retired in {a.id for a in inventory.accounts}
    assert retired not in {i.account_id for i in inventory.iam}
    assert counting.calls[(retired, "AssumeRole")] == 0


def test_one_listing_pass_per_kind_of_object(brownfield: Brownfield, read: Any) -> None:
    inventory, counting, _ = read
    parents = 1 + len(brownfield.ous)
    assert counting.total("ListAccountsForParent") == parents
    assert counting.total("ListOrganizationalUnitsForParent") == parents
    assert counting.total("ListParents") == counting.total("ListAccounts") == 0
    assert counting.total("DescribePolicy") == counting.total("ListTargetsForPolicy") == len(inventory.policies)
    assert counting.total("ListDelegatedServicesForAccount") == 1
    # 2 permission sets provisioned to 4 accounts in all, 2 groups and 1 user: one listing per principal
    assert counting.total("ListAccountsForProvisionedPermissionSet") == 2
    assert counting.total("ListAccountAssignmentsForPrincipal") == 3
    assert counting.total("ListAccountAssignments") == 0
    payments = brownfield.accounts["payments-prod"]
    iam_calls = {op: n for (account, op), n in counting.calls.items() if account == payments}
    # three roles kept, two left out, two policies: still one listing of each kind
    assert iam_calls == {
        "AssumeRole": 1,
        "ListRoles": 1,
        "GetAccountAuthorizationDetails": 1,
        "ListOpenIDConnectProviders": 1,
        "GetOpenIDConnectProvider": 1,
    }
    assert counting.total("GetRole") == counting.total("GetPolicyVersion") == 0


def test_member_accounts_share_one_client_per_service(brownfield: Brownfield, read: Any) -> None:
    inventory, counting, _ = read
    entered = {account for (account, op) in counting.calls if op == "AssumeRole"}
    signed_in = {account for (account, op) in counting.calls if op == "ListRoles"} - {"management"}
    # every member account read was entered and signed its own calls, through the one IAM client made for them
    assert signed_in == {i.account_id for i in inventory.iam} - {brownfield.management}
    assert len(signed_in) >= 3 and signed_in <= entered
    assert counting.made["iam"] == 2  # the management account's, and the one shared by member accounts
    assert ("unknown", "ListRoles") not in counting.calls and ("unsigned", "ListRoles") not in counting.calls


def test_a_member_client_signs_nothing_outside_an_account(brownfield: Brownfield) -> None:
    clients = TargetClients(brownfield.target(), ROLE)
    iam = clients.enter(brownfield.accounts["payments-prod"])("iam", None)
    assert isinstance(iam, AccountClient)
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} >= {"PaymentsLambda"}
    with pytest.raises(RuntimeError, match="outside an account"):
        iam.shared.list_roles()  # the shared client itself has no account to sign for


def test_identity_center_in_another_region_is_named_not_dropped(brownfield: Brownfield) -> None:
    # Identity Center lives in one region; AWS answers no instance elsewhere (moto has one in every region)
    clients = TargetClients(brownfield.target(), ROLE)
    elsewhere = boto3.client("sso-admin", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(elsewhere)
    stubber.add_response("list_instances", {"Instances": []}, {})

    def client(service: str, region: str | None) -> Any:
        return elsewhere if service == "sso-admin" else clients.management(service, region)

    with stubber:
        inventory = live.read_inventory(
            client, enter=clients.enter, region=REGION, identity_center_region="eu-west-1", deployment_role=ROLE
        )
    assert inventory.identity_center is None
    assert [s.what for s in inventory.skipped if "eu-west-1" in s.reason] == ["Identity Center"]


def test_every_call_made_is_in_the_import_policy(read: Any) -> None:
    _, counting, _ = read
    assert counting.actions <= set(live.READ_CALLS)
    statement = live.import_policy()["Statement"][0]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", "*")
    assert set(statement["Action"]) == set(live.READ_CALLS)
    assert not any(
        action.split(":")[1].startswith(("Create", "Put", "Update", "Delete", "Attach"))
        for action in statement["Action"]
    )


# ---- errors -----------------------------------------------------------------------------------------------


def _stubbed_organizations(code: str, message: str) -> Any:
    client = boto3.client("organizations", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("describe_organization", service_error_code=code, service_message=message)
    stubber.activate()
    return client


def test_no_organization_is_a_clear_error() -> None:
    org = _stubbed_organizations(
        "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."
    )

    def enter(account: str) -> live.ClientFactory:
        raise AssertionError("no account is entered without an organization")

    with pytest.raises(SecureCartError) as raised:
        live.read_inventory(lambda service, region: org, enter=enter, region=REGION)
    assert "not in an organization" in raised.value.message
    assert raised.value.hint and "management account" in raised.value.hint


def test_a_refused_organization_read_names_what_and_why() -> None:
    org = _stubbed_organizations("AccessDeniedException", "You don't have permissions to access this resource.")
    with pytest.raises(SecureCartError) as raised:
        live.read_inventory(lambda service, region: org, enter=lambda a: org, region=REGION)
    assert "AccessDeniedException" in raised.value.message
    assert raised.value.hint == live.IMPORT_HINT


@pytest.mark.parametrize(
    "given",
    [
        {"Version": "2012-10-17", "Statement": []},
        '{"Version": "2012-10-17", "Statement": []}',
        "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D",
    ],
)
def test_documents_parsed_json_or_url_encoded(given: Any) -> None:
    assert live._document(given, "a policy") == {"Version": "2012-10-17", "Statement": []}


def test_a_document_that_is_not_json_is_named() -> None:
    with pytest.raises(SecureCartError, match="role X"):
        live._document("not a policy", "role X")


def _account(account_id: str, name: str) -> dict[str, Any]:
    return {"Id": account_id, "Name": name, "Email": f"{name}@pages.example", "Status": "ACTIVE"}


def test_every_page_of_a_listing_is_read() -> None:
    client = boto3.client("organizations", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    pages: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("list_accounts_for_parent", {"Accounts": [_account("111111111111", "a")], "NextToken": "t1"}, {}),
        ("list_accounts_for_parent", {"Accounts": [_account("222222222222", "b")]}, {"NextToken": "t1"}),
        (
            "list_organizational_units_for_parent",
            {"OrganizationalUnits": [{"Id": "ou-1", "Name": "A"}], "NextToken": "t2"},
            {},
        ),
        (
            "list_organizational_units_for_parent",
            {"OrganizationalUnits": [{"Id": "ou-2", "Name": "B"}]},
            {"NextToken": "t2"},
        ),
    ]
    for operation, answer, token in pages:
        stubber.add_response(operation, answer, {"ParentId": "r-1", **token})
    for ou, listed in (("ou-1", []), ("ou-2", [_account("333333333333", "c")])):
        stubber.add_response("list_accounts_for_parent", {"Accounts": listed}, {"ParentId": ou})
        stubber.add_response("list_organizational_units_for_parent", {"OrganizationalUnits": []}, {"ParentId": ou})
    with stubber:
        units, accounts = live._tree(client, "r-1")
    stubber.assert_no_pending_responses()
    assert [(u.id, u.path, u.parent_id) for u in units] == [("ou-1", "A", "r-1"), ("ou-2", "B", "r-1")]
    assert [(a.name, a.parent_id) for a in accounts] == [("a", "r-1"), ("b", "r-1"), ("c", "ou-2")]


def _sso_stubs() -> tuple[Any, Stubber, Any, Stubber]:
    keys = {"region_name": REGION, "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sso, identitystore = boto3.client("sso-admin", **keys), boto3.client("identitystore", **keys)
    return sso, Stubber(sso), identitystore, Stubber(identitystore)


INSTANCE = "arn:aws:sso:::instance/ssoins-1111111111111111"
PS = [f"arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-{n}111111111111111" for n in (1, 2)]
GROUPS = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"]
USER = "33333333-3333-3333-3333-333333333333"


def _provisioned(stubber: Stubber, accounts: dict[str, list[str]]) -> None:
    for ps, listed in accounts.items():
        stubber.add_response(
            "list_accounts_for_provisioned_permission_set",
            {"AccountIds": listed},
            {"InstanceArn": INSTANCE, "PermissionSetArn": ps},
        )


def test_assignments_listed_by_permission_set_where_that_takes_fewer_calls() -> None:
    sso, sso_stub, identitystore, store_stub = _sso_stubs()
    _provisioned(sso_stub, {PS[0]: ["111111111111"]})
    sso_stub.add_response(
        "list_account_assignments",
        {
            "AccountAssignments": [
                {
                    "AccountId": "111111111111",
                    "PermissionSetArn": PS[0],
                    "PrincipalType": "GROUP",
                    "PrincipalId": GROUPS[0],
                }
            ]
        },
        {"InstanceArn": INSTANCE, "PermissionSetArn": PS[0], "AccountId": "111111111111"},
    )
    with sso_stub, store_stub:  # no user is listed: one provisioned account costs less than two groups
        found = live._assignments(sso, identitystore, INSTANCE, "d-1111111111", (PS[0],), tuple(GROUPS))
    sso_stub.assert_no_pending_responses()
    assert [(a.permission_set_arn, a.principal_type, a.principal_id, a.account_id) for a in found] == [
        (PS[0], "GROUP", GROUPS[0], "111111111111")
    ]


def test_assignments_listed_by_principal_where_that_takes_fewer_calls() -> None:
    sso, sso_stub, identitystore, store_stub = _sso_stubs()
    _provisioned(sso_stub, {PS[0]: ["111111111111", "222222222222"], PS[1]: ["111111111111"]})
    store_stub.add_response(
        "list_users",
        {
            "Users": [
                {
                    "UserId": USER,
                    "UserName": "jane",
                    "IdentityStoreId": "d-1111111111",
                    "UserArn": f"arn:aws:identitystore:::user/{USER}",
                    "Revision": "1",
                }
            ]
        },
        {"IdentityStoreId": "d-1111111111"},
    )

    def row(ps: str, kind: str, principal: str, account: str) -> dict[str, str]:
        return {"AccountId": account, "PermissionSetArn": ps, "PrincipalType": kind, "PrincipalId": principal}

    answers = {
        ("GROUP", GROUPS[0]): [
            row(PS[0], "GROUP", GROUPS[0], "111111111111"),
            row(PS[0], "GROUP", GROUPS[0], "222222222222"),
        ],
        # a user's listing names the group it is in as well: that assignment is the group's
        ("USER", USER): [row(PS[1], "USER", USER, "111111111111"), row(PS[0], "GROUP", GROUPS[0], "111111111111")],
    }
    for (kind, principal), rows in answers.items():
        sso_stub.add_response(
            "list_account_assignments_for_principal",
            {"AccountAssignments": rows},
            {"InstanceArn": INSTANCE, "PrincipalType": kind, "PrincipalId": principal},
        )
    with sso_stub, store_stub:  # three provisioned accounts cost more than one group and one user
        found = live._assignments(sso, identitystore, INSTANCE, "d-1111111111", tuple(PS), (GROUPS[0],))
    sso_stub.assert_no_pending_responses()
    store_stub.assert_no_pending_responses()
    assert {(a.permission_set_arn, a.principal_type, a.principal_id, a.account_id) for a in found} == {
        (PS[0], "GROUP", GROUPS[0], "111111111111"),
        (PS[0], "GROUP", GROUPS[0], "222222222222"),
        (PS[1], "USER", USER, "111111111111"),
    }
    assert len(found) == 3


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05.123Z",
        "2024-01-02T03:04:05.123456+02:00",
        "2024-01-02T03:04:05",
        "2024-01-02T03:04:05.1234567Z",
        "Tue, 02 Jan 2024 03:04:05 GMT",
        "1700000000",
        1700000000.5,
    ],
)
def test_timestamps_parse_as_botocore_parses_them(value: Any) -> None:
    from botocore.utils import parse_timestamp

    from securecart_tf.adopt.clients import parse_timestamp as fast

    assert fast(value) == parse_timestamp(value)
    assert (fast(value).tzinfo is None) == (parse_timestamp(value).tzinfo is None)


def test_the_reader_s_clients_parse_timestamps_without_dateutil(brownfield: Brownfield) -> None:
    import dateutil.parser

    clients = TargetClients(brownfield.target(), ROLE)
    iam = clients.enter(brownfield.accounts["payments-prod"])("iam", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dateutil.parser, "parse", lambda *_, **__: pytest.fail("dateutil parsed a timestamp"))
        roles = iam.list_roles()["Roles"]
    assert roles and all(r["CreateDate"].tzinfo is not None for r in roles)


def test_identity_center_is_read_beside_the_accounts_iam(brownfield: Brownfield) -> None:
    # Identity Center's first listing waits until a member account's IAM is being read: read one after the
    # other, the wait would run out and Identity Center would be missing
    clients = TargetClients(brownfield.target(), ROLE)
    iam_read = threading.Event()
    waited: list[bool] = []

    def wait_for_iam(**_: Any) -> None:
        waited.append(iam_read.wait(timeout=60))

    def client(service: str, region: str | None) -> Any:
        made = clients.management(service, region)
        made.meta.events.register("before-call.sso-admin.ListInstances", wait_for_iam, unique_id="wait-for-iam")
        return made

    def enter(account_id: str) -> live.ClientFactory:
        factory = clients.enter(account_id)

        def member(service: str, region: str | None) -> Any:
            made = factory(service, region)
            made.shared.meta.events.register("before-call.iam.ListRoles", lambda **_: iam_read.set(), unique_id="iam")
            return made

        return member

    inventory = live.read_inventory(client, enter=enter, region=REGION, deployment_role=ROLE)
    assert waited == [True]
    assert inventory.identity_center is not None and inventory.identity_center.assignments


def test_an_older_botocore_gets_a_client_of_the_account_s_own(brownfield: Brownfield) -> None:
    from securecart_tf.adopt import clients as module

    clients = TargetClients(brownfield.target(), ROLE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "signs_per_request", lambda: False)
        iam = clients.enter(brownfield.accounts["payments-prod"])("iam", None)
    assert not isinstance(iam, AccountClient)
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} >= {"PaymentsLambda"}
    assert module.signs_per_request()  # the botocore installed here signs per request
