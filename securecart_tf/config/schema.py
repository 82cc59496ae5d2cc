"""The access matrix: a typed description of who may do what, and where.

Field docstrings become descriptions in the exported JSON Schema, so editors can show them.
Cross-references (an assignment naming a group that does not exist) are checked in
`securecart_tf.checks.references`, not here: this module only knows shapes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# Every pattern a field uses is named here, so that `load` can explain a mismatch in words.
# Classes are spelt out in ASCII: `\w` and `\d` also match other scripts' letters and digits, which AWS
# refuses at apply time (and which let a look-alike name pass for another).
ACCOUNT_NAME = r"^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]$|^[a-z0-9]$"
ORG_NAME = r"^[a-z0-9][a-z0-9-]{1,40}$"
OU_NAME = r"^[A-Za-z0-9][A-Za-z0-9_ -]{0,127}$"
OU_PATH = r"^/$|^[A-Za-z0-9][A-Za-z0-9_ -]*(/[A-Za-z0-9][A-Za-z0-9_ -]*)*$"
ENV_NAME = r"^[a-z][a-z0-9-]{0,31}$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"
EMAIL = r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"
IAM_NAME = r"^[A-Za-z0-9_+=,.@-]+$"
IAM_PATH = r"^/([A-Za-z0-9_+=,.@-]+/)*$"
POLICY_ARN = r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/([!-~]*/)?[A-Za-z0-9_+=,.@-]+$"
ACCOUNT_ID = r"^[0-9]{12}$"
ISO_DURATION = r"^PT(?:([0-9]{1,2})H)?(?:([0-9]{1,3})M)?$"
GUARDRAIL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
GROUP_NAME = r"^[A-Za-z0-9_ .@+=,-]{1,128}$"
BUCKET_NAME = r"^[a-z0-9{][a-z0-9.{}-]{1,62}$"
TABLE_NAME = r"^[A-Za-z0-9_.{}-]{3,255}$"
RDS_RESOURCE_ID = r"^[A-Za-z0-9{}*-]+$"
DB_USER = r"^[A-Za-z0-9_]+$"
RULE_ID = r"^[A-Z]+[0-9]+$|^[a-z0-9-]+$"
SERVICE_NAME = r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$"
EXTERNAL_ID = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
"""What STS accepts as an ExternalId."""
CUSTOMIZATION_NAME = r"^[a-z][a-z0-9-]{0,62}$"
MODULE_VERSION = r"^[0-9A-Za-z.,<>=~!+ -]{1,64}$"
"""A registry module's version, or a constraint such as '~> 5.1'."""
REGISTRY_SOURCE = r"^([a-z0-9-]+(\.[a-z0-9-]+)+/)?[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9]+$"
"""A Terraform registry address: namespace/name/provider, optionally behind a registry's host name."""
TF_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$"
IAM_TEXT = "^[\t\n\r -~\u00a1-\u00ff]*$"
"""What IAM accepts in a role's description: printable Latin-1 (no emoji, no other scripts)."""
SSO_TEXT = "^[\t\n\r -~\u00a0-\u00ff]*$"
"""What Identity Center accepts in a permission set's description."""

AccountName = Annotated[str, Field(pattern=ACCOUNT_NAME, description="An account's short name, e.g. 'prod'.")]
OUPath = Annotated[
    str,
    Field(
        pattern=OU_PATH,
        description="An OU path like 'WorkloadsOU/ProdOU', or '/' for the organization root.",
    ),
]
EnvName = Annotated[str, Field(pattern=ENV_NAME)]
PolicyArn = Annotated[str, Field(pattern=POLICY_ARN)]
IamName = Annotated[str, Field(pattern=IAM_NAME)]


