"""The live reader when AWS pushes back: throttled calls are retried, an account whose IAM refuses is skipped."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import pytest

from securecart_tf.adopt.clients import TargetClients
from securecart_tf.adopt.inventory import Inventory
from securecart_tf.adopt.live import read_inventory
from securecart_tf.run.workspace import Target
from securecart_tf.sandbox.shims import Request, WSGIApp, _query_error
from tests.inprocess import serve

REGION = "us-east-1"
ROLE = "OrganizationAccountAccessRole"
THROTTLED = 2


class Faults:
    """In front of the sandbox: throttles the first calls of ListRoots, and refuses one account's IAM."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.denied_account = ""
        self.seen: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.target.endswith(".ListRoots"):
            self.seen["ListRoots"] += 1
            if self.seen["ListRoots"] <= THROTTLED:
                body = json.dumps({"__type": "TooManyRequestsException", "message": "Rate exceeded"}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")])
                return [body]
        if request.service == "iam" and self.denied_account and request.account == self.denied_account:
            self.seen["denied"] += 1
            payload = {"__type": "AccessDenied", "message": "not authorized to perform: iam:ListRoles"}
            return _query_error(403, payload, start_response)
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def faulty() -> Iterator[tuple[Target, Faults, dict[str, str]]]:
    made: list[Faults] = []

    def wrap(app: WSGIApp) -> WSGIApp:
        made.append(Faults(app))
        return made[0]

    with serve(wrap) as info:
        target = Target("sandbox", "sandbox:faults", REGION, info=info)
        session = boto3.session.Session(
            aws_access_key_id=info.access_key, aws_secret_access_key=info.secret_key, region_name=REGION
        )
        organizations = session.client("organizations", endpoint_url=info.endpoint)
        organizations.create_organization(FeatureSet="ALL")
        accounts = {}
        for name in ("open", "guarded"):
            status = organizations.create_account(AccountName=name, Email=f"{name}@faults.example")
            accounts[name] = status["CreateAccountStatus"]["AccountId"]
        made[0].denied_account = accounts["guarded"]
        yield target, made[0], accounts


@pytest.fixture(scope="module")
def inventory(faulty: tuple[Target, Faults, dict[str, str]]) -> Inventory:
    target = faulty[0]
    clients = TargetClients(target, ROLE)
    return read_inventory(clients.management, enter=clients.enter, region=REGION, deployment_role=ROLE)


def test_throttled_calls_are_retried_with_backoff(faulty: Any, inventory: Inventory) -> None:
    target, faults, accounts = faulty
    assert faults.seen["ListRoots"] == THROTTLED + 1
    assert inventory.root_id.startswith("r-")
    clients = TargetClients(target, ROLE)
    # adaptive mode backs off and slows the client down; ten attempts outlast a burst of throttling
    for client in (clients.management("organizations"), clients.enter(accounts["open"])("iam", None)):
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 10}


def test_an_account_whose_iam_refuses_the_role_is_skipped_and_the_rest_read(faulty: Any, inventory: Inventory) -> None:
    _, faults, accounts = faulty
    assert faults.seen["denied"] >= 1
    assert [(s.what, "AccessDenied" in s.reason) for s in inventory.skipped] == [
        (f"account guarded ({accounts['guarded']})", True)
    ]
    assert accounts["open"] in {i.account_id for i in inventory.iam}
    assert accounts["guarded"] not in {i.account_id for i in inventory.iam}
