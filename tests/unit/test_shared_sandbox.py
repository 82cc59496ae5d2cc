"""SECURECART_SANDBOX_URL: runs on other machines (CI jobs) use one sandbox, and all record the same target.

A real sandbox is started in one folder; two other project folders, standing for two CI jobs, name it by URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from securecart_tf import sandbox
from securecart_tf.config.environments import Environment
from securecart_tf.errors import SandboxError, SecureCartError
from securecart_tf.run.workspace import Workspace

DEV = Environment(name="dev", accounts=["alpha"])


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sandbox.SandboxInfo]:
    home = tmp_path_factory.mktemp("host") / ".securecart"
    info, _ = sandbox.up(home)
    try:
        yield info
    finally:
        sandbox.down(home)


def test_two_jobs_naming_the_url_share_the_sandbox_and_its_target(
    running: sandbox.SandboxInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sandbox.URL_VAR, running.endpoint)
    first, notices = Workspace(tmp_path / "job-1").target(DEV, "us-east-1")
    second, _ = Workspace(tmp_path / "job-2").target(DEV, "us-east-1")

    assert first.id == second.id == f"sandbox:{running.session}"
    assert first.endpoint == running.endpoint
    assert notices == [f"using the shared sandbox at {running.endpoint} ({sandbox.URL_VAR})"]
    assert not (tmp_path / "job-1" / ".securecart" / "sandbox.json").exists(), "no sandbox of its own"
    # what one job creates, the other sees
    first.client("s3").create_bucket(Bucket="shared-between-jobs")
    assert "shared-between-jobs" in [b["Name"] for b in second.client("s3").list_buckets()["Buckets"]]


def test_a_url_where_no_sandbox_answers_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.URL_VAR, "http://127.0.0.1:9")
    with pytest.raises(SandboxError) as refused:
        Workspace(tmp_path).target(DEV, "us-east-1")
    assert "http://127.0.0.1:9" in str(refused.value) and sandbox.URL_VAR in str(refused.value)
    assert not (tmp_path / ".securecart" / "sandbox.json").exists()


def test_a_value_that_is_not_a_url_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.URL_VAR, "sandbox.internal:5000")
    with pytest.raises(SecureCartError) as refused:
        Workspace(tmp_path).target(DEV, "us-east-1")
    assert str(refused.value).startswith(f"{sandbox.URL_VAR}='sandbox.internal:5000' is not a URL")
