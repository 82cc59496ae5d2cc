"""What a live organization holds, as `import` reads it: plain data, with no AWS client in sight.

The reader (`adopt.live`) fills an `Inventory` through read-only AWS calls; the writer (`adopt.write`) turns it
into an access matrix, environment files, policy files and the adoption record. Documents are parsed JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Document = dict[str, Any]


@dataclass(frozen=True)
class LiveUnit:
    """An OU. `path` is the matrix's OU path ("WorkloadsOU/ProdOU"); the root is not a unit."""

    id: str
    name: str
    path: str
    parent_id: str


@dataclass(frozen=True)
class LiveAccount:
    id: str
    name: str
    """The account's name in AWS, as it is; the writer derives the matrix's short name from it."""
    email: str
    parent_id: str
    """The root's ID or an OU's ID."""
    status: str = "ACTIVE"
    """ACTIVE, SUSPENDED or PENDING_CLOSURE: only active accounts are entered and placed in stacks."""


@dataclass(frozen=True)
class LivePolicy:
    """An organization policy (SCP or RCP) with the IDs of the root, OUs and accounts it is attached to."""

    id: str
    name: str
    type: str
    """SERVICE_CONTROL_POLICY or RESOURCE_CONTROL_POLICY."""
    description: str
    document: Document
    targets: tuple[str, ...]
    aws_managed: bool = False
    """FullAWSAccess and RCPFullAWSAccess: AWS owns them; they are never imported."""


@dataclass(frozen=True)
class LiveDelegatedAdmin:
    account_id: str
    service_principal: str


@dataclass(frozen=True)
class LiveGroup:
    id: str
    name: str
    description: str
    scim: bool
    """Provisioned by the external IdP (the group has ExternalIds), rather than created in Identity Center."""


@dataclass(frozen=True)
class CustomerPolicyRef:
    name: str
    path: str = "/"


@dataclass(frozen=True)
class LiveBoundary:
    managed_policy_arn: str | None = None
    customer_managed: CustomerPolicyRef | None = None


@dataclass(frozen=True)
class LivePermissionSet:
    arn: str
    name: str
    description: str
    session_duration: str
    managed_policies: tuple[str, ...] = ()
    customer_managed_policies: tuple[CustomerPolicyRef, ...] = ()
    inline_policy: Document | None = None
    boundary: LiveBoundary | None = None


@dataclass(frozen=True)
class LiveAssignment:
    permission_set_arn: str
    principal_type: str
    """GROUP or USER. The matrix assigns groups only; a user's assignment is reported, not imported."""
    principal_id: str
    account_id: str


@dataclass(frozen=True)
class LiveIdentityCenter:
    instance_arn: str
    identity_store_id: str
    region: str
    groups: tuple[LiveGroup, ...] = ()
    permission_sets: tuple[LivePermissionSet, ...] = ()
    assignments: tuple[LiveAssignment, ...] = ()


@dataclass(frozen=True)
class LiveRole:
    name: str
    path: str
    arn: str
    description: str
    trust_policy: Document
    max_session_duration: int
    permissions_boundary: str | None
    """The boundary policy's ARN."""
    managed_policies: tuple[str, ...] = ()
    """ARNs of attached managed policies, AWS-managed and customer-managed."""
    inline_policies: tuple[tuple[str, Document], ...] = ()
    """(name, document) of each inline policy, sorted by name."""
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LiveCustomerPolicy:
    name: str
    path: str
    arn: str
    description: str
    document: Document
    """The default version's document."""


@dataclass(frozen=True)
class LiveOidcProvider:
    arn: str
    url: str
    """Without the scheme, as IAM returns it: token.actions.githubusercontent.com."""
    client_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveAccountIam:
    """IAM in one member account, read through the deployment role. Service-linked roles, `AWSReservedSSO_*`
    roles and the deployment role itself are left out by the reader."""

    account_id: str
    roles: tuple[LiveRole, ...] = ()
    policies: tuple[LiveCustomerPolicy, ...] = ()
    oidc_providers: tuple[LiveOidcProvider, ...] = ()


@dataclass(frozen=True)
class LiveBaseline:
    """The security services running in the account that administers them for the organization, in the home
    region: the account GuardDuty, Config, CloudTrail or Access Analyzer is delegated to, or the management
    account."""

    account_id: str
    guardduty_detector: str | None = None
    config_recorder: str | None = None
    organization_trails: tuple[str, ...] = ()
    organization_analyzers: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.guardduty_detector or self.config_recorder or self.organization_trails or self.organization_analyzers
        )


@dataclass(frozen=True)
class Skipped:
    """Something the reader could not read, and why: an account the deployment role cannot enter, say."""

    what: str
    reason: str


@dataclass(frozen=True)
class Inventory:
    organization_id: str
    management_account_id: str
    root_id: str
    feature_set: str
    enabled_policy_types: tuple[str, ...]
    service_access_principals: tuple[str, ...]
    home_region: str
    units: tuple[LiveUnit, ...] = ()
    """Parents before children."""
    accounts: tuple[LiveAccount, ...] = ()
    policies: tuple[LivePolicy, ...] = ()
    delegated_admins: tuple[LiveDelegatedAdmin, ...] = ()
    identity_center: LiveIdentityCenter | None = None
    iam: tuple[LiveAccountIam, ...] = ()
    """One entry per account whose IAM was read (the management account's included)."""
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    deployment_role: str = "OrganizationAccountAccessRole"
    baseline: LiveBaseline | None = None
    """The security services found running, if any."""
