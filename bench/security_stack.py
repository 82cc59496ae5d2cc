"""The security stack's apply in the sandbox, alone: wall seconds, and CPU seconds of the CLI with its Terraform
and of the sandbox serving it.

The organization stack of the security-baseline test's small matrix is applied first, untimed; then the
security stack, timed. Run it from a checkout (`PYTHONPATH=<another tree>` measures that tree's code):

    .venv/bin/python bench/security_stack.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from securecart_tf import sandbox
from tests.helpers import explain, run_cli, write_project
from tests.integration.test_security_baseline import BASELINE_DEV, BASELINE_MATRIX


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_once(folder: Path) -> dict[str, float]:
    project = write_project(folder / "project", BASELINE_MATRIX, {"dev": BASELINE_DEV})
    try:
        first = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--stacks", "organization")
        assert first.returncode == 0, explain(first)
        info = sandbox.read(project / ".securecart")
        assert info is not None, "the sandbox is not running"
        sandbox_before, children_before, start = _cpu_of(info.pid), _children_cpu(), time.monotonic()
        result = run_cli(project, "apply", "--env", "dev", "--auto-approve", "--stacks", "security")
        wall = time.monotonic() - start
        assert result.returncode == 0, explain(result)
        return {
            "wall": wall,
            "cli_cpu": _children_cpu() - children_before,
            "sandbox_cpu": _cpu_of(info.pid) - sandbox_before,
        }
    finally:
        sandbox.down(project / ".securecart")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="security-stack-") as tmp:
            runs.append(measure_once(Path(tmp)))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} run(s), medians:")
    for key in ("wall", "cli_cpu", "sandbox_cpu"):
        print(
            f"  {key:12} {statistics.median(r[key] for r in runs):7.1f} s   (each: {[round(r[key], 1) for r in runs]})"
        )


if __name__ == "__main__":
    main()
