"""The Terraform runner: event parsing, timeouts, Ctrl-C, logs.

Most tests drive the Runner with a stand-in `terraform` (a small Python script written per test) whose
behaviour the test controls: it prints given events, waits to be released, or ignores SIGINT. That makes
timeouts and interrupts exact and fast. One test runs the real Terraform on a hand-made root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from securecart_tf.errors import TerraformError
from securecart_tf.run.terraform import OUTPUT_FILE, RUNNING_RECORD, Earlier, Outcome, ProcessRegistry, Runner

pytestmark = pytest.mark.timeout(120)

FAKE_TERRAFORM = """\
#!{python}
import json, os, signal, stat, subprocess, sys, time

mode = os.environ["FAKE_MODE"]
marks = os.environ["FAKE_MARKS"]


def mark(text):
    with open(marks, "a") as f:
        f.write(text + "\\n")


def on_sigint(signum, frame):
    mark("SIGINT")
    print("Interrupt received; stopping", flush=True)
    sys.exit(1)


mark("started " + sys.argv[1])
mark("stdin " + os.path.realpath("/proc/self/fd/0"))
mark("stdout " + ("file" if stat.S_ISREG(os.fstat(1).st_mode) else "other"))
if os.environ.get("FAKE_ERRORED"):  # as Terraform does when the backend refuses the state
    with open("errored.tfstate", "w") as f:
        f.write("{{}}")
if os.environ.get("FAKE_STDERR"):  # as TF_LOG=DEBUG writes its lines
    print(os.environ["FAKE_STDERR"], file=sys.stderr, flush=True)
if mode == "events":
    print("a line that is not JSON", flush=True)
    with open(os.environ["FAKE_EVENTS"]) as f:
        for line in f:
            print(line.rstrip("\\n"), flush=True)
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
if mode == "wait":
    # Terraform-like: a Ctrl-C stops it; else it finishes once released
    signal.signal(signal.SIGINT, on_sigint)
    print("ready", flush=True)
    while not os.path.exists(os.environ["FAKE_RELEASE"]):
        time.sleep(0.02)
    mark("finished")
    print("done", flush=True)
    sys.exit(0)
if mode == "stubborn":
    # ignores Ctrl-C, and has a child of its own (as Terraform has its providers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    child = subprocess.Popen(["sleep", "300"])
    mark(f"child {{child.pid}}")
    print("ready", flush=True)
    while True:
        time.sleep(1)
sys.exit(3)
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "terraform"
    path.parent.mkdir()
    path.write_text(FAKE_TERRAFORM.format(python=sys.executable))
    path.chmod(0o755)
    return path


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll a condition (a line in a file, a process gone) until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Stand:
    """One stack folder with the stand-in Terraform, its marks file and its release file."""

    def __init__(self, root: Path, fake: Path, name: str, mode: str, **env: str):
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.marks = root / f"{name}.marks"
        self.release = root / f"{name}.release"
        self.log = root / "logs" / f"{name}.log"
        self.fake = fake
        self.env = {
            **os.environ,
            "FAKE_MODE": mode,
            "FAKE_MARKS": str(self.marks),
            "FAKE_RELEASE": str(self.release),
            **env,
        }

    def runner(self, **kwargs: object) -> Runner:
        return Runner(self.dir, env=self.env, log=self.log, binary=str(self.fake), label=self.dir.name, **kwargs)

    def marked(self) -> list[str]:
        return self.marks.read_text().splitlines() if self.marks.exists() else []


