"""`securecart-tf report` at organization scale: time, peak memory and output size per format, and --diff.

Each figure is one fresh process (`report -f json|md|html -o FILE`, then `report --diff HEAD -f md` after the
one-line change of bench/synth.py, in a git repository holding the synthetic organization), measured with
wait4: wall time, CPU time (user + system) and peak resident memory. The median of `--runs` runs is printed,
then the growth from each size to the next. Targets at 1,000 accounts: under 5 s and 300 MB for any format,
and under 10 s for --diff.

    .venv/bin/python bench/report_scale.py                       # 100, 1,000 and 3,000 accounts, 3 runs each
    .venv/bin/python bench/report_scale.py --sizes 1000 --runs 1 --json report.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as runner  # beside this script: bench/ is not a package
import synth

FORMATS = ("json", "md", "html")
AS_OF = "2026-06-01"
TARGET_SECONDS, TARGET_MB, TARGET_DIFF_SECONDS = 5.0, 300.0, 10.0


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def organization(work: Path, size: int) -> Path:
    """A synthetic organization of `size` accounts, committed to git, with the one-line change left uncommitted."""
    project = work / f"report-{size}"
    shutil.rmtree(project, ignore_errors=True)
    synth.write_project(project, synth.Size.scaled(size))
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "base")
    matrix = project / "access-matrix.yaml"
    before, after = synth.ONE_LINE_CHANGE
    matrix.write_text(matrix.read_text().replace(before, after))
    return project


def measure_size(work: Path, size: int, runs: int, formats: tuple[str, ...] = FORMATS) -> dict[str, Any]:
    project = organization(work, size)
    env = dict(os.environ, SECURECART_CACHE_DIR=str(work / f"cache-{size}"))
    row: dict[str, Any] = {}
    for fmt in formats:
        out = project / f"access.{fmt}"
        cmd = [*runner.cli(), "report", "-f", fmt, "-o", str(out), "--as-of", AS_OF]
        summary = runner.Summary.of([runner.run(cmd, project, env) for _ in range(runs)])
        row[fmt] = {**summary.__dict__, "bytes": out.stat().st_size}
    out = project / "diff.md"
    cmd = [*runner.cli(), "report", "--diff", "HEAD", "-f", "md", "-o", str(out), "--as-of", AS_OF]
    summary = runner.Summary.of([runner.run(cmd, project, env) for _ in range(runs)])
    row["diff"] = {**summary.__dict__, "bytes": out.stat().st_size}
    return row


def show(size: int, row: dict[str, Any]) -> None:
    runner.say(f"   {size:5d} accounts")
    for what in [w for w in (*FORMATS, "diff") if w in row]:
        m = row[what]
        label = f"-f {what}" if what in FORMATS else "--diff -f md"
        runner.say(
            f"      {label:13s} {m['wall']:6.2f} s wall {m['cpu']:6.2f} s CPU {m['rss_mib'] * runner.MIB / 1e6:5.0f} MB"
            f"   output {m['bytes'] / 1e6:8.3f} MB"
        )


def growth(rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for small, big in itertools.pairwise(sorted(rows)):
        factor = big / small
        ratios = {
            what: {
                "cpu": rows[big][what]["cpu"] / rows[small][what]["cpu"],
                "memory": rows[big][what]["rss_mib"] / rows[small][what]["rss_mib"],
                "bytes": rows[big][what]["bytes"] / max(1, rows[small][what]["bytes"]),
            }
            for what in (*FORMATS, "diff")
            if what in rows[big] and what in rows[small]
        }
        out[f"{small}->{big}"] = ratios
        parts = ", ".join(
            f"{w} CPU {r['cpu']:.2f}x mem {r['memory']:.2f}x size {r['bytes']:.2f}x" for w, r in ratios.items()
        )
        runner.say(f"   growth {small}→{big} ({factor:g}x the accounts): {parts}")
    return out


def verdict(rows: dict[int, dict[str, Any]]) -> None:
    if 1000 not in rows:
        return
    at = rows[1000]
    for what in [f for f in FORMATS if f in at]:
        seconds, mb = at[what]["wall"], at[what]["rss_mib"] * runner.MIB / 1e6
        ok = seconds < TARGET_SECONDS and mb < TARGET_MB
        runner.say(
            f"   target -f {what} at 1,000 accounts: under {TARGET_SECONDS:g} s and {TARGET_MB:g} MB: "
            f"{'met' if ok else 'MISSED'} ({seconds:.2f} s, {mb:.0f} MB)"
        )
    seconds = at["diff"]["wall"]
    runner.say(
        f"   target --diff at 1,000 accounts: under {TARGET_DIFF_SECONDS:g} s: "
        f"{'met' if seconds < TARGET_DIFF_SECONDS else 'MISSED'} ({seconds:.2f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="100,1000,3000", help="account counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure; the median is printed")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--formats", default=",".join(FORMATS), help="the formats to measure, comma-separated")
    parser.add_argument("--keep", type=Path, help="build the organizations here and keep them")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runner.say(f"securecart-tf report at scale: {os.cpu_count()} cores, load average {list(os.getloadavg())}")
    runner.say(f"== report of synthetic organizations (median of {args.runs}; one fresh process each)")
    with tempfile.TemporaryDirectory(prefix="securecart-report-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = {}
        for size in sizes:
            rows[size] = measure_size(work, size, args.runs, tuple(args.formats.split(",")))
            show(size, rows[size])
    result = {"sizes": {str(k): v for k, v in rows.items()}, "growth": growth(rows)}
    verdict(rows)
    runner.say(f"done; load average now {list(os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
