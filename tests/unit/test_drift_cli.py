"""`securecart-tf drift` refuses bad input with a clear message and exit 1, never a traceback.

None of these cases needs Terraform or a sandbox, and none may start one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli, write_project
from tests.integration.conftest import SMALL_DEV, SMALL_MATRIX


def drift(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, "drift", *args, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "small", SMALL_MATRIX, {"dev": SMALL_DEV})


def _refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    for text in expected:
        assert text in output, output


def test_an_unknown_environment_names_the_known_ones(project: Path) -> None:
    _refused(drift(project, "--env", "prod"), "unknown environment 'prod'", "known environments: dev")


def test_without_a_running_sandbox_there_is_nothing_to_compare_and_none_is_started(project: Path) -> None:
    result = drift(project, "--env", "dev")
    _refused(result, "the sandbox is not running", "apply it first: securecart-tf apply --env dev")
    assert not (project / ".securecart" / "sandbox.json").exists()


def test_the_environment_is_required(project: Path) -> None:
    _refused(drift(project), "Missing option '--env'")


def test_parallelism_below_one_is_refused(project: Path) -> None:
    _refused(drift(project, "--env", "dev", "--parallelism", "0"), "--parallelism must be at least 1")


def test_a_broken_matrix_is_reported_with_its_line(project: Path) -> None:
    matrix = project / "access-matrix.yaml"
    matrix.write_text(
        matrix.read_text().replace("ou: Workloads, environment: dev}", "ou: Nowhere, environment: dev}", 1)
    )
    _refused(drift(project, "--env", "dev"), "access-matrix.yaml:", "Nowhere")