class Strict(BaseModel):
    """Every model rejects unknown keys, so a typo is an error with a suggestion, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


# ---------------------------------------------------------------------------------------------- organization


class OrganizationalUnit(Strict):
    name: str = Field(pattern=OU_NAME, description="OU name, unique among its siblings.")
    description: str = ""
    units: list[OrganizationalUnit] = Field(default_factory=list, description="Child OUs.")


class Organization(Strict):
    name: str = Field(pattern=ORG_NAME, description="Short name used in resource names.")
    home_region: str = Field(default="us-east-1", pattern=REGION)
    management_account: AccountName = Field(description="The account that owns the organization.")
    deployment_role: str = Field(
        default="OrganizationAccountAccessRole",
        pattern=IAM_NAME,
        max_length=64,
        description="The role Terraform assumes in member accounts. Guardrails always exempt it.",
    )
    break_glass_role: str | None = Field(
        default=None, pattern=IAM_NAME, max_length=64, description="Emergency role. Guardrails always exempt it."
    )
    units: list[OrganizationalUnit] = Field(default_factory=list, description="The OU tree under the root.")


class Account(Strict):
    name: AccountName
    email: str = Field(pattern=EMAIL)
    ou: OUPath = Field(description="Where the account sits: an OU path, or '/' for the root.")
    environment: EnvName | None = Field(
        default=None, description="The rollout stage of a workload account (dev, staging, prod)."
    )
    id: str | None = Field(
        default=None, pattern=ACCOUNT_ID, description="An existing account's 12-digit ID; it is adopted, not created."
    )
    closing: bool = Field(
        default=False,
        description="Close this account when it leaves the matrix or is replaced. Apply it first, then remove the "
        "account: a plan that removes or replaces an account not marked closing is refused.",
    )
    access_role_exists: bool = Field(
        default=False,
        description="An adopted account already has the role securecart-tf assumes (AWS creates it only in "
        "accounts Organizations creates).",
    )
    networking: bool = Field(default=False, description="May own internet gateways (see deny-internet-gateway).")
    description: str = ""


# ------------------------------------------------------------------------------------------------- targets


class Targets(Strict):
    """Where something applies. OU paths include nested OUs; the union of all three lists is used."""

    accounts: list[AccountName] = Field(default_factory=list)
    ous: list[OUPath] = Field(default_factory=list)
    environments: list[EnvName] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.accounts or self.ous or self.environments)


# ------------------------------------------------------------------------------------------------ policies


class PolicyDocument(BaseModel):
    """An IAM policy document. Kept as data; validated by the policy linter, not by shape."""

    model_config = ConfigDict(extra="allow", frozen=True)

    Version: Literal["2012-10-17", "2008-10-17"] = "2012-10-17"
    Statement: list[dict[str, Any]] | dict[str, Any]

    def statements(self) -> list[dict[str, Any]]:
        return [self.Statement] if isinstance(self.Statement, dict) else list(self.Statement)


class Policy(Strict):
    """A customer-managed policy. It is created in every account where a role or permission set uses it."""

    name: str = Field(pattern=IAM_NAME, max_length=128)
    description: str = ""
    path: str = Field(default="/", pattern=IAM_PATH)
    document: PolicyDocument | None = None
    file: str | None = Field(default=None, description="A JSON file with the document, relative to the matrix.")

    @model_validator(mode="after")
    def _one_source(self) -> Policy:
        if (self.document is None) == (self.file is None):
            raise ValueError("give exactly one of 'document' or 'file'")
        return self


class PolicyRef(Strict):
    """A boundary or managed policy: an AWS-managed ARN, or the name of a policy in `policies`."""

    arn: PolicyArn | None = None
    policy: str | None = Field(default=None, pattern=IAM_NAME, description="Name of a policy in `policies`.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"arn": value} if value.startswith("arn:") else {"policy": value}
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # the schema must accept the string shorthand that `_from_string` reads, or editors flag valid files
        mapping = handler.resolve_ref_schema(handler(core_schema))
        shorthand = {
            "type": "string",
            "description": "An AWS-managed policy ARN, or the name of a policy in `policies`.",
            "anyOf": [{"pattern": POLICY_ARN}, {"pattern": IAM_NAME}],
        }
        return {
            "title": mapping.get("title", "PolicyRef"),
            "description": mapping.get("description", ""),
            "anyOf": [shorthand, mapping],
        }

    @model_validator(mode="after")
    def _one(self) -> PolicyRef:
        if (self.arn is None) == (self.policy is None):
            raise ValueError("give exactly one of 'arn' or 'policy'")
        return self

    @property
    def label(self) -> str:
        return self.arn or str(self.policy)


# --------------------------------------------------------------------------------------------- guardrails


class Guardrail(Strict):
    """An organization policy: a service control policy (what principals may do) or a resource control policy
    (what may be done to resources); a built-in from the library, or a custom one from a JSON file."""

    name: str = Field(pattern=GUARDRAIL_NAME, description="The policy's name in AWS.")
    type: Literal["scp", "rcp"] = Field(
        default="scp", description="scp: a service control policy; rcp: a resource control policy."
    )
    builtin: str | None = Field(default=None, description="A library guardrail id, e.g. 'deny-root-user'.")
    file: str | None = Field(default=None, description="A custom SCP: a JSON policy file relative to the matrix.")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    targets: Targets = Field(description="OUs or accounts the SCP is attached to.")
    exempt_roles: list[IamName] = Field(
        default_factory=list, description="Role names the SCP does not restrict (besides deployment and break-glass)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Guardrail:
        if (self.builtin is None) == (self.file is None):
            raise ValueError("give exactly one of 'builtin' or 'file'")
        if self.targets.environments:
            raise ValueError("guardrails attach to OUs or accounts, not environments")
        return self


# ---------------------------------------------------------------------------------------- identity center


class IdentityProvider(StrEnum):
    azure_ad = "azure-ad"
    okta = "okta"


class FederationProtocol(StrEnum):
    saml = "saml"
    oidc = "oidc"


class IdentitySource(Strict):
    """The external IdP. AWS has no public API for this; the tool documents the steps and checks the rest."""

    type: Literal["external"] = "external"
    provider: IdentityProvider
    protocol: FederationProtocol = FederationProtocol.saml
    scim: bool = Field(default=True, description="Users and groups are provisioned by SCIM.")
    mfa: Literal["required", "context-aware", "disabled"] = "required"


class GroupSource(StrEnum):
    scim = "scim"
    created = "created"


class Group(Strict):
    name: str = Field(pattern=GROUP_NAME, description="The group's display name.")
    source: GroupSource = Field(description="'scim': provisioned by the IdP and looked up; 'created': made here.")
    description: str = ""


class PermissionSet(Strict):
    name: str = Field(min_length=1, pattern=IAM_NAME, description="Unique, at most 32 characters.")
    description: str = Field(default="", max_length=700, pattern=SSO_TEXT)
    session_duration: str = Field(default="PT1H", pattern=ISO_DURATION, description="ISO-8601, PT1H to PT12H.")
    managed_policies: list[PolicyArn] = Field(default_factory=list)
    customer_managed_policies: list[str] = Field(
        default_factory=list, description="Names of policies in `policies`; created in each assigned account first."
    )
    inline_policy: PolicyDocument | None = None
    permissions_boundary: PolicyRef | None = None
    admin: bool = Field(default=False, description="Marks intentional administrator access for the linter.")


class Assignment(Strict):
    """Give a group a permission set in some accounts, OUs (nested ones included) or environments."""

    group: str
    permission_set: str
    accounts: list[AccountName] = Field(default_factory=list)
    ous: list[OUPath] = Field(default_factory=list)
    environments: list[EnvName] = Field(default_factory=list)

    def targets(self) -> Targets:
        return Targets(accounts=self.accounts, ous=self.ous, environments=self.environments)


class IdentityCenter(Strict):
    identity_source: IdentitySource
    region: str | None = Field(
        default=None,
        pattern=REGION,
        description="The region of the Identity Center instance, when it is not the organization's home region.",
    )
    groups: list[Group] = Field(default_factory=list)
    permission_sets: list[PermissionSet] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)


# -------------------------------------------------------------------------------------------------- roles


class Audience(StrEnum):
    human = "human"
    ci = "ci"
    vendor = "vendor"
    platform = "platform"
    service = "service"


class IdentityCenterPrincipal(Strict):
    """Sessions of a permission set, signed in through Identity Center, in one account."""

    permission_set: str
    account: AccountName


class RolePrincipal(Strict):
    """A specific role in an account of this organization."""

    role: str = Field(pattern=IAM_NAME)
    account: AccountName


class OidcPrincipal(Strict):
    """A CI/CD identity federated by OIDC, e.g. GitHub Actions. `subject` may use {environment} and {account}."""

    provider: Literal["github"] = "github"
    subject: str = Field(min_length=1, description="The `sub` claim, pinned to a repository and branch or env.")


class ExternalPrincipal(Strict):
    """Another AWS account outside the organization (a vendor)."""

    account_id: str = Field(pattern=ACCOUNT_ID)
    external_id: str | None = Field(default=None, pattern=EXTERNAL_ID)


PRINCIPAL_KINDS = ("identity_center", "role", "account", "oidc", "external", "service")


def service_principal(name: str) -> str:
    """A `service:` value as IAM writes it: 'lambda' is 'lambda.amazonaws.com'; a dotted name stays as it is."""
    return name if "." in name else f"{name}.amazonaws.com"


class TrustedPrincipal(Strict):
    """Exactly one of the keys below."""

    identity_center: IdentityCenterPrincipal | None = None
    role: RolePrincipal | None = None
    account: AccountName | None = Field(default=None, description="Every principal of that account (its root).")
    oidc: OidcPrincipal | None = None
    external: ExternalPrincipal | None = None
    service: str | None = Field(
        default=None,
        pattern=SERVICE_NAME,
        max_length=128,
        description="An AWS service, e.g. 'lambda.amazonaws.com' ('lambda' for short), trusted as IAM's console "
        "writes it: a Service principal allowed sts:AssumeRole, with no condition.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> TrustedPrincipal:
        given = [k for k in PRINCIPAL_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(PRINCIPAL_KINDS)}" + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        for k in PRINCIPAL_KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("unreachable")


class Trust(Strict):
    """Who may assume the role: `principals` in the matrix's shapes, or a trust policy file used as it is."""

    principals: list[TrustedPrincipal] = Field(default_factory=list)
    policy_file: str | None = Field(
        default=None,
        description="A JSON trust policy, relative to the matrix, used exactly as written: for trust the principals "
        "cannot express. Give it or principals, not both.",
    )
    require_mfa: bool = Field(default=False, description="Require aws:MultiFactorAuthPresent (IAM sessions).")
    expires: dt.date | None = Field(default=None, description="Trust ends at 00:00 UTC on this date.")

    @model_validator(mode="after")
    def _one_source(self) -> Trust:
        if bool(self.principals) == (self.policy_file is not None):
            raise ValueError("give exactly one of 'principals' (at least one) or 'policy_file'")
        if self.policy_file is not None and (self.require_mfa or self.expires is not None):
            raise ValueError("with 'policy_file', write MFA and expiry conditions in the file itself")
        return self