def test_events_become_counts_changes_drift_outputs_and_errors(tmp_path: Path, fake: Path) -> None:
    def change(addr: str, rtype: str, action: str, key: object = None, module: str = "") -> dict[str, object]:
        return {
            "resource": {"addr": addr, "module": module, "resource_type": rtype, "resource_key": key},
            "action": action,
        }

    events = [
        {"@level": "info", "@message": "Terraform 1.11.4", "type": "version", "terraform": "1.11.4"},
        {
            "@level": "info",
            "@message": "aws_iam_role.a: Plan to create",
            "type": "planned_change",
            "change": change("aws_iam_role.a", "aws_iam_role", "create"),
        },
        {
            "@level": "info",
            "@message": 'module.m.aws_iam_role.b["x"]: Plan to delete',
            "type": "planned_change",
            "change": change('module.m.aws_iam_role.b["x"]', "aws_iam_role", "delete", "x", "module.m"),
        },
        {
            "@level": "info",
            "@message": "aws_iam_role.c: Drift detected (update)",
            "type": "resource_drift",
            "change": change("aws_iam_role.c", "aws_iam_role", "update"),
        },
        {
            "@level": "info",
            "@message": "Plan: 1 to add, 0 to change, 1 to destroy.",
            "type": "change_summary",
            "changes": {"add": 1, "change": 0, "import": 0, "remove": 1, "operation": "plan"},
        },
        {
            "@level": "error",
            "@message": "Error: Invalid value",
            "type": "diagnostic",
            "diagnostic": {
                "severity": "error",
                "summary": "Invalid value",
                "detail": "must be positive",
                "range": {"filename": "main.tf", "start": {"line": 3, "column": 1}},
            },
        },
        {
            "@level": "info",
            "@message": "Outputs: 1",
            "type": "outputs",
            "outputs": {"ids": {"sensitive": False, "type": ["map", "string"], "value": {"a": "1"}}},
        },
    ]
    event_file = tmp_path / "events.jsonl"
    event_file.write_text("".join(json.dumps(e) + "\n" for e in events))
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=str(event_file), FAKE_EXIT="1")
    seen: list[dict[str, object]] = []

    outcome = stand.runner(on_event=seen.append).plan(tmp_path / "stack.tfplan")

    assert (outcome.add, outcome.change, outcome.remove) == (1, 0, 1)
    assert [(c.address, c.action, c.index, c.module) for c in outcome.changes] == [
        ("aws_iam_role.a", "create", None, ""),
        ('module.m.aws_iam_role.b["x"]', "delete", "x", "module.m"),
    ]
    assert [(c.address, c.action) for c in outcome.drift] == [("aws_iam_role.c", "update")]
    assert outcome.outputs == {"ids": {"a": "1"}}
    assert len(outcome.errors) == 1
    assert "Invalid value" in outcome.errors[0] and "must be positive" in outcome.errors[0]
    assert "main.tf:3" in outcome.errors[0]
    assert not outcome.ok
    assert len(seen) == len(events)
    log = stand.log.read_text()
    assert "aws_iam_role.a: Plan to create" in log and "a line that is not JSON" in log
    assert not [line for line in log.splitlines() if line.startswith("{")], "raw JSON events leaked into the log"


def test_the_log_is_owner_only_and_hides_credentials_on_the_command_line(tmp_path: Path, fake: Path) -> None:
    event_file = tmp_path / "none.jsonl"
    event_file.write_text("")
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=str(event_file))
    outcome = stand.runner().init({"access_key": "AKIAEXAMPLEKEY123456", "secret_key": "wJalrEXAMPLEsecret/K7"})
    assert outcome.ok
    log = stand.log.read_text()
    assert "init" in log
    assert "AKIAEXAMPLEKEY123456" not in log and "wJalrEXAMPLEsecret/K7" not in log
    assert stat.S_IMODE(stand.log.stat().st_mode) == 0o600
    assert stat.S_IMODE(stand.log.parent.stat().st_mode) == 0o700


