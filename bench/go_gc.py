"""What Go's collector costs Terraform: CPU and peak memory of the same runs, with and without the tool's settings.

Terraform and the AWS provider are Go programs. securecart-tf runs them with `GOGC=off` and `GOMEMLIMIT=400MiB`
(collection held off until a process holds 400 MiB) unless the user set either variable. This script writes a
small organization (one OU, two accounts, a permission set, a role in each account: four stacks), and for each
setting, in a fresh sandbox, times an `apply` from nothing and then `plan --refresh` of every stack, as fresh
processes whose children (Terraform, the provider) are counted. The sandbox's own CPU is not counted.

    python bench/go_gc.py [--rounds N]

Each round runs in a process of its own, so the peak memory printed is that round's. Prints one line per
run and, per setting, the median CPU-seconds and the ratio to Go's default.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import cli_env, write_project  # noqa: E402
from tests.integration.conftest import SMALL_DEV, SMALL_MATRIX  # noqa: E402

SETTINGS = {
    "Go's default (GOGC=100)": {"GOGC": "100"},
    "the tool's (GOGC=off, GOMEMLIMIT=400MiB)": {},
    "GOGC=400": {"GOGC": "400"},
}
"""A setting of the user's wins over the tool's, so Go's default is measured by setting it."""


def _subreaper() -> None:
    """Become the parent of every orphan below us, so a sandbox left running is never counted by someone else."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _timed(project: Path, env: dict[str, str], *args: str) -> tuple[float, float, int]:
    """Wall seconds, CPU-seconds of the command and its waited-for children, and the largest child's MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "securecart_tf", *args], cwd=project, env=env, capture_output=True, check=False
    )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        sys.exit(f"securecart-tf {' '.join(args)} failed:\n{done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss // 1024


def _round(setting: dict[str, str], scratch: Path) -> dict[str, tuple[float, float, int]]:
    project = write_project(scratch, SMALL_MATRIX, {"dev": SMALL_DEV})
    env = cli_env(setting, unset=("GOGC", "GOMEMLIMIT"))
    try:
        return {
            "apply": _timed(project, env, "apply", "--env", "dev", "--auto-approve"),
            "plan --refresh": _timed(project, env, "plan", "--env", "dev", "--refresh"),
        }
    finally:
        down = [sys.executable, "-m", "securecart_tf", "sandbox", "down"]
        subprocess.run(down, cwd=project, env=env, capture_output=True, check=False)
        while True:  # reap the sandbox we stopped
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _one(name: str, scratch: Path) -> None:
    """One round of one setting, in a process of its own: the peak memory of its children is theirs alone."""
    _subreaper()
    figures = _round(SETTINGS[name], scratch)
    print(json.dumps({step: list(values) for step, values in figures.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, interleaved (default 2)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.scratch)
        return
    cpu: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for i, name in enumerate(SETTINGS):
                scratch = Path(tmp) / f"{n}-{i}"
                one = [sys.executable, __file__, "--one", name, "--scratch", str(scratch)]
                done = subprocess.run(one, capture_output=True, text=True, check=True)
                for step, (wall, used, rss) in json.loads(done.stdout.splitlines()[-1]).items():
                    cpu.setdefault((name, step), []).append(used)
                    load = os.getloadavg()[0]
                    figures = f"{wall:6.1f} s wall {used:6.1f} CPU-s  peak {rss:4d} MiB  load {load:.1f}"
                    print(f"{name:42} {step:15} {figures}", flush=True)
    print()
    default = next(iter(SETTINGS))
    for step in ("apply", "plan --refresh"):
        base = statistics.median(cpu[(default, step)])
        for name in SETTINGS:
            median = statistics.median(cpu[(name, step)])
            print(f"{step:15} {name:42} median {median:6.1f} CPU-s  ratio to Go's default {median / base:.2f}")


if __name__ == "__main__":
    main()
