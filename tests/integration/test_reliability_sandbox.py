"""The sandbox's process: stopped only when it is ours, never replaced while it lives, never leaked.

`sandbox down` must not signal a recorded pid that another program now uses. A paused sandbox (SIGSTOP)
is refused, not replaced by a second one that would set its state aside. A damaged sandbox.json never
leaves a moto server running that nothing knows of. `status` with the sandbox off says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf.run.ledger import LocalLedger, Record
from securecart_tf.run.workspace import Target, Workspace
from tests.helpers import explain, run_cli, write_project
from tests.integration.conftest import SMALL_DEV, SMALL_MATRIX

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SERVER = "securecart_tf.sandbox.server"


def _servers(home: Path) -> list[int]:
    """Live sandbox servers started for `home`, found from their command lines."""
    log = f"--log\0{home.resolve() / 'sandbox.log'}\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if SERVER.encode() in args and log.encode() in args:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie waiting for its parent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    return fields[0] == "Z"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A small project; every sandbox server of its home is stopped at the end, whatever the code did."""
    root = write_project(tmp_path / "small", SMALL_MATRIX, {"dev": SMALL_DEV})
    home = root / ".securecart"
    try:
        yield root
    finally:
        for pid in _servers(home):
            for sig in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)


def _record(home: Path) -> dict[str, object]:
    return dict(json.loads((home / "sandbox.json").read_text()))


def _up(project: Path) -> dict[str, object]:
    started = run_cli(project, "sandbox", "up", timeout=180)
    assert started.returncode == 0, explain(started)
    return _record(project / ".securecart")


def test_down_leaves_alone_a_recorded_pid_that_another_program_now_uses(project: Path) -> None:
    home = project / ".securecart"
    home.mkdir(mode=0o700)
    # another program, holding the pid the record names: it runs until its stdin closes
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        record = {
            "pid": other.pid,
            "port": 9,  # nothing answers there
            "session": "0123456789ab",
            "access_key": "AKIASANDBOXEXAMPLE0",
            "secret_key": "not-a-secret",
            "started": 0.0,
        }
        (home / "sandbox.json").write_text(json.dumps(record))
        stopped = run_cli(project, "sandbox", "down", timeout=120)
        assert stopped.returncode == 0, explain(stopped)
        assert other.poll() is None, f"sandbox down signalled pid {other.pid}, not the sandbox\n{explain(stopped)}"
        assert str(other.pid) in stopped.stdout and "left alone" in stopped.stdout, explain(stopped)
        assert not (home / "sandbox.json").exists()  # the sandbox it named is gone: so is the record
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=60)


def test_a_paused_sandbox_is_refused_never_replaced_and_runs_on_once_resumed(project: Path) -> None:
    home = project / ".securecart"
    first = _up(project)
    pid = int(str(first["pid"]))
    # state this session holds, as an apply leaves it: a replaced sandbox would set it aside in stale/
    ws = Workspace(project)
    ws.reconcile_session(Target("sandbox", f"sandbox:{first['session']}", "us-east-1"))
    state = ws.state_file("organization")
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 4, "serial": 1}\n')

    os.kill(pid, signal.SIGSTOP)
    try:
        for args in (("sandbox", "up"), ("plan", "--env", "dev")):
            refused = run_cli(project, *args, timeout=180)
            assert refused.returncode == 1, explain(refused)
            assert "does not answer" in refused.stderr and f"kill -CONT {pid}" in refused.stderr, explain(refused)
            assert "Traceback" not in refused.stderr, explain(refused)
            assert _servers(home) == [pid], f"a second sandbox was started\n{explain(refused)}"
            assert _record(home) == first
            assert state.is_file() and list((home / "stale").glob("*")) == []  # nothing set aside
    finally:
        os.kill(pid, signal.SIGCONT)

    running = run_cli(project, "sandbox", "status", timeout=120)
    assert running.returncode == 0 and f"session {first['session']}" in running.stdout, explain(running)


def test_down_stops_a_paused_sandbox(project: Path) -> None:
    home = project / ".securecart"
    pid = int(str(_up(project)["pid"]))
    os.kill(pid, signal.SIGSTOP)
    stopped = run_cli(project, "sandbox", "down", timeout=120)
    assert stopped.returncode == 0, explain(stopped)
    assert f"pid {pid}" in stopped.stdout, explain(stopped)
    assert _gone(pid) and _servers(home) == []


def test_a_damaged_sandbox_record_never_leaks_the_server_it_named(project: Path) -> None:
    home = project / ".securecart"
    pid = int(str(_up(project)["pid"]))
    whole = (home / "sandbox.json").read_bytes()
    (home / "sandbox.json").write_bytes(whole[: len(whole) // 2])  # cut short

    for args in (("sandbox", "up"), ("plan", "--env", "dev"), ("sandbox", "status")):
        refused = run_cli(project, *args, timeout=180)
        assert refused.returncode == 1, explain(refused)
        output = refused.stdout + refused.stderr
        assert str(home / "sandbox.json") in output and "sandbox down" in output, explain(refused)
        assert _servers(home) == [pid], f"a second sandbox was started\n{explain(refused)}"

    stopped = run_cli(project, "sandbox", "down", timeout=120)
    assert stopped.returncode == 0, explain(stopped)
    assert str(pid) in stopped.stdout, explain(stopped)
    assert _gone(pid) and _servers(home) == [], explain(stopped)
    assert not (home / "sandbox.json").exists()

    again = _up(project)  # nothing left behind stands in the way of a fresh one
    assert _servers(home) == [again["pid"]]
    assert run_cli(project, "sandbox", "down", timeout=120).returncode == 0


def test_status_with_the_sandbox_off_says_so_instead_of_never_applied(project: Path) -> None:
    session = str(_up(project)["session"])
    # what `apply --env dev` records when it succeeds against this session
    LocalLedger(project / ".securecart" / "ledger.jsonl").append(
        [
            Record(
                action="apply",
                environment="dev",
                stack="*",
                revision="0a1b2c3d4e5f",
                result="ok",
                target=f"sandbox:{session}",
            )
        ]
    )
    shown = run_cli(project, "status", "--json", timeout=120)
    assert shown.returncode == 0, explain(shown)
    assert json.loads(shown.stdout)[0]["current"] == "0a1b2c3d4e5f"

    assert run_cli(project, "sandbox", "down", timeout=120).returncode == 0
    off = run_cli(project, "status", "--json", timeout=120)
    assert off.returncode == 0, explain(off)
    (row,) = json.loads(off.stdout)
    assert row["current"] is None
    assert "never applied" not in row["state"], row
    assert "not running" in row["state"] and "securecart-tf sandbox up" in row["state"], row
    table = run_cli(project, "status", timeout=120)
    assert "never applied" not in table.stdout and "sandbox up" in table.stdout, explain(table)
