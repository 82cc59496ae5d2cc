"""The guardrail library: parameterised service and resource control policies.

Every SCP Deny here exempts the platform roles (deployment and break-glass) and any roles the matrix names,
through an `aws:PrincipalArn` condition, so a guardrail can never lock out the pipeline that applies it.
The one exception, deny-root-user, matches only the root user, which no role can be. The RCPs are
parameterised by the organization's ID and deny only what comes from outside it (or over plain HTTP), so
the platform roles, inside the organization and calling over TLS, are never denied. Every condition key
used is one the action supports; `tests/unit/test_policy_corpus.py` proves both with the linter and the
lockout check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Services whose APIs are global or served from us-east-1 only; a region allow-list must not deny them.
GLOBAL_SERVICES = (
    "a4b:*",
    "account:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "kms:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sso:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)


def role_arn_pattern(role: str) -> str:
    return f"arn:aws:iam::*:role/{role}"


def exemption(roles: Sequence[str]) -> dict[str, Any]:
    """The condition that keeps a Deny off the named roles in every account."""
    return {"ArnNotLike": {"aws:PrincipalArn": [role_arn_pattern(r) for r in roles]}}


def _deny(
    sid: str, actions: Sequence[str] | str, condition: dict[str, Any] | None = None, *, not_action: bool = False
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny"}
    statement["NotAction" if not_action else "Action"] = list(actions) if not isinstance(actions, str) else actions
    statement["Resource"] = "*"
    if condition:
        statement["Condition"] = condition
    return statement


def _with_exemption(condition: dict[str, Any], exempt: Sequence[str]) -> dict[str, Any]:
    merged = {op: dict(keys) for op, keys in condition.items()}
    merged.setdefault("ArnNotLike", {})["aws:PrincipalArn"] = [role_arn_pattern(r) for r in exempt]
    return merged


class _NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regions: list[str] = Field(min_length=1, description="Regions workloads may use.")
    global_services: list[str] = Field(
        default_factory=lambda: list(GLOBAL_SERVICES),
        description="Actions never denied by region (global services).",
    )


class EncryptionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[str] = Field(default_factory=lambda: ["s3", "rds", "ebs"])
    s3_allowed_encryption: list[str] = Field(default_factory=lambda: ["AES256", "aws:kms", "aws:kms:dsse"])


class SecurityServicesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[str] = Field(default_factory=lambda: ["cloudtrail", "guardduty", "config", "access-analyzer"])


def _deny_root(_: _NoParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    # Targets only the root user, so no role can match it; no exemption is needed.
    return [_deny("DenyRootUser", "*", {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}})]


def _deny_leave(_: _NoParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    return [_deny("DenyLeaveOrganization", ["organizations:LeaveOrganization"], exemption(exempt))]


def _regions(params: RegionParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    condition = _with_exemption({"StringNotEquals": {"aws:RequestedRegion": params.regions}}, exempt)
    return [_deny("DenyOutsideAllowedRegions", params.global_services, condition, not_action=True)]


def _encryption(params: EncryptionParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    unknown = set(params.services) - {"s3", "rds", "ebs"}
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; choose from s3, rds, ebs")
    if "s3" in params.services:
        # S3 encrypts every new object by default; deny an explicit request for anything weaker, and deny
        # changing a bucket's default encryption. `s3:x-amz-server-side-encryption` applies to PutObject.
        statements.append(
            _deny(
                "DenyWeakS3ObjectEncryption",
                ["s3:PutObject"],
                _with_exemption(
                    {
                        "StringNotEquals": {"s3:x-amz-server-side-encryption": params.s3_allowed_encryption},
                        "Null": {"s3:x-amz-server-side-encryption": "false"},
                    },
                    exempt,
                ),
            )
        )
        statements.append(_deny("DenyS3DefaultEncryptionChanges", ["s3:PutEncryptionConfiguration"], exemption(exempt)))
    if "rds" in params.services:
        # `rds:StorageEncrypted` is documented for cluster creation only, not for rds:CreateDBInstance, so an
        # SCP cannot see whether a single instance asks for encryption. The security baseline's AWS Config
        # rule rds-storage-encrypted reports unencrypted instances instead.
        statements.append(
            _deny(
                "DenyUnencryptedRdsClusters",
                ["rds:CreateDBCluster", "rds:RestoreDBClusterFromS3"],
                _with_exemption({"Bool": {"rds:StorageEncrypted": "false"}}, exempt),
            )
        )
    if "ebs" in params.services:
        statements.append(
            _deny(
                "DenyUnencryptedEbsVolumes",
                ["ec2:CreateVolume"],
                _with_exemption({"Bool": {"ec2:Encrypted": "false"}}, exempt),
            )
        )
        statements.append(
            _deny("DenyDisablingEbsDefaultEncryption", ["ec2:DisableEbsEncryptionByDefault"], exemption(exempt))
        )
    return statements


def _internet_gateway(_: _NoParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    return [
        _deny(
            "DenyInternetGateways",
            ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:CreateEgressOnlyInternetGateway"],
            exemption(exempt),
        )
    ]


_SECURITY_ACTIONS = {
    "cloudtrail": [
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
    ],
    "guardduty": [
        "guardduty:DeleteDetector",
        "guardduty:UpdateDetector",
        "guardduty:DisassociateFromMasterAccount",
        "guardduty:DisassociateFromAdministratorAccount",
        "guardduty:DeleteMembers",
        "guardduty:StopMonitoringMembers",
    ],
    "config": [
        "config:StopConfigurationRecorder",
        "config:DeleteConfigurationRecorder",
        "config:DeleteDeliveryChannel",
        "config:DeleteConfigurationAggregator",
    ],
    "access-analyzer": ["access-analyzer:DeleteAnalyzer"],
}


def _security_services(params: SecurityServicesParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    unknown = set(params.services) - set(_SECURITY_ACTIONS)
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; choose from {', '.join(_SECURITY_ACTIONS)}")
    actions = [a for service in params.services for a in _SECURITY_ACTIONS[service]]
    return [_deny("ProtectSecurityServices", actions, exemption(exempt))]


# ---- resource control policies

RCP_SERVICES = ("s3", "sts", "sqs", "secretsmanager", "kms")
"""The services the RCP library guards by default: those RCPs applied to when they were introduced."""

ORG_ID_VARIABLE = "${aws:ResourceOrgID}"
"""Stands for the organization's ID until it is known: the resource an RCP guards is always in it."""


class RcpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: str | None = Field(
        default=None,
        pattern=r"^o-[a-z0-9]{10,32}$",
        description="The organization's ID; default: the organization this matrix manages.",
    )
    services: list[str] = Field(default_factory=lambda: list(RCP_SERVICES), min_length=1)


def _rcp_deny(sid: str, services: Sequence[str], condition: dict[str, Any]) -> dict[str, Any]:
    actions = [f"{s}:*" for s in services]
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": actions, "Resource": "*", "Condition": condition}


def _check_services(services: Sequence[str]) -> None:
    unknown = sorted(set(services) - set(RCP_SERVICES))
    if unknown:
        raise ValueError(f"services {unknown} are not guarded by this RCP; choose from {', '.join(RCP_SERVICES)}")


def _org(params: RcpParams) -> str:
    return params.organization_id or ORG_ID_VARIABLE


def _enforce_tls(params: RcpParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    _check_services(params.services)
    return [_rcp_deny("DenyInsecureTransport", params.services, {"BoolIfExists": {"aws:SecureTransport": "false"}})]


def _confused_deputy(params: RcpParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    # A service acting for a resource outside the organization must not reach ours (confused deputy).
    _check_services(params.services)
    services = [s for s in params.services if s != "sts"]  # STS is called by principals, not on a service's behalf
    condition = {
        "StringNotEqualsIfExists": {"aws:SourceOrgID": _org(params)},
        "Null": {"aws:SourceAccount": "false"},
        "Bool": {"aws:PrincipalIsAWSService": "true"},
    }
    return [_rcp_deny("DenyConfusedDeputies", services, condition)]


def _org_only(params: RcpParams, exempt: Sequence[str]) -> list[dict[str, Any]]:
    _check_services(params.services)
    services = [s for s in params.services if s != "sts"]  # role trust policies already name who may assume
    condition = {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": _org(params)},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }
    return [_rcp_deny("DenyPrincipalsOutsideOrganization", services, condition)]


@dataclass(frozen=True)
class LibraryGuardrail:
    id: str
    summary: str
    params: type[BaseModel]
    build: Callable[[Any, Sequence[str]], list[dict[str, Any]]]
    type: str = "scp"
    """scp or rcp: the kind of policy it builds."""


LIBRARY: dict[str, LibraryGuardrail] = {
    g.id: g
    for g in (
        LibraryGuardrail(
            "deny-root-user", "Deny every action to the root user of member accounts.", _NoParams, _deny_root
        ),
        LibraryGuardrail("deny-leave-organization", "Deny leaving the organization.", _NoParams, _deny_leave),
        LibraryGuardrail(
            "region-allow-list", "Deny regional services outside the allowed regions.", RegionParams, _regions
        ),
        LibraryGuardrail(
            "require-encryption",
            "Require encryption for S3 objects, RDS clusters and EBS volumes.",
            EncryptionParams,
            _encryption,
        ),
        LibraryGuardrail(
            "deny-internet-gateway",
            "Deny internet gateways; attach it outside networking accounts.",
            _NoParams,
            _internet_gateway,
        ),
        LibraryGuardrail(
            "protect-security-services",
            "Deny disabling CloudTrail, GuardDuty, Config and Access Analyzer.",
            SecurityServicesParams,
            _security_services,
        ),
        LibraryGuardrail(
            "rcp-enforce-tls",
            "RCP: deny requests to S3, STS, SQS, Secrets Manager and KMS resources that do not use TLS.",
            RcpParams,
            _enforce_tls,
            "rcp",
        ),
        LibraryGuardrail(
            "rcp-confused-deputy",
            "RCP: deny AWS services acting for a resource outside the organization (confused deputy).",
            RcpParams,
            _confused_deputy,
            "rcp",
        ),
        LibraryGuardrail(
            "rcp-organization-only",
            "RCP: deny principals outside the organization on S3, KMS, SQS and Secrets Manager resources.",
            RcpParams,
            _org_only,
            "rcp",
        ),
    )
}


class GuardrailParameterError(ValueError):
    """Bad parameters for a library guardrail; the message names the parameter."""


def build_guardrail(
    builtin: str, parameters: dict[str, Any], exempt_roles: Sequence[str], organization_id: str | None = None
) -> dict[str, Any]:
    """The policy document for a library guardrail. Raises KeyError or GuardrailParameterError.

    An RCP's organization ID defaults to `organization_id`, the organization's when it is known."""
    entry = LIBRARY[builtin]
    if entry.type == "rcp" and organization_id and "organization_id" not in parameters:
        parameters = {**parameters, "organization_id": organization_id}
    try:
        params = entry.params.model_validate(parameters)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "parameters"
        raise GuardrailParameterError(f"{where}: {first['msg']}") from None
    try:
        statements = entry.build(params, list(dict.fromkeys(exempt_roles)))
    except ValueError as exc:
        raise GuardrailParameterError(str(exc)) from None
    return {"Version": "2012-10-17", "Statement": statements}
