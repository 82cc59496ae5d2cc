"""The one adapter around Terraform.

python-terraform builds each command line. We run it ourselves with `subprocess`, because a governance
run needs what python-terraform's blocking `cmd()` cannot give: an environment per stack, output
streamed to a per-stack log, a timeout, and Ctrl-C handled so that no apply is cut off half-way (see
ProcessRegistry).

Terraform runs with `-json`; we parse its event stream for change counts and resource actions, so no
extra `show` process is needed, and write the human-readable messages to the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from python_terraform import IsFlagged, Terraform

from securecart_tf.errors import TerraformError

MIN_VERSION = (1, 9, 0)
S3_LOCKFILE_VERSION = (1, 11, 0)
"""The S3 backend's use_lockfile (state locking without DynamoDB) arrived in Terraform 1.11."""
PROVIDER_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
_INIT_LOCK = threading.Lock()
INTERRUPT_GRACE_SECONDS = 60.0
FINISH_ON_INTERRUPT = frozenset({"apply"})
"""Commands left to finish on the first Ctrl-C: they change AWS and write state as they go."""

Action = Literal["create", "update", "delete", "replace", "read", "noop", "move", "import", "forget"]


def find_terraform() -> str:
    path = os.environ.get("SECURECART_TERRAFORM") or shutil.which("terraform")
    if not path:
        raise TerraformError(
            "Terraform is not installed or not on PATH",
            hint="install Terraform 1.9 or newer (https://developer.hashicorp.com/terraform/install), "
            "or set SECURECART_TERRAFORM to its path",
        )
    return path


def terraform_version(binary: str, cache_dir: Path | None = None) -> tuple[int, int, int]:
    """Terraform's version, checked against MIN_VERSION. Cached by the binary's size and mtime."""
    stat = os.stat(binary)
    key = f"{binary}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = cache_dir / "terraform-version.json" if cache_dir else None
    version_text = None
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            cached = json.loads(cache.read_text())
            if cached.get("key") == key:
                version_text = cached["version"]
    if version_text is None:
        try:
            out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60, check=False)
            version_text = json.loads(out.stdout)["terraform_version"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            raise TerraformError(f"cannot run {binary} version: {exc}") from None
        if cache is not None:
            with contextlib.suppress(OSError):
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps({"key": key, "version": version_text}))
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version_text)
    if not match:
        raise TerraformError(f"cannot read Terraform's version from {version_text!r}")
    version = (int(match[1]), int(match[2]), int(match[3]))
    if version < MIN_VERSION:
        raise TerraformError(
            f"Terraform {version_text} is too old; securecart-tf needs {'.'.join(map(str, MIN_VERSION))} or newer",
            hint="upgrade Terraform (cross-variable validation and for_each imports need 1.9)",
        )
    return version


def find_provider_mirror() -> Path | None:
    explicit = os.environ.get("SECURECART_PROVIDER_MIRROR")
    if explicit:
        return Path(explicit)
    for candidate in PROVIDER_MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return None


def cli_config(home: Path) -> Path:
    """The Terraform CLI config to use: the user's own if they have one, else ours.

    Ours installs hashicorp providers from a local filesystem mirror when one exists (init then links to
    it), and otherwise keeps a plugin cache so each stack does not download the AWS provider again.
    """
    user = os.environ.get("TF_CLI_CONFIG_FILE")
    if user and Path(user).is_file():
        return Path(user)
    default_rc = Path("~/.terraformrc").expanduser()
    if not user and default_rc.is_file():
        return default_rc
    lines = []
    mirror = find_provider_mirror()
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(str(mirror))}",
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "}",
        ]
    else:
        cache = home / "plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        lines.append(f"plugin_cache_dir = {json.dumps(str(cache))}")
    text = "# Written by securecart-tf. Set TF_CLI_CONFIG_FILE to use your own.\n" + "\n".join(lines) + "\n"
    path = home / "terraform.rc"
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


@dataclass
class ResourceChange:
    address: str
    action: str
    resource_type: str
    index: Any = None
    module: str = ""


