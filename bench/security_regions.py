"""The security stack in two regions, two ways: one root with a provider alias per region, or one root per region.

In a fresh sandbox each time, the organization stack of the security-baseline test's matrix (which allows
us-east-1 and eu-west-1) is applied with `securecart-tf`, untimed, and the security stack rendered. Then Terraform
itself inits, plans and applies, timed step by step (wall seconds, and CPU seconds of Terraform with its provider
processes, from `RUSAGE_CHILDREN`; and of the sandbox serving it):

- aliases: the rendered security stack as it is, the home region's provider and one alias for eu-west-1;
- stacks: the same stack without the other region's alias and module block, then a second root for eu-west-1
  alone, whose provider is its default one, calling `security-baseline/region` with what the first created.

    .venv/bin/python bench/security_regions.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.security_stack import _children_cpu, _cpu_of
from securecart_tf import sandbox
from securecart_tf.run.terraform import cli_config
from tests.helpers import explain, run_cli, write_project
from tests.integration.test_security_baseline import BASELINE_DEV, BASELINE_MATRIX

OTHER = "eu-west-1"
STEPS = ("init", "plan", "apply")
REGION_ROOT = """\
variable "config_role_arn" {
  type = string
}

variable "log_bucket" {
  type = string
}

module "security_baseline_region" {
  source          = "../../modules/security-baseline/region"
  name_prefix     = "baseorg"
  config_role_arn = var.config_role_arn
  log_bucket      = var.log_bucket
}
"""


def _terraform(root: Path, env: dict[str, str], pid: int, *args: str) -> dict[str, float]:
    """One Terraform command in `root`: its wall and CPU seconds, and the sandbox's CPU seconds meanwhile."""
    sandbox_before, children_before, start = _cpu_of(pid), _children_cpu(), time.monotonic()
    done = subprocess.run(["terraform", *args], cwd=root, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    assert done.returncode == 0, f"terraform {' '.join(args)} in {root}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return {"wall": wall, "cpu": _children_cpu() - children_before, "sandbox_cpu": _cpu_of(pid) - sandbox_before}


def _run_root(root: Path, env: dict[str, str], pid: int, extra: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    return {
        "init": _terraform(root, env, pid, "init", "-input=false", "-no-color"),
        "plan": _terraform(root, env, pid, "plan", "-input=false", "-no-color", "-out=tfplan", *extra),
        "apply": _terraform(root, env, pid, "apply", "-input=false", "-no-color", "tfplan"),
    }


def _project(folder: Path, matrix: str) -> tuple[Path, sandbox.SandboxInfo, dict[str, str]]:
    """A project whose organization stack is applied, its security stack rendered; the sandbox, and the env
    Terraform needs to reach it."""
    project = write_project(folder / "project", matrix, {"dev": BASELINE_DEV})
    first = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--stacks", "organization")
    assert first.returncode == 0, explain(first)
    rendered = run_cli(project, "generate", "--env", "dev", "--out", str(folder / "build"))
    assert rendered.returncode == 0, explain(rendered)
    info = sandbox.read(project / ".securecart")
    assert info is not None, "the sandbox is not running"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(info.terraform_env("us-east-1"))
    env["TF_CLI_CONFIG_FILE"] = str(cli_config(folder / "tf-home"))
    env["TF_IN_AUTOMATION"] = "1"
    return project, info, env


def measure_aliases(folder: Path) -> dict[str, dict[str, float]]:
    project, info, env = _project(folder, BASELINE_MATRIX)
    try:
        return _run_root(folder / "build" / "dev" / "security", env, info.pid)
    finally:
        sandbox.down(project / ".securecart")


def measure_stacks(folder: Path) -> dict[str, dict[str, float]]:
    project, info, env = _project(folder, BASELINE_MATRIX)
    try:
        home = folder / "build" / "dev" / "security"
        _cut(home / "providers.tf", rf"\n# The same account in {OTHER},.*?\n}}\n")
        _cut(home / "main.tf", rf"\n# {OTHER}: .*?\n}}\n")
        tfvars = json.loads((home / "terraform.tfvars.json").read_text())
        first = _run_root(home, env, info.pid)
        other = folder / "build" / "dev" / f"security-{OTHER}"
        other.mkdir()
        shutil.copy(home / "providers.tf", other / "providers.tf")
        (other / "main.tf").write_text(REGION_ROOT)
        account = tfvars["account_id"]
        role = f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        iam = _iam_roles(info, account)
        role = next((r for r in iam if "/aws-service-role/config.amazonaws.com/" in r), role)
        (other / "terraform.tfvars.json").write_text(
            json.dumps(
                {
                    "region": OTHER,
                    "account_id": account,
                    "config_role_arn": role,
                    "log_bucket": f"baseorg-security-logs-{account}",
                }
            )
        )
        second = _run_root(other, env, info.pid)
        return {step: {k: first[step][k] + second[step][k] for k in first[step]} for step in STEPS}
    finally:
        sandbox.down(project / ".securecart")


def _cut(path: Path, pattern: str) -> None:
    """Take the one block `pattern` matches out of a rendered file."""
    text, count = re.subn(pattern, "", path.read_text(), count=1, flags=re.DOTALL)
    assert count == 1, f"{path}: nothing matches {pattern}"
    path.write_text(text)


def _iam_roles(info: sandbox.SandboxInfo, account: str) -> list[str]:
    from tests.helpers import sandbox_client

    roles = sandbox_client(info, "iam", account).list_roles(PathPrefix="/aws-service-role/")["Roles"]
    return [str(r["Arn"]) for r in roles]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[dict[str, dict[str, float]]]] = {"aliases": [], "stacks": []}
    for _ in range(args.runs):
        for shape, measure in (("aliases", measure_aliases), ("stacks", measure_stacks)):
            with tempfile.TemporaryDirectory(prefix=f"security-{shape}-") as tmp:
                results[shape].append(measure(Path(tmp)))
            print(f"{shape}, load average {os.getloadavg()[0]:.1f}: {json.dumps(results[shape][-1])}", flush=True)
    print(f"{args.runs} run(s), medians (wall s / Terraform CPU s / sandbox CPU s):")
    for shape, runs in results.items():
        cells = []
        for step in STEPS:
            wall, cpu, server = (statistics.median(r[step][k] for r in runs) for k in ("wall", "cpu", "sandbox_cpu"))
            cells.append(f"{step} {wall:6.1f} / {cpu:5.1f} / {server:4.1f}")
        print(f"  {shape:8} " + "   ".join(cells))


if __name__ == "__main__":
    main()
