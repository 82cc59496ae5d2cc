"""A full plan of the 1,000-account synthetic organization, spread over CI runners: simulated, from the emitted graph.

This machine has 2 cores, so the pipeline is not run; its wall time is computed. The job graph is the one
`securecart-tf pipeline` emits for a merge request (each environment's waves in order, every wave a matrix of
jobs, environments side by side), and each job's cost comes from measured figures (bench/RESULTS.md):

- a stack's plan: 3.63 s wall and 4.72 CPU-seconds warm (one raw `terraform plan`, median of 24); 6.5 s and
  9 CPU-seconds on a cold machine (docs: a fresh runner has no plugin cache);
- what each job pays before its first plan: `validate` and `generate` of the 1,000-account matrix, 2.77 s;
- a runner has 2 cores, like this machine and GitHub's standard runner; a job with k stacks runs them with the
  tool's own parallelism, so it takes max(one plan's wall time, k * CPU per plan / 2) after its start-up.

With `--shards N` every wave is N jobs at most, which suits N runners; both are shown.
Jobs go to the first free runner in the order the pipeline lists them, once every job of the wave before has
finished. "One machine" is the tool's own `plan` of every environment on one 2-core machine: all plans' CPU
over 2 cores, never shorter than the graph's critical path.

    python bench/pipeline.py [--runner-start S] [--accounts N]
"""

from __future__ import annotations

import argparse
import heapq
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import synth  # beside this script: bench/ is not a package
import yaml

from securecart_tf.config.load import Project, load_project
from securecart_tf.pipeline import Ci, Pipeline, build_pipeline

CORES = 2
JOB_START_MEASURED = 2.77
"""validate + generate of the 1,000-account matrix, s (RESULTS.md, quiet run)."""
RUNNERS = (10, 50, 200)


@dataclass(frozen=True)
class Costs:
    name: str
    plan_wall: float
    plan_cpu: float


WARM = Costs("warm", 3.63, 4.72)
COLD = Costs("cold", 6.5, 9.0)


@dataclass(frozen=True)
class Job:
    index: int
    stacks: int
    after: tuple[int, ...]
    """Jobs that must finish first: every job of the wave before, in the same environment."""


def jobs_of(pipeline: Pipeline) -> list[Job]:
    """The merge request's plan jobs, in the order the pipeline lists them."""
    jobs: list[Job] = []
    for env in pipeline.environments:
        before: tuple[int, ...] = ()
        for wave in env.waves:
            mine = []
            for entry in wave.entries:
                jobs.append(Job(len(jobs), len(entry.stacks), before))
                mine.append(len(jobs) - 1)
            before = tuple(mine)
    return jobs


def job_time(job: Job, costs: Costs, start: float) -> float:
    return start + JOB_START_MEASURED + max(costs.plan_wall, job.stacks * costs.plan_cpu / CORES)


def schedule(jobs: list[Job], runners: int, costs: Costs, start: float) -> float:
    """The pipeline's wall time on `runners` runners: list scheduling in the pipeline's order."""
    done: dict[int, float] = {}
    free = [0.0] * runners
    heapq.heapify(free)
    for job in jobs:  # listed in dependency order, so every job's needs are scheduled before it
        ready = max((done[j] for j in job.after), default=0.0)
        at = max(ready, heapq.heappop(free))
        done[job.index] = at + job_time(job, costs, start)
        heapq.heappush(free, done[job.index])
    return max(done.values())


def critical_path(jobs: list[Job], costs: Costs, start: float) -> float:
    return schedule(jobs, len(jobs), costs, start)


def one_machine(jobs: list[Job], costs: Costs) -> float:
    """The tool's own plan on one 2-core machine: one start-up, then every plan's CPU over the cores, never
    shorter than one plan per wave of the longest chain."""
    finish: dict[int, float] = {}
    for job in jobs:
        finish[job.index] = max((finish[j] for j in job.after), default=0.0) + costs.plan_wall
    stacks = sum(j.stacks for j in jobs)
    return JOB_START_MEASURED + max(stacks * costs.plan_cpu / CORES, max(finish.values()))


def synthetic(accounts: int, folder: Path) -> Path:
    synth.write_project(folder, synth.Size.scaled(accounts))
    for path in sorted((folder / "environments").glob("*.yaml")):
        env = yaml.safe_load(path.read_text())
        env["backend"] = {"type": "s3", "bucket": "bench-state", "key_prefix": f"bench/{env['name']}"}
        path.write_text(yaml.safe_dump(env, sort_keys=False))
    return folder / "access-matrix.yaml"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:6.1f} min" if seconds >= 120 else f"{seconds:6.1f} s  "


def report(project: Project, ci: Ci, runner_start: float) -> None:
    pipeline = build_pipeline(project, ci)
    jobs = jobs_of(pipeline)
    stacks = sum(j.stacks for j in jobs)
    waves = [f"{e.name}: {'+'.join(str(len(w.stacks)) for w in e.waves)}" for e in pipeline.environments]
    print(f"== {pipeline.ci}: {stacks} stacks in {len(jobs)} plan jobs; stacks per wave {', '.join(waves)}")
    largest = max(len(w.entries) for e in pipeline.environments for w in e.waves)
    print(f"   largest matrix: {largest} jobs")
    for costs in (WARM, COLD):
        base = one_machine(jobs, costs)
        path = critical_path(jobs, costs, runner_start)
        print(
            f"   {costs.name} ({costs.plan_wall} s wall, {costs.plan_cpu} CPU-s per plan; "
            f"runner start {runner_start:g} s): one 2-core machine {_minutes(base)}; critical path {_minutes(path)}"
        )
        for runners in RUNNERS:
            wall = schedule(jobs, runners, costs, runner_start)
            sharded = jobs_of(build_pipeline(project, ci, shards=runners))
            fit = schedule(sharded, runners, costs, runner_start)
            print(
                f"      {runners:4d} runners: {_minutes(wall)} ({base / wall:5.1f}x faster than one machine); "
                f"with --shards {runners}: {_minutes(fit)} ({base / fit:5.1f}x)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument(
        "--runner-start",
        type=float,
        default=0.0,
        help="Seconds a job spends before securecart-tf starts (checkout, install); not measured here.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="securecart-bench-pipeline-") as tmp:
        project = load_project(synthetic(args.accounts, Path(tmp)))
        ci: Ci
        for ci in ("github", "gitlab"):
            report(project, ci, args.runner_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
