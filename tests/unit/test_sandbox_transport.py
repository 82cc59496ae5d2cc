"""The sandbox's transport: one request at a time into moto, and a retried write answered as the first was."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from securecart_tf.sandbox.shims import Shims, patch_moto
from securecart_tf.sandbox.transport import OneAtATime, attempt_of

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/iam/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


@pytest.fixture
def sandbox() -> Iterator[tuple[OneAtATime, Client]]:
    patch_moto()
    with mock_aws():
        app = OneAtATime(Shims(DomainDispatcherApplication(create_backend_app)))
        yield app, Client(app)


def create_role(client: Client, name: str, invocation: str, attempt: int) -> Any:
    return client.post(
        "/",
        data=urlencode(
            {"Action": "CreateRole", "Version": "2010-05-08", "RoleName": name, "AssumeRolePolicyDocument": TRUST}
        ),
        headers={
            "Host": "iam.amazonaws.com",
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": AUTH,
            "amz-sdk-invocation-id": invocation,
            "amz-sdk-request": f"attempt={attempt}; max=3",
        },
    )


def roles(client: Client) -> str:
    listed = client.post(
        "/",
        data="Action=ListRoles&Version=2010-05-08",
        headers={
            "Host": "iam.amazonaws.com",
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": AUTH,
        },
    )
    return listed.get_data(as_text=True)


def test_a_retried_create_gets_the_first_answer_and_creates_once(sandbox: tuple[OneAtATime, Client]) -> None:
    app, client = sandbox
    first = create_role(client, "AuditRole", "inv-1", attempt=1)
    assert first.status_code == 200, first.get_data(as_text=True)
    retry = create_role(client, "AuditRole", "inv-1", attempt=2)
    assert retry.status_code == 200, retry.get_data(as_text=True)
    assert retry.get_data() == first.get_data()
    assert app.replayed == 1
    assert roles(client).count("<RoleName>AuditRole</RoleName>") == 1


def test_a_new_request_for_the_same_role_is_still_refused(sandbox: tuple[OneAtATime, Client]) -> None:
    _, client = sandbox
    assert create_role(client, "AuditRole", "inv-1", attempt=1).status_code == 200
    again = create_role(client, "AuditRole", "inv-2", attempt=1)
    assert again.status_code == 409
    assert "EntityAlreadyExists" in again.get_data(as_text=True)
    # a retry of a request the sandbox never answered with success is carried out, not replayed
    unknown = create_role(client, "AuditRole", "inv-3", attempt=2)
    assert unknown.status_code == 409


def counting_app(calls: list[str], status: Callable[[int], str]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["REQUEST_METHOD"])
        start_response(status(len(calls)), [("Content-Type", "text/plain")])
        return [f"call {len(calls)}".encode()]

    return app


def call(app: OneAtATime, method: str, invocation: str, attempt: int) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(
        app(
            {
                "REQUEST_METHOD": method,
                "HTTP_AMZ_SDK_INVOCATION_ID": invocation,
                "HTTP_AMZ_SDK_REQUEST": f"attempt={attempt}",
            },
            lambda status, headers, exc_info=None: seen.append(status),
        )
    )
    return seen[0], body


def test_a_retry_after_a_failed_attempt_runs_again() -> None:
    calls: list[str] = []
    app = OneAtATime(counting_app(calls, lambda n: "500 Internal Server Error" if n == 1 else "200 OK"))
    assert call(app, "POST", "inv", 1) == ("500 Internal Server Error", b"call 1")
    assert call(app, "POST", "inv", 2) == ("200 OK", b"call 2")
    assert call(app, "POST", "inv", 3) == ("200 OK", b"call 2")  # now the success is what a retry gets
    assert len(calls) == 2


def test_reads_are_never_replayed_and_old_answers_are_let_go() -> None:
    calls: list[str] = []
    app = OneAtATime(counting_app(calls, lambda n: "200 OK"), keep=2)
    call(app, "GET", "read", 1)
    assert call(app, "GET", "read", 2) == ("200 OK", b"call 2")
    for invocation in ("a", "b", "c"):
        call(app, "PUT", invocation, 1)
    assert call(app, "PUT", "a", 2) == ("200 OK", b"call 6")  # forgotten: carried out again
    assert call(app, "PUT", "c", 2) == ("200 OK", b"call 5")


def test_requests_reach_the_app_one_at_a_time() -> None:
    # an app that loses updates when two requests interleave inside it
    state = {"count": 0, "inside": 0, "most": 0}

    def racy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        state["inside"] += 1
        state["most"] = max(state["most"], state["inside"])
        seen = state["count"]
        time.sleep(0)  # let another thread run here, as moto's handlers do mid-request
        state["count"] = seen + 1
        state["inside"] -= 1
        start_response("200 OK", [])
        return [b""]

    app = OneAtATime(racy)
    go = threading.Barrier(8)

    def hammer() -> None:
        go.wait()
        for _ in range(200):
            call(app, "POST", "", 1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state["most"] == 1
    assert state["count"] == 8 * 200


@pytest.mark.parametrize(
    ("header", "attempt"),
    [
        ("attempt=1; max=3", 1),
        ("attempt=3; max=3", 3),
        ("ttl=20261201T000000Z; attempt=2; max=5", 2),
        ("", 1),
        ("attempt=x", 1),
    ],
)
def test_the_attempt_number_is_read_from_the_sdk_header(header: str, attempt: int) -> None:
    assert attempt_of({"HTTP_AMZ_SDK_REQUEST": header}) == attempt