def test_a_log_that_cannot_be_written_does_not_stall_terraform_or_lose_its_result(tmp_path: Path, fake: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does. Terraform's output (far more than a
    pipe holds) must still be read to its end, and what it said still counted."""
    noise = {"@level": "info", "@message": "x" * 1000, "type": "log"}
    summary = {
        "@level": "info",
        "@message": "Plan: 2 to add",
        "type": "change_summary",
        "changes": {"add": 2, "change": 0, "remove": 0},
    }
    failure = {
        "@level": "error",
        "@message": "Error: boom",
        "type": "diagnostic",
        "diagnostic": {"severity": "error", "summary": "boom", "detail": ""},
    }
    event_file = tmp_path / "events.jsonl"
    event_file.write_text("".join(json.dumps(e) + "\n" for e in [noise] * 300 + [summary, failure]))
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=str(event_file), FAKE_EXIT="1")
    runner = Runner(stand.dir, env=stand.env, log=Path("/dev/full"), binary=str(fake), label="stack")
    outcome = runner.plan(tmp_path / "p.tfplan")
    assert outcome.exit_code == 1 and outcome.add == 2
    assert any("boom" in e for e in outcome.errors)
    assert any("cannot write the log /dev/full" in e for e in outcome.errors), outcome.errors


def test_a_call_past_its_timeout_is_asked_to_stop_and_reported_timed_out(tmp_path: Path, fake: Path) -> None:
    stand = Stand(tmp_path, fake, "stuck", "wait")  # never released
    start = time.monotonic()
    outcome = stand.runner(timeout=1.0).plan(tmp_path / "stuck.tfplan")
    took = time.monotonic() - start
    assert outcome.timed_out and not outcome.ok
    assert not outcome.interrupted
    assert "SIGINT" in stand.marked(), "Terraform was not asked to stop gracefully first"
    assert "finished" not in stand.marked()
    assert took < 20, took


def test_a_call_that_ignores_the_stop_is_killed_with_its_children_after_the_grace(tmp_path: Path, fake: Path) -> None:
    stand = Stand(tmp_path, fake, "stubborn", "stubborn")
    start = time.monotonic()
    outcome = stand.runner(timeout=1.0, grace=1.0).apply(tmp_path / "x.tfplan")
    took = time.monotonic() - start
    assert outcome.timed_out and not outcome.ok
    assert outcome.exit_code == -signal.SIGKILL
    child = int(next(m for m in stand.marked() if m.startswith("child ")).split()[1])
    wait_until(lambda: _gone(child), 10, f"the stand-in's child {child} to be gone")
    assert took < 30, took


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_first_ctrl_c_stops_plans_lets_applies_finish_and_starts_nothing_new(tmp_path: Path, fake: Path) -> None:
    registry = ProcessRegistry()
    planning = Stand(tmp_path, fake, "planning", "wait")
    applying = Stand(tmp_path, fake, "applying", "wait")
    with ThreadPoolExecutor(max_workers=2) as pool:
        plan = pool.submit(planning.runner(registry=registry).plan, tmp_path / "p.tfplan")
        apply = pool.submit(applying.runner(registry=registry).apply, tmp_path / "a.tfplan")
        for stand in (planning, applying):
            wait_until(lambda s=stand: "ready" in (s.log.read_text() if s.log.exists() else ""), 30, "ready")

        finishing = registry.interrupt()

        assert finishing == ["applying"]
        planned: Outcome = plan.result(timeout=30)
        assert planned.interrupted and not planned.ok
        assert "SIGINT" in planning.marked()
        assert registry.running() == ["applying"]  # the apply still runs, undisturbed
        applying.release.touch()
        applied: Outcome = apply.result(timeout=30)
    assert applied.ok and not applied.interrupted
    assert "SIGINT" not in applying.marked() and "finished" in applying.marked()

    late = Stand(tmp_path, fake, "late", "wait")
    not_started = late.runner(registry=registry).apply(tmp_path / "l.tfplan")
    assert not_started.interrupted and not not_started.ok
    assert "not started" in not_started.errors[0]
    assert late.marked() == [], "a Terraform started after Ctrl-C"


def test_second_ctrl_c_kills_every_terraform_and_its_children_at_once(tmp_path: Path, fake: Path) -> None:
    registry = ProcessRegistry()
    stand = Stand(tmp_path, fake, "applying", "stubborn")
    result: list[Outcome] = []
    thread = threading.Thread(target=lambda: result.append(stand.runner(registry=registry).apply(tmp_path / "a")))
    thread.start()
    wait_until(lambda: "ready" in (stand.log.read_text() if stand.log.exists() else ""), 30, "ready")
    assert registry.interrupt() == ["applying"]  # first Ctrl-C: an apply is left to finish
    start = time.monotonic()
    assert registry.kill() == ["applying"]
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.monotonic() - start < 10
    (outcome,) = result
    assert outcome.exit_code == -signal.SIGKILL and outcome.interrupted
    child = int(next(m for m in stand.marked() if m.startswith("child ")).split()[1])
    wait_until(lambda: _gone(child), 10, "the child to be gone")
    assert registry.running() == []


def test_a_missing_terraform_binary_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    runner = Runner(tmp_path / "stack", env=dict(os.environ), log=tmp_path / "x.log", binary=str(tmp_path / "nope"))
    with pytest.raises(TerraformError, match="cannot start Terraform"):
        runner.plan(tmp_path / "x.tfplan")


def _events(tmp_path: Path, *events: dict[str, object]) -> str:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_terraform_reads_no_pipe_of_ours_and_writes_its_output_to_a_file(tmp_path: Path, fake: Path) -> None:
    """Killed, securecart-tf closes its pipes; a Terraform writing to one would die of SIGPIPE before saving state."""
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=_events(tmp_path))
    outcome = stand.runner().plan(tmp_path / "p.tfplan")
    assert outcome.ok, outcome.errors
    assert "stdin /dev/null" in stand.marked() and "stdout file" in stand.marked(), stand.marked()
    assert "a line that is not JSON" in stand.log.read_text()
    assert not (stand.dir / OUTPUT_FILE).exists() and not (stand.dir / RUNNING_RECORD).exists()


def test_session_tokens_and_secret_keys_are_masked_in_the_log(tmp_path: Path, fake: Path) -> None:
    """With TF_LOG=DEBUG, Terraform and the AWS provider print request headers and STS answers."""
    env_token = "FwoGZXIvYXdzEEnvSessionTokenValue0123456789"
    assumed = "IQoJb3JpZ2luX2VjEAssumedRoleToken/abc+def=="
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    debug = (
        f"2026-01-01T00:00:00Z [DEBUG] provider: HTTP Request Sent: http.request.header.x_amz_security_token={assumed}"
        f" http.request.header.authorization=AWS4-HMAC-SHA256 env={env_token}"
    )
    answer = {
        "@level": "info",
        "@message": f"<AssumeRoleResult><Credentials><SessionToken>{assumed}</SessionToken>"
        f"<SecretAccessKey>{secret}</SecretAccessKey></Credentials></AssumeRoleResult>",
        "type": "log",
    }
    stand = Stand(
        tmp_path,
        fake,
        "stack",
        "events",
        FAKE_EVENTS=_events(tmp_path, answer),
        FAKE_STDERR=debug + f'\n{{"SessionToken":"{assumed}"}} X-Amz-Security-Token: {assumed}',
        AWS_SESSION_TOKEN=env_token,
        AWS_SECRET_ACCESS_KEY=secret,
    )
    assert stand.runner().plan(tmp_path / "p.tfplan").ok
    log = stand.log.read_text()
    assert "HTTP Request Sent" in log and "AssumeRoleResult" in log, log
    for value in (env_token, assumed, secret, "IQoJb3JpZ2lu"):
        assert value not in log, f"{value} leaked into the log:\n{log}"


def test_a_state_terraform_could_not_save_is_named_with_the_command_to_push_it(tmp_path: Path, fake: Path) -> None:
    failure = {
        "@level": "error",
        "@message": "Error: Failed to save state",
        "type": "diagnostic",
        "diagnostic": {"severity": "error", "summary": "Failed to save state", "detail": "no space left on device"},
    }
    rc = tmp_path / "terraform.rc"
    stand = Stand(
        tmp_path,
        fake,
        "stack",
        "events",
        FAKE_EVENTS=_events(tmp_path, failure),
        FAKE_EXIT="1",
        FAKE_ERRORED="1",
        TF_CLI_CONFIG_FILE=str(rc),
    )
    outcome = stand.runner().apply(tmp_path / "p.tfplan")
    assert not outcome.ok
    first = outcome.errors[0]
    assert str(stand.dir / "errored.tfstate") in first, outcome.errors
    assert f"cd {stand.dir} && TF_CLI_CONFIG_FILE={rc} " in first and "state push errored.tfstate`" in first, first
    assert any("no space left on device" in e for e in outcome.errors)


def test_a_held_state_lock_is_named_with_its_id_and_the_force_unlock_command(tmp_path: Path, fake: Path) -> None:
    detail = (
        "Error message: operation error S3: PutObject, https response error StatusCode: 412\n"
        "Lock Info:\n  ID:        7d3e1c2a-5b7f-4f0e-9c1d-2f6a8b9e0d11\n  Path:      state/org/terraform.tfstate\n"
        "  Operation: OperationTypeApply\n  Who:       ops@build-1\n  Version:   1.9.8\n"
        "  Created:   2026-01-01 10:00:00 +0000 UTC\n  Info:      \n\nTerraform acquires a state lock to protect..."
    )
    locked = {
        "@level": "error",
        "@message": "Error: Error acquiring the state lock",
        "type": "diagnostic",
        "diagnostic": {"severity": "error", "summary": "Error acquiring the state lock", "detail": detail},
    }
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=_events(tmp_path, locked), FAKE_EXIT="1")
    outcome = stand.runner().plan(tmp_path / "p.tfplan")
    assert not outcome.ok
    first = outcome.errors[0]
    assert "lock ID 7d3e1c2a-5b7f-4f0e-9c1d-2f6a8b9e0d11" in first and "ops@build-1" in first, first
    assert f"cd {stand.dir} && " in first and "force-unlock -force 7d3e1c2a-5b7f-4f0e-9c1d-2f6a8b9e0d11`" in first


def test_a_terraform_a_killed_run_left_is_waited_for_then_its_output_logged(tmp_path: Path, fake: Path) -> None:
    from securecart_tf.run.terraform import wait_for_earlier

    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=_events(tmp_path))
    release = tmp_path / "earlier.release"
    script = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]):\n    time.sleep(0.02)\n"
    earlier = subprocess.Popen([sys.executable, "-c", script, str(release)])
    complete = {"@level": "info", "@message": "Apply complete! Resources: 1 added.", "type": "apply_complete"}
    (stand.dir / OUTPUT_FILE).write_text(json.dumps(complete) + "\nX-Amz-Security-Token: FQoEarlierToken123\n")
    Earlier.write(stand.dir, earlier, sys.executable, "apply", "stack", stand.log)
    waiting = threading.Event()
    seen: list[Earlier | None] = []
    thread = threading.Thread(
        target=lambda: seen.append(wait_for_earlier(stand.dir, secrets=[], on_wait=lambda e: waiting.set()))
    )
    thread.start()
    assert waiting.wait(30), "the earlier Terraform was not waited for"
    assert thread.is_alive() and stand.marked() == []
    release.touch()
    thread.join(timeout=30)
    assert not thread.is_alive() and earlier.wait(timeout=30) == 0
    assert seen[0] is not None and seen[0].pid == earlier.pid
    log = stand.log.read_text()
    assert f"terraform apply (pid {earlier.pid}" in log and "Apply complete! Resources: 1 added." in log, log
    assert "FQoEarlierToken123" not in log
    assert not (stand.dir / RUNNING_RECORD).exists() and not (stand.dir / OUTPUT_FILE).exists()


def test_a_record_whose_pid_was_reused_is_not_taken_for_a_running_terraform(tmp_path: Path, fake: Path) -> None:
    stand = Stand(tmp_path, fake, "stack", "events", FAKE_EVENTS=_events(tmp_path))
    record = {"pid": os.getpid(), "start": "1", "binary": str(fake), "command": "apply"}
    record |= {"label": "stack", "log": str(stand.log), "since": time.time() - 3600}
    (stand.dir / RUNNING_RECORD).write_text(json.dumps(record))  # this pid runs, but since later: another process
    outcome = stand.runner(timeout=30).plan(tmp_path / "p.tfplan")
    assert outcome.ok, outcome.errors
    assert stand.marked()[0] == "started plan"
    assert not (stand.dir / RUNNING_RECORD).exists()


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs Terraform on PATH")
def test_a_value_the_module_rejects_fails_the_plan_with_the_modules_message(tmp_path: Path) -> None:
    """Real Terraform, no provider: a variable's validation rejects the input; the runner says so, and logs it."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        textwrap.dedent(
            """\
            variable "session_hours" {
              type = number
              validation {
                condition     = var.session_hours >= 1 && var.session_hours <= 12
                error_message = "session_hours is 1 to 12 hours."
              }
            }
            output "hours" {
              value = var.session_hours
            }
            """
        )
    )
    (root / "terraform.tfvars.json").write_text(json.dumps({"session_hours": 48}))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    runner = Runner(root, env=env, log=tmp_path / "logs" / "root.log", label="root", timeout=120)
    assert runner.init().ok
    outcome = runner.plan(tmp_path / "root.tfplan")
    assert not outcome.ok and outcome.exit_code == 1
    assert any("session_hours is 1 to 12 hours." in e for e in outcome.errors), outcome.errors
    assert any("main.tf:" in e for e in outcome.errors), outcome.errors
    assert "session_hours is 1 to 12 hours." in (tmp_path / "logs" / "root.log").read_text()

    (root / "terraform.tfvars.json").write_text(json.dumps({"session_hours": 4}))
    good = runner.plan(tmp_path / "root.tfplan")
    assert good.ok and good.errors == []
    assert good.has_changes  # the output "hours" is new
