"""Secrets and files: no credential leaves the sandbox's record, state and plans are owner-only, and a
folder that cannot be written is a clear error.

The scan looks for the sandbox's own keys (read from its record), byte for byte, in every file the tool
wrote under build/ and .securecart/ (plan files unzipped), and in what the commands printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, sandbox_client, write_project
from tests.integration.conftest import SMALL_MATRIX
from tests.integration.faultproxy import FaultProxy, Watched
from tests.integration.killing import DEV as TINY_DEV
from tests.integration.killing import TINY_MATRIX, holding_alpha

DEV = """\
name: dev
stacks: [organization]
accounts: [management, alpha, beta]
approval: none
"""
PEOPLE = """\
name: people
stacks: [identity-center]
approval: none
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = write_project(tmp_path / "small", SMALL_MATRIX, {"dev": DEV, "people": PEOPLE})
    try:
        yield root
    finally:
        sandbox.down(root / ".securecart")


def _leaks(data: bytes, secrets: list[bytes], where: str) -> list[str]:
    found = [f"{where}: {s[:6].decode()}…" for s in secrets if s in data]
    if data[:4] == b"PK\x03\x04":  # a zip, such as a saved plan: look inside
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                found += _leaks(archive.read(name), secrets, f"{where}!{name}")
    return found


def _scan(roots: list[Path], secrets: list[bytes], skip: set[Path]) -> tuple[list[str], int]:
    """Every regular file under the roots (symlinks, such as the provider binaries, are not followed)."""
    leaks: list[str] = []
    scanned = 0
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if path in skip or path.is_symlink() or not path.is_file():
                    continue
                scanned += 1
                leaks += _leaks(path.read_bytes(), secrets, str(path))
    return leaks, scanned


def _modes(root: Path) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")] if not p.is_symlink()}


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_no_credential_is_written_outside_the_sandbox_record_and_state_is_owner_only(project: Path) -> None:
    home = project / ".securecart"
    planned = run_cli(project, "plan", "--env", "dev", "--json")
    assert planned.returncode == 2, explain(planned)
    info = sandbox.read(home)
    assert info is not None
    secrets = [info.access_key.encode(), info.secret_key.encode()]
    record = home / "sandbox.json"
    assert all(s in record.read_bytes() for s in secrets)  # the scan looks for what is really there
    assert stat.S_IMODE(record.stat().st_mode) == 0o600

    plans = list((home / "plans").rglob("*.tfplan"))
    assert plans, "plan saved no plan file"
    leaks, scanned = _scan([project / "build", home], secrets, skip={record})
    leaks += _leaks((planned.stdout + planned.stderr).encode(), secrets, "plan output")
    assert leaks == [], leaks
    assert scanned > 20
    for path, mode in _modes(home / "plans").items():
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))

    applied = run_cli(project, "apply", "--env", "dev", "--json")
    assert applied.returncode == 0, explain(applied)
    leaks, _ = _scan([project / "build", home], secrets, skip={record})
    leaks += _leaks((applied.stdout + applied.stderr).encode(), secrets, "apply output")
    assert leaks == [], leaks

    states = list((home / "state").rglob("terraform.tfstate"))
    assert len(states) == 3, states
    for folder in ("state", "plans", "logs"):
        for path, mode in _modes(home / folder).items():
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "ledger.jsonl").stat().st_mode) == 0o600


# ---- folders that cannot be written ---------------------------------------------------------------------