@dataclass
class Outcome:
    """What one Terraform command did."""

    command: str
    exit_code: int
    duration: float
    log: Path
    add: int = 0
    change: int = 0
    remove: int = 0
    imports: int = 0
    changes: list[ResourceChange] = field(default_factory=list)
    drift: list[ResourceChange] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code in (0, 2) and not self.timed_out and not self.interrupted and not self.errors

    @property
    def has_changes(self) -> bool:
        """What `-detailed-exitcode` says: 2 means the plan changes something."""
        return self.exit_code == 2


class ProcessRegistry:
    """Every Terraform process running now, so Ctrl-C can reach each of them.

    The first Ctrl-C (`interrupt`) starts nothing new, stops each init and plan at once (they change
    nothing), and lets each running apply finish. Forwarding SIGINT to an apply is not safe: Terraform then
    cancels the provider calls in flight, and the AWS provider forgets a resource AWS has already created
    (an account, a role), so it exists with no state to know it (hashicorp/terraform#33358). Letting the
    apply finish writes every resource into state and releases the lock; the run's timeout still bounds it.
    The second Ctrl-C (`kill`) stops every process at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, tuple[subprocess.Popen[bytes], str, str]] = {}
        self._stopped: set[int] = set()
        self.interrupted = threading.Event()

    def start(
        self, launch: Callable[[], subprocess.Popen[bytes]], label: str, command: str = ""
    ) -> subprocess.Popen[bytes] | None:
        """Launch and register a process, unless the run was interrupted (then None: nothing started)."""
        with self._lock:
            if self.interrupted.is_set():
                return None
            proc = launch()
            self._procs[proc.pid] = (proc, label, command)
            return proc

    def remove(self, proc: subprocess.Popen[bytes]) -> bool:
        """Forget a finished process. True if this registry stopped it (first or second Ctrl-C)."""
        with self._lock:
            self._procs.pop(proc.pid, None)
            stopped = proc.pid in self._stopped
            self._stopped.discard(proc.pid)
            return stopped

    def running(self) -> list[str]:
        with self._lock:
            return [label for _, label, _ in self._procs.values()]

    def _signal(self, proc: subprocess.Popen[bytes], sig: int) -> None:
        self._stopped.add(proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def interrupt(self) -> list[str]:
        """First Ctrl-C: stop inits and plans now, start nothing new. Returns the stacks whose applies finish."""
        with self._lock:
            self.interrupted.set()
            finishing = []
            for proc, label, command in self._procs.values():
                if command in FINISH_ON_INTERRUPT:
                    finishing.append(label)
                else:
                    self._signal(proc, signal.SIGINT)
        return finishing

    def kill(self) -> list[str]:
        """Second Ctrl-C: stop at once. Returns what was still running (it may hold a state lock)."""
        with self._lock:
            self.interrupted.set()
            for proc, _, _ in self._procs.values():
                self._signal(proc, signal.SIGKILL)
            return [label for _, label, _ in self._procs.values()]


REGISTRY = ProcessRegistry()


class Runner:
    """Runs Terraform in one stack's folder, with its own environment, log and timeout."""

    def __init__(
        self,
        workdir: Path,
        *,
        env: dict[str, str],
        log: Path,
        binary: str | None = None,
        timeout: float | None = None,
        label: str = "",
        registry: ProcessRegistry = REGISTRY,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        grace: float = INTERRUPT_GRACE_SECONDS,
    ):
        self.workdir = workdir
        self.env = env
        self.log = log
        self.binary = binary or find_terraform()
        self.timeout = timeout
        self.label = label or workdir.name
        self.registry = registry
        self.on_event = on_event
        self.grace = grace
        """After a timeout's SIGINT, how long Terraform may take to stop before it is killed."""
        self._tf = Terraform(working_dir=str(workdir), terraform_bin_path=self.binary)

    # -- commands -------------------------------------------------------------------------------------

    def init(self, backend_config: dict[str, str] | None = None) -> Outcome:
        """`terraform init`, skipped when nothing it depends on changed since the last successful one."""
        key = self._init_key(backend_config or {})
        marker = self.workdir / ".terraform" / "securecart-init"
        if marker.is_file() and marker.read_text() == key and self._providers_intact():
            return Outcome("init", 0, 0.0, self.log)
        cmd = self._tf.generate_cmd_string(
            "init",
            input=False,
            no_color=IsFlagged,
            backend_config=backend_config or None,
            reconfigure=IsFlagged,
            upgrade=None,
        )
        with _INIT_LOCK:  # concurrent inits race on a shared plugin cache; init is cheap and cached anyway
            outcome = self._run("init", cmd, json_stream=False)
        if outcome.ok:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(key)
        return outcome

    def plan(
        self,
        planfile: Path,
        *,
        refresh_only: bool = False,
        destroy: bool = False,
        refresh: bool = True,
        targets: list[str] | None = None,
    ) -> Outcome:
        cmd = self._tf.generate_cmd_string(
            "plan",
            input=False,
            no_color=IsFlagged,
            json=IsFlagged,
            detailed_exitcode=IsFlagged,
            out=str(planfile),
            refresh_only=IsFlagged if refresh_only else None,
            destroy=IsFlagged if destroy else None,
            refresh=None if refresh else False,
            lock_timeout="30s",
            target=targets or None,
        )
        return self._run("plan", cmd)

    def state_rm(self, addresses: list[str]) -> Outcome:
        """Forget resources without touching them in AWS."""
        cmd = self._tf.generate_cmd_string("state rm", *addresses, lock_timeout="30s")
        return self._run("state rm", cmd, json_stream=False)

    def apply(self, planfile: Path) -> Outcome:
        cmd = self._tf.generate_cmd_string(
            "apply", str(planfile), input=False, no_color=IsFlagged, json=IsFlagged, lock_timeout="30s"
        )
        return self._run("apply", cmd)

    def show_json(self, planfile: Path) -> dict[str, Any]:
        """The full plan as JSON; only for commands that need more than the event stream gives."""
        cmd = self._tf.generate_cmd_string("show", str(planfile), json=IsFlagged, no_color=IsFlagged)
        proc = subprocess.run(
            cmd, cwd=self.workdir, env=self.env, capture_output=True, timeout=self.timeout, check=False
        )
        if proc.returncode != 0:
            raise TerraformError(f"{self.label}: terraform show failed: {proc.stderr.decode(errors='replace')[:500]}")
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    # -- plumbing -------------------------------------------------------------------------------------

    def _providers_intact(self) -> bool:
        """The installed providers still exist (the plugin cache they link to may have been removed)."""
        providers = self.workdir / ".terraform" / "providers"
        if not providers.is_dir():
            return False
        return all(p.exists() for p in providers.rglob("*"))

    def _init_key(self, backend_config: dict[str, str]) -> str:
        digest = hashlib.sha256()
        for name in ("providers.tf", "main.tf"):
            path = self.workdir / name
            if path.is_file():
                text = path.read_text()
                if name == "main.tf":  # only module sources matter to init
                    text = "\n".join(line for line in text.splitlines() if line.strip().startswith("source"))
                digest.update(text.encode())
        digest.update(json.dumps(backend_config, sort_keys=True).encode())
        digest.update(self.env.get("TF_CLI_CONFIG_FILE", "").encode())
        return digest.hexdigest()

    def _run(self, command: str, cmd: list[str], *, json_stream: bool = True) -> Outcome:
        start = time.monotonic()
        outcome = Outcome(command, -1, 0.0, self.log)
        with _Log(self.log) as log:
            log.write(f"\n$ {' '.join(_redact(cmd))}\n")
            try:
                # its own session: a Ctrl-C at the terminal reaches only securecart-tf, which decides
                proc = self.registry.start(
                    lambda: subprocess.Popen(
                        cmd,
                        cwd=self.workdir,
                        env=self.env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        umask=0o077,
                    ),
                    self.label,
                    command,
                )
            except OSError as exc:
                raise TerraformError(f"{self.label}: cannot start Terraform: {exc}") from None
            if proc is None:
                log.write("not started: the run was interrupted\n")
                outcome.interrupted = True
                outcome.errors.append(f"terraform {command} not started: the run was interrupted")
                return outcome
            timer = None
            if self.timeout:
                timer = threading.Timer(self.timeout, self._expire, args=(proc, outcome))
                timer.daemon = True
                timer.start()
            try:
                assert proc.stdout is not None
                for raw in proc.stdout:
                    line = raw.decode("utf-8", errors="replace").rstrip("\n")
                    if json_stream and line.startswith("{"):
                        self._event(line, outcome, log)
                    else:
                        log.write(line + "\n")
                proc.wait()
            finally:
                if timer is not None:
                    timer.cancel()
                stopped = self.registry.remove(proc)
        if log.error is not None and proc.returncode not in (0, 2):
            outcome.errors.append(f"cannot write the log {self.log}: {log.error.strerror or log.error}")
        outcome.exit_code = proc.returncode
        outcome.duration = time.monotonic() - start
        if stopped and proc.returncode not in (0, 2):
            outcome.interrupted = True
            outcome.errors.insert(0, f"terraform {command} stopped by Ctrl-C")
        if outcome.exit_code not in (0, 2) and not outcome.errors:
            outcome.errors.append(f"terraform {command} failed (exit {outcome.exit_code}); see {self.log}")
        return outcome

    def _expire(self, proc: subprocess.Popen[bytes], outcome: Outcome) -> None:
        if proc.poll() is not None:  # it finished as the timer fired
            return
        outcome.timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=self.grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _event(self, line: str, outcome: Outcome, log: Any) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            log.write(line + "\n")
            return
        message = event.get("@message", "")
        kind = event.get("type")
        if kind == "diagnostic":
            diag = event.get("diagnostic", {})
            detail = diag.get("detail", "")
            rng = diag.get("range") or {}
            where = f" ({rng.get('filename')}:{rng.get('start', {}).get('line')})" if rng else ""
            text = f"{diag.get('summary', message)}{where}" + (f": {detail}" if detail else "")
            log.write(f"{event.get('@level', 'info')}: {text}\n")
            if diag.get("severity") == "error":
                outcome.errors.append(text)
        elif message:
            log.write(message + "\n")
        if kind == "change_summary":
            changes = event.get("changes", {})
            outcome.add = changes.get("add", 0)
            outcome.change = changes.get("change", 0)
            outcome.remove = changes.get("remove", 0)
            outcome.imports = changes.get("import", 0)
        elif kind in ("planned_change", "resource_drift"):
            change = event.get("change", {})
            res = change.get("resource", {})
            rc = ResourceChange(
                address=res.get("addr", ""),
                action=change.get("action", ""),
                resource_type=res.get("resource_type", ""),
                index=res.get("resource_key"),
                module=res.get("module", ""),
            )
            (outcome.changes if kind == "planned_change" else outcome.drift).append(rc)
        elif kind == "outputs":
            outcome.outputs = {k: v.get("value") for k, v in event.get("outputs", {}).items()}
        if self.on_event is not None:
            self.on_event(event)


class _Log:
    """A stack's log, owner-only. A write that fails (a full disk) is remembered, not raised: Terraform's
    output must still be read to its end, or Terraform would block on a full pipe in the middle of an apply."""

    def __init__(self, path: Path):
        self.path = path
        self.error: OSError | None = None
        self._file: Any = None

    def __enter__(self) -> _Log:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if stat.S_ISREG(os.fstat(fd).st_mode):  # also a log an older version left readable
                os.fchmod(fd, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            self.error = exc
        return self

    def write(self, text: str) -> None:
        if self._file is None or self.error is not None:
            return
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            self.error = exc

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as error:
                self.error = self.error or error


_SECRET_FLAG = re.compile(r"^(-backend-config=(?:access_key|secret_key|token)=).*$")


def _redact(cmd: list[str]) -> Iterator[str]:
    for part in cmd:
        match = _SECRET_FLAG.match(part)
        yield f"{match.group(1)}***" if match else part
