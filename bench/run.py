"""securecart-tf benchmarks: the figures of bench/RESULTS.md, each the median of several runs.

    python bench/run.py                 # every figure, 3 runs each (about 8 minutes on 2 cores)
    python bench/run.py --quick         # one run each, 2 member stacks in the sandbox: under two minutes
    python bench/run.py --only scale,incremental --sizes 10,100,1000

Figures:

- scale: `validate` and `generate` of synthetic organizations (bench/synth.py) of 10, 100, 1,000 and 3,000
  accounts, each a fresh process: wall time, CPU time and peak resident memory, and the growth per step.
- incremental: `generate` after a one-line change into a folder that holds the previous output: the files
  rewritten, and the time against a full `generate` into an empty folder.
- orchestration: in the sandbox, a plan of N member-account stacks by the tool at its default parallelism
  (`plan --refresh`), against the same stacks planned with raw `terraform plan`, one after another and
  with a process pool at the same parallelism. Terraform is wrapped in a shim that logs every process.
  With it, in the same sandbox:
  - the no-change fast path: `plan` with nothing changed since the last apply (no --refresh), against the
    full plan;
  - memory: the peak of the tool's whole process tree during the full plan, and of each Terraform plan
    (Terraform and its provider), against the PROVIDER_MEMORY_MIB that default_parallelism() assumes.
- security: in a fresh sandbox each run, `apply` of the security stack alone (the full security baseline),
  after the organization stack it needs: the stack's time, its Terraform apply, and how long the AWS
  provider's waiters polled after their writes, read from its debug log (bench/tflog.py).

Run it from the repository's virtualenv: `make bench` or `make bench-quick`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # beside this script: bench/ is not a package
import tflog

MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
MEMBERS_ENV = "members"


# ---- measuring processes ------------------------------------------------------------------------------


@dataclass
class Measure:
    """One process run: wall time, CPU time (user + system, its children included) and peak memory."""

    wall: float
    cpu: float
    rss_mib: float
    """Peak resident memory of the process itself (ru_maxrss)."""
    code: int
    stdout: str = ""
    stderr: str = ""
    tree_rss_mib: float = 0.0
    """Peak of the summed resident memory of the process and all its descendants, sampled."""
    tree_pss_mib: float = 0.0
    """The same, proportional set size: shared pages split between the processes that share them."""
    children_rss_mib: list[float] = field(default_factory=list)
    children_pss_mib: list[float] = field(default_factory=list)
    """Peak of each direct child's subtree (for the tool: one Terraform process and its provider each)."""


def cli() -> list[str]:
    script = Path(sys.executable).with_name("securecart-tf")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "securecart_tf"]


def _children(pid: int) -> list[int]:
    out = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    return out


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += _children(p)
    return found


def _rss(pids: list[int]) -> int:
    """Resident memory in bytes, summed over `pids` (shared pages counted in each process)."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{p}/statm") as f:
            total += int(f.read().split()[1]) * PAGE
    return total


def _pss(pids: list[int]) -> int:
    """Proportional set size in bytes, summed over `pids`: each shared page split between its sharers."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


