"""bench/pipeline.py's simulation: a pipeline's wall time on a number of runners, worked out by hand."""

from __future__ import annotations

import sys

import pytest

from tests.bench_scripts import load_bench

sys.modules.setdefault("synth", load_bench("synth"))  # bench/pipeline.py imports it from beside itself
bench = load_bench("pipeline")

# wave 0: one job of one stack; wave 1: two jobs of one stack each, after it
JOBS = [bench.Job(0, 1, ()), bench.Job(1, 1, (0,)), bench.Job(2, 1, (0,))]
ONE_JOB = 2.77 + 3.63  # validate + generate, then one warm plan's wall time


def test_one_runner_runs_the_jobs_one_after_another() -> None:
    assert bench.schedule(JOBS, 1, bench.WARM, 0.0) == pytest.approx(3 * ONE_JOB)


def test_two_runners_run_a_wave_side_by_side_after_the_wave_before() -> None:
    assert bench.schedule(JOBS, 2, bench.WARM, 0.0) == pytest.approx(2 * ONE_JOB)
    assert bench.critical_path(JOBS, bench.WARM, 0.0) == pytest.approx(2 * ONE_JOB)
    assert bench.schedule(JOBS, 2, bench.WARM, 30.0) == pytest.approx(2 * (30 + ONE_JOB))


def test_a_job_of_several_stacks_shares_its_runners_two_cores() -> None:
    five = [bench.Job(0, 5, ())]
    assert bench.schedule(five, 1, bench.WARM, 0.0) == pytest.approx(2.77 + 5 * 4.72 / 2)


def test_one_machine_is_every_plans_cpu_over_two_cores_or_the_critical_path() -> None:
    # 3 plans' CPU over 2 cores (7.08 s) is less than two plans one after the other (7.26 s)
    assert bench.one_machine(JOBS, bench.WARM) == pytest.approx(2.77 + 2 * 3.63)
    many = [bench.Job(0, 10, ())]
    assert bench.one_machine(many, bench.WARM) == pytest.approx(2.77 + 10 * 4.72 / 2)
