"""Read a live organization into an `Inventory` through read-only AWS calls, one listing pass per kind of object.

The reader sees AWS only through client factories: `client(service, region)` in the management account, and
`enter(account_id)` for a factory in a member account through the deployment role (`adopt.clients` builds
both for a target). `READ_CALLS` lists every call it makes: the import role's minimal IAM policy.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from securecart_tf.adopt.inventory import (
    CustomerPolicyRef,
    Document,
    Inventory,
    LiveAccount,
    LiveAccountIam,
    LiveAssignment,
    LiveBaseline,
    LiveBoundary,
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
from securecart_tf.errors import SecureCartError

ClientFactory = Callable[[str, "str | None"], Any]
"""(service, region or None for the default region) → a boto3 client."""
Enter = Callable[[str], ClientFactory]
"""An account ID → a client factory in that account, through the deployment role. Raises botocore's
ClientError when the role cannot be assumed."""
Progress = Callable[[str], None]

READ_CALLS: tuple[str, ...] = (
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPolicies",
    "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy",
    "organizations:ListDelegatedAdministrators",
    "organizations:ListDelegatedServicesForAccount",
    "sso:ListInstances",
    "sso:ListPermissionSets",
    "sso:DescribePermissionSet",
    "sso:ListManagedPoliciesInPermissionSet",
    "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
    "sso:GetInlinePolicyForPermissionSet",
    "sso:GetPermissionsBoundaryForPermissionSet",
    "sso:ListAccountsForProvisionedPermissionSet",
    "sso:ListAccountAssignments",
    "sso:ListAccountAssignmentsForPrincipal",
    "identitystore:ListGroups",
    "identitystore:ListUsers",
    "sts:AssumeRole",
    "iam:ListRoles",
    "iam:GetAccountAuthorizationDetails",
    "iam:ListOpenIDConnectProviders",
    "iam:GetOpenIDConnectProvider",
    "guardduty:ListDetectors",
    "config:DescribeConfigurationRecorders",
    "cloudtrail:DescribeTrails",
    "access-analyzer:ListAnalyzers",
)
"""Every AWS action the reader calls. sts:AssumeRole is made by the management account's credentials into the
deployment role of each member account; the iam: actions run in every account, the management account's
included, so the deployment role needs them too, and the security services' listings in the account that
administers them."""


def import_policy() -> Document:
    """The IAM policy the credentials `import` runs with need, and, for its iam: actions, the deployment role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "SecureCartImportRead", "Effect": "Allow", "Action": sorted(READ_CALLS), "Resource": "*"}
        ],
    }


MAX_OU_DEPTH = 5
"""AWS nests OUs at most five deep under the root: an OU at that depth has no child OU to list."""
LEFT_OUT_PATHS = ("/aws-service-role/", "/aws-reserved/")
"""Service-linked roles and the roles Identity Center provisions (AWSReservedSSO_*): AWS manages both."""
ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "InvalidClientTokenId",
        "ExpiredToken",
        "RegionDisabledException",
    }
)
"""Error codes that mean "these credentials may not do this", as opposed to a fault worth retrying."""
IMPORT_HINT = (
    "run import with the management account's credentials, allowed the read calls the README lists for the import role"
)


def read_inventory(
    client: ClientFactory,
    *,
    enter: Enter,
    region: str,
    deployment_role: str = ACCOUNT_ACCESS_ROLE,
    identity_center_region: str | None = None,
    progress: Progress | None = None,
    workers: int = 8,
) -> Inventory:
    """Everything `import` adopts, read from the live organization whose management account `client` is in.

    Accounts the deployment role cannot enter, and an Identity Center the credentials cannot read, are listed
    in `Inventory.skipped` with the reason; the rest is read. Suspended accounts are listed but not entered.
    """
    from botocore.exceptions import BotoCoreError

    say = progress or (lambda _message: None)
    try:
        return _read(client, enter, region, deployment_role, identity_center_region or region, say, workers)
    except BotoCoreError as exc:
        raise SecureCartError(
            f"cannot read the organization: {exc}",
            hint="check the AWS credentials and region (or that the sandbox runs), then run import again",
        ) from None


