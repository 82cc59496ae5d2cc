"""A test-only HTTP proxy in front of the sandbox that injects faults: throttling, 5xx errors, held requests.

Point a run at it with SECURECART_SANDBOX_ENDPOINT=<proxy.url>. Each request is matched against the
rules in order; the first rule that matches and still has budget acts on it, everything else is passed
through to the sandbox unchanged. Error bodies follow the AWS protocol the request used (JSON with
`__type`, query XML with `<Code>`, S3 XML), so the SDK in the AWS provider classifies them as AWS would.

A "hold" rule keeps matching requests waiting: for ever (the client sees no answer until the proxy
closes), or until the test calls `rule.release.set()`, when they go on to the sandbox. While a request
is held the test knows exactly where the client is, which makes "kill it while it creates an account"
deterministic. When the sandbox does not answer, the proxy drops the connection, as a dead server would.

The module also holds the other tools these tests use to act at an exact moment: `Watched` (a command
running in the background whose progress lines can be waited for) and `wait_for_text` (a line in a log).

Retries are recognised by the `amz-sdk-request: attempt=N; max=M` header that the AWS SDKs send, so a rule
can fault only first attempts (the retry then goes through) or every attempt (the call then fails).
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.helpers import cli_env

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "expect",
}
_ATTEMPT = re.compile(r"attempt=(\d+)")
_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")

# kind -> (HTTP status, JSON/query error code, S3 error code)
FAULTS = {
    "throttle": (400, "ThrottlingException", "SlowDown"),
    "too-many-requests": (429, "TooManyRequestsException", "SlowDown"),
    "unavailable": (503, "ServiceUnavailable", "ServiceUnavailable"),
    "internal": (500, "InternalFailure", "InternalError"),
    # Identity Center's answer to concurrent changes of one permission set; the SDKs do not retry it
    "conflict": (409, "ConflictException", "OperationAborted"),
}


@dataclass
class Seen:
    """One request as the proxy saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    number: int = 0
    """Its place in the order the proxy received requests, from 1."""

    @property
    def service(self) -> str:
        match = _SERVICE.search(self.headers.get("authorization", ""))
        return match.group(1) if match else ""

    @property
    def attempt(self) -> int:
        match = _ATTEMPT.search(self.headers.get("amz-sdk-request", ""))
        return int(match.group(1)) if match else 1

    @property
    def invocation(self) -> str:
        return self.headers.get("amz-sdk-invocation-id", "")

    @property
    def operation(self) -> str:
        """The API call: X-Amz-Target's operation, or the query protocol's Action, or METHOD path."""
        target = self.headers.get("x-amz-target", "")
        if target:
            return target.rsplit(".", 1)[-1]
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            action = parse_qs(self.body.decode(errors="replace")).get("Action")
            if action:
                return action[0]
        return f"{self.method} {urlsplit(self.path).path}"

    def mentions(self, text: str) -> bool:
        return text.encode() in self.body or text in self.path


