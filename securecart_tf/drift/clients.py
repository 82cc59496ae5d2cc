"""boto3 clients in each account of the target, and what the AWS APIs list there (SCPs, assignments, roles)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from securecart_tf.drift.unmanaged import Assignment, Role, ScpAttachment
from securecart_tf.errors import SecureCartError
from securecart_tf.iam.documents import partition_of

if TYPE_CHECKING:
    from securecart_tf.run.orchestrate import Run


class Clients:
    """boto3 clients in the management account, or in a member account through its access role."""

    def __init__(self, run: Run) -> None:
        from securecart_tf.config.environments import AwsTarget

        self.run = run
        self.management = run.project.matrix.organization.management_account
        target = run.env.target
        self.aws = target if isinstance(target, AwsTarget) else None
        self.role = (self.aws.role_name if self.aws else None) or run.project.matrix.organization.deployment_role
        self._sessions: dict[str, Any] = {}

    def __call__(self, service: str, account: str | None = None, region: str | None = None) -> Any:
        """A client in `account` (the management account when None), in `region` (the home region when None)."""
        profiled = self.aws is not None and account in self.aws.account_profiles
        if account is None or (account == self.management and not profiled):
            return self.run.target.client(service, region)
        endpoint = self.run.target.info.endpoint if self.run.target.info is not None else None
        return self._session(account).client(service, endpoint_url=endpoint, region_name=region)

    def _session(self, account: str) -> Any:
        if account not in self._sessions:
            self._sessions[account] = self._new_session(account)
        return self._sessions[account]

    def _new_session(self, account: str) -> Any:
        import boto3

        region = self.run.target.region
        if self.aws is not None and account in self.aws.account_profiles:
            return boto3.session.Session(profile_name=self.aws.account_profiles[account], region_name=region)
        account_id = self.run.facts.account_ids.get(account)
        if account_id is None:
            raise SecureCartError(f"account {account} has no ID yet", hint="apply the organization stack first")
        params: dict[str, Any] = {
            "RoleArn": f"arn:{partition_of(region)}:iam::{account_id}:role/{self.role}",
            "RoleSessionName": "securecart-tf-drift",
        }
        if self.aws is not None and self.aws.external_id:
            params["ExternalId"] = self.aws.external_id
        creds = self.run.target.client("sts").assume_role(**params)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )


def pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paginated listing."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items += page.get(key, [])
    return items


def fetch_scp_attachments(org: Any) -> list[ScpAttachment]:
    found = []
    for policy in pages(org, "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"):
        for target in pages(org, "list_targets_for_policy", "Targets", PolicyId=policy["Id"]):
            found.append(
                ScpAttachment(
                    policy["Id"],
                    policy["Name"],
                    target["TargetId"],
                    target.get("Name", ""),
                    bool(policy.get("AwsManaged")),
                )
            )
    return found


def _principal_names(identitystore: Any, store: str) -> Callable[[str, str], str]:
    """A lookup of a group's display name or a user's name by ID, asking the identity store once for each."""
    from botocore.exceptions import ClientError

    names: dict[tuple[str, str], str] = {}

    def principal(kind: str, ident: str) -> str:
        if (kind, ident) not in names:
            try:
                if kind == "GROUP":
                    names[(kind, ident)] = identitystore.describe_group(IdentityStoreId=store, GroupId=ident)[
                        "DisplayName"
                    ]
                else:
                    names[(kind, ident)] = identitystore.describe_user(IdentityStoreId=store, UserId=ident)["UserName"]
            except ClientError:  # a principal deleted since: still an assignment to report
                names[(kind, ident)] = ident
        return names[(kind, ident)]

    return principal


def fetch_assignments(sso: Any, identitystore: Any, account_ids: Iterable[str]) -> list[Assignment]:
    instances_ = sso.list_instances().get("Instances", [])
    if not instances_:
        return []
    instance_arn, store = instances_[0]["InstanceArn"], instances_[0]["IdentityStoreId"]
    principal = _principal_names(identitystore, store)
    found = []
    for ps_arn in pages(sso, "list_permission_sets", "PermissionSets", InstanceArn=instance_arn):
        ps_name = sso.describe_permission_set(InstanceArn=instance_arn, PermissionSetArn=ps_arn)["PermissionSet"][
            "Name"
        ]
        for account_id in account_ids:
            for a in pages(
                sso,
                "list_account_assignments",
                "AccountAssignments",
                InstanceArn=instance_arn,
                AccountId=account_id,
                PermissionSetArn=ps_arn,
            ):
                found.append(
                    Assignment(
                        a["PrincipalType"],
                        a["PrincipalId"],
                        principal(a["PrincipalType"], a["PrincipalId"]),
                        account_id,
                        ps_arn,
                        ps_name,
                        instance_arn,
                    )
                )
    return found


def fetch_roles(iam: Any, keep: Callable[[str, str], bool]) -> list[Role]:
    """The account's roles; policies are listed only for those `keep(name, path)` selects."""
    found = []
    for r in pages(iam, "list_roles", "Roles"):
        if not keep(r["RoleName"], r.get("Path", "/")):
            continue
        attached = tuple(
            p["PolicyArn"]
            for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=r["RoleName"])
        )
        inline = tuple(pages(iam, "list_role_policies", "PolicyNames", RoleName=r["RoleName"]))
        found.append(Role(r["RoleName"], r.get("Path", "/"), attached, inline))
    return found