class InlinePolicy(Strict):
    """A policy embedded in one role, under its own name: a document, or a JSON file relative to the matrix."""

    name: str = Field(pattern=IAM_NAME, max_length=128)
    document: PolicyDocument | None = None
    file: str | None = Field(default=None, description="A JSON file with the document, relative to the matrix.")

    @model_validator(mode="after")
    def _one_source(self) -> InlinePolicy:
        if (self.document is None) == (self.file is None):
            raise ValueError("give exactly one of 'document' or 'file'")
        return self


class Role(Strict):
    """A cross-account role assumed through STS. There are no IAM users."""

    name: str = Field(pattern=IAM_NAME, min_length=1, description="At most 64 characters.")
    path: str = Field(default="/", pattern=IAM_PATH, max_length=512, description="The role's IAM path.")
    description: str = Field(default="", max_length=1000, pattern=IAM_TEXT)
    audience: Audience = Field(description="Who assumes it: human, ci, vendor, platform or service.")
    accounts: list[AccountName] = Field(default_factory=list)
    ous: list[OUPath] = Field(default_factory=list)
    environments: list[EnvName] = Field(default_factory=list)
    trust: Trust
    permissions_boundary: PolicyRef | None = None
    managed_policies: list[PolicyRef] = Field(default_factory=list)
    inline_policies: list[InlinePolicy] = Field(default_factory=list, description="Policies embedded in the role.")
    max_session_duration: int = Field(default=3600, description="Seconds, 3600 to 43200.")
    admin: bool = Field(default=False, description="Marks intentional administrator access for the linter.")

    def targets(self) -> Targets:
        return Targets(accounts=self.accounts, ous=self.ous, environments=self.environments)


