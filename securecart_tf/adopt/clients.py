"""boto3 clients for the reader: in the management account of a target, and in member accounts through the role."""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from securecart_tf.iam.documents import partition_of

if TYPE_CHECKING:
    from securecart_tf.adopt.live import ClientFactory
    from securecart_tf.run.workspace import Target

SESSION_NAME = "securecart-tf-import"
MAX_ATTEMPTS = 10
"""Attempts per call, the first included: throttled calls are retried with backoff, and botocore's adaptive mode
also slows the client down."""
UNSET_KEY = "SECURECARTUNSIGNED"
"""The key a member-account client holds of its own: every request it sends is signed with the credentials of
the account it was called for instead, and a request that is not would be refused, never read as another account."""

_SIGNING_AS: contextvars.ContextVar[Any] = contextvars.ContextVar("securecart_signing_as")
"""The credentials the member-account call running in this thread is signed with."""


@contextlib.contextmanager
def _signing_as(credentials: Any) -> Iterator[None]:
    token = _SIGNING_AS.set(credentials)
    try:
        yield
    finally:
        _SIGNING_AS.reset(token)


def _sign_as_account(request: Any, **_: Any) -> None:
    """before-sign: a member-account client's request is signed with the credentials of the account it is for."""
    credentials = _SIGNING_AS.get(None)
    if credentials is None:
        raise RuntimeError("a member-account client was called outside an account's client")
    request.context.setdefault("signing", {})["request_credentials"] = credentials


def parse_timestamp(value: Any) -> Any:
    """A timestamp in a response, as botocore's parser gives it: ISO 8601 ones (IAM's, Organizations') by the
    standard library, which takes microseconds where botocore's dateutil takes about a millisecond; any other
    form by botocore. The reader keeps no timestamp, but every role and policy listed carries some."""
    if isinstance(value, str) and "T" in value:
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(value)
    from botocore.utils import parse_timestamp as botocore_parse

    return botocore_parse(value)


@functools.cache
def signs_per_request() -> bool:
    """botocore signs a request with the credentials its context names (`request_credentials`, since 2023).
    Asked once: every account entered would ask again."""
    import inspect

    from botocore.signers import RequestSigner

    return "request_credentials" in inspect.signature(RequestSigner.get_auth_instance).parameters


class TargetClients:
    """Clients in a target's management account, and `enter(account_id)` for one through the deployment role.

    Every client retries throttled calls with backoff and talks to the sandbox's endpoint on a sandbox target.
    Member accounts share one client per service and region (making a boto3 client costs about 12 ms of CPU,
    and each holds its own connections): an account's client signs each call with that account's credentials.
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
        # the session is this object's own (a new one per call of boto3_session): its clients parse timestamps fast
        parsers = self._session._session.get_component("response_parser_factory")
        parsers.set_parser_defaults(timestamp_parser=parse_timestamp)
        self._lock = threading.Lock()  # a boto3 session may not make clients from two threads at once
        self._clients: dict[tuple[str, str], Any] = {}
        self._members: dict[tuple[str, str], Any] = {}

    def management(self, service: str, region: str | None = None) -> Any:
        """A client in the account the target's credentials are in: the management account, for import."""
        key = (service, region or self.target.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, key[1])
            return self._clients[key]

    def enter(self, account_id: str) -> ClientFactory:
        """A client factory in `account_id` through the deployment role; ClientError when AssumeRole is refused."""
        from botocore.credentials import Credentials

        params: dict[str, Any] = {
            "RoleArn": f"arn:{partition_of(self.target.region)}:iam::{account_id}:role/{self.deployment_role}",
            "RoleSessionName": SESSION_NAME,
        }
        if self.external_id:
            params["ExternalId"] = self.external_id
        creds = self.management("sts").assume_role(**params)["Credentials"]
        signing = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

        if not signs_per_request():  # an older botocore: a client of the account's own

            def own(service: str, region: str | None = None) -> Any:
                with self._lock:
                    return self._make(
                        service,
                        region or self.target.region,
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"],
                    )

            return own

        def client(service: str, region: str | None = None) -> Any:
            return AccountClient(self._member(service, region or self.target.region), signing)

        return client

    def _member(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._members:
                made = self._make(service, region, aws_access_key_id=UNSET_KEY, aws_secret_access_key=UNSET_KEY)
                made.meta.events.register("before-sign", _sign_as_account, unique_id="securecart-sign-as-account")
                self._members[key] = made
            return self._members[key]

    def _make(self, service: str, region: str, **keys: str) -> Any:
        return self._session.client(service, region_name=region, endpoint_url=self.endpoint, config=self.config, **keys)


class AccountClient:
    """A member account's client: the shared client's operations and paginators, signed with its credentials.

    Anything else (`meta`, `exceptions`, `can_paginate`) is the shared client's own.
    """

    def __init__(self, shared: Any, credentials: Any) -> None:
        self.shared = shared
        self.credentials = credentials

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.shared, name)
        if name not in self.shared.meta.method_to_api_mapping:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            with _signing_as(self.credentials):
                return found(*args, **kwargs)

        return call

    def get_paginator(self, operation: str) -> AccountPaginator:
        return AccountPaginator(self.shared.get_paginator(operation), self.credentials)


class AccountPaginator:
    """The shared client's paginator, each page fetched with the account's credentials."""

    def __init__(self, paginator: Any, credentials: Any) -> None:
        self.paginator = paginator
        self.credentials = credentials

    def paginate(self, **params: Any) -> Iterator[Any]:
        pages = iter(self.paginator.paginate(**params))
        while True:
            with _signing_as(self.credentials):
                page = next(pages, _END)
            if page is _END:
                return
            yield page


_END = object()
