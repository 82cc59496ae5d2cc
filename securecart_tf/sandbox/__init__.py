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
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


def _record(home: Path) -> Path:
    return home / "sandbox.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


HEALTH_PATH = "/__securecart/health"


def _answers(port: int, session: str) -> bool:
    """The server on `port` is our sandbox, of this session (a reused port would answer otherwise)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=10) as resp:
            return bool(json.loads(resp.read()).get("session") == session)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def read(home: Path) -> SandboxInfo | None:
    """The recorded sandbox, if its process is alive and answering; else None."""
    try:
        data = json.loads(_record(home).read_text())
        info = SandboxInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(info.pid) or not _answers(info.port, info.session):
        return None
    return info


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


def up(home: Path) -> tuple[SandboxInfo, bool]:
    """Start the sandbox unless it runs. Returns (info, started_now)."""
    existing = read(home)
    if existing is not None:
        return existing, False
    with _starting(home):
        existing = read(home)  # another run may have started it while this one waited
        if existing is not None:
            return existing, False
        return _start(home), True


def _start(home: Path) -> SandboxInfo:
    log = home / "sandbox.log"
    os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # its request log is the owner's only
    session = secrets.token_hex(6)
    cmd = [sys.executable, "-m", "securecart_tf.sandbox.server", "--log", str(log), "--session", session]
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        raise SandboxError(f"cannot start the sandbox: {exc}") from None
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    output = b""
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
    selector.close()
    proc.stdout.close()
    if port is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
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
    record = _record(home)
    tmp = record.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(info), f)
    os.replace(tmp, record)
    return info


def down(home: Path) -> SandboxInfo | None:
    """Stop the recorded sandbox. Returns what was stopped, or None if nothing ran."""
    if not _record(home).exists():
        return None
    with _starting(home):
        return _stop(home)


def _stop(home: Path) -> SandboxInfo | None:
    try:
        data = json.loads(_record(home).read_text())
        info = SandboxInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    stopped = None
    if _alive(info.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(info.pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(info.pid, os.WNOHANG)[0]:
                    break
            time.sleep(0.05)
        if _alive(info.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
        stopped = info
    with contextlib.suppress(FileNotFoundError):
        _record(home).unlink()
    return stopped


def provision_scim_groups(client: Any, names: list[str]) -> list[str]:
    """Play the external IdP's SCIM push: create the groups the matrix expects to look up.

    In real AWS the IdP (Azure AD, Okta) provisions these; the sandbox has no IdP, so the tool does it.
    Returns the names it created.
    """
    sso = client("sso-admin")
    store_id = sso.list_instances()["Instances"][0]["IdentityStoreId"]
    identitystore = client("identitystore")
    existing = set()
    for page in identitystore.get_paginator("list_groups").paginate(IdentityStoreId=store_id):
        existing.update(g["DisplayName"] for g in page["Groups"])
    created = []
    for name in names:
        if name not in existing:
            identitystore.create_group(
                IdentityStoreId=store_id,
                DisplayName=name,
                Description="provisioned by SCIM (sandbox stand-in for the IdP)",
            )
            created.append(name)
    return created
