"""The one adapter around Terraform.

python-terraform builds each command line. We run it ourselves with `subprocess`, because a governance
run needs what python-terraform's blocking `cmd()` cannot give: an environment per stack, output
streamed to a per-stack log, a timeout, and Ctrl-C handled so that no apply is cut off half-way (see
ProcessRegistry).

Terraform runs with `-json`; we parse its event stream for change counts and resource actions, so no
extra `show` process is needed, and write the human-readable messages to the log.

Terraform never depends on securecart-tf staying alive: its stdin is /dev/null and its output goes to a
file in the stack's folder, which we follow. Killed half-way, securecart-tf leaves a Terraform that
still finishes its apply and writes state (through a pipe it would die of SIGPIPE at its next line,
before saving state, and leave its providers running). A record of the running Terraform (pid, start
time) stays in the stack's folder, so the next run waits for it instead of racing it for the state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
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
from securecart_tf.versions import TERRAFORM_MIN_VERSION, dotted

PROVIDER_MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
_INIT_LOCK = threading.Lock()
INTERRUPT_GRACE_SECONDS = 60.0
GO_MEMORY_LIMIT_MIB = 400
"""Terraform and its AWS provider are Go programs, and most of a plan's CPU goes to starting the provider,
which allocates its whole schema. Go's collector, left at its default, runs many times during that start-up;
with collection off until a process holds this much (GOGC=off, GOMEMLIMIT), a plan costs about a fifth less
CPU and each process peaks near this size, which the orchestrator's PROVIDER_MEMORY_MIB counts (bench/RESULTS.md,
"Go's collector")."""


def go_runtime_env(environ: dict[str, str]) -> dict[str, str]:
    """GOGC and GOMEMLIMIT for Terraform's processes, unless the user set either: theirs wins."""
    if "GOGC" in environ or "GOMEMLIMIT" in environ:
        return {}
    return {"GOGC": "off", "GOMEMLIMIT": f"{GO_MEMORY_LIMIT_MIB}MiB"}


FINISH_ON_INTERRUPT = frozenset({"apply"})
"""Commands left to finish on the first Ctrl-C: they change AWS and write state as they go."""
RUNNING_RECORD = ".securecart-terraform.json"
"""In a stack's folder while a Terraform runs there: its pid and start time, which the next run checks."""
OUTPUT_FILE = ".securecart-terraform.out"
"""In a stack's folder: the running Terraform's stdout and stderr, which securecart-tf follows."""
ERRORED_STATE = "errored.tfstate"
"""What Terraform writes in its working folder when it cannot save state to the backend."""
FOLLOW_POLL_SECONDS = 0.05
EARLIER_POLL_SECONDS = 0.2
EARLIER_WAIT_SECONDS = 1800.0
"""How long a run waits, at most, for a Terraform an earlier (killed) run left working on a stack."""

Action = Literal["create", "update", "delete", "replace", "read", "noop", "move", "import", "forget"]


def find_terraform() -> str:
    path = os.environ.get("SECURECART_TERRAFORM") or shutil.which("terraform")
    if not path:
        raise TerraformError(
            "Terraform is not installed or not on PATH",
            hint=f"install Terraform {dotted(TERRAFORM_MIN_VERSION[:2])} or newer "
            "(https://developer.hashicorp.com/terraform/install), or set SECURECART_TERRAFORM to its path",
        )
    return path