class ServicePrincipal(StrEnum):
    ecs_tasks = "ecs-tasks"
    lambda_ = "lambda"
    ec2 = "ec2"


class ResourceAccess(StrEnum):
    read = "read"
    write = "write"


class BucketAccess(Strict):
    bucket: str = Field(pattern=BUCKET_NAME, description="May use {environment}, {account}.")
    access: ResourceAccess = ResourceAccess.read
    prefix: str = "*"


class TableAccess(Strict):
    table: str = Field(pattern=TABLE_NAME)
    access: ResourceAccess = ResourceAccess.read


class DatabaseAccess(Strict):
    """IAM database authentication to one RDS instance or cluster, as one database user."""

    resource_id: str = Field(pattern=RDS_RESOURCE_ID, description="The DbiResourceId or cluster resource id.")
    db_user: str = Field(pattern=DB_USER)


class ServiceRole(Strict):
    """A role an application service assumes (ECS task, Lambda), scoped to named resources."""

    name: str = Field(pattern=IAM_NAME, min_length=1)
    description: str = Field(default="", max_length=1000, pattern=IAM_TEXT)
    service: ServicePrincipal
    accounts: list[AccountName] = Field(default_factory=list)
    ous: list[OUPath] = Field(default_factory=list)
    environments: list[EnvName] = Field(default_factory=list)
    s3: list[BucketAccess] = Field(default_factory=list)
    dynamodb: list[TableAccess] = Field(default_factory=list)
    rds: list[DatabaseAccess] = Field(default_factory=list)
    permissions_boundary: PolicyRef | None = None
    managed_policies: list[PolicyRef] = Field(default_factory=list)

    def targets(self) -> Targets:
        return Targets(accounts=self.accounts, ous=self.ous, environments=self.environments)


