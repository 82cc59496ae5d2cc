"""The workspace: one run per environment, state tied to one sandbox session, owner-only folders, targets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from securecart_tf import sandbox
from securecart_tf.config.environments import AwsTarget
from securecart_tf.errors import LockHeld, SecureCartError
from securecart_tf.run.workspace import (
    PRIVATE_FOLDERS,
    Target,
    Workspace,
    check_aws_credentials,
    sandbox_endpoint_override,
)

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]


def _holder(home: Path, env: str) -> subprocess.Popen[str]:
    """Another securecart-tf process holding the environment's lock until its stdin closes."""
    code = textwrap.dedent(
        f"""\
        import sys
        from pathlib import Path
        from securecart_tf.run.workspace import Workspace
        with Workspace(Path({str(home)!r}), home=Path({str(home)!r})).lock({env!r}, "apply"):
            print("held", flush=True)
            sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"  # blocks until the lock is taken
    return proc


def test_a_second_run_on_an_environment_is_refused_naming_the_first(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, home=tmp_path)
    holder = _holder(tmp_path, "dev")
    try:
        with pytest.raises(LockHeld) as refused, ws.lock("dev", "apply"):
            pass
        assert "environment 'dev' is busy" in refused.value.message
        assert f"pid {holder.pid}" in refused.value.message
        assert "securecart-tf apply" in refused.value.message
        assert refused.value.hint and "nothing was changed" in refused.value.hint
        with ws.lock("prod", "apply"):  # another environment is free
            pass
    finally:
        holder.kill()  # even a killed holder releases the lock: the kernel drops it
        holder.wait()
    with ws.lock("dev", "plan"):
        lock_text = (tmp_path / "locks" / "dev.lock").read_text()
        assert f"pid {os.getpid()}" in lock_text and "plan" in lock_text
    assert (tmp_path / "locks" / "dev.lock").read_text() == ""


def test_state_of_an_earlier_sandbox_session_is_set_aside_whole(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, home=tmp_path)
    first = Target("sandbox", "sandbox:aaaa", "us-east-1")
    assert ws.reconcile_session(first) is None  # nothing to set aside yet
    state = ws.state_file("organization")
    state.parent.mkdir(parents=True)
    state.write_text('{"serial": 7}')
    plan = ws.plans("dev") / "organization.tfplan"
    plan.parent.mkdir(parents=True)
    plan.write_bytes(b"plan")
    assert ws.reconcile_session(first) is None  # same session: kept where it is
    assert state.read_text() == '{"serial": 7}'

    moved = ws.reconcile_session(Target("sandbox", "sandbox:bbbb", "us-east-1"))

    assert moved is not None and moved.is_relative_to(tmp_path)
    assert (moved / "state" / "organization" / "terraform.tfstate").read_text() == '{"serial": 7}'
    assert (moved / "plans" / "dev" / "organization.tfplan").read_bytes() == b"plan"
    assert not state.exists() and not plan.exists()
    assert json.loads((ws.state_root / "target.json").read_text()) == {"target": "sandbox:bbbb"}
    assert stat.S_IMODE(ws.state_root.stat().st_mode) == 0o700


def test_the_tools_folders_are_owner_only_even_if_they_were_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "state").mkdir(parents=True, mode=0o755)
    os.chmod(home / "state", 0o755)
    ws = Workspace(tmp_path, home=home)
    ws.ensure_writable()
    for name in PRIVATE_FOLDERS:
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o700, name

    fresh = Workspace(tmp_path, home=tmp_path / "new" / "home")
    fresh.ensure_writable()
    assert stat.S_IMODE((tmp_path / "new" / "home").stat().st_mode) == 0o700


def test_a_home_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("not a folder")
    ws = Workspace(tmp_path, home=tmp_path / "home")
    with pytest.raises(SecureCartError, match=f"cannot write to {tmp_path / 'home'}"):
        ws.ensure_writable()
    with pytest.raises(SecureCartError, match="cannot write to"), ws.lock("dev", "apply"):
        pass


def _info() -> sandbox.SandboxInfo:
    return sandbox.SandboxInfo(
        pid=1, port=4566, session="s1", access_key="AKIASANDBOXKEY", secret_key="sandbox-secret", started=0.0
    )


def test_a_sandbox_run_gets_the_sandboxs_keys_and_none_of_the_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALUSERKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-user-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", "https://iam.amazonaws.com")
    env = Target("sandbox", "sandbox:s1", "eu-west-1", info=_info()).env()
    assert env["AWS_ACCESS_KEY_ID"] == "AKIASANDBOXKEY"
    assert env["AWS_SECRET_ACCESS_KEY"] == "sandbox-secret"
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env
    assert "AWS_ENDPOINT_URL_IAM" not in env
    assert not any("real" in v or v == "production" for v in env.values())
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566" and env["AWS_REGION"] == "eu-west-1"


def test_the_sandbox_can_be_reached_through_another_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sandbox.ENDPOINT_VAR, raising=False)
    assert sandbox_endpoint_override() is None
    monkeypatch.setenv(sandbox.ENDPOINT_VAR, "http://127.0.0.1:9999/")
    assert sandbox_endpoint_override() == "http://127.0.0.1:9999"
    target = Target("sandbox", "sandbox:s1", "us-east-1", info=_info(), endpoint=sandbox_endpoint_override())
    env = target.env()
    assert {env["AWS_ENDPOINT_URL"], env["AWS_ENDPOINT_URL_S3"], env["AWS_ENDPOINT_URL_STS"]} == {
        "http://127.0.0.1:9999"
    }
    assert target.client("sts").meta.endpoint_url == "http://127.0.0.1:9999"
    monkeypatch.setenv(sandbox.ENDPOINT_VAR, "127.0.0.1:9999")
    with pytest.raises(SecureCartError, match="is not a URL"):
        sandbox_endpoint_override()


# ---- the aws target: credentials are checked before any Terraform runs ---------------------------------


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS config of our own, no credentials in the environment, no instance metadata to fall back on."""
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile securecart-mgmt]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\n"
        "aws_secret_access_key = example-secret-not-real\nregion = eu-west-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials-file"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    return tmp_path


def _aws(**target: object) -> AwsTarget:
    return AwsTarget.model_validate({"type": "aws", **target})


def test_a_configured_profile_passes_the_credentials_check(aws_home: Path) -> None:
    check_aws_credentials("prod", _aws(profile="securecart-mgmt", account_profiles={"prod": "securecart-mgmt"}))


def test_credentials_from_the_environment_pass_the_check(aws_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret-not-real")
    check_aws_credentials("prod", _aws())


def test_an_unknown_profile_is_named_with_the_environment_file(aws_home: Path) -> None:
    with pytest.raises(SecureCartError) as caught:
        check_aws_credentials("prod", _aws(profile="securecart-typo"))
    assert caught.value.message == "environment 'prod': AWS profile 'securecart-typo' is not configured"
    assert "environments/prod.yaml" in (caught.value.hint or "")


def test_an_unknown_account_profile_names_its_account(aws_home: Path) -> None:
    target = _aws(profile="securecart-mgmt", account_profiles={"staging": "securecart-stg"})
    with pytest.raises(SecureCartError, match="profile 'securecart-stg' for account staging is not configured"):
        check_aws_credentials("staging", target)


def test_no_credentials_at_all_is_a_clear_error(aws_home: Path) -> None:
    with pytest.raises(SecureCartError) as caught:
        check_aws_credentials("dev", _aws())
    assert (
        caught.value.message == "environment 'dev' targets AWS, but the default credential chain gives no credentials"
    )
    assert "aws sso login" in (caught.value.hint or "")
