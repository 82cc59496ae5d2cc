"""The ledger in an S3 bucket: one object per record, per environment, read back in order; and which revision
an environment runs when runs on several machines each applied part of it."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from securecart_tf.errors import LedgerError
from securecart_tf.run.ledger import Record, S3Ledger, environment_status, last_applied


class PreconditionFailed(Exception):
    pass


class FakeS3:
    """The few S3 calls the ledger makes, with If-None-Match honoured and listings two keys to a page."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.gets = 0
        self._lock = threading.Lock()

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, IfNoneMatch: str = "", **_: Any) -> None:
        with self._lock:
            if IfNoneMatch == "*" and (Bucket, Key) in self.objects:
                raise PreconditionFailed(Key)
            self.objects[(Bucket, Key)] = Body

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        with self._lock:
            self.gets += 1
            return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def get_paginator(self, name: str) -> FakeS3:
        assert name == "list_objects_v2"
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> Iterator[dict[str, Any]]:
        keys = sorted(k for b, k in self.objects if b == Bucket and k.startswith(Prefix))
        for i in range(0, len(keys), 2):
            yield {"Contents": [{"Key": k} for k in keys[i : i + 2]]}
        if not keys:
            yield {}


def _record(env: str, stack: str, revision: str, result: str = "ok", at: float = 0.0, **more: Any) -> Record:
    return Record(
        action="apply", environment=env, stack=stack, revision=revision, result=result, target="t", time=at, **more
    )


def test_each_record_is_its_own_object_under_its_environment() -> None:
    s3 = FakeS3()
    dev = S3Ledger(s3, "state", "org/", "dev")
    records = [_record("dev", "access-a", "r1", at=100.0 + i) for i in range(3)]
    dev.append(records)
    keys = sorted(k for _, k in s3.objects)
    assert keys == sorted(f"org/ledger/dev/{r.time:017.6f}-{r.id}.json" for r in records)
    assert [r.id for r in S3Ledger(s3, "state", "org", "dev").records()] == [r.id for r in records]


def test_two_machines_writing_at_the_same_second_keep_both_records() -> None:
    s3 = FakeS3()
    one, two = S3Ledger(s3, "state", "org", "dev"), S3Ledger(s3, "state", "org", "dev")
    one.append([_record("dev", "access-a", "r1", at=5.0)])
    two.append([_record("dev", "access-b", "r1", at=5.0)])
    assert {r.stack for r in S3Ledger(s3, "state", "org", "dev").records()} == {"access-a", "access-b"}


def test_records_are_read_in_time_order_across_pages_and_the_older_flat_layout() -> None:
    s3 = FakeS3()
    older = _record("dev", "access-a", "r0", at=1.0)
    s3.put_object(Bucket="state", Key=f"org/ledger/{older.time:017.6f}-{older.id}.json", Body=older.to_json().encode())
    S3Ledger(s3, "state", "org", "dev").append([_record("dev", "access-a", "r2", at=3.0 + i) for i in range(4)])
    S3Ledger(s3, "state", "org", "prod").append([_record("prod", "access-p", "r1", at=2.0)])
    dev = [r.revision for r in S3Ledger(s3, "state", "org", "dev").records()]
    assert dev == ["r0", "r2", "r2", "r2", "r2"]
    every = [(r.environment, r.revision) for r in S3Ledger(s3, "state", "org").records()]
    assert every == [("dev", "r0"), ("prod", "r1")] + [("dev", "r2")] * 4


def test_reading_for_one_environment_fetches_no_other_environment_and_each_object_once() -> None:
    s3 = FakeS3()
    for env in ("dev", "prod"):
        for i in range(3):  # written by another process: not read yet by this one
            record = _record(env, "x", "r", at=float(i))
            key = S3Ledger(s3, "state", "org", env).key(record)
            s3.put_object(Bucket="state", Key=key, Body=record.to_json().encode())
    assert len(list(S3Ledger(s3, "state", "org", "dev").records())) == 3
    assert s3.gets == 3
    assert len(list(S3Ledger(s3, "state", "org", "dev").records())) == 3
    assert s3.gets == 3  # a record never changes: read once per process


def test_a_damaged_record_is_named_by_its_object() -> None:
    s3 = FakeS3()
    S3Ledger(s3, "state", "org", "dev").append([_record("dev", "a", "r1", at=1.0)])
    s3.put_object(Bucket="state", Key="org/ledger/dev/0000000002.000000-bad.json", Body=b'{"action": "apply"')
    with pytest.raises(LedgerError) as caught:
        list(S3Ledger(s3, "state", "org", "dev").records())
    assert "s3://state/org/ledger/dev/0000000002.000000-bad.json is not valid JSON" in caught.value.message
    assert caught.value.hint is not None and "plan --refresh" in caught.value.hint


# ---- which revision an environment runs ------------------------------------------------------------------

EVERY = "organization,access-a,access-b"


def _run(revision: str, result: str, stacks: str, at: float) -> Record:
    return _record("dev", "*", revision, result, at=at, stacks=stacks, environment_stacks=EVERY)


def test_runs_of_parts_make_a_revision_current_once_they_cover_the_environment() -> None:
    records = [_run("r1", "ok", "", 1.0), _run("r2", "ok", "organization", 2.0), _run("r2", "ok", "access-a", 3.0)]
    status = environment_status(records, "dev", "t")
    assert (status.current, status.last_attempt, status.last_result) == ("r1", "r2", "ok")
    status = environment_status([*records, _run("r2", "ok", "access-b", 4.0)], "dev", "t")
    assert status.current == "r2" and status.when == 4.0


def test_a_failed_part_holds_the_revision_back_until_it_is_applied_again() -> None:
    records = [
        _run("r2", "ok", "organization", 1.0),
        _run("r2", "failed", "access-a", 2.0),
        _run("r2", "ok", "access-b", 3.0),
    ]
    assert environment_status(records, "dev", "t").current is None
    assert environment_status([*records, _run("r2", "ok", "access-a", 4.0)], "dev", "t").current == "r2"


def test_a_part_applied_at_another_revision_does_not_count() -> None:
    records = [
        _run("r2", "ok", "organization,access-a", 1.0),
        _run("r3", "ok", "access-a", 2.0),
        _run("r2", "ok", "access-b", 3.0),
    ]
    assert environment_status(records, "dev", "t").current is None


def test_last_applied_sees_records_of_stacks_applied_on_other_machines() -> None:
    s3 = FakeS3()
    S3Ledger(s3, "state", "org", "dev").append([_record("dev", "access-a", "r1", at=1.0)])
    S3Ledger(s3, "state", "org", "dev").append([_record("dev", "access-b", "r1", at=1.0)])
    assert set(last_applied(S3Ledger(s3, "state", "org", "dev").records(), "t")) == {"access-a", "access-b"}
