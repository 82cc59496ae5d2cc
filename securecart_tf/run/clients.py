"""boto3 clients in each account of a run's target: the management account's own, or a member's through its role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from securecart_tf.errors import SecureCartError
from securecart_tf.iam.documents import partition_of

if TYPE_CHECKING:
    from securecart_tf.run.orchestrate import Run


class Clients:
    """boto3 clients in the management account, or in a member account through its access role."""

    def __init__(self, run: Run, session_name: str = "securecart-tf") -> None:
        from securecart_tf.config.environments import AwsTarget

        self.run = run
        self.session_name = session_name
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
        account_id = self.run.facts.account_ids.get(account) or self.run.model.directory.ids.get(account)
        if account_id is None:
            raise SecureCartError(f"account {account} has no ID yet", hint="apply the organization stack first")
        params: dict[str, Any] = {
            "RoleArn": f"arn:{partition_of(region)}:iam::{account_id}:role/{self.role}",
            "RoleSessionName": self.session_name,
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
