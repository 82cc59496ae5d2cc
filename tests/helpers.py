"""Run the real command line in a project folder, and write small projects for it, as every suite needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT = 900
"""Long enough for an apply of a whole environment to the sandbox on a busy machine."""
LEFT_OUT = ("SECURECART_HOME", "SECURECART_DEBUG", "SECURECART_SANDBOX_ENDPOINT", "FORCE_COLOR")
"""Set in a developer's shell, these would change what a run does or prints; a test sets them itself."""


def cli_env(env: Mapping[str, str] | None = None, unset: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment `securecart-tf` runs in under test: this checkout importable, no colour, nothing from
    LEFT_OUT, no variable whose name starts with one of `unset`; then `env` on top."""
    environ = {k: v for k, v in os.environ.items() if k not in LEFT_OUT and not any(map(k.startswith, unset))}
    environ["NO_COLOR"] = "1"
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), environ.get("PYTHONPATH")) if p)
    environ.update(env or {})
    return environ


def run_cli(
    project: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    unset: tuple[str, ...] = (),
    input: str | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `securecart-tf ARGS` in the folder `project` the way a user would, through `python -m`, and wait.

    `env` and `unset` shape the environment as `cli_env` says; `input` is typed on stdin. Output is text,
    read as UTF-8 (a byte that is not shows as U+FFFD instead of failing the test elsewhere).
    """
    return subprocess.run(
        [sys.executable, "-m", "securecart_tf", *args],
        cwd=project,
        env=cli_env(env, unset),
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    """A run's exit code and the end of its output, for an assertion's message."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"


EXAMPLE_DEV_STACKS = (
    "organization",
    "security",
    "identity-center",
    "access-management",
    "access-security",
    "access-shared-services",
    "access-dev",
)
"""The SecureCart example's dev stacks, as a reader of access-matrix.yaml and environments/dev.yaml counts them:
the shared stacks dev names, and one access stack for each of its accounts."""


def copy_example(target: Path) -> Path:
    """The SecureCart example project (matrix, environments, policies) copied into `target`, returned."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("access-matrix.yaml", "environments", "policies"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)
    return target


def write_project(
    target: Path,
    matrix: str | Mapping[str, Any],
    environments: Mapping[str, str | Mapping[str, Any]],
    files: Mapping[str, str] | None = None,
) -> Path:
    """A small project in `target` (returned): access-matrix.yaml, environments/NAME.yaml and any other files
    (by path in the project). Text is written dedented; a mapping is written as YAML, in its own key order."""
    target.mkdir(parents=True, exist_ok=True)
    _write(target / "access-matrix.yaml", matrix)
    (target / "environments").mkdir(exist_ok=True)
    for name, environment in environments.items():
        _write(target / "environments" / f"{name}.yaml", environment)
    for rel, text in (files or {}).items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        _write(target / rel, text)
    return target


def _write(path: Path, content: str | Mapping[str, Any]) -> None:
    if isinstance(content, str):
        path.write_text(textwrap.dedent(content))
    else:
        path.write_text(yaml.safe_dump(dict(content), sort_keys=False))


_BOTO3_SESSION: Any = None
_BOTO3_LOCK = threading.Lock()


def boto3_client(
    service: str, endpoint: str, credentials: Mapping[str, str], *, region: str = "us-east-1", config: Any = None
) -> Any:
    """A boto3 client for `endpoint` with `credentials` (AccessKeyId, SecretAccessKey and, from STS, SessionToken).

    Every client comes from one session, which loads each service's model once: a session of its own per client
    would read the model again each time (about a quarter of a CPU-second), and the checks make hundreds. A
    session is not thread-safe, so clients are made one at a time (the clients themselves are)."""
    global _BOTO3_SESSION
    import boto3

    with _BOTO3_LOCK:
        if _BOTO3_SESSION is None:
            _BOTO3_SESSION = boto3.session.Session()
        return _BOTO3_SESSION.client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials.get("SessionToken"),
            config=config,
        )


def sandbox_client(
    info: Any,
    service: str,
    account_id: str | None = None,
    *,
    role: str = "OrganizationAccountAccessRole",
    region: str = "us-east-1",
    config: Any = None,
) -> Any:
    """A boto3 client in the sandbox `info` describes: in its management account, or in `account_id` through
    STS AssumeRole of `role`, as Terraform and the tool reach member accounts; in `region`, with botocore
    `config` if given."""
    management = {"AccessKeyId": info.access_key, "SecretAccessKey": info.secret_key}
    if account_id is None:
        return boto3_client(service, info.endpoint, management, region=region, config=config)
    creds = boto3_client("sts", info.endpoint, management, region=region).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="securecart-tf-tests"
    )["Credentials"]
    return boto3_client(service, info.endpoint, creds, region=region, config=config)


def log_bucket_lifecycle_rules(days: int) -> list[dict[str, Any]]:
    """The security baseline's log buckets' lifecycle rules as S3's GetBucketLifecycleConfiguration answers them:
    current and old versions expire after `days`, incomplete multipart uploads after 7. The same whether the
    module puts them through aws_s3_bucket_lifecycle_configuration or the bucket's inline lifecycle_rule."""
    return [
        {
            "ID": "retention",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "Expiration": {"Days": days},
            "NoncurrentVersionExpiration": {"NoncurrentDays": days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