def terraform_version(binary: str, cache_dir: Path | None = None) -> tuple[int, int, int]:
    """Terraform's version, checked against TERRAFORM_MIN_VERSION. Cached by the binary's size and mtime."""
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
    if version < TERRAFORM_MIN_VERSION:
        raise TerraformError(
            f"Terraform {version_text} is too old; securecart-tf needs {dotted(TERRAFORM_MIN_VERSION)} or newer",
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
    lock: dict[str, str] = field(default_factory=dict)
    """The Lock Info of a state lock Terraform could not take (ID, Who, Operation, Created)."""

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


def process_identity(pid: int) -> tuple[str, list[str]] | None:
    """(start time, command line) of the live process `pid`, or None if none runs (a zombie has finished).

    The start time tells a reused pid from the process a record was written for.
    """
    if Path("/proc/self/stat").exists():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError):
            return None
        return None if fields[0] in ("Z", "X") else (fields[19], argv)
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(
            ["ps", "-o", "stat=,lstart=,command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    if len(parts) < 7 or parts[0].startswith("Z"):
        return None
    return " ".join(parts[1:6]), parts[6:]


@dataclass
class Earlier:
    """A Terraform started by an earlier securecart-tf in a stack's folder, as its record there says."""

    folder: Path
    pid: int
    start: str
    binary: str
    command: str
    label: str
    log: Path
    since: float

    @classmethod
    def read(cls, folder: Path) -> Earlier | None:
        try:
            data = json.loads((folder / RUNNING_RECORD).read_text())
            return cls(
                folder,
                int(data["pid"]),
                str(data["start"]),
                str(data["binary"]),
                str(data["command"]),
                str(data["label"]),
                Path(data["log"]),
                float(data["since"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def write(folder: Path, proc: subprocess.Popen[bytes], binary: str, command: str, label: str, log: Path) -> None:
        identity = process_identity(proc.pid)
        if identity is None:  # it already finished
            return
        record = {"pid": proc.pid, "start": identity[0], "binary": binary, "command": command}
        record |= {"label": label, "log": str(log), "since": time.time()}
        with contextlib.suppress(OSError):  # a full disk: the next run then cannot wait for this one
            tmp = folder / f"{RUNNING_RECORD}.tmp"
            tmp.write_text(json.dumps(record) + "\n")
            tmp.replace(folder / RUNNING_RECORD)

    def running(self) -> bool:
        identity = process_identity(self.pid) if self.pid > 0 else None
        return identity is not None and identity[0] == self.start and self.binary in identity[1][:2]

    def describe(self) -> str:
        since = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"terraform {self.command} (pid {self.pid}, since {since})"

    def settle(self, secrets: list[str]) -> None:
        """Once it has exited: add what it wrote to the stack's log, and forget it."""
        output = self.folder / OUTPUT_FILE
        outcome = Outcome(self.command, -1, 0.0, self.log)
        with _Log(self.log, secrets) as log:
            log.write(
                f"\n--- {self.describe()}, started by an earlier securecart-tf that stopped; what it wrote: ---\n"
            )
            with contextlib.suppress(OSError), output.open("rb") as f:
                for raw in f:
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    if line.startswith("{"):
                        read_event(line, outcome, log)
                    else:
                        log.write(line + "\n")
            errors = "; ".join(outcome.errors) or "none"
            log.write(f"--- it has exited; its errors: {errors} ---\n")
        for path in (output, self.folder / RUNNING_RECORD):
            with contextlib.suppress(OSError):
                path.unlink()


def wait_for_earlier(
    folder: Path,
    *,
    secrets: list[str],
    timeout: float | None = None,
    registry: ProcessRegistry = REGISTRY,
    on_wait: Callable[[Earlier], None] | None = None,
) -> Earlier | None:
    """Wait for a Terraform that a killed securecart-tf left working in `folder`, then log what it wrote.

    Two Terraforms on one stack would race for its state: the second waits for the lock, fails, or applies
    a plan made before the first one's changes. Returns the earlier Terraform, or None if there was none.
    Raises TerraformError if it still runs at the deadline.
    """
    earlier = Earlier.read(folder)
    if earlier is None:
        return None
    if earlier.running():
        if on_wait is not None:
            on_wait(earlier)
        deadline = time.monotonic() + (timeout or EARLIER_WAIT_SECONDS)
        while earlier.running():
            if registry.interrupted.is_set():
                return earlier
            if time.monotonic() > deadline:
                raise TerraformError(
                    f"{earlier.label}: {earlier.describe()}, started by an earlier securecart-tf, still runs in "
                    f"{folder}",
                    hint=f"let it finish: it then writes state and releases its lock; or stop it with "
                    f"`kill -INT {earlier.pid}`; then run again",
                )
            time.sleep(EARLIER_POLL_SECONDS)
    earlier.settle(secrets)
    return earlier


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
        self.secrets = secrets_of(env)
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
                if name == "main.tf":  # only module sources (and a registry module's version) matter to init
                    kept = ("source", "version")
                    text = "\n".join(line for line in text.splitlines() if line.strip().startswith(kept))
                digest.update(text.encode())
        digest.update(json.dumps(backend_config, sort_keys=True).encode())
        digest.update(self.env.get("TF_CLI_CONFIG_FILE", "").encode())
        return digest.hexdigest()

    def _run(self, command: str, cmd: list[str], *, json_stream: bool = True) -> Outcome:
        outcome = Outcome(command, -1, 0.0, self.log)
        try:
            wait_for_earlier(self.workdir, secrets=self.secrets, timeout=self.timeout, registry=self.registry)
        except TerraformError as exc:
            outcome.errors.append(f"{exc.message}; {exc.hint}")
            return outcome
        start, began = time.monotonic(), time.time()
        with _Log(self.log, self.secrets) as log:
            log.write(f"\n$ {' '.join(_redact(cmd))}\n")
            proc = self._launch(cmd, command)
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
                self._follow(proc, lambda line: self._line(line, outcome, log, json_stream))
            finally:
                if timer is not None:
                    timer.cancel()
                stopped = self.registry.remove(proc)
                for path in (self.workdir / RUNNING_RECORD, self.workdir / OUTPUT_FILE):
                    with contextlib.suppress(OSError):
                        path.unlink()
        if log.error is not None and proc.returncode not in (0, 2):
            outcome.errors.append(f"cannot write the log {self.log}: {log.error.strerror or log.error}")
        outcome.exit_code = proc.returncode
        outcome.duration = time.monotonic() - start
        if stopped and proc.returncode not in (0, 2):
            outcome.interrupted = True
            outcome.errors.insert(0, f"terraform {command} stopped by Ctrl-C")
        if outcome.exit_code not in (0, 2) and not outcome.errors:
            outcome.errors.append(f"terraform {command} failed (exit {outcome.exit_code}); see {self.log}")
        self._explain(outcome, began)
        return outcome

    def _launch(self, cmd: list[str], command: str) -> subprocess.Popen[bytes] | None:
        """Start Terraform with nothing tying it to this process: stdin /dev/null, output to a file.

        Its own session: a Ctrl-C at the terminal reaches only securecart-tf, which decides.
        """
        output = self.workdir / OUTPUT_FILE

        def launch() -> subprocess.Popen[bytes]:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                return subprocess.Popen(
                    cmd,
                    cwd=self.workdir,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=fd,
                    stderr=fd,
                    start_new_session=True,
                    umask=0o077,
                )
            finally:
                os.close(fd)

        try:
            proc = self.registry.start(launch, self.label, command)
        except OSError as exc:
            raise TerraformError(f"{self.label}: cannot start Terraform: {exc}") from None
        if proc is not None:
            Earlier.write(self.workdir, proc, self.binary, command, self.label, self.log)
        return proc

    def _follow(self, proc: subprocess.Popen[bytes], handle: Callable[[str], None]) -> None:
        """Read Terraform's output file as it grows, line by line, until Terraform has exited and all is read."""
        try:
            f = (self.workdir / OUTPUT_FILE).open("rb")
        except OSError as exc:
            handle(f"cannot read Terraform's output: {exc}")
            proc.wait()
            return
        with f:
            pending = b""
            exited = False
            while True:
                chunk = f.read(1 << 16)
                if chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    for raw in lines:
                        handle(raw.decode("utf-8", errors="replace").rstrip("\r"))
                    continue
                if exited:  # one last read after it exited: everything it wrote is in now
                    break
                if proc.poll() is not None:
                    exited = True
                    continue
                time.sleep(FOLLOW_POLL_SECONDS)
            if pending:
                handle(pending.decode("utf-8", errors="replace"))

    def _line(self, line: str, outcome: Outcome, log: _Log, json_stream: bool) -> None:
        if json_stream and line.startswith("{"):
            self._event(line, outcome, log)
        else:
            log.write(line + "\n")

    def _explain(self, outcome: Outcome, began: float) -> None:
        """Put first what the user must do when Terraform could not save its state or take its lock."""
        errored = self.workdir / ERRORED_STATE
        with contextlib.suppress(OSError):
            if errored.stat().st_mtime >= began - 1:
                push = self.command_line("state", "push", ERRORED_STATE)
                outcome.errors.insert(
                    0,
                    f"Terraform could not save its state, so it wrote it to {errored}: push it before anything "
                    f"else runs, or what it changed is lost to Terraform: {push}",
                )
        lock_id = outcome.lock.get("ID")
        if lock_id and not outcome.ok:
            held = ", ".join(
                f"{k.lower()} {outcome.lock[k]}" for k in ("Who", "Operation", "Created") if outcome.lock.get(k)
            )
            outcome.errors.insert(
                0,
                f"the state is locked (lock ID {lock_id}{', ' + held if held else ''}). If no Terraform runs for "
                f"{self.label} any more, a stopped run left it: release it with "
                f"{self.command_line('force-unlock', '-force', lock_id)}",
            )

    def command_line(self, *args: str) -> str:
        """A command the user can paste to run Terraform in this stack's folder, as securecart-tf runs it."""
        names = ("TF_CLI_CONFIG_FILE", "AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL")
        env = [f"{k}={shlex.quote(self.env[k])}" for k in names if self.env.get(k)]
        binary = "terraform" if shutil.which("terraform") == self.binary else shlex.quote(self.binary)
        text = f"`cd {shlex.quote(str(self.workdir))} && {' '.join([*env, binary, *args])}`"
        if self.env.get("AWS_ACCESS_KEY_ID") and not self.env.get("AWS_PROFILE"):
            text += " with the same AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        return text

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

    def _event(self, line: str, outcome: Outcome, log: _Log) -> None:
        event = read_event(line, outcome, log)
        if event is not None and self.on_event is not None:
            self.on_event(event)


def read_event(line: str, outcome: Outcome, log: _Log) -> dict[str, Any] | None:
    """Count one `-json` event into `outcome` and log its message. None if the line is not JSON."""
    try:
        event: dict[str, Any] = json.loads(line)
    except ValueError:
        log.write(line + "\n")
        return None
    message = event.get("@message", "")
    kind = event.get("type")
    if kind == "diagnostic":
        _diagnostic(event, outcome, log)
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
    return event


_LOCK_INFO = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created):\s*(.*?)\s*$", re.MULTILINE)


def _diagnostic(event: dict[str, Any], outcome: Outcome, log: _Log) -> None:
    diag = event.get("diagnostic", {})
    detail = diag.get("detail", "")
    rng = diag.get("range") or {}
    where = f" ({rng.get('filename')}:{rng.get('start', {}).get('line')})" if rng else ""
    text = f"{diag.get('summary', event.get('@message', ''))}{where}" + (f": {detail}" if detail else "")
    log.write(f"{event.get('@level', 'info')}: {text}\n")
    if diag.get("severity") == "error":
        outcome.errors.append(text)
        if "lock" in diag.get("summary", "").lower() and "Lock Info" in detail:
            outcome.lock = {key: value for key, value in _LOCK_INFO.findall(detail) if value}


class _Log:
    """A stack's log, owner-only, with credentials masked. A write that fails (a full disk) is remembered, not
    raised: Terraform's output must still be read to its end, and what it said still counted."""

    def __init__(self, path: Path, secrets: list[str] | None = None):
        self.path = path
        self.secrets = secrets or []
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
            self._file.write(mask(text, self.secrets))
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
_SECRET_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_SECRET_XML = re.compile(r"(<(SecretAccessKey|SessionToken|SecurityToken)>)[^<]*(</\2>)")
_SECRET_FIELD = re.compile(
    r"((?:x[-_]amz[-_]security[-_]token|security[-_]?token|session[-_]?token|secret[-_]?access[-_]?key|secret[-_]key)"
    r"\\?\"?\s*[:=]\s*\\?\"?)[^\s\"\\,&;}<]+",
    re.IGNORECASE,
)
"""A credential by name, as TF_LOG=DEBUG prints them: an HTTP header or query parameter, a JSON or
key=value field, escaped or not (`X-Amz-Security-Token: …`, `"SessionToken":"…"`, `session_token=…`)."""


def secrets_of(env: dict[str, str]) -> list[str]:
    """The credential values in a Terraform's environment, to mask wherever they appear in its log."""
    return [env[name] for name in _SECRET_VARS if len(env.get(name, "")) >= 8]


def mask(text: str, secrets: list[str]) -> str:
    """`text` with credentials replaced by `***`: the known values, and any value named as a key or token."""
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _SECRET_XML.sub(r"\1***\3", text)
    return _SECRET_FIELD.sub(r"\1***", text)


def _redact(cmd: list[str]) -> Iterator[str]:
    for part in cmd:
        match = _SECRET_FLAG.match(part)
        yield f"{match.group(1)}***" if match else part