# -------------------------------------------------------------------------------------- security baseline


class AccountSettingsOverride(Strict):
    """The settings that differ in one account; what is left out follows the organization's setting."""

    s3_public_access_block: bool | None = None
    ebs_encryption: bool | None = None
    config_recorder: bool | None = None


class AccountSettings(Strict):
    """Settings each account's access stack applies in that account. Off unless turned on: each can break
    a workload (a public bucket, an unencrypted snapshot) or add to the bill (Config bills each recorded item)."""

    s3_public_access_block: bool = Field(
        default=False,
        description="An account-level S3 Block Public Access with all four settings on, in every account.",
    )
    ebs_encryption: bool = Field(
        default=False,
        description="EBS encryption by default, in every region the account's region-allow-list guardrail allows "
        "(the home region where none applies).",
    )
    config_recorder: bool = Field(
        default=False,
        description="An AWS Config recorder in every member account, in the same regions, delivering to the "
        "security account's log bucket; needs config: true. The management account records only when "
        "its override says so.",
    )
    overrides: dict[AccountName, AccountSettingsOverride] = Field(
        default_factory=dict,
        description="Account name → the settings that differ there, e.g. sandbox: {config_recorder: false}.",
    )

    def for_account(self, account: str, management: str) -> AccountSettings:
        """The settings in effect in `account` (its overrides applied; without them)."""
        override = self.overrides.get(account, AccountSettingsOverride())
        settings = {
            "s3_public_access_block": self.s3_public_access_block,
            "ebs_encryption": self.ebs_encryption,
            "config_recorder": self.config_recorder and account != management,
        }
        settings.update(override.model_dump(exclude_none=True))
        return AccountSettings.model_validate(settings)


class SecurityBaseline(Strict):
    """Centralized logging, IAM monitoring and threat detection in the security account."""

    account: AccountName = Field(description="The security and logging account.")
    cloudtrail: bool = True
    guardduty: bool = True
    config: bool = True
    security_hub: bool = Field(
        default=True,
        description="Security Hub in every allowed region, administered by this account for the organization, "
        "with the CIS AWS Foundations 1.4.0 and AWS Foundational Security Best Practices standards.",
    )
    access_analyzer: bool = True
    log_retention_days: int = Field(default=365, ge=1, le=3653)
    every_account: AccountSettings = Field(
        default_factory=AccountSettings,
        description="Settings applied in each account through its access stack, with per-account overrides.",
    )


# ------------------------------------------------------------------------------------------- suppressions


class Suppression(Strict):
    """Silence one finding, with a written reason that shows in every report."""

    rule: str = Field(pattern=RULE_ID)
    subject: str = Field(min_length=1, description="What the finding is about, e.g. a role or guardrail name.")
    reason: str = Field(min_length=10, description="Why this is acceptable. Required.")


# ------------------------------------------------------------------------------------------------- drift


class DriftIgnore(Strict):
    """Something `drift` should not report as unmanaged, because another tool owns it. Needs a reason."""

    kind: Literal["role", "assignment", "scp-attachment"]
    name: str = Field(
        min_length=1,
        max_length=128,
        description="A glob (*, ?, [...]) over the role's name, the assignment's permission set, or the SCP's name.",
    )
    principal: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="kind assignment only: a glob over the group's or user's name. Unset: anyone.",
    )
    accounts: list[AccountName] = Field(
        default_factory=list,
        description="Only in these accounts (for an SCP attachment: attached to them). Empty: everywhere.",
    )
    reason: str = Field(min_length=10, description="Who owns it and why drift may ignore it. Required.")

    @model_validator(mode="after")
    def _principal_for_assignments(self) -> DriftIgnore:
        if self.principal is not None and self.kind != "assignment":
            raise ValueError("'principal' applies only to kind 'assignment'")
        return self


