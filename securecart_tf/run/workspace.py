"""Where a project keeps its state, plans, logs, ledger and locks, and which AWS it talks to.

Everything lives under `<project>/.securecart/` (or `$SECURECART_HOME`). `generate` writes only the build
folder, so it can never wipe state. The folders the tool keeps there are owner-only (0700): state, plans
and logs can name every account and role, and the sandbox's record holds its keys.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securecart_tf import sandbox
from securecart_tf.config.environments import AwsTarget, Environment, S3Backend
from securecart_tf.errors import LockHeld, SecureCartError
from securecart_tf.run.ledger import Ledger, LocalLedger, S3Ledger

# AWS credential variables never passed through to a sandbox run: the sandbox has its own.
_AWS_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


# The tool's own folders under the home: created, and kept, owner-only.
PRIVATE_FOLDERS = ("state", "plans", "logs", "locks", "terraform", "summaries", "revisions", "stale")


def _cannot_write(path: Path, exc: OSError) -> SecureCartError:
    return SecureCartError(
        f"cannot write to {path}: {exc.strerror or exc}",
        hint="make the folder writable, free some disk space, or set SECURECART_HOME to another folder",
    )


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (parents are created with the default mode)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def _check_writable(path: Path) -> None:
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def sandbox_endpoint_override() -> str | None:
    """SECURECART_SANDBOX_ENDPOINT: where runs send the sandbox's traffic instead (a proxy in front of it)."""
    return _url_from(sandbox.ENDPOINT_VAR)


def _url_from(variable: str) -> str | None:
    """The URL an environment variable gives, or None when it is unset or empty."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise SecureCartError(
            f"{variable}={value!r} is not a URL",
            hint="give it as http://host:port, or unset it",
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class Target:
    """The AWS a run talks to: the sandbox (one session of it) or real AWS."""

    kind: str
    id: str
    region: str
    info: sandbox.SandboxInfo | None = None
    profile: str | None = None
    endpoint: str | None = None
    """Where the sandbox is reached, when not at its own endpoint (see SECURECART_SANDBOX_ENDPOINT)."""

    def env(self) -> dict[str, str]:
        if self.info is not None:
            base = {
                k: v
                for k, v in os.environ.items()
                if k not in _AWS_CREDENTIAL_VARS and not k.startswith("AWS_ENDPOINT_URL")
            }
            base.update(self.info.terraform_env(self.region, self.endpoint))
            return base
        env = dict(os.environ)
        env.setdefault("AWS_REGION", self.region)
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        return env

    def boto3_session(self) -> Any:
        import boto3

        if self.info is not None:
            return boto3.session.Session(
                aws_access_key_id=self.info.access_key,
                aws_secret_access_key=self.info.secret_key,
                region_name=self.region,
            )
        return boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str, region: str | None = None) -> Any:
        endpoint = (self.endpoint or self.info.endpoint) if self.info is not None else None
        return self.boto3_session().client(service, endpoint_url=endpoint, region_name=region or self.region)


def check_aws_credentials(env_name: str, target: AwsTarget) -> None:
    """Fail before any Terraform runs when the environment's AWS profiles or credentials cannot be found.

    Only the local credential chain is consulted (environment, config files, SSO cache, instance role);
    nothing is sent to AWS and nothing is stored.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    where = f"environments/{env_name}.yaml"

    def session(profile: str | None, owner: str = "") -> Any:
        try:
            return boto3.Session(profile_name=profile)
        except ProfileNotFound:
            raise SecureCartError(
                f"environment '{env_name}': AWS profile '{profile}'{owner} is not configured",
                hint=f"add it to ~/.aws/config (e.g. `aws configure sso --profile {profile}`), or fix {where}",
            ) from None

    for account, profile in sorted(target.account_profiles.items()):
        session(profile, f" for account {account}")
    try:
        credentials = session(target.profile).get_credentials()
    except BotoCoreError as exc:  # e.g. an expired SSO session, a failing credential_process
        raise SecureCartError(
            f"environment '{env_name}': AWS credentials could not be loaded: {exc}",
            hint="log in again (e.g. `aws sso login`), then rerun",
        ) from None
    if credentials is None:
        source = f"profile '{target.profile}'" if target.profile else "the default credential chain"
        raise SecureCartError(
            f"environment '{env_name}' targets AWS, but {source} gives no credentials",
            hint=f"log in (`aws sso login`, or set AWS_PROFILE), or set target.profile in {where}",
        )


