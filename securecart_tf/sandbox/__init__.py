"""The sandbox: a local AWS, moto's server plus shims, started and stopped by the tool.

Its pid, port, session id and throwaway credentials are recorded in `<home>/sandbox.json` (owner-only).
A new session means an empty AWS: state written against an older session is detected and set aside.

Runs talk to the sandbox's own endpoint, unless SECURECART_SANDBOX_ENDPOINT names another one in front of
it (a debugging or fault-injecting proxy); the tool's own health checks always go to the sandbox itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from securecart_tf.errors import SandboxError

READY = "SECURECART-SANDBOX-READY"
ENDPOINT_VAR = "SECURECART_SANDBOX_ENDPOINT"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class SandboxInfo:
    pid: int
    port: int
    session: str
    access_key: str
    secret_key: str
    started: float

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terraform_env(self, region: str, endpoint: str | None = None) -> dict[str, str]:
        """Environment for a Terraform or boto3 process that should talk to this sandbox (or to `endpoint`)."""
        endpoint = endpoint or self.endpoint
        return {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_S3": endpoint,
            "AWS_ENDPOINT_URL_STS": endpoint,
            # S3 Control puts the account ID in front of the host (123456789012.127.0.0.1), a name that resolves
            # nowhere: such a request goes to the sandbox as to a proxy, which answers it. Go never proxies a
            # request to a loopback address, so every other request still goes straight to the endpoint.
            "HTTP_PROXY": endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def _record(home: Path) -> Path:
    return home / "sandbox.json"


def _log(home: Path) -> Path:
    """Absolute and resolved: it names the home in the server's command line, where `down` looks for it."""
    return home.resolve() / "sandbox.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


HEALTH_PATH = "/__securecart/health"
URL_VAR = "SECURECART_SANDBOX_URL"
"""A sandbox another machine runs (a CI service, say): every run on this machine uses it instead of its own."""
SHARED_ACCESS_KEY = "AKIASANDBOXSHARED001"
"""The sandbox answers any key as its management account: one shared by every job that uses a shared sandbox."""
SERVER_MODULE = "securecart_tf.sandbox.server"
UNRESPONSIVE_WAIT = 20.0
"""How long `up` waits for a recorded sandbox that is alive but does not answer, before refusing."""


def _answers(port: int, session: str, pid: int | None = None, timeout: float = 10.0) -> bool:
    """The server on `port` is our sandbox, of this session and process (a reused port would answer otherwise)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=timeout) as resp:
            health = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if not isinstance(health, dict) or health.get("session") != session:
        return False
    return pid is None or health.get("pid") in (None, pid)


def shared(url: str, timeout: float = 10.0) -> SandboxInfo:
    """The sandbox serving `url`, as SECURECART_SANDBOX_URL names it: its session, read from its health answer,
    names the target, so every machine that uses it records the same one."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}{HEALTH_PATH}", timeout=timeout) as resp:
            health = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SandboxError(
            f"the sandbox at {url} ({URL_VAR}) does not answer: {exc}",
            hint=f"start it there with `securecart-tf sandbox up`, or unset {URL_VAR} to run a sandbox here",
        ) from None
    session = health.get("session") if isinstance(health, dict) else None
    if not isinstance(session, str) or not session:
        raise SandboxError(f"{url} ({URL_VAR}) answers, but not as a securecart-tf sandbox")
    port = urllib.parse.urlsplit(url).port or 80
    return SandboxInfo(0, port, session, SHARED_ACCESS_KEY, "shared", 0.0)


# ---- which processes are this home's sandbox ------------------------------------------------------------


def _arguments(pid: int) -> str | None:
    """A process's command line, space-joined; "" if it is gone or a zombie; None if it cannot be read."""
    if Path("/proc/self/cmdline").exists():
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (FileNotFoundError, ProcessLookupError):
            return ""
        except OSError:
            return None
    try:
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else ""


def _is_server_of(args: str, home: Path, session: str | None = None) -> bool:
    padded = f" {args} "
    return (
        f" {SERVER_MODULE} " in padded
        and f" --log {_log(home)} " in padded
        and (session is None or f" --session {session} " in padded)
    )