def _read(
    client: ClientFactory,
    enter: Enter,
    region: str,
    deployment_role: str,
    ic_region: str,
    say: Progress,
    workers: int,
) -> Inventory:
    org = client("organizations", None)
    described = _organization(org)
    with _reading("the organization's root"):
        root = _pages(org, "list_roots", "Roots")[0]
    policy_types = tuple(sorted(t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"))
    skipped: list[Skipped] = []
    management = described["MasterAccountId"]
    with ThreadPoolExecutor(max_workers=1) as beside:
        # Identity Center's listings, one after another, run beside the rest: most of each call is waiting on AWS
        reading_ic = beside.submit(_identity_center, client, ic_region, skipped, say)
        say("reading the OU tree and the accounts")
        units, accounts = _tree(org, root["Id"])
        say(f"read {len(units)} OUs and {len(accounts)} accounts; reading policies and delegated administrators")
        policies = _policies(org, policy_types)
        trusted = _service_access(org, described.get("FeatureSet", "ALL"))
        iam, unread = _all_iam(client, enter, accounts, management, deployment_role, say, workers)
        identity_center = reading_ic.result()
    if identity_center is None and "sso.amazonaws.com" in trusted and not skipped:
        # the organization trusts Identity Center, whose instance is regional: it lives in another region
        skipped.append(
            Skipped(
                "Identity Center",
                f"the organization has Identity Center enabled, but no instance in {ic_region}: name the region "
                "it lives in to import its groups, permission sets and assignments",
            )
        )
    admins = _delegated_admins(org)
    unentered = {s.what for s in unread}
    baseline = _baseline(client, enter, _security_account(admins, management), management, region, skipped, unentered)
    return Inventory(
        organization_id=described["Id"],
        management_account_id=management,
        root_id=root["Id"],
        feature_set=described.get("FeatureSet", "ALL"),
        enabled_policy_types=policy_types,
        service_access_principals=trusted,
        home_region=region,
        units=units,
        accounts=accounts,
        policies=policies,
        delegated_admins=admins,
        identity_center=identity_center,
        iam=iam,
        skipped=(*skipped, *unread),
        deployment_role=deployment_role,
        baseline=baseline,
    )


# ---- calls ------------------------------------------------------------------------------------------------


def _each_page(client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a listing: through the SDK's paginator where there is one, else the one answer."""
    if client.can_paginate(operation):
        yield from client.get_paginator(operation).paginate(**params)
    else:
        yield getattr(client, operation)(**params)


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    return [item for page in _each_page(client, operation, **params) for item in page.get(key, [])]


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _why(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', exc)}"


@contextlib.contextmanager
def _reading(what: str) -> Iterator[None]:
    """A refused or failed call while reading `what` becomes one clear error."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        raise SecureCartError(f"cannot read {what}: {_why(exc)}", hint=IMPORT_HINT) from None


def _document(value: Any, what: str) -> Document:
    """A policy document as IAM, Organizations or SSO return it: parsed already, JSON, or URL-encoded JSON."""
    if isinstance(value, dict):
        return value
    text = str(value)
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = json.loads(unquote(text))
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict):
        raise SecureCartError(f"{what} is not a JSON policy document: {text[:200]!r}")
    return parsed


# ---- Organizations ----------------------------------------------------------------------------------------


def _organization(org: Any) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        described: dict[str, Any] = org.describe_organization()["Organization"]
    except ClientError as exc:
        if _code(exc) == "AWSOrganizationsNotInUseException":
            raise SecureCartError(
                "this account is not in an organization: there is nothing to import",
                hint="run import with the credentials of an organization's management account; to start a new "
                "organization instead, write the access matrix and apply it",
            ) from None
        raise SecureCartError(f"cannot read the organization: {_why(exc)}", hint=IMPORT_HINT) from None
    return described


def _tree(org: Any, root_id: str) -> tuple[tuple[LiveUnit, ...], tuple[LiveAccount, ...]]:
    """The OUs, parents before children, and every account with where it sits: two listings per parent."""
    units: list[LiveUnit] = []
    accounts: list[LiveAccount] = []
    queue: deque[tuple[str, str, int]] = deque([(root_id, "", 0)])
    with _reading("the OU tree and its accounts"):
        while queue:
            parent, path, depth = queue.popleft()
            for found in _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent):
                accounts.append(
                    LiveAccount(
                        id=found["Id"],
                        name=found.get("Name", ""),
                        email=found.get("Email", ""),
                        parent_id=parent,
                        status=found.get("Status") or found.get("State") or "ACTIVE",
                    )
                )
            if depth == MAX_OU_DEPTH:
                continue
            children = _pages(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent)
            for ou in sorted(children, key=lambda o: (o["Name"], o["Id"])):
                unit_path = f"{path}/{ou['Name']}" if path else ou["Name"]
                units.append(LiveUnit(id=ou["Id"], name=ou["Name"], path=unit_path, parent_id=parent))
                queue.append((ou["Id"], unit_path, depth + 1))
    return tuple(units), tuple(sorted(accounts, key=lambda a: (a.name, a.id)))


def _service_access(org: Any, feature_set: str) -> tuple[str, ...]:
    if feature_set != "ALL":  # trusted access needs all features; consolidated billing has none to list
        return ()
    with _reading("the AWS services trusted by the organization"):
        found = _pages(org, "list_aws_service_access_for_organization", "EnabledServicePrincipals")
    return tuple(sorted(p["ServicePrincipal"] for p in found))


def _policies(org: Any, policy_types: tuple[str, ...]) -> tuple[LivePolicy, ...]:
    """SCPs and RCPs, those of each type enabled on the root: a disabled type's policies do nothing."""
    found = []
    with _reading("the organization's policies"):
        for kind in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
            if kind not in policy_types:
                continue
            for summary in _pages(org, "list_policies", "Policies", Filter=kind):
                content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
                targets = _pages(org, "list_targets_for_policy", "Targets", PolicyId=summary["Id"])
                found.append(
                    LivePolicy(
                        id=summary["Id"],
                        name=summary["Name"],
                        type=kind,
                        description=summary.get("Description", ""),
                        document=_document(content, f"policy {summary['Name']}"),
                        targets=tuple(sorted(t["TargetId"] for t in targets)),
                        aws_managed=bool(summary.get("AwsManaged")),
                    )
                )
    return tuple(sorted(found, key=lambda p: (p.type, p.name, p.id)))


def _delegated_admins(org: Any) -> tuple[LiveDelegatedAdmin, ...]:
    found = []
    with _reading("the delegated administrators"):
        for admin in _pages(org, "list_delegated_administrators", "DelegatedAdministrators"):
            services = _pages(org, "list_delegated_services_for_account", "DelegatedServices", AccountId=admin["Id"])
            found += [LiveDelegatedAdmin(admin["Id"], s["ServicePrincipal"]) for s in services]
    return tuple(sorted(found, key=lambda d: (d.account_id, d.service_principal)))


# ---- Identity Center --------------------------------------------------------------------------------------


def _identity_center(
    client: ClientFactory, region: str, skipped: list[Skipped], say: Progress
) -> LiveIdentityCenter | None:
    """The organization's Identity Center instance, or None where it is not enabled (in `region`)."""
    from botocore.exceptions import ClientError

    sso = client("sso-admin", region)
    try:
        instances = [i for i in _pages(sso, "list_instances", "Instances") if i.get("Status", "ACTIVE") == "ACTIVE"]
        if not instances:
            return None
        say("reading Identity Center: groups, permission sets and assignments")
        instance = instances[0]
        arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
        identitystore = client("identitystore", region)
        groups = _groups(identitystore, store)
        listed = tuple(_pages(sso, "list_permission_sets", "PermissionSets", InstanceArn=arn))
        permission_sets = tuple(_permission_set(sso, arn, ps) for ps in listed)
        assignments = _assignments(sso, identitystore, arn, store, listed, tuple(g.id for g in groups))
    except ClientError as exc:
        if _code(exc) not in DENIED:
            raise SecureCartError(f"cannot read Identity Center in {region}: {_why(exc)}", hint=IMPORT_HINT) from None
        skipped.append(Skipped(f"Identity Center in {region}", _why(exc)))
        return None
    return LiveIdentityCenter(
        instance_arn=arn,
        identity_store_id=store,
        region=region,
        groups=groups,
        permission_sets=tuple(sorted(permission_sets, key=lambda p: (p.name, p.arn))),
        assignments=assignments,
    )


def _groups(identitystore: Any, store: str) -> tuple[LiveGroup, ...]:
    """Groups, SCIM-provisioned ones told apart by their ExternalIds (an IdP's ID for the group)."""
    found = [
        LiveGroup(
            id=g["GroupId"],
            name=g.get("DisplayName", ""),
            description=g.get("Description", ""),
            scim=bool(g.get("ExternalIds")),
        )
        for g in _pages(identitystore, "list_groups", "Groups", IdentityStoreId=store)
    ]
    return tuple(sorted(found, key=lambda g: (g.name, g.id)))


def _permission_set(sso: Any, instance: str, arn: str) -> LivePermissionSet:
    ids = {"InstanceArn": instance, "PermissionSetArn": arn}
    described = sso.describe_permission_set(**ids)["PermissionSet"]
    managed = _pages(sso, "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **ids)
    customer = _pages(
        sso, "list_customer_managed_policy_references_in_permission_set", "CustomerManagedPolicyReferences", **ids
    )
    inline = sso.get_inline_policy_for_permission_set(**ids).get("InlinePolicy") or ""
    name = described.get("Name", arn)
    return LivePermissionSet(
        arn=arn,
        name=name,
        description=described.get("Description", ""),
        session_duration=described.get("SessionDuration", "PT1H"),
        managed_policies=tuple(sorted(p["Arn"] for p in managed)),
        customer_managed_policies=tuple(
            sorted((CustomerPolicyRef(r["Name"], r.get("Path", "/")) for r in customer), key=lambda r: (r.path, r.name))
        ),
        inline_policy=_document(inline, f"the inline policy of permission set {name}") if inline else None,
        boundary=_boundary(sso, ids),
    )


def _boundary(sso: Any, ids: dict[str, str]) -> LiveBoundary | None:
    from botocore.exceptions import ClientError

    try:
        found = sso.get_permissions_boundary_for_permission_set(**ids)["PermissionsBoundary"]
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":  # AWS's answer for a permission set without a boundary
            return None
        raise
    reference = found.get("CustomerManagedPolicyReference")
    return LiveBoundary(
        managed_policy_arn=found.get("ManagedPolicyArn"),
        customer_managed=CustomerPolicyRef(reference["Name"], reference.get("Path", "/")) if reference else None,
    )


def _assignment_order(a: LiveAssignment) -> tuple[str, str, str, str]:
    return a.permission_set_arn, a.account_id, a.principal_type, a.principal_id


def _assignments(
    sso: Any, identitystore: Any, instance: str, store: str, permission_sets: tuple[str, ...], groups: tuple[str, ...]
) -> tuple[LiveAssignment, ...]:
    """Every account assignment, by whichever of two complete plans takes fewer calls here.

    By permission set: one listing in each account a permission set is provisioned to (AWS provisions it
    where it is assigned). By principal: one listing per group and per user, across all accounts. An
    organization that assigns groups widely (tens of permission sets over a thousand accounts) takes the
    second; a directory of thousands of users with a handful of permission sets, the first.
    """
    provisioned = {
        ps: _pages(
            sso, "list_accounts_for_provisioned_permission_set", "AccountIds", InstanceArn=instance, PermissionSetArn=ps
        )
        for ps in permission_sets
    }
    by_permission_set = sum(len(accounts) for accounts in provisioned.values())
    found: list[LiveAssignment] = []
    users: list[str] = []
    if by_permission_set > len(groups):
        users = [u["UserId"] for u in _pages(identitystore, "list_users", "Users", IdentityStoreId=store)]
    if by_permission_set <= len(groups) + len(users):
        for ps, accounts in provisioned.items():
            for account in accounts:
                ids = {"InstanceArn": instance, "PermissionSetArn": ps, "AccountId": account}
                for a in _pages(sso, "list_account_assignments", "AccountAssignments", **ids):
                    found.append(LiveAssignment(ps, a["PrincipalType"], a["PrincipalId"], account))
    else:
        for kind, principals in (("GROUP", groups), ("USER", tuple(users))):
            for principal in principals:
                ids = {"InstanceArn": instance, "PrincipalType": kind, "PrincipalId": principal}
                for a in _pages(sso, "list_account_assignments_for_principal", "AccountAssignments", **ids):
                    # a user's listing also names the groups it is in; those come with each group's own
                    if (a.get("PrincipalType", kind), a.get("PrincipalId", principal)) == (kind, principal):
                        found.append(LiveAssignment(a["PermissionSetArn"], kind, principal, a["AccountId"]))
    return tuple(sorted(set(found), key=_assignment_order))


# ---- IAM in each account ----------------------------------------------------------------------------------


def _all_iam(
    client: ClientFactory,
    enter: Enter,
    accounts: tuple[LiveAccount, ...],
    management: str,
    deployment_role: str,
    say: Progress,
    workers: int,
) -> tuple[tuple[LiveAccountIam, ...], tuple[Skipped, ...]]:
    """IAM in the management account (with its own credentials) and in each active member account, read
    side by side: most of the time goes waiting on AWS."""
    active = [a for a in accounts if a.status == "ACTIVE"]
    if not any(a.id == management for a in active):
        active.insert(0, LiveAccount(management, "management", "", ""))
    say(f"reading IAM in {len(active)} accounts")
    left_out = {deployment_role, ACCOUNT_ACCESS_ROLE}

    def one(account: LiveAccount) -> LiveAccountIam | Skipped:
        return _account_iam(client if account.id == management else None, enter, account, left_out)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = []
        for done, result in enumerate(pool.map(one, active), start=1):
            results.append(result)
            if done % 100 == 0 and done < len(active):
                say(f"read IAM in {done} of {len(active)} accounts")
    read = tuple(sorted((r for r in results if isinstance(r, LiveAccountIam)), key=lambda r: r.account_id))
    skipped = tuple(r for r in results if isinstance(r, Skipped))
    if skipped:
        say(f"could not enter {len(skipped)} of {len(active)} accounts; their IAM is not imported")
    return read, skipped


def _account_iam(
    client: ClientFactory | None, enter: Enter, account: LiveAccount, left_out: set[str]
) -> LiveAccountIam | Skipped:
    """One account's IAM, or why it could not be read (the deployment role refused, say)."""
    from botocore.exceptions import ClientError

    label = f"account {account.name} ({account.id})"
    try:
        factory = client if client is not None else enter(account.id)
        iam = factory("iam", None)
        roles, policies = _roles_and_policies(iam, left_out, label)
        providers = _oidc_providers(iam)
    except ClientError as exc:
        if _code(exc) in DENIED:
            return Skipped(label, f"the deployment role cannot enter it or read its IAM: {_why(exc)}")
        return Skipped(label, f"its IAM could not be read: {_why(exc)}")
    return LiveAccountIam(account.id, roles, policies, providers)


def _roles_and_policies(
    iam: Any, left_out: set[str], label: str
) -> tuple[tuple[LiveRole, ...], tuple[LiveCustomerPolicy, ...]]:
    """Roles and customer-managed policies with every document, in two listings whatever their number.

    GetAccountAuthorizationDetails carries trust policies, attachments, inline policies, boundaries, tags
    and policy versions; ListRoles adds the two things it leaves out: description and maximum session.
    """
    listed = {r["RoleName"]: r for r in _pages(iam, "list_roles", "Roles")}
    details: list[dict[str, Any]] = []
    managed: list[dict[str, Any]] = []
    for page in _each_page(iam, "get_account_authorization_details", Filter=["Role", "LocalManagedPolicy"]):
        details += page.get("RoleDetailList", [])
        managed += page.get("Policies", [])
    roles = [
        _role(detail, listed.get(detail["RoleName"], {}), label)
        for detail in details
        if detail["RoleName"] not in left_out and not detail.get("Path", "/").startswith(LEFT_OUT_PATHS)
    ]
    policies = [_customer_policy(p, label) for p in managed]
    return tuple(sorted(roles, key=lambda r: r.name)), tuple(sorted(policies, key=lambda p: p.arn))


def _role(detail: dict[str, Any], listed: dict[str, Any], label: str) -> LiveRole:
    name = detail["RoleName"]
    where = f"role {name} in {label}"
    return LiveRole(
        name=name,
        path=detail.get("Path", "/"),
        arn=detail["Arn"],
        description=listed.get("Description", ""),
        trust_policy=_document(detail["AssumeRolePolicyDocument"], f"the trust policy of {where}"),
        max_session_duration=int(listed.get("MaxSessionDuration", 3600)),
        permissions_boundary=(detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        managed_policies=tuple(sorted(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", []))),
        inline_policies=tuple(
            sorted(
                (
                    (p["PolicyName"], _document(p["PolicyDocument"], f"inline policy {p['PolicyName']} of {where}"))
                    for p in detail.get("RolePolicyList", [])
                ),
                key=lambda named: named[0],
            )
        ),
        tags=tuple(sorted((t["Key"], t["Value"]) for t in detail.get("Tags", []))),
    )


def _customer_policy(policy: dict[str, Any], label: str) -> LiveCustomerPolicy:
    versions = policy.get("PolicyVersionList", [])
    default = next((v for v in versions if v.get("IsDefaultVersion")), versions[0] if versions else {})
    name = policy["PolicyName"]
    return LiveCustomerPolicy(
        name=name,
        path=policy.get("Path", "/"),
        arn=policy["Arn"],
        description=policy.get("Description", ""),
        document=_document(default.get("Document", ""), f"policy {name} in {label}"),
    )


def _oidc_providers(iam: Any) -> tuple[LiveOidcProvider, ...]:
    found = []
    for listed in _pages(iam, "list_open_id_connect_providers", "OpenIDConnectProviderList"):
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=listed["Arn"])
        url = str(provider.get("Url", "")).removeprefix("https://")
        found.append(LiveOidcProvider(listed["Arn"], url, tuple(sorted(provider.get("ClientIDList", [])))))
    return tuple(sorted(found, key=lambda p: p.arn))


# ---- security services ------------------------------------------------------------------------------------

SECURITY_SERVICES = (
    "guardduty.amazonaws.com",
    "config.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "access-analyzer.amazonaws.com",
)


def _security_account(admins: tuple[LiveDelegatedAdmin, ...], management: str) -> str:
    """The account most security services are delegated to; the management account when none is."""
    delegated = [a.account_id for a in admins if a.service_principal in SECURITY_SERVICES]
    return max(sorted(set(delegated)), key=delegated.count) if delegated else management


def _baseline(
    client: ClientFactory,
    enter: Enter,
    account_id: str,
    management: str,
    region: str,
    skipped: list[Skipped],
    unentered: set[str],
) -> LiveBaseline | None:
    """What runs in the security account: a detector, a recorder, organization trails and analyzers."""
    from botocore.exceptions import BotoCoreError, ClientError

    if any(account_id in what for what in unentered):
        return None  # already named as an account the deployment role cannot enter
    try:
        factory = client if account_id == management else enter(account_id)
        detectors = _pages(factory("guardduty", region), "list_detectors", "DetectorIds")
        config = factory("config", region)
        recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
        trails = factory("cloudtrail", region).describe_trails(includeShadowTrails=False).get("trailList", [])
        analyzers = _pages(factory("accessanalyzer", region), "list_analyzers", "analyzers", type="ORGANIZATION")
    except (BotoCoreError, ClientError) as exc:
        skipped.append(Skipped(f"the security services in {account_id}", _why(exc)))
        return None
    found = LiveBaseline(
        account_id=account_id,
        guardduty_detector=detectors[0] if detectors else None,
        config_recorder=next((r["name"] for r in recorders if not r.get("servicePrincipal")), None),
        organization_trails=tuple(sorted(t["Name"] for t in trails if t.get("IsOrganizationTrail"))),
        organization_analyzers=tuple(sorted(a["name"] for a in analyzers)),
    )
    return found if found else None