class Workspace:
    def __init__(self, project_root: Path, home: Path | None = None):
        self.project_root = project_root.resolve()
        env_home = os.environ.get("SECURECART_HOME")
        self.home = (home or (Path(env_home) if env_home else self.project_root / ".securecart")).resolve()

    # ---- paths --------------------------------------------------------------------------------------
    @property
    def state_root(self) -> Path:
        return self.home / "state"

    def state_file(self, stack: str) -> Path:
        return self.state_root / stack / "terraform.tfstate"

    def plans(self, env: str) -> Path:
        return self.home / "plans" / env

    def logs(self, env: str) -> Path:
        return self.home / "logs" / env

    @property
    def summaries(self) -> Path:
        return self.home / "summaries"

    @property
    def revisions(self) -> Path:
        return self.home / "revisions"

    @property
    def tool_home(self) -> Path:
        return self.home / "terraform"

    def ensure_writable(self) -> None:
        """The home and the tool's folders in it exist, are owner-only, and take writes; else a clear error."""
        _check_writable(self.home)
        for name in PRIVATE_FOLDERS:
            folder = self.home / name
            try:
                private_dir(folder)
            except OSError as exc:
                raise _cannot_write(folder, exc) from None

    # ---- locks --------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, env: str, command: str) -> Iterator[None]:
        """Only one run per environment at a time. A second run is refused at once, naming the holder."""
        self.ensure_writable()
        path = self.home / "locks" / f"{env}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _cannot_write(path.parent, exc) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another run"
                raise LockHeld(
                    f"environment '{env}' is busy: {holder}",
                    hint="wait for that run to finish; nothing was changed by this one",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"securecart-tf {command} (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})".encode(), 0)
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)

    # ---- target ------------------------------------------------------------------------------------
    def target(self, env: Environment, region: str, *, start_sandbox: bool = True) -> tuple[Target, list[str]]:
        """Resolve the environment's target; start the sandbox if needed. Returns (target, notices)."""
        notices: list[str] = []
        if isinstance(env.target, AwsTarget):
            return Target("aws", "aws", region, profile=env.target.profile), notices
        shared = _url_from(sandbox.URL_VAR)
        if shared is not None:  # another machine's sandbox, the same for every job that names it
            info = sandbox.shared(shared)
            notices.append(f"using the shared sandbox at {shared} ({sandbox.URL_VAR})")
        elif start_sandbox:
            info, started = sandbox.up(self.home)
            if started:
                notices.append(f"started the sandbox on {info.endpoint} (session {info.session})")
        else:
            info = sandbox.running(self.home)  # or an error saying why not: stopped, silent, record damaged
        endpoint = sandbox_endpoint_override() or shared
        if endpoint is not None and endpoint != shared:
            notices.append(f"talking to the sandbox through {endpoint} ({sandbox.ENDPOINT_VAR})")
        target = Target("sandbox", f"sandbox:{info.session}", region, info=info, endpoint=endpoint)
        moved = self.reconcile_session(target)
        if moved is not None:
            notices.append(
                f"the sandbox was restarted; state from its earlier session was set aside in {moved} "
                "and this run starts from an empty sandbox"
            )
        return target, notices

    def reconcile_session(self, target: Target) -> Path | None:
        """State belongs to one target. If it was written against another sandbox session, set it aside."""
        marker = self.state_root / "target.json"
        recorded = None
        with contextlib.suppress(OSError, ValueError):
            recorded = json.loads(marker.read_text()).get("target")
        if recorded == target.id:
            return None
        moved = None
        has_state = self.state_root.is_dir() and any(p.name != "target.json" for p in self.state_root.iterdir())
        if recorded is not None and has_state and recorded.startswith("sandbox:"):
            moved = self.home / "stale" / f"{recorded.replace(':', '-')}-{int(time.time())}"
            private_dir(moved)
            shutil.move(str(self.state_root), str(moved / "state"))
            plans = self.home / "plans"
            if plans.is_dir():
                shutil.move(str(plans), str(moved / "plans"))
        private_dir(self.state_root)
        marker.write_text(json.dumps({"target": target.id}) + "\n")
        os.chmod(marker, 0o600)
        return moved

    # ---- ledger ------------------------------------------------------------------------------------
    def ledger(self, env: Environment | None = None, target: Target | None = None, *, every: bool = False) -> Ledger:
        """The environment's ledger: in its S3 backend's bucket, else the project's file. An S3 ledger reads the
        environment's own records, or with `every` those of every environment kept in that bucket and prefix."""
        if env is not None and isinstance(env.backend, S3Backend) and target is not None:
            return S3Ledger(
                target.client("s3"), env.backend.bucket, env.backend.key_prefix, None if every else env.name
            )
        return LocalLedger(self.home / "ledger.jsonl")