def _mount_tmpfs(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@contextlib.contextmanager
def _read_only_folder(path: Path) -> Iterator[Path]:
    """A folder no write can go into: a read-only tmpfs as root (root ignores modes), else mode 0555."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    if not _mount_tmpfs(path, "size=64k,ro"):
        pytest.skip("running as root without permission to mount: no way to make a read-only folder")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def _full_folder(path: Path) -> Iterator[Path]:
    """A folder on a filesystem with no space left: a 64 KiB tmpfs, filled to the last byte."""
    path.mkdir()
    if not _mount_tmpfs(path, "size=64k"):
        pytest.skip("a full filesystem needs a tmpfs mount, which needs root")
    try:
        with contextlib.suppress(OSError), open(path / "filler", "wb", buffering=0) as filler:
            while True:
                filler.write(b"\0" * 4096)
        with pytest.raises(OSError):
            (path / "probe").write_bytes(b"x" * 4096)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _assert_clear_error(result: subprocess.CompletedProcess[str], folder: Path) -> None:
    assert result.returncode == 1, explain(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors and str(folder) in errors[-1], explain(result)  # the error itself names the folder
    for noise in ("Traceback", "internal error"):
        assert noise not in result.stdout + result.stderr, explain(result)


def test_a_read_only_output_folder_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    with _read_only_folder(tmp_path / "ro") as folder:
        _assert_clear_error(run_cli(project, "generate", "--out", str(folder)), folder)
        _assert_clear_error(run_cli(project, "generate", "--out", str(folder / "build")), folder / "build")
        _assert_clear_error(run_cli(project, "plan", "--env", "dev", env={"SECURECART_HOME": str(folder)}), folder)
        home = folder / "home"
        _assert_clear_error(run_cli(project, "apply", "--env", "dev", env={"SECURECART_HOME": str(home)}), home)
    assert not (project / ".securecart").exists()  # nothing was started, or written, elsewhere


def test_a_full_output_folder_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    with _full_folder(tmp_path / "full") as folder:
        _assert_clear_error(run_cli(project, "generate", "--out", str(folder)), folder)
        _assert_clear_error(run_cli(project, "plan", "--env", "dev", env={"SECURECART_HOME": str(folder)}), folder)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_disk_that_fills_during_a_run_is_a_clear_error_and_harms_nothing(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    if not _mount_tmpfs(folder, "size=4m"):
        pytest.skip("a filesystem to fill needs a tmpfs mount, which needs root")
    try:
        run = Watched(project, "plan", "--env", "dev", env={"SECURECART_HOME": str(folder)})
        try:
            run.wait_for(r"organization: planning$")
            filler = folder / "filler"
            with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as out:
                while True:  # the disk is full from here on, while Terraform plans
                    out.write(b"\0" * 65536)
            result = run.finish(timeout=300)
        finally:
            run.stop()
        _assert_clear_error(result, folder)
        filler.unlink()  # space again: the next run finds everything as it was
        again = run_cli(project, "plan", "--env", "dev", "--json", env={"SECURECART_HOME": str(folder)})
        assert again.returncode == 2, explain(again)
        assert "organization" in again.stdout
    finally:
        sandbox.down(folder)
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    """Take every free block of the filesystem at `folder`: big writes first, then ever smaller ones."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_a_state_a_full_disk_kept_terraform_from_saving_is_pushed_before_anything_else_runs(tmp_path: Path) -> None:
    """Terraform leaves errored.tfstate when it cannot save the state an apply made; until it is pushed, a plan
    from the older state would create the organization's accounts again."""
    project = write_project(tmp_path / "tiny", TINY_MATRIX, {"dev": TINY_DEV})
    home = tmp_path / "home"
    home.mkdir()
    if not _mount_tmpfs(home, "size=8m"):
        pytest.skip("a filesystem to fill needs a tmpfs mount, which needs root")
    env = {"SECURECART_HOME": str(home)}
    try:
        info, _ = sandbox.up(home)
        creating = holding_alpha()
        with FaultProxy(info.endpoint, [creating]) as proxy:
            run = Watched(project, "apply", "--env", "dev", env={**env, sandbox.ENDPOINT_VAR: proxy.url})
            try:
                assert creating.hit.wait(300), run.explain()
                filler = _fill(home)  # the disk is full while the organization's apply is in flight
                creating.release.set()
                result = run.finish(timeout=600)
            finally:
                run.stop()
            filler.unlink()
            errored = project / "build" / "dev" / "organization" / "errored.tfstate"
            assert result.returncode == 1 and errored.is_file(), explain(result)
            assert "state push errored.tfstate`" in result.stdout + result.stderr, explain(result)

            refused = run_cli(project, "plan", "--env", "dev", "--json", env=env)
            assert refused.returncode == 1, explain(refused)
            (org,) = json.loads(refused.stdout)["results"]
            assert org["status"] == "refused" and str(errored) in org["message"], org
            commands = re.findall(r"`((?:mv|cd) [^`]*)`", org["message"])  # the push, after what must go first
            assert commands and commands[-1].endswith("state push errored.tfstate"), org["message"]
            for command in commands:
                done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"

            again = run_cli(project, "apply", "--env", "dev", "--json", env={**env, sandbox.ENDPOINT_VAR: proxy.url})
            assert again.returncode == 0, explain(again)
        names = [a["Name"] for a in sandbox_client(info, "organizations").list_accounts()["Accounts"]]
        assert names.count("alpha") == 1 and len(names) == 2, names  # alpha once: the push kept it known
    finally:
        sandbox.down(home)
        subprocess.run(["umount", "-l", str(home)], check=False)
