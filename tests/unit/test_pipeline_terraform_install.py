"""The GitLab jobs' Terraform install, run by bash as a runner runs it: from a mirror named by a CI variable,
checked against the release's SHA256SUMS, and skipped on a runner that names its own Terraform.

The mirror is a folder served on loopback, laid out as HashiCorp's releases are; its `terraform` is a stand-in
script. The runner's PATH holds only the commands the install uses, and `curl` only reaches loopback.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from securecart_tf.pipeline import shell
from securecart_tf.versions import CI_TERRAFORM_VERSION

VERSION = ".".join(map(str, CI_TERRAFORM_VERSION))
ARCHIVE = f"terraform_{VERSION}_linux_amd64.zip"
SUMS = f"terraform_{VERSION}_SHA256SUMS"
STAND_IN = '#!/bin/sh\necho "stand-in terraform: $*"\n'
COMMANDS = ("mkdir", "mktemp", "grep", "sha256sum", "chmod")


@dataclass
class Mirror:
    url: str
    folder: Path
    requests: list[str]


class _Quiet(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        self.requests.append(self.path)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    """`<url>/<version>/` holds the zip with a `terraform` in it, and the SHA256SUMS of the release's files."""
    folder = tmp_path / "mirror" / VERSION
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / ARCHIVE, "w") as archive:
        archive.writestr("terraform", STAND_IN)
    digest = hashlib.sha256((folder / ARCHIVE).read_bytes()).hexdigest()
    (folder / SUMS).write_text(f"{'0' * 64}  terraform_{VERSION}_darwin_arm64.zip\n{digest}  {ARCHIVE}\n")
    requests: list[str] = []
    handler = type("Handler", (_Quiet,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Mirror(f"http://127.0.0.1:{server.server_address[1]}", folder, requests)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runner(tmp_path: Path) -> Path:
    """A PATH with only what the install needs; no Terraform. `curl` logs its arguments and reaches only loopback."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in COMMANDS:
        found = shutil.which(name)
        assert found is not None, f"{name} is not installed"
        (tools / name).symlink_to(found)
    (tools / "python3").symlink_to(Path(sys.executable).resolve())  # not a shim that needs more of PATH
    curl = shutil.which("curl")
    assert curl is not None, "curl is not installed"
    (tools / "curl").write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do last="$a"; done\necho "$last" >> "{tmp_path}/curl.log"\n'
        f'case "$last" in http://127.0.0.1:*) exec "{curl}" "$@";; esac\n'
        'echo "curl: (6) Could not resolve host" >&2\nexit 6\n'
    )
    (tools / "curl").chmod(0o755)
    return tools


def _install(
    tmp_path: Path, tools: Path, then: str = "terraform version", **variables: str
) -> subprocess.CompletedProcess[str]:
    """The job's install under bash with GitLab's `set -eo pipefail`, then `then`: Terraform run as the tool runs it."""
    script = "set -eo pipefail\n" + shell.install_terraform(str(tmp_path / "venv")) + then + "\n"
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": str(tools), "HOME": str(tmp_path), "TMPDIR": str(tmp_path), **variables}
    return subprocess.run([bash, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def _fetched(tmp_path: Path) -> list[str]:
    log = tmp_path / "curl.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_mirror_named_by_the_ci_variable_serves_the_release(tmp_path: Path, mirror: Mirror, runner: Path) -> None:
    done = _install(tmp_path, runner, SECURECART_TERRAFORM_MIRROR=mirror.url + "/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{ARCHIVE}: OK", "stand-in terraform: version"]
    assert mirror.requests == [f"/{VERSION}/{ARCHIVE}", f"/{VERSION}/{SUMS}"]
    assert (tmp_path / "venv" / "bin" / "terraform").read_text() == STAND_IN


def test_an_archive_that_does_not_match_its_checksum_fails_the_job(
    tmp_path: Path, mirror: Mirror, runner: Path
) -> None:
    with zipfile.ZipFile(mirror.folder / ARCHIVE, "a") as archive:
        archive.writestr("extra", "changed after the checksums were written")
    done = _install(tmp_path, runner, SECURECART_TERRAFORM_MIRROR=mirror.url)
    assert done.returncode != 0
    assert f"{ARCHIVE}: FAILED" in done.stdout + done.stderr
    assert "stand-in terraform" not in done.stdout
    assert not (tmp_path / "venv" / "bin" / "terraform").exists()


def test_without_a_mirror_the_release_comes_from_hashicorp_and_a_failed_fetch_stops_the_job(
    tmp_path: Path, runner: Path
) -> None:
    done = _install(tmp_path, runner)
    assert done.returncode == 6, done.stderr
    assert _fetched(tmp_path) == [f"https://releases.hashicorp.com/terraform/{VERSION}/{ARCHIVE}"]


def test_a_runner_that_names_its_terraform_downloads_none(tmp_path: Path, runner: Path) -> None:
    own = tmp_path / "opt" / "terraform"
    own.parent.mkdir()
    own.write_text('#!/bin/sh\necho "the runner\'s terraform: $*"\n')
    own.chmod(0o755)
    done = _install(tmp_path, runner, '"$SECURECART_TERRAFORM" version', SECURECART_TERRAFORM=str(own))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the runner's terraform: version"
    assert _fetched(tmp_path) == []
    assert not (tmp_path / "venv").exists()


def test_a_runner_with_terraform_on_its_path_downloads_none(tmp_path: Path, runner: Path) -> None:
    (runner / "terraform").write_text('#!/bin/sh\necho "terraform on PATH: $*"\n')
    (runner / "terraform").chmod(0o755)
    done = _install(tmp_path, runner)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "terraform on PATH: version"
    assert _fetched(tmp_path) == []