class DriftSettings(Strict):
    """How `securecart-tf drift` treats what it finds."""

    ignore: list[DriftIgnore] = Field(default_factory=list)


class LimitOverrides(Strict):
    """Raise a quota your organization has had raised. Unset means the AWS default in the limits table."""

    scp_max_chars: Literal[5120, 10240] | None = None
    scps_per_target: Annotated[int, Field(ge=1, le=10)] | None = None
    role_trust_policy_chars: Annotated[int, Field(ge=2048, le=8192)] | None = None
    managed_policies_per_role: Annotated[int, Field(ge=10, le=25)] | None = None
    accounts_per_organization: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="The organization's account quota (Service Quotas): 10 by default, lower for some new ones.",
    )


# ------------------------------------------------------------------------------------------ customizations


class Customization(Strict):
    """Your own Terraform module, added to the access stack of every account it targets."""

    name: str = Field(pattern=CUSTOMIZATION_NAME, description="Unique; names the module block in each stack.")
    source: str = Field(
        min_length=1,
        max_length=512,
        description="A module folder relative to the matrix (./customizations/budget), or a registry module "
        "(namespace/name/provider) with `version`.",
    )
    version: str | None = Field(
        default=None, pattern=MODULE_VERSION, description="A registry module's version. Only with a registry source."
    )
    targets: Targets = Field(description="The accounts, OUs or environments whose access stacks hold the module.")
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="The module's variables. Text anywhere in a value may use {account}, {account_id} and "
        "{environment}, replaced for each account.",
    )

    @model_validator(mode="after")
    def _source_kind(self) -> Customization:
        if self.version is not None and not re.match(REGISTRY_SOURCE, self.source):
            raise ValueError(
                "'version' is for a registry module (namespace/name/provider); a local folder has no version"
            )
        for key in self.inputs:
            if not re.match(TF_IDENTIFIER, key):
                raise ValueError(f"input {key!r} is not a Terraform variable name (letters, digits, '_' and '-')")
        return self

    @property
    def is_local(self) -> bool:
        return self.version is None


# ------------------------------------------------------------------------------------------------- matrix


class AccessMatrix(Strict):
    """Who may do what, and where, across the organization."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "securecart-tf access matrix"})

    version: Literal[1] = Field(description="Schema version. Always 1.")
    organization: Organization
    accounts: list[Account] = Field(min_length=1)
    guardrails: list[Guardrail] = Field(default_factory=list)
    identity_center: IdentityCenter | None = None
    policies: list[Policy] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    service_roles: list[ServiceRole] = Field(default_factory=list)
    security_baseline: SecurityBaseline | None = None
    limits: LimitOverrides = Field(default_factory=LimitOverrides)
    suppressions: list[Suppression] = Field(default_factory=list)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    customizations: list[Customization] = Field(
        default_factory=list, description="Your own Terraform modules, added to the accounts they target."
    )


def iso_duration_hours(value: str) -> float:
    """'PT8H' → 8.0, 'PT1H30M' → 1.5."""
    match = re.match(ISO_DURATION, value)
    if not match:
        raise ValueError(value)
    hours, minutes = match.groups()
    return int(hours or 0) + int(minutes or 0) / 60


def export_json_schema() -> dict[str, Any]:
    schema = AccessMatrix.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://securecart-tf.dev/schema/access-matrix.schema.json"
    return schema


PositionPath = tuple[str | int, ...]


def ou_paths(units: Iterable[OrganizationalUnit], parent: str = "") -> Iterator[tuple[str, int, PositionPath]]:
    """Every OU path with its depth and its position path in the matrix."""

    def walk(
        nodes: list[OrganizationalUnit], prefix: str, depth: int, pos: PositionPath
    ) -> Iterator[tuple[str, int, PositionPath]]:
        for i, unit in enumerate(nodes):
            path = f"{prefix}/{unit.name}" if prefix else unit.name
            here = (*pos, i)
            yield path, depth, here
            yield from walk(unit.units, path, depth + 1, (*here, "units"))

    yield from walk(list(units), parent, 1, ("organization", "units"))
