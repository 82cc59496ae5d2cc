"""Terraform's processes run with Go's collector held off until GOMEMLIMIT, unless the user chose otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from securecart_tf.run.terraform import go_runtime_env
from tests.helpers import explain, run_cli

# A stand-in for Terraform: answers `version`, and on `init` writes the Go settings it was given, then fails,
# so the run stops there without any AWS call.
FAKE = """\
import json, os, sys
if sys.argv[1:] == ["version", "-json"]:
    print(json.dumps({"terraform_version": "1.12.2"}))
    sys.exit(0)
if sys.argv[1] == "init":
    seen = {k: os.environ.get(k) for k in ("GOGC", "GOMEMLIMIT")}
    with open(sys.argv[0] + ".seen", "a") as f:
        f.write(json.dumps(seen) + "\\n")
sys.exit(1)
"""


def _seen(example_project: Path, tmp_path: Path, env: dict[str, str]) -> list[dict[str, str | None]]:
    fake = tmp_path / "terraform"
    fake.write_text(f"#!{sys.executable}\n{FAKE}")
    fake.chmod(0o755)
    project = example_project.parent
    result = run_cli(
        project, "plan", "--env", "dev", env={"SECURECART_TERRAFORM": str(fake), **env}, unset=("GO",), timeout=120
    )
    run_cli(project, "sandbox", "down")
    assert result.returncode == 1, explain(result)  # every init failed
    seen = [json.loads(line) for line in (tmp_path / "terraform.seen").read_text().splitlines()]
    assert seen, "no init ran"
    return seen


def test_terraform_runs_with_the_collector_off_up_to_the_memory_limit(example_project: Path, tmp_path: Path) -> None:
    for seen in _seen(example_project, tmp_path, {}):
        assert seen == {"GOGC": "off", "GOMEMLIMIT": "400MiB"}


def test_a_go_setting_of_the_users_own_is_left_as_it_is(example_project: Path, tmp_path: Path) -> None:
    for seen in _seen(example_project, tmp_path, {"GOGC": "50"}):
        assert seen == {"GOGC": "50", "GOMEMLIMIT": None}


@pytest.mark.parametrize("chosen", [{"GOGC": "200"}, {"GOMEMLIMIT": "2GiB"}, {"GOGC": "off", "GOMEMLIMIT": "1GiB"}])
def test_either_setting_of_the_users_keeps_both_as_the_user_has_them(chosen: dict[str, str]) -> None:
    assert go_runtime_env({"PATH": "/bin", **chosen}) == {}
