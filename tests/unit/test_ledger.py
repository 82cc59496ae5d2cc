"""The ledger: append-only, safe against two writers, and the questions asked of it."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from securecart_tf.run.ledger import LocalLedger, Record, environment_status, last_applied

PER_WRITER = 300


def _write(path: str, writer: int) -> None:
    ledger = LocalLedger(Path(path))
    for i in range(PER_WRITER):
        # one record per append, with a long detail so a torn write would show
        ledger.append(
            [
                Record(
                    action="apply",
                    environment="dev",
                    stack=f"s{i}",
                    revision=f"w{writer}",
                    result="ok",
                    target="t",
                    detail="x" * 2000,
                )
            ]
        )


def test_two_concurrent_writers_lose_and_tear_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write, args=(str(path), w)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 2 * PER_WRITER
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    assert sorted(r["revision"] for r in records) == ["w1"] * PER_WRITER + ["w2"] * PER_WRITER
    assert len({r["id"] for r in records}) == 2 * PER_WRITER


def test_the_ledger_file_is_owner_only(tmp_path: Path) -> None:
    ledger = LocalLedger(tmp_path / "ledger.jsonl")
    ledger.append([Record(action="plan", environment="dev", stack="a", revision="r", result="ok", target="t")])
    assert (tmp_path / "ledger.jsonl").stat().st_mode & 0o777 == 0o600


def _r(action: str, stack: str, revision: str, result: str, target: str = "t") -> Record:
    return Record(action=action, environment="dev", stack=stack, revision=revision, result=result, target=target)


def test_environment_runs_its_last_clean_revision_and_remembers_failures() -> None:
    records = [_r("apply", "*", "A", "ok"), _r("apply", "*", "B", "failed")]
    status = environment_status(records, "dev", "t")
    assert (status.current, status.last_attempt, status.last_result) == ("A", "B", "failed")
    records.append(_r("promote", "*", "B", "ok"))
    assert environment_status(records, "dev", "t").current == "B"
    assert environment_status(records, "dev", "other-target").current is None


def test_fast_path_trusts_only_a_stacks_last_successful_apply_on_the_same_target() -> None:
    records = [
        _r("apply", "a", "A", "ok"),
        _r("apply", "b", "A", "ok"),
        _r("apply", "b", "B", "failed"),
        _r("destroy", "c", "A", "ok"),
        _r("apply", "d", "A", "ok", target="elsewhere"),
    ]
    found = last_applied(records, "t")
    assert set(found) == {"a"}


def test_a_torn_last_record_does_not_swallow_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = LocalLedger(path)
    ledger.append([_r("apply", "a", "A", "ok")])
    with path.open("a") as f:  # what a write cut short by a full disk leaves behind
        f.write('{"action": "apply", "environment": "dev", "sta')
    ledger.append([_r("apply", "b", "B", "ok")])
    assert [(r.stack, r.revision) for r in ledger.records()] == [("a", "A"), ("b", "B")]
