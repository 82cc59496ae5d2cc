"""The one adapter around Terraform.

python-terraform builds each command line. We run it ourselves with `subprocess`, because a governance
run needs what python-terraform's blocking `cmd()` cannot give: an environment per stack, output
streamed to a per-stack log, a timeout, and Ctrl-C forwarded so Terraform can finish the resource in
flight, write state and release its lock.

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
PROVIDER_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
INTERRUPT_GRACE_SECONDS = 60.0

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
    """The Terraform CLI config to use: the user's own if they have one, else ours (mirror + plugin cache)."""
    user = os.environ.get("TF_CLI_CONFIG_FILE")
    if user and Path(user).is_file():
        return Path(user)
    default_rc = Path("~/.terraformrc").expanduser()
    if not user and default_rc.is_file():
        return default_rc
    cache = home / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
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
    """Every Terraform process running now, so Ctrl-C can reach each of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
        self.interrupted = threading.Event()

    def add(self, proc: subprocess.Popen[bytes], label: str) -> None:
        with self._lock:
            self._procs[proc.pid] = (proc, label)
        if self.interrupted.is_set():
            self._signal(proc, signal.SIGINT)

    def remove(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def running(self) -> list[str]:
        with self._lock:
            return [label for _, label in self._procs.values()]

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def interrupt(self) -> list[str]:
        """First Ctrl-C: ask each Terraform to stop gracefully (it finishes the resource in flight)."""
        self.interrupted.set()
        with self._lock:
            procs = list(self._procs.values())
        for proc, _ in procs:
            self._signal(proc, signal.SIGINT)
        return [label for _, label in procs]

    def kill(self) -> list[str]:
        """Second Ctrl-C: stop at once. Returns what was still running (it may hold a state lock)."""
        with self._lock:
            procs = list(self._procs.values())
        for proc, _ in procs:
            self._signal(proc, signal.SIGKILL)
        return [label for _, label in procs]


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
    ):
        self.workdir = workdir
        self.env = env
        self.log = log
        self.binary = binary or find_terraform()
        self.timeout = timeout
        self.label = label or workdir.name
        self.registry = registry
        self.on_event = on_event
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
        outcome = self._run("init", cmd, json_stream=False)
        if outcome.ok:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(key)
        return outcome

    def plan(
        self, planfile: Path, *, refresh_only: bool = False, destroy: bool = False, refresh: bool = True
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
        )
        return self._run("plan", cmd)

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
        self.log.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        outcome = Outcome(command, -1, 0.0, self.log)
        with open(self.log, "a", encoding="utf-8") as log:
            os.chmod(self.log, 0o600)
            log.write(f"\n$ {' '.join(_redact(cmd))}\n")
            log.flush()
            try:
                proc = subprocess.Popen(
                    cmd,
                    cwd=self.workdir,
                    env=self.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    umask=0o077,
                )
            except OSError as exc:
                raise TerraformError(f"{self.label}: cannot start Terraform: {exc}") from None
            self.registry.add(proc, self.label)
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
                    log.flush()
                proc.wait()
            finally:
                if timer is not None:
                    timer.cancel()
                self.registry.remove(proc)
        outcome.exit_code = proc.returncode
        outcome.duration = time.monotonic() - start
        outcome.interrupted = self.registry.interrupted.is_set() and proc.returncode not in (0, 2)
        if outcome.exit_code == 1 and not outcome.errors:
            outcome.errors.append(f"terraform {command} failed; see {self.log}")
        return outcome

    def _expire(self, proc: subprocess.Popen[bytes], outcome: Outcome) -> None:
        outcome.timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=INTERRUPT_GRACE_SECONDS)
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


_SECRET_FLAG = re.compile(r"^(-backend-config=(?:access_key|secret_key|token)=).*$")


def _redact(cmd: list[str]) -> Iterator[str]:
    for part in cmd:
        match = _SECRET_FLAG.match(part)
        yield f"{match.group(1)}***" if match else part