@dataclass
class Rule:
    """What to do with matching requests: a fault kind from FAULTS, or "hold" (answer only once released)."""

    action: str
    match: Callable[[Seen], bool] = lambda seen: True
    first_attempt_only: bool = False
    every: int = 1
    """Act on every n-th matching request (counted over first attempts when first_attempt_only)."""
    limit: int | None = None
    """Act at most this many times."""
    name: str = ""
    matched: int = 0
    acted: int = 0
    hit: threading.Event = field(default_factory=threading.Event)
    """Set the first time the rule acts."""
    release: threading.Event = field(default_factory=threading.Event)
    """For "hold": set it to let the held requests go on to the sandbox."""

    def __post_init__(self) -> None:
        if self.action != "hold" and self.action not in FAULTS:
            raise ValueError(f"unknown fault {self.action!r}; use hold or one of {', '.join(FAULTS)}")
        self.name = self.name or self.action

    def wants(self, seen: Seen) -> bool:
        if self.first_attempt_only and seen.attempt != 1:
            return False
        if not self.match(seen):
            return False
        self.matched += 1
        if self.limit is not None and self.acted >= self.limit:
            return False
        if (self.matched - 1) % self.every:
            return False
        self.acted += 1
        return True


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a killed provider, a cancelled call) is part of the test."""


class FaultProxy:
    """Forward to `upstream`, acting on requests as `rules` say. Use as a context manager."""

    def __init__(self, upstream: str, rules: list[Rule] | None = None):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.rules = list(rules or [])
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.injected: Counter[str] = Counter()
        self.faulted: dict[str, str] = {}
        """invocation id -> fault kind, for requests that were faulted."""
        self.answered: Counter[str] = Counter()
        """invocation ids (of faulted calls) later answered by the sandbox, counted."""
        self.closing = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closing.set()  # held requests end: their connections close without an answer
        for rule in self.rules:
            rule.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def retried_and_answered(self) -> int:
        """How many faulted calls were retried by the client and then answered by the sandbox."""
        with self.lock:
            return sum(1 for inv in self.faulted if self.answered[inv])

    # -- plumbing -------------------------------------------------------------------------------------

    def _decide(self, seen: Seen) -> Rule | None:
        with self.lock:
            self.seen.append(seen)
            seen.number = len(self.seen)
            for rule in self.rules:
                if rule.wants(seen):
                    self.injected[rule.action] += 1
                    if rule.action != "hold" and seen.invocation:
                        self.faulted[seen.invocation] = rule.action
                    rule.hit.set()
                    return rule
        return None

    def _forward(self, seen: Seen) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=600)
        try:
            headers = {k: v for k, v in seen.headers.items() if k not in HOP_BY_HOP}
            headers["content-length"] = str(len(seen.body))
            conn.request(seen.method, seen.path, body=seen.body or None, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, resp.reason, resp.getheaders(), body
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # An answer leaves in one write, headers and body together, as AWS's front ends send small
            # answers. Written in two, a body that lags its headers under load can make the SDK drop the
            # connection and retry a call the sandbox already carried out (EnablePolicyType, then
            # PolicyTypeAlreadyEnabledException), which no test here means to inject.
            wbufsize = 256 * 1024

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _serve(self) -> None:
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self._body())
                rule = proxy._decide(seen)
                if rule is not None and rule.action == "hold":
                    rule.release.wait()
                    if proxy.closing.is_set():
                        self.close_connection = True
                        return
                elif rule is not None:
                    self._fault(seen, rule.action)
                    return
                try:
                    status, reason, headers, body = proxy._forward(seen)
                except OSError:  # the sandbox is gone: so is the answer
                    self.close_connection = True
                    return
                if seen.invocation and seen.invocation in proxy.faulted and status < 500:
                    with proxy.lock:
                        proxy.answered[seen.invocation] += 1
                self.send_response(status, reason)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                if self.command == "HEAD":
                    length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
                    self.send_header("Content-Length", length)
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _fault(self, seen: Seen, kind: str) -> None:
                status, code, s3_code = FAULTS[kind]
                request_id = str(uuid.uuid4())
                message = "Rate exceeded" if status in (400, 429) else "injected by the fault proxy"
                if "x-amz-target" in seen.headers or seen.service not in ("s3", "iam", "sts"):
                    body = json.dumps({"__type": code, "message": message}).encode()
                    ctype = "application/x-amz-json-1.1"
                elif seen.service == "s3":
                    status = 503 if kind in ("throttle", "too-many-requests") else status
                    body = (
                        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{s3_code}</Code>"
                        f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
                    ).encode()
                    ctype = "application/xml"
                else:
                    # the query protocol (IAM, STS) names throttling "Throttling"
                    kind_of = "Sender" if status < 500 else "Receiver"
                    query_code = code.removesuffix("Exception") if status == 400 else code
                    body = (
                        f"<ErrorResponse><Error><Type>{kind_of}</Type><Code>{query_code}</Code>"
                        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                    ).encode()
                    ctype = "text/xml"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("x-amzn-RequestId", request_id)
                self.send_header("x-amzn-ErrorType", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        return Handler


# ---- acting at an exact moment ---------------------------------------------------------------------------


def wait_for_text(path: Path, pattern: str, *, after: str = "", timeout: float = 300.0) -> re.Match[str]:
    """Wait until `pattern` appears in the file (in the part after the last `after`, if given)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            text = ""
        if after:
            text = text.rpartition(after)[2] if after in text else ""
        match = re.search(pattern, text)
        if match:
            return match
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} did not appear in {path} within {timeout:.0f}s")
        time.sleep(0.05)


class Watched:
    """`securecart-tf ARGS` running in the background in its own session, as a terminal would start it.

    Its stderr (the progress lines) is collected line by line as it comes, so a test can wait for a line.
    """

    def __init__(self, project: Path, *args: str, env: dict[str, str] | None = None):
        self.args = args
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "securecart_tf", *args],
            cwd=project,
            env=cli_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.stdout = ""
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 300.0) -> str:
        """The first stderr line matching `pattern`; fails if the command ends or the deadline passes first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                if not self._readers[0].is_alive():
                    raise AssertionError(f"{self.args} ended before {pattern!r}:\n{self.explain()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{pattern!r} did not appear within {timeout:.0f}s:\n{self.explain()}")
                self._changed.wait(timeout=min(left, 1.0))

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it: SIGINT to securecart-tf alone (Terraform runs in sessions of its own)."""
        os.kill(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float = 600.0) -> subprocess.CompletedProcess[str]:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=30)
        return subprocess.CompletedProcess(list(self.args), self.proc.returncode, self.stdout, self.stderr)

    def explain(self) -> str:
        return f"exit {self.proc.poll()}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-6000:]}"

    def stop(self) -> None:
        """Clean-up: end the command and any Terraform it left, if the test failed half-way."""
        if self.proc.poll() is None:
            for pid in descendants(self.proc.pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)


def descendants(root: int) -> list[int]:
    """`root` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def processes_in(folder: Path) -> list[tuple[int, str]]:
    """Live processes whose working folder is inside `folder` (Terraform runs in the stack's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X") and cwd.is_relative_to(folder):
            found.append((int(entry.name), cmdline))
    return found


# ---- checking what a run left behind ---------------------------------------------------------------------


def assert_state_sound(path: Path) -> dict[str, Any]:
    """A Terraform state file that is whole: valid JSON, version 4, a lineage, and a serial that never went back.

    Terraform keeps the state it replaced as `.backup`; that one must be of the same lineage and not newer.
    """
    state: dict[str, Any] = json.loads(path.read_text())
    assert state.get("version") == 4, f"{path}: not a version-4 state"
    assert state.get("lineage"), f"{path}: no lineage"
    assert isinstance(state.get("serial"), int) and state["serial"] >= 1, f"{path}: serial {state.get('serial')}"
    backup = path.with_name(path.name + ".backup")
    if backup.exists() and backup.stat().st_size:
        older = json.loads(backup.read_text())
        assert older["lineage"] == state["lineage"], f"{path}: its backup is of another lineage"
        assert older["serial"] <= state["serial"], f"{path}: serial went back from {older['serial']}"
    return state


def state_lock_free(path: Path) -> bool:
    """No process holds Terraform's lock on a local state file (a POSIX record lock on the file itself)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def statuses(report_json: str) -> dict[str, str]:
    """stack → status, from a `--json` run report."""
    return {r["stack"]: r["status"] for r in json.loads(report_json)["results"]}
