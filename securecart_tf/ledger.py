"""The ledger: every plan and apply, with revision, environment, stack, time, operator, result and counts.

Append-only. Locally it is a JSON-lines file written under an exclusive `flock` with O_APPEND, so two
writers never interleave or lose a record. In an S3 backend bucket, each record is its own object,
written with If-None-Match so no record is ever overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


def operator() -> str:
    for var in ("SECURECART_OPERATOR", "GITHUB_ACTOR", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return "unknown"


@dataclass(frozen=True)
class Record:
    action: str
    """plan, apply, destroy, promote, rollback."""
    environment: str
    stack: str
    revision: str
    result: str
    """ok, changes, unchanged, failed, skipped, timed-out, interrupted, refused."""
    target: str
    """Which AWS: "sandbox:<session>" or "aws"."""
    stack_hash: str = ""
    add: int = 0
    change: int = 0
    remove: int = 0
    duration: float = 0.0
    detail: str = ""
    state_serial: int | None = None
    """For an apply: the serial of the state the stack was left with, so a later run can tell it is intact."""
    state_lineage: str = ""
    state_digest: str = ""
    """sha256 of that state's JSON, canonical (sorted keys): catches an edit that kept the serial."""
    time: float = field(default_factory=time.time)
    operator: str = field(default_factory=operator)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class Ledger(Protocol):
    def append(self, records: Iterable[Record]) -> None: ...
    def records(self) -> Iterator[Record]: ...


class LocalLedger:
    def __init__(self, path: Path):
        self.path = path

    def append(self, records: Iterable[Record]) -> None:
        lines = "".join(r.to_json() + "\n" for r in records)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = lines.encode()
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn write (full disk) ended the last record
                data = b"\n" + data
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def records(self) -> Iterator[Record]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            with os.fdopen(os.dup(fd), "r", encoding="utf-8") as f:
                lines = f.readlines()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        for line in lines:
            with contextlib.suppress(ValueError, TypeError):
                yield Record.from_dict(json.loads(line))


class S3Ledger:
    """One object per record under <prefix>/ledger/ in the state bucket."""

    def __init__(self, client: Any, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.rstrip('/')}/ledger/"

    def append(self, records: Iterable[Record]) -> None:
        for r in records:
            key = f"{self.prefix}{r.time:017.6f}-{r.id}.json"
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=r.to_json().encode(), IfNoneMatch="*", ServerSideEncryption="AES256"
            )

    def records(self) -> Iterator[Record]:
        paginator = self.client.get_paginator("list_objects_v2")
        keys = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        for key in sorted(keys):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            with contextlib.suppress(ValueError, TypeError):
                yield Record.from_dict(json.loads(body))


# ---- questions the tool asks of the ledger ----------------------------------------------------------


def last_applied(records: Iterable[Record], target: str) -> dict[str, Record]:
    """Stack → its latest successful apply on this target (only while nothing failed after it)."""
    latest: dict[str, Record] = {}
    for r in records:
        if r.target != target or r.action not in ("apply", "destroy"):
            continue
        latest[r.stack] = r
    return {s: r for s, r in latest.items() if r.action == "apply" and r.result in ("ok", "unchanged")}


@dataclass
class EnvironmentStatus:
    environment: str
    current: str | None
    """The revision that last applied cleanly to every stack of the environment."""
    last_attempt: str | None
    last_result: str | None
    when: float | None


def environment_status(records: Iterable[Record], environment: str, target: str | None = None) -> EnvironmentStatus:
    """Which revision an environment runs: the last `promote`/`apply` run summary that succeeded."""
    current = last_attempt = last_result = None
    when = None
    for r in records:
        if r.environment != environment or r.stack != "*" or r.action not in ("apply", "promote", "rollback"):
            continue
        if target is not None and r.target != target:
            continue
        last_attempt, last_result, when = r.revision, r.result, r.time
        if r.result == "ok":
            current = r.revision
    return EnvironmentStatus(environment, current, last_attempt, last_result, when)