def _is_ours(pid: int, home: Path, session: str) -> bool | None:
    """Whether `pid` is this home's sandbox of `session`: False once it is gone or the pid was reused."""
    if not _alive(pid):
        return False
    args = _arguments(pid)
    return None if args is None else _is_server_of(args, home, session)


def _servers(home: Path) -> list[int] | None:
    """Every running sandbox server of this home, recorded or not; None if processes cannot be listed."""
    proc = Path("/proc")
    if (proc / "self" / "cmdline").exists():
        pids = [int(p.name) for p in proc.iterdir() if p.name.isdigit()]
        found = []
        for pid in pids:
            args = _arguments(pid)
            if args and _is_server_of(args, home):
                found.append(pid)
        return found
    try:
        out = subprocess.run(["ps", "-A", "-ww", "-o", "pid=,args="], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    rows = (line.strip().split(" ", 1) for line in out.stdout.splitlines() if line.strip())
    return [int(row[0]) for row in rows if len(row) == 2 and _is_server_of(row[1], home)]


# ---- the record -------------------------------------------------------------------------------------------


class Unreadable(SandboxError):
    """The sandbox record exists but cannot be read."""


def _load(home: Path) -> SandboxInfo | None:
    """The recorded sandbox (alive or not); None without a record; Unreadable when it is damaged."""
    record = _record(home)
    try:
        info = SandboxInfo(**json.loads(record.read_text()))
        # a pid of 0 or below would signal a whole process group, or every process, not the sandbox
        if not (isinstance(info.pid, int) and info.pid > 1 and isinstance(info.port, int)):
            raise ValueError("pid or port is not a process id or a port")
        if not isinstance(info.session, str):
            raise ValueError("session is not a string")
        return info
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(f"cannot read the sandbox record {record}: {exc.strerror or exc}") from None
    except (ValueError, TypeError):
        raise Unreadable(f"the sandbox record {record} is damaged (truncated, or not the tool's JSON)") from None


def _write_record(home: Path, info: SandboxInfo) -> None:
    """Write the record whole or not at all: a torn record would lose track of a running server."""
    record = _record(home)
    tmp = record.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(info), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, record)
    dir_fd = os.open(home, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read(home: Path) -> SandboxInfo | None:
    """The recorded sandbox, if its process is alive and answering; else None."""
    try:
        info = _load(home)
    except Unreadable:
        return None
    if info is None or not _alive(info.pid) or not _answers(info.port, info.session, info.pid):
        return None
    return info


def running(home: Path) -> SandboxInfo:
    """The recorded sandbox, answering; else SandboxError saying why not and what to do."""
    try:
        info = _load(home)
    except Unreadable as exc:
        _refuse_if_servers_run(home, exc)
        raise SandboxError(
            exc.message + "; no sandbox of this project runs",
            hint="start one with: securecart-tf sandbox up (it replaces the record)",
        ) from None
    if info is not None and _answers(info.port, info.session, info.pid):
        return info
    if info is not None and _is_ours(info.pid, home, info.session) is not False:
        raise _unresponsive(info)
    raise SandboxError("the sandbox is not running", hint="start it with: securecart-tf sandbox up")


def _unresponsive(info: SandboxInfo) -> SandboxError:
    return SandboxError(
        f"the sandbox (pid {info.pid}, session {info.session}) runs but does not answer on port {info.port}",
        hint=f"it may be paused (resume it with `kill -CONT {info.pid}`) or overloaded: wait and run again, or "
        "stop it with `securecart-tf sandbox down` (its AWS resources go with it). A second sandbox is not "
        "started while it runs: that would set the state of this one aside.",
    )


@contextlib.contextmanager
def _starting(home: Path) -> Iterator[None]:
    """One start or stop at a time per home: two runs starting at once must share one sandbox, not race."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(home / "sandbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ---- up ---------------------------------------------------------------------------------------------------


def up(home: Path) -> tuple[SandboxInfo, bool]:
    """Start the sandbox unless it runs. Returns (info, started_now).

    A recorded sandbox that is alive but silent (paused, overloaded) is waited for, then refused: only once
    its process is gone may a new one start, since a new session sets the old one's state aside.
    """
    with _starting(home):
        try:
            info = _load(home)
        except Unreadable as exc:
            _refuse_if_servers_run(home, exc)
            info = None
        if info is not None and _wait_for(info, home):
            return info, False
        _stop_unrecorded(home)
        return _start(home), True


def _wait_for(info: SandboxInfo, home: Path) -> bool:
    """True once the recorded sandbox answers; False once it is gone; SandboxError if it stays silent."""
    deadline = time.monotonic() + UNRESPONSIVE_WAIT
    while True:
        if _answers(info.port, info.session, info.pid, timeout=max(1.0, min(10.0, deadline - time.monotonic()))):
            return True
        if _is_ours(info.pid, home, info.session) is False:
            return False
        if time.monotonic() >= deadline:
            raise _unresponsive(info)
        time.sleep(0.5)  # it may be busy starting up or serving a heavy request


def _refuse_if_servers_run(home: Path, exc: Unreadable) -> None:
    servers = _servers(home)
    record = _record(home)
    if servers is None:
        raise Unreadable(
            exc.message,
            hint=f"processes cannot be listed here to check for a sandbox still running; if none runs "
            f"(look for {SERVER_MODULE}), delete {record} and run again",
        )
    if servers:
        raise Unreadable(
            exc.message + f"; a sandbox of this project still runs (pid {', '.join(map(str, servers))})",
            hint="stop it with `securecart-tf sandbox down` (its AWS resources go with it), then run again",
        )


def _stop_unrecorded(home: Path) -> list[int]:
    """Stop this home's sandbox servers that no record names (a start cut short, a lost record)."""
    stopped = _servers(home) or []
    for pid in stopped:
        _terminate(pid)
    return stopped


def _start(home: Path) -> SandboxInfo:
    log = _log(home)
    os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # its request log is the owner's only
    session = secrets.token_hex(6)
    cmd = [sys.executable, "-m", SERVER_MODULE, "--log", str(log), "--session", session]
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        raise SandboxError(f"cannot start the sandbox: {exc}") from None
    try:
        port, output = _wait_ready(proc)
        if port is None:
            tail = output.decode(errors="replace")[-800:]
            raise SandboxError(
                f"the sandbox did not start within {START_TIMEOUT:.0f}s",
                hint=f"its output: {tail}" if tail else f"see {log}",
            )
        info = SandboxInfo(
            pid=proc.pid,
            port=port,
            session=session,
            access_key="AKIASANDBOX" + secrets.token_hex(5).upper()[:9],
            secret_key=secrets.token_urlsafe(30),
            started=time.time(),
        )
        _write_record(home, info)
    except BaseException:  # not started, or not recorded: never leave a server nobody knows of
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return info


def _wait_ready(proc: subprocess.Popen[bytes]) -> tuple[int | None, bytes]:
    """The port from the server's READY line, or None if it did not come in time; and its output so far."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    output = b""
    try:
        while time.monotonic() < deadline and port is None:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                break
            output += line
            text = line.decode(errors="replace").strip()
            if text.startswith(READY):
                port = int(text.split()[1])
    finally:
        selector.close()
        proc.stdout.close()
    return port, output


# ---- down -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    """What `down` did."""

    info: SandboxInfo | None = None
    """The recorded sandbox, if it ran and was stopped."""
    unrecorded: tuple[int, ...] = ()
    """Sandbox servers of this home that no record named (a start cut short, a damaged record), stopped."""
    left_alone: int | None = None
    """The recorded pid, when another program uses it now: the sandbox had gone, and that program is not ours."""


def down(home: Path) -> Stopped:
    """Stop the recorded sandbox, and any server of this home no record names.

    Only a process proven to be this home's sandbox is signalled: it answers as the recorded session, or its
    command line names the session and this home. A recorded pid now used by another program is left alone.
    """
    if not _record(home).exists() and not _servers(home):
        return Stopped()
    with _starting(home):
        return _stop(home)


def _stop(home: Path) -> Stopped:
    try:
        info = _load(home)
    except Unreadable as exc:
        if _servers(home) is None:
            raise Unreadable(
                exc.message,
                hint=f"processes cannot be listed here to find the sandbox; stop {SERVER_MODULE} yourself, "
                f"then delete {_record(home)}",
            ) from None
        info = None
    stopped = left_alone = None
    if info is not None:
        ours = _answers(info.port, info.session, info.pid) or _is_ours(info.pid, home, info.session)
        if ours is None:
            raise SandboxError(
                f"cannot tell whether pid {info.pid} is still the sandbox: it does not answer and its command "
                "line cannot be read",
                hint=f"check it with `ps -p {info.pid}`; if it is not the sandbox, delete {_record(home)}",
            )
        if ours:
            _terminate(info.pid)
            stopped = info
        elif _alive(info.pid):
            left_alone = info.pid
    unrecorded = _stop_unrecorded(home)
    with contextlib.suppress(FileNotFoundError):
        _record(home).unlink()
    return Stopped(stopped, tuple(unrecorded), left_alone)


def _terminate(pid: int) -> None:
    """Stop one sandbox server: SIGTERM (and SIGCONT, should it be paused), then SIGKILL if it lingers."""
    assert pid > 1, pid  # never a process group, never init
    for sig in (signal.SIGTERM, signal.SIGCONT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _running(pid) and time.monotonic() < deadline + STOP_TIMEOUT:
            time.sleep(0.05)


def _running(pid: int) -> bool:
    """Alive and not a zombie (reaped here when it is this process's own child)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0]:
            return False
    return _alive(pid) and _arguments(pid) != ""


SCIM_EXTERNAL_ID_HEADER = "X-Securecart-Scim-External-Id"
"""Sent with CreateGroup by the sandbox's stand-in for SCIM: the IdP's ID for the group (see `shims`)."""
SCIM_DESCRIPTION = "provisioned by SCIM (sandbox stand-in for the IdP)"


def provision_scim_group(identitystore: Any, store_id: str, name: str, *, external_id: str | None = None) -> str:
    """Play the external IdP pushing one group over SCIM; returns the group's ID. Sandbox only.

    In real AWS a group the IdP provisions carries `ExternalIds` (the IdP's own ID for it), and a group made
    in Identity Center has none: that is how the two are told apart. The sandbox has no SCIM endpoint, so this
    creates the group with the identity store's CreateGroup and a header real AWS does not know, which makes
    the sandbox record `external_id` (by default a stable one derived from the name) as the group's ExternalIds.
    """
    header = external_id or f"scim-{name}"

    def add_header(request: Any, **_: Any) -> None:
        request.headers[SCIM_EXTERNAL_ID_HEADER] = header

    handler_id = f"securecart-scim-{id(add_header)}"
    event = "before-sign.identitystore.CreateGroup"
    identitystore.meta.events.register(event, add_header, unique_id=handler_id)
    try:
        created = identitystore.create_group(IdentityStoreId=store_id, DisplayName=name, Description=SCIM_DESCRIPTION)
    finally:
        identitystore.meta.events.unregister(event, unique_id=handler_id)
    return str(created["GroupId"])


def provision_scim_groups(client: Any, names: list[str]) -> list[str]:
    """Play the external IdP's SCIM push: create the groups the matrix expects to look up.

    In real AWS the IdP (Azure AD, Okta) provisions these; the sandbox has no IdP, so the tool does it, through
    `provision_scim_group`, so they carry ExternalIds as SCIM groups do. Returns the names it created.
    """
    sso = client("sso-admin")
    store_id = sso.list_instances()["Instances"][0]["IdentityStoreId"]
    identitystore = client("identitystore")
    existing: set[str] = set()
    for page in identitystore.get_paginator("list_groups").paginate(IdentityStoreId=store_id):
        existing.update(g["DisplayName"] for g in page["Groups"])
    created = []
    for name in names:
        if name not in existing:
            provision_scim_group(identitystore, store_id, name)
            created.append(name)
    return created
