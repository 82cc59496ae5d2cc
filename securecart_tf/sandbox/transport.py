"""How the sandbox takes requests: one at a time, and a retried write answered as it was the first time.

moto's backends are plain dictionaries that one request may iterate while another adds to them, so the
sandbox hands moto one request at a time (Python runs one thread at a time anyway; what is lost is only
the interleaving that breaks moto).

The AWS SDKs retry a request whose answer they did not get, with the same `amz-sdk-invocation-id` header
and a higher attempt number in `amz-sdk-request`. A write the sandbox already carried out must not be
carried out twice: a role created by the first attempt would fail the second with EntityAlreadyExists.
So the answer to each successful write is kept for a while, and a retry of it gets the same answer.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

KEPT_ANSWERS = 4096
READS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


def attempt_of(environ: dict[str, Any]) -> int:
    """The attempt number the SDK put in `amz-sdk-request` ("attempt=2; max=3"), 1 when absent."""
    for part in str(environ.get("HTTP_AMZ_SDK_REQUEST", "")).split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


class OneAtATime:
    """WSGI middleware: serializes requests into `app` and replays the answer to a retried write."""

    def __init__(self, app: WSGIApp, keep: int = KEPT_ANSWERS):
        self.app = app
        self.keep = keep
        self.lock = threading.Lock()
        self.answers: OrderedDict[str, Answer] = OrderedDict()
        self.replayed = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        invocation = str(environ.get("HTTP_AMZ_SDK_INVOCATION_ID", ""))
        write = bool(invocation) and environ.get("REQUEST_METHOD", "GET") not in READS
        with self.lock:
            if write and attempt_of(environ) > 1 and invocation in self.answers:
                answer = self.answers[invocation]
                self.replayed += 1
                print(
                    f"replayed the answer to attempt {attempt_of(environ)} of {invocation} "
                    f"({environ.get('HTTP_X_AMZ_TARGET') or environ.get('PATH_INFO', '')})",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                answer = self._call(environ)
                if write and answer.status[:1] == "2":
                    self.answers[invocation] = answer
                    while len(self.answers) > self.keep:
                        self.answers.popitem(last=False)
        start_response(answer.status, answer.headers)
        return [answer.body]

    def _call(self, environ: dict[str, Any]) -> Answer:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            started[:] = [status, list(headers)]
            return written.append

        chunks = self.app(environ, start_response)
        try:
            body = b"".join([*written, *chunks])
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return Answer(status=started[0], headers=started[1], body=body)
