"""boto3 clients for the reader: in the management account of a target, and in member accounts through the role."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from securecart_tf.iam.documents import partition_of

if TYPE_CHECKING:
    from securecart_tf.adopt.live import ClientFactory
    from securecart_tf.run.workspace import Target

SESSION_NAME = "securecart-tf-import"
MAX_ATTEMPTS = 10
"""Attempts per call, the first included: throttled calls are retried with backoff, and botocore's adaptive mode
also slows the client down."""


class TargetClients:
    """Clients in a target's management account, and `enter(account_id)` for one through the deployment role.

    Every client retries throttled calls with backoff and talks to the sandbox's endpoint on a sandbox target.
    Usage: `read_inventory(clients.management, enter=clients.enter, region=target.region, ...)`.
    """

    def __init__(self, target: Target, deployment_role: str, *, external_id: str | None = None) -> None:
        from botocore.config import Config

        self.target = target
        self.deployment_role = deployment_role
        self.external_id = external_id
        self.endpoint = (target.endpoint or target.info.endpoint) if target.info is not None else None
        self.config = Config(retries={"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS}, max_pool_connections=32)
        self._session = target.boto3_session()
        self._lock = threading.Lock()  # a boto3 session may not make clients from two threads at once
        self._clients: dict[tuple[str, str], Any] = {}

    def management(self, service: str, region: str | None = None) -> Any:
        """A client in the account the target's credentials are in: the management account, for import."""
        key = (service, region or self.target.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, key[1])
            return self._clients[key]

    def enter(self, account_id: str) -> ClientFactory:
        """A client factory in `account_id` through the deployment role; ClientError when AssumeRole is refused."""
        params: dict[str, Any] = {
            "RoleArn": f"arn:{partition_of(self.target.region)}:iam::{account_id}:role/{self.deployment_role}",
            "RoleSessionName": SESSION_NAME,
        }
        if self.external_id:
            params["ExternalId"] = self.external_id
        creds = self.management("sts").assume_role(**params)["Credentials"]
        keys = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

        def client(service: str, region: str | None = None) -> Any:
            with self._lock:
                return self._make(service, region or self.target.region, **keys)

        return client

    def _make(self, service: str, region: str, **keys: str) -> Any:
        return self._session.client(service, region_name=region, endpoint_url=self.endpoint, config=self.config, **keys)
