"""IAM policy documents built from the matrix: trust policies and service-role access policies.

They are plain dicts; `minify` gives exactly the JSON that Terraform sends to AWS, so limits are measured
on what AWS sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from securecart_tf.config.schema import (
    ResourceAccess,
    Role,
    ServicePrincipal,
    ServiceRole,
    TrustedPrincipal,
    service_principal,
)

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_PROVIDERS = {
    "github": {
        "url": f"https://{GITHUB_OIDC_HOST}",
        "client_ids": ["sts.amazonaws.com"],
        # IAM no longer checks this for GitHub, but the API still requires one.
        "thumbprints": ["6938fd4d98bab03faadb97b34396831e3780aea1"],
    }
}
SERVICE_PRINCIPALS = {
    ServicePrincipal.ecs_tasks: "ecs-tasks.amazonaws.com",
    ServicePrincipal.lambda_: "lambda.amazonaws.com",
    ServicePrincipal.ec2: "ec2.amazonaws.com",
}

AccountId = Callable[[str], str]


def minify(document: dict[str, Any]) -> str:
    """The JSON as Terraform sends it to AWS, which is what AWS measures against its size limits."""
    return json.dumps(document, separators=(",", ":"))


def substitute(text: str, *, environment: str | None, account: str) -> str:
    return text.replace("{environment}", environment or account).replace("{account}", account)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to; every ARN in it starts arn:<partition>:."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def in_partition(document: Any, partition: str) -> Any:
    """A document securecart-tf generated, with its arn:aws: ARNs (and patterns) moved to `partition`."""
    if partition == "aws":
        return document
    if isinstance(document, str):
        return f"arn:{partition}:{document[8:]}" if document.startswith("arn:aws:") else document
    if isinstance(document, list):
        return [in_partition(item, partition) for item in document]
    if isinstance(document, dict):
        return {key: in_partition(value, partition) for key, value in document.items()}
    return document


def sid(prefix: str, name: str) -> str:
    """A statement id IAM accepts: letters and digits only."""
    return (prefix + re.sub(r"[^A-Za-z0-9]", "", name))[:100]


def sso_role_pattern(account_id: str, permission_set: str) -> str:
    return f"arn:aws:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{permission_set}_*"


def trust_statement(
    principal: TrustedPrincipal,
    *,
    account_id: AccountId,
    self_account_id: str,
    environment: str | None,
    self_account: str,
    require_mfa: bool,
    expires: str | None,
) -> dict[str, Any]:
    condition: dict[str, dict[str, Any]] = {}
    statement: dict[str, Any] = {"Effect": "Allow"}
    human_iam = True
    if principal.identity_center is not None:
        ic = principal.identity_center
        source = account_id(ic.account)
        statement["Sid"] = sid("IdentityCenter", ic.permission_set)
        statement["Principal"] = {"AWS": f"arn:aws:iam::{source}:root"}
        statement["Action"] = ["sts:AssumeRole", "sts:SetSourceIdentity"]
        condition["ArnLike"] = {"aws:PrincipalArn": sso_role_pattern(source, ic.permission_set)}
        human_iam = False  # Identity Center enforces MFA at sign-in; the role session carries no MFA key
    elif principal.role is not None:
        statement["Sid"] = sid("Role", principal.role.role)
        statement["Principal"] = {
            "AWS": f"arn:aws:iam::{account_id(principal.role.account)}:role/{principal.role.role}"
        }
        statement["Action"] = "sts:AssumeRole"
    elif principal.account is not None:
        statement["Sid"] = sid("Account", principal.account)
        statement["Principal"] = {"AWS": f"arn:aws:iam::{account_id(principal.account)}:root"}
        statement["Action"] = "sts:AssumeRole"
    elif principal.oidc is not None:
        subject = substitute(principal.oidc.subject, environment=environment, account=self_account)
        statement["Sid"] = "GitHubActions"
        statement["Principal"] = {"Federated": f"arn:aws:iam::{self_account_id}:oidc-provider/{GITHUB_OIDC_HOST}"}
        statement["Action"] = "sts:AssumeRoleWithWebIdentity"
        condition["StringEquals"] = {
            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC_HOST}:sub": subject,
        }
        human_iam = False
    elif principal.external is not None:
        ext = principal.external
        statement["Sid"] = f"External{ext.account_id}"
        statement["Principal"] = {"AWS": f"arn:aws:iam::{ext.account_id}:root"}
        statement["Action"] = "sts:AssumeRole"
        if ext.external_id:
            condition["StringEquals"] = {"sts:ExternalId": ext.external_id}
    elif principal.service is not None:
        # as IAM's console writes a service's trust, with no Sid: a role made there is expressed exactly
        statement["Principal"] = {"Service": service_principal(principal.service)}
        statement["Action"] = "sts:AssumeRole"
        human_iam = False
    if require_mfa and human_iam:
        condition.setdefault("Bool", {})["aws:MultiFactorAuthPresent"] = "true"
    if expires:
        condition["DateLessThan"] = {"aws:CurrentTime": expires}
    if condition:
        statement["Condition"] = condition
    return statement


def role_trust_policy(
    role: Role, *, account_id: AccountId, self_account: str, environment: str | None
) -> dict[str, Any]:
    expires = f"{role.trust.expires.isoformat()}T00:00:00Z" if role.trust.expires else None
    self_id = account_id(self_account)
    return {
        "Version": "2012-10-17",
        "Statement": [
            trust_statement(
                p,
                account_id=account_id,
                self_account_id=self_id,
                environment=environment,
                self_account=self_account,
                require_mfa=role.trust.require_mfa,
                expires=expires,
            )
            for p in role.trust.principals
        ],
    }


def service_trust_policy(role: ServiceRole, *, self_account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Service",
                "Effect": "Allow",
                "Principal": {"Service": SERVICE_PRINCIPALS[role.service]},
                "Action": "sts:AssumeRole",
                # confused-deputy protection: only this account's service may assume it
                "Condition": {"StringEquals": {"aws:SourceAccount": self_account_id}},
            }
        ],
    }


_S3_READ = ["s3:GetObject", "s3:GetObjectVersion"]
_S3_WRITE = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
_DDB_READ = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem",
]
_DDB_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]


def service_access_policy(
    role: ServiceRole, *, account_id: str, region: str, environment: str | None, account: str
) -> dict[str, Any] | None:
    """Least-privilege access to exactly the named buckets, tables and databases."""

    def sub(text: str) -> str:
        return substitute(text, environment=environment, account=account)

    statements: list[dict[str, Any]] = []
    for i, b in enumerate(role.s3):
        bucket = sub(b.bucket)
        actions = _S3_READ + (_S3_WRITE if b.access == ResourceAccess.write else [])
        statements.append(
            {
                "Sid": f"S3Objects{i}",
                "Effect": "Allow",
                "Action": actions,
                "Resource": f"arn:aws:s3:::{bucket}/{sub(b.prefix)}",
            }
        )
        statements.append(
            {"Sid": f"S3List{i}", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"}
        )
    for i, t in enumerate(role.dynamodb):
        table = f"arn:aws:dynamodb:{region}:{account_id}:table/{sub(t.table)}"
        actions = _DDB_READ + (_DDB_WRITE if t.access == ResourceAccess.write else [])
        statements.append(
            {"Sid": f"DynamoDB{i}", "Effect": "Allow", "Action": actions, "Resource": [table, f"{table}/index/*"]}
        )
    for i, d in enumerate(role.rds):
        statements.append(
            {
                "Sid": f"RdsIamAuth{i}",
                "Effect": "Allow",
                "Action": "rds-db:connect",
                "Resource": f"arn:aws:rds-db:{region}:{account_id}:dbuser:{sub(d.resource_id)}/{d.db_user}",
            }
        )
    if role.service == ServicePrincipal.lambda_:
        group = f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{role.name}"
        statements.append(
            {
                "Sid": "OwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [group, f"{group}:*"],
            }
        )
    if not statements:
        return None
    return {"Version": "2012-10-17", "Statement": statements}