class TreeSampler:
    """Samples the memory of a process tree until stopped; keeps the peak of the whole tree and of the
    subtree under each direct child (for the tool: each Terraform process and its provider)."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid = pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self.child_rss: dict[int, int] = {}
        self.child_pss: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            subtrees = {child: _tree(child) for child in _children(self.pid)}
            pids = [self.pid] + [p for tree in subtrees.values() for p in tree]
            rss = _rss(pids)
            if rss >= 0.9 * self.peak_rss:  # PSS costs the kernel a page-table walk: only near a peak
                self.peak_pss = max(self.peak_pss, _pss(pids))
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            for child, tree in subtrees.items():
                child_rss = _rss(tree)
                if child_rss >= 0.9 * self.child_rss.get(child, 0):
                    self.child_pss[child] = max(self.child_pss.get(child, 0), _pss(tree))
                self.child_rss[child] = max(self.child_rss.get(child, 0), child_rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, *, sample_tree: bool = False, check: bool = True
) -> Measure:
    """Run `cmd` to the end; measure it with wait4 (and the /proc sampler when `sample_tree`)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid) if sample_tree else None
        if sampler is not None:
            sampler.__enter__()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if sampler is not None:
            sampler.__exit__()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        m = Measure(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            rss_mib=usage.ru_maxrss / 1024,
            code=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
    if sampler is not None:
        m.tree_rss_mib = sampler.peak_rss / MIB
        m.tree_pss_mib = sampler.peak_pss / MIB
        m.children_rss_mib = sorted(v / MIB for v in sampler.child_rss.values())
        m.children_pss_mib = sorted(v / MIB for v in sampler.child_pss.values())
    if check and m.code not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd)} exited {m.code} in {cwd}:\n{m.stdout[-2000:]}\n{m.stderr[-2000:]}")
    return m


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Summary:
    """Medians of several runs."""

    runs: int
    wall: float
    cpu: float
    rss_mib: float
    tree_rss_mib: float = 0.0
    tree_pss_mib: float = 0.0
    walls: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, measures: list[Measure]) -> Summary:
        return cls(
            runs=len(measures),
            wall=median([m.wall for m in measures]),
            cpu=median([m.cpu for m in measures]),
            rss_mib=max(m.rss_mib for m in measures),
            tree_rss_mib=max(m.tree_rss_mib for m in measures),
            tree_pss_mib=max(m.tree_pss_mib for m in measures),
            walls=[round(m.wall, 3) for m in measures],
        )

    def short(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s CPU {self.rss_mib:5.0f} MiB"


def say(text: str = "") -> None:
    print(text, flush=True)


# ---- generate at scale --------------------------------------------------------------------------------


def bench_scale(work: Path, sizes: list[int], runs: int, warm: bool = True) -> dict[str, Any]:
    say(f"== generate at scale: validate, then generate, each a fresh process (median of {runs})")
    say("   (each run starts with an empty lint cache, as a first run does; 'warm' repeats validate after it)")
    startup = Summary.of([run([*cli(), "--version"], work) for _ in range(runs)])
    say(f"   start-up (securecart-tf --version): {startup.short()}")
    rows: dict[int, dict[str, Any]] = {}
    for size in sizes:
        project = work / f"scale-{size}"
        stats = synth.write_project(project, synth.Size.scaled(size))
        validate, generate, again = [], [], []
        for i in range(runs):
            env = dict(os.environ, SECURECART_CACHE_DIR=str(work / f"lint-cache-{size}-{i}"))
            out = project / f"build-{i}"
            shutil.rmtree(out, ignore_errors=True)
            validate.append(run([*cli(), "validate"], project, env))
            generate.append(run([*cli(), "generate", "--out", str(out)], project, env))
            if warm:
                again.append(run([*cli(), "validate"], project, env))
        v, g = Summary.of(validate), Summary.of(generate)
        rows[size] = {
            "stats": asdict(stats),
            "stacks": sum(1 for _ in (project / "build-0").glob("*/*/terraform.tfvars.json")),
            "validate": asdict(v),
            "generate": asdict(g),
            "validate_warm": asdict(Summary.of(again)) if again else None,
            "total_wall": v.wall + g.wall,
            "total_cpu": v.cpu + g.cpu,
            "peak_rss_mib": max(v.rss_mib, g.rss_mib),
        }
        say(
            f"   {size:5d} accounts ({stats.assignments:,} assignments, {stats.placements:,} placements, "
            f"{rows[size]['stacks']:,} stacks, {stats.yaml_bytes / 1024:,.0f} KiB of YAML)"
        )
        say(f"         validate        {v.short()}")
        say(f"         generate        {g.short()}")
        say(
            f"         together        {rows[size]['total_wall']:6.2f} s wall {rows[size]['total_cpu']:6.2f} s CPU "
            f"{rows[size]['peak_rss_mib']:5.0f} MiB peak"
        )
        if again:
            say(f"         validate, warm  {Summary.of(again).short()}")
    growth = {}
    ordered = sorted(rows)
    for small, big in itertools.pairwise(ordered):
        factor = big / small
        wall = rows[big]["total_wall"] / rows[small]["total_wall"]
        cpu = rows[big]["total_cpu"] / rows[small]["total_cpu"]
        fixed = 2 * startup.cpu  # two processes, each paying the start-up
        above_startup = (rows[big]["total_cpu"] - fixed) / max(1e-9, rows[small]["total_cpu"] - fixed)
        growth[f"{small}->{big}"] = {"size": factor, "wall": wall, "cpu": cpu, "cpu_above_startup": above_startup}
        say(
            f"   growth {small}→{big} ({factor:g}x the size): wall {wall:.2f}x, CPU {cpu:.2f}x, "
            f"CPU above the two start-ups {above_startup:.2f}x"
        )
    if 1000 in rows:
        at = rows[1000]
        ok_time = at["total_wall"] < 5.0
        ok_mem = at["peak_rss_mib"] * MIB / 1e6 < 500
        say(
            f"   target at 1,000 accounts: under 5 s ({'met' if ok_time else 'MISSED'}, "
            f"{at['total_wall']:.2f} s) and under 500 MB ({'met' if ok_mem else 'MISSED'}, "
            f"{at['peak_rss_mib'] * MIB / 1e6:.0f} MB)"
        )
    return {"startup": asdict(startup), "sizes": {str(k): v for k, v in rows.items()}, "growth": growth}


# ---- incremental generate -----------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[Path, tuple[int, int, int]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[p] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def bench_incremental(work: Path, size: int, runs: int) -> dict[str, Any]:
    say(f"== incremental generate: {size:,} accounts, one line changed (median of {runs})")
    project = work / f"incremental-{size}"
    synth.write_project(project, synth.Size.scaled(size))
    matrix = project / "access-matrix.yaml"
    original = matrix.read_text()
    before, after = synth.ONE_LINE_CHANGE
    assert original.count(before) == 1, "the one-line change must match exactly one line"
    edited = original.replace(before, after)
    env = dict(os.environ, SECURECART_CACHE_DIR=str(work / "lint-cache-incremental"))
    run([*cli(), "validate"], project, env)  # every generate below finds the lint cache warm, as in daily use
    full = []
    for i in range(runs):
        out = project / f"full-{i}"
        shutil.rmtree(out, ignore_errors=True)
        full.append(run([*cli(), "generate", "--out", str(out)], project, env))
    out = project / "build"
    shutil.rmtree(out, ignore_errors=True)
    run([*cli(), "generate", "--out", str(out)], project, env)
    files = len(_snapshot(out))
    unchanged, unchanged_rewritten = [], []
    for _ in range(runs):
        snap = _snapshot(out)
        unchanged.append(run([*cli(), "generate", "--out", str(out)], project, env))
        later = _snapshot(out)
        unchanged_rewritten.append(sum(1 for p in later if snap.get(p) != later[p]))
    changed, rewritten_counts, stacks_touched = [], [], []
    for i in range(runs):
        matrix.write_text(edited if i % 2 == 0 else original)
        snap = _snapshot(out)
        changed.append(run([*cli(), "generate", "--out", str(out)], project, env))
        later = _snapshot(out)
        rewritten = sorted(p for p in later if snap.get(p) != later[p])
        rewritten_counts.append(len(rewritten))
        stacks_touched.append(sorted({p.parent.name for p in rewritten if p.name != "manifest.json"}))
    matrix.write_text(original)
    f, u, c = Summary.of(full), Summary.of(unchanged), Summary.of(changed)
    say(f"   full generate into an empty folder: {f.short()}  ({files:,} files written)")
    say(f"   generate, nothing changed:          {u.short()}  ({median(unchanged_rewritten):.0f} files rewritten)")
    say(
        f"   generate after the one-line change: {c.short()}  "
        f"({median(rewritten_counts):.0f} files rewritten, stacks {', '.join(stacks_touched[0])})"
    )
    say(f"   ratio changed/full: {c.wall / f.wall:.2f}x wall, {c.cpu / f.cpu:.2f}x CPU")
    return {
        "size": size,
        "files": files,
        "full": asdict(f),
        "unchanged": asdict(u),
        "changed": asdict(c),
        "unchanged_rewritten": unchanged_rewritten,
        "files_rewritten": rewritten_counts,
        "stacks_touched": stacks_touched[0],
        "ratio_wall": c.wall / f.wall,
        "ratio_cpu": c.cpu / f.cpu,
    }


# ---- orchestration in the sandbox ---------------------------------------------------------------------


SHIM = """#!/bin/sh
# Logs each Terraform process the tool starts (command and stack folder), then runs Terraform.
printf '%s %s\\n' "$1" "${PWD##*/}" >> "$SECURECART_BENCH_TF_LOG"
exec "$SECURECART_BENCH_TF_REAL" "$@"
"""


class Sandbox:
    """A sandbox project with `members` member accounts, applied: the organization and N access stacks."""

    def __init__(self, work: Path, members: int):
        self.root = work / f"sandbox-{members}"
        shutil.rmtree(self.root, ignore_errors=True)
        self.stacks = synth.write_sandbox_project(self.root, members)
        self.home = self.root / ".securecart"
        real = shutil.which("terraform")
        if real is None:
            raise SystemExit("terraform is not on PATH")
        self.real = real
        self.shim = work / "terraform-shim"
        self.shim.write_text(SHIM)
        self.shim.chmod(0o755)
        self.log = work / "terraform-processes.log"
        self.env = {k: v for k, v in os.environ.items() if k != "SECURECART_HOME"}
        self.env.update(
            {
                "SECURECART_HOME": str(self.home),
                "SECURECART_CACHE_DIR": str(work / "lint-cache-sandbox"),
                "SECURECART_TERRAFORM": str(self.shim),
                "SECURECART_BENCH_TF_LOG": str(self.log),
                "SECURECART_BENCH_TF_REAL": real,
            }
        )

    def tool(self, *args: str, sample_tree: bool = False) -> tuple[Measure, Counter[str]]:
        self.log.write_text("")
        m = run([*cli(), *args], self.root, self.env, sample_tree=sample_tree)
        processes = Counter(line.split()[0] for line in self.log.read_text().splitlines() if line.strip())
        return m, processes

    def terraform_env(self) -> dict[str, str]:
        """The environment the tool gives each Terraform process: the sandbox, and the tool's CLI config."""
        from securecart_tf.config.load import load_project
        from securecart_tf.run.terraform import cli_config
        from securecart_tf.run.workspace import Workspace

        project = load_project(self.root / "access-matrix.yaml")
        ws = Workspace(self.root, home=self.home)
        members = project.environments[MEMBERS_ENV]
        target, _ = ws.target(members, project.matrix.organization.home_region, start_sandbox=False)
        env = target.env()
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(cli_config(ws.tool_home)),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        return env

    def stack_dir(self, stack: str) -> Path:
        return self.root / "build" / MEMBERS_ENV / stack

    def down(self) -> None:
        run([*cli(), "sandbox", "down"], self.root, self.env, check=False)


def raw_plan(folder: Path, env: dict[str, str], binary: str, plans: Path) -> Measure:
    """`terraform plan` as the tool runs it (same flags, same CLI config), in one rendered stack folder."""
    cmd = [
        binary,
        "plan",
        "-input=false",
        "-no-color",
        "-json",
        "-detailed-exitcode",
        f"-out={plans / (folder.name + '.tfplan')}",
        "-lock-timeout=30s",
    ]
    return run(cmd, folder, env)


def raw_pool(stacks: list[str], sb: Sandbox, env: dict[str, str], plans: Path, parallelism: int) -> Measure:
    """Every stack through `raw_plan` with a pool of `parallelism` workers; one Measure for the whole."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        results = list(pool.map(lambda s: raw_plan(sb.stack_dir(s), env, sb.real, plans), stacks))
    wall = time.perf_counter() - start
    return Measure(
        wall=wall,
        cpu=sum(m.cpu for m in results),
        rss_mib=max(m.rss_mib for m in results),
        code=max(m.code for m in results),
        tree_rss_mib=max(m.tree_rss_mib for m in results),
        tree_pss_mib=max(m.tree_pss_mib for m in results),
    )


def bench_orchestration(work: Path, members: int, runs: int, sweep: bool) -> dict[str, Any]:
    from securecart_tf.run.orchestrate import PROVIDER_MEMORY_MIB, default_parallelism

    parallelism = default_parallelism()
    say(
        f"== orchestration: plan of {members} member-account stacks in the sandbox (median of {runs}); "
        f"default parallelism {parallelism}"
    )
    sb = Sandbox(work, members)
    result: dict[str, Any] = {"members": members, "parallelism": parallelism}
    try:
        setup_org, org_processes = sb.tool("apply", "--env", "org", "--auto-approve")
        setup_members, member_processes = sb.tool("apply", "--env", MEMBERS_ENV, "--auto-approve")
        say(
            f"   setup: apply org {setup_org.wall:.1f} s {dict(org_processes)}; apply {members} access stacks "
            f"{setup_members.wall:.1f} s {dict(member_processes)}"
        )
        result["setup"] = {
            "org": {"wall": setup_org.wall, "processes": dict(org_processes)},
            "members": {"wall": setup_members.wall, "processes": dict(member_processes)},
        }

        env = sb.terraform_env()
        plans = work / "raw-plans"
        plans.mkdir(exist_ok=True)
        tool_runs, tool_counts, sequential_runs, per_stack, pooled_runs, fast_runs, fast_counts = ([] for _ in range(7))
        for i in range(runs):  # interleaved, so that a change in the machine's load touches every figure alike
            # the first run also samples memory (a thread reading /proc every 0.1 s); the others only time
            m, counts = sb.tool("plan", "--env", MEMBERS_ENV, "--refresh", sample_tree=i == 0)
            if m.code != 0:
                raise RuntimeError(f"a plan right after the apply should find no changes, got exit {m.code}")
            tool_runs.append(m)
            tool_counts.append(counts)

            start = time.perf_counter()
            stack_measures = [raw_plan(sb.stack_dir(s), env, sb.real, plans) for s in sb.stacks]
            per_stack += stack_measures
            sequential_runs.append(
                Measure(
                    wall=time.perf_counter() - start,
                    cpu=sum(m.cpu for m in stack_measures),
                    rss_mib=max(m.rss_mib for m in stack_measures),
                    code=max(m.code for m in stack_measures),
                    tree_rss_mib=max(m.tree_rss_mib for m in stack_measures),
                    tree_pss_mib=max(m.tree_pss_mib for m in stack_measures),
                )
            )
            pooled_runs.append(raw_pool(sb.stacks, sb, env, plans, parallelism))

            m, counts = sb.tool("plan", "--env", MEMBERS_ENV)
            fast_runs.append(m)
            fast_counts.append(counts)
        tool, sequential, pooled, fast = (Summary.of(x) for x in (tool_runs, sequential_runs, pooled_runs, fast_runs))
        one = Summary.of(per_stack)
        sampled = tool_runs[0]
        one_pss, one_rss = sampled.children_pss_mib, sampled.children_rss_mib

        sweep_rows = {}
        if sweep:
            for p in range(1, 5):
                sweep_rows[p] = raw_pool(sb.stacks, sb, env, plans, p).wall
    finally:
        sb.down()

    plans_per_run = [c.get("plan", 0) for c in tool_counts]
    other_per_run = [sum(n for k, n in c.items() if k != "plan") for c in tool_counts]
    say(f"   one raw terraform plan (one stack):     {one.wall:6.2f} s wall {one.cpu:6.2f} s CPU (median)")
    say(f"   raw terraform plan, one after another:  {sequential.wall:6.2f} s wall {sequential.cpu:6.2f} s CPU")
    say(f"   raw terraform plan, pool of {parallelism}:          {pooled.wall:6.2f} s wall")
    say(f"   securecart-tf plan --refresh:           {tool.wall:6.2f} s wall {tool.cpu:6.2f} s CPU")
    scope = "" if members >= 8 else f"; the targets are set for N ≥ 8, this run has N = {members}"
    say(
        f"   ratio tool/sequential raw: {tool.wall / sequential.wall:.2f}x (target ≤ 0.75x); "
        f"tool overhead over raw at parallelism {parallelism}: {100 * (tool.wall / pooled.wall - 1):+.1f}% "
        f"(target ≤ +10%{scope})"
    )
    say(
        f"   Terraform processes per tool plan: {plans_per_run} plan, {other_per_run} other, for {members} stacks "
        f"(init is cached since the apply)"
    )
    say(
        f"== no-change fast path: plan without --refresh: {fast.wall:.2f} s wall, "
        f"{[sum(c.values()) for c in fast_counts]} Terraform processes; "
        f"full plan / fast path = {tool.wall / fast.wall:.1f}x (target ≥ 20x{scope})"
    )
    if sweep_rows:
        say("   raw pool by parallelism: " + ", ".join(f"{p}: {w:.1f} s" for p, w in sweep_rows.items()))
    machine = os.sysconf("SC_PHYS_PAGES") * PAGE / MIB
    say(
        f"== memory: whole tool plan at parallelism {parallelism}: peak {sampled.tree_pss_mib:,.0f} MiB PSS "
        f"({sampled.tree_rss_mib:,.0f} MiB RSS summed) of {machine:,.0f} MiB; half is {machine / 2:,.0f} MiB"
    )
    say(
        f"   one Terraform plan (terraform + its provider), {len(one_rss)} of them: peak RSS median "
        f"{median(one_rss):,.0f} MiB, max {max(one_rss, default=0):,.0f} MiB; PSS median {median(one_pss):,.0f} MiB "
        f"(the provider's code pages are shared between concurrent plans); PROVIDER_MEMORY_MIB = {PROVIDER_MEMORY_MIB}"
    )
    result.update(
        {
            "one_stack": asdict(one),
            "one_stack_pss_mib": one_pss,
            "one_stack_rss_mib": one_rss,
            "memory_run": {k: v for k, v in asdict(sampled).items() if k not in ("stdout", "stderr")},
            "sequential": asdict(sequential),
            "pooled": asdict(pooled),
            "tool": asdict(tool),
            "fast": asdict(fast),
            "ratio_tool_sequential": tool.wall / sequential.wall,
            "overhead_vs_pool": tool.wall / pooled.wall - 1,
            "fastpath_speedup": tool.wall / fast.wall,
            "tool_processes": [dict(c) for c in tool_counts],
            "fast_processes": [dict(c) for c in fast_counts],
            "sweep": sweep_rows,
            "machine_mib": machine,
            "provider_memory_mib": PROVIDER_MEMORY_MIB,
        }
    )
    return result


# ---- the security stack in the sandbox ----------------------------------------------------------------


def _security_run(root: Path, debug: bool = True) -> dict[str, Any]:
    """Apply the organization, then the security stack alone: with the provider's debug log, which shows its
    waits, or without, as a user runs it (writing the debug log costs the apply seconds of its own)."""
    synth.write_security_project(root)
    env = {k: v for k, v in os.environ.items() if k not in ("SECURECART_HOME", "TF_LOG", "TF_LOG_PATH")}
    env.update({"SECURECART_HOME": str(root / ".securecart"), "SECURECART_CACHE_DIR": str(root / "lint-cache")})
    log = root / "terraform-debug.log"
    try:
        run([*cli(), "apply", "--env", "org", "--auto-approve"], root, env)
        m = run(
            [*cli(), "apply", "--env", "baseline", "--auto-approve", "--json"],
            root,
            {**env, "TF_LOG": "DEBUG", "TF_LOG_PATH": str(log)} if debug else env,
        )
    finally:
        run([*cli(), "sandbox", "down"], root, env, check=False)
    if m.code != 0:
        raise RuntimeError(f"apply of the security stack failed:\n{m.stdout[-2000:]}\n{m.stderr[-2000:]}")
    (stack,) = json.loads(m.stdout)["results"]
    row: dict[str, Any] = {"tool_wall": m.wall, "stack": stack["duration"]}
    if not debug:
        return row
    text = tflog.read(log)
    applying = [c for c in tflog.calls(text) if c.rpc == "ApplyResourceChange"]
    ends = [c.received if c.received is not None else c.sent for c in applying]
    row.update(
        {
            "apply_calls_span": max(ends) - min(c.sent for c in applying) if applying else 0.0,
            "provider": tflog.provider_version(text),
            "waits": [asdict(w) for w in tflog.waits(text)],
        }
    )
    return row


def bench_security(work: Path, runs: int) -> dict[str, Any]:
    say(f"== security stack: apply of the security baseline alone in a fresh sandbox (median of {runs})")
    plain = [_security_run(work / f"security-plain-{i}", debug=False) for i in range(runs)]
    rows = [_security_run(work / f"security-{i}") for i in range(runs)]
    result: dict[str, Any] = {
        "runs": rows,
        "plain_runs": plain,
        "stack": median([r["stack"] for r in plain]),
        "tool_wall": median([r["tool_wall"] for r in plain]),
        "stack_debug_log": median([r["stack"] for r in rows]),
        "apply_calls_span": median([r["apply_calls_span"] for r in rows]),
    }
    say(
        f"   security stack (init, plan, apply): {result['stack']:6.2f} s (target < 20 s); the whole `apply` "
        f"{result['tool_wall']:6.2f} s"
    )
    say(
        f"   with the provider's debug log: {result['stack_debug_log']:6.2f} s; its AWS calls while applying span "
        f"{result['apply_calls_span']:6.2f} s"
    )
    say(f"   AWS provider {rows[0]['provider']}: reads after the last write, per resource (first run)")
    for w in rows[0]["waits"]:
        polls = ", ".join(f"{op} x{n}" for op, n in w["polls"].items())
        say(
            f"      {w['resource_type']:<40} {w['seconds']:5.1f} s: first read after {w['first_after']:4.1f} s, "
            f"then every {w['interval']:3.1f} s; {polls}"
        )
    return result


# ---- main ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "memory_mib": os.sysconf("SC_PHYS_PAGES") * PAGE / MIB,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in load],
        "terraform": subprocess.run(
            ["terraform", "version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0]
        if shutil.which("terraform")
        else None,
    }


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="securecart-bench-") as tmp:
        yield Path(tmp)


FIGURES = ("scale", "incremental", "orchestration", "security")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, a smaller sandbox organization")
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated: {', '.join(FIGURES)}")
    parser.add_argument(
        "--sizes", default=None, help="account counts for scale (default 10,100,1000,3000; quick 10,100,1000)"
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3, quick 1)")
    parser.add_argument("--members", type=int, default=None, help="member stacks in the sandbox (default 8)")
    parser.add_argument("--sweep", action="store_true", help="also time raw Terraform at parallelism 1 to 4")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    only = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in only if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")
    runs = args.runs or (1 if args.quick else 3)
    sizes = [int(s) for s in (args.sizes or ("10,100,1000" if args.quick else "10,100,1000,3000")).split(",")]
    members = args.members or (2 if args.quick else 8)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "runs": runs}
    say(
        f"securecart-tf bench ({'quick' if args.quick else 'full'}): {results['machine']['cpus']} cores, "
        f"{results['machine']['memory_mib'] / 1024:.0f} GiB, load average {results['machine']['load_average']}"
    )
    figures: dict[str, Callable[[Path], dict[str, Any]]] = {
        "scale": lambda w: bench_scale(w, sizes, runs, warm=not args.quick),
        "incremental": lambda w: bench_incremental(w, min(max(sizes), 1000), runs),
        "orchestration": lambda w: bench_orchestration(w, members, runs, args.sweep),
        "security": lambda w: bench_security(w, runs),
    }
    with workdir(args.keep) as work:
        for name in only:
            results[name] = figures[name](work)
    results["duration"] = time.perf_counter() - started
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    say(f"done in {results['duration']:.0f} s; load average now {results['load_average_after']}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
