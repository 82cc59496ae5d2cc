"""What a second region costs an access stack's plan: CPU seconds of `plan --stacks access-alpha --refresh` (the CLI
with its Terraform and providers) when the region guardrail allows one region, then two.

A small matrix: one workload account whose baseline settings (the account's public access block and EBS
encryption by default) make its access stack; each region past the home region adds a provider alias. The
organization stack is applied first, untimed; then the plans alternate between one and two regions, so that a
change in the machine's load falls on both. Run it from a checkout:

    .venv/bin/python bench/account_regions.py [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project

MATRIX = """\
version: 1
organization:
  name: benchorg
  management_account: management
  units:
    - name: Workloads
accounts:
  - {name: management, email: mgmt@bench.example, ou: /}
  - {name: alpha, email: alpha@bench.example, ou: Workloads, environment: dev}
guardrails:
  - name: region-allow-list
    builtin: region-allow-list
    parameters: {regions: REGIONS}
    targets: {ous: [Workloads]}
security_baseline:
  account: alpha
  cloudtrail: false
  guardduty: false
  config: false
  access_analyzer: false
  every_account:
    s3_public_access_block: true
    ebs_encryption: true
    overrides:
      management: {s3_public_access_block: false, ebs_encryption: false}
"""
DEV = "name: dev\nstacks: [organization, security]\naccounts: [management, alpha]\napproval: none\n"
REGIONS = {1: "[us-east-1]", 2: "[us-east-1, eu-west-1]"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _plan(project: Path, regions: int) -> tuple[float, float]:
    """CPU and wall seconds of one plan of the access stack with `regions` regions allowed."""
    (project / "access-matrix.yaml").write_text(MATRIX.replace("REGIONS", REGIONS[regions]))
    before, start = _children_cpu(), time.monotonic()
    result = run_cli(project, "plan", "--env", "dev", "--stacks", "access-alpha", "--refresh")
    assert result.returncode == 2, explain(result)  # changes: the stack is never applied
    return _children_cpu() - before, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="securecart-regions-") as tmp:
        project = write_project(Path(tmp) / "project", MATRIX.replace("REGIONS", REGIONS[1]), {"dev": DEV})
        try:
            first = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--stacks", "organization")
            assert first.returncode == 0, explain(first)
            runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            for _ in range(args.runs):
                for regions in (1, 2):
                    runs[regions].append(_plan(project, regions))
        finally:
            sandbox.down(project / ".securecart")
    for regions, samples in runs.items():
        cpu = statistics.median(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        print(f"{regions} region(s): median {cpu:.2f} CPU-s, {wall:.1f} s wall over {len(samples)} plans")
    extra = statistics.median(c for c, _ in runs[2]) - statistics.median(c for c, _ in runs[1])
    print(f"the second region: +{extra:.2f} CPU-s a plan")


if __name__ == "__main__":
    main()
