"""The ledger: every plan and apply, with revision, environment, stack, time, operator, result and counts.

Append-only. Locally it is a JSON-lines file written under an exclusive `flock` with O_APPEND, so two
writers never interleave or lose a record. In an S3 backend bucket, each record is its own object,
written with If-None-Match so no record is ever overwritten, and runs on other machines can write at once.

Reading is strict: a damaged record is an error naming file:line, never skipped, since skipping a failed
apply could make a stack look applied. Only a record a write cut short (a crash, a full disk) is passed
over, with a warning: nothing in it was written whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from securecart_tf.errors import LedgerError, Location


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
    stacks: str = ""
    """For a run's summary (stack "*"): the stacks it took, comma-separated, when it took only some; "" for all."""
    environment_stacks: str = ""
    """For a run's summary: every stack of the environment at its revision, comma-separated."""
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
            with os.fdopen(os.dup(fd), "rb") as f:
                lines = f.read().split(b"\n")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        last = len(lines)  # the text after the final newline: empty unless a write was cut short
        for number, raw in enumerate(lines, start=1):
            record = self._line(raw, number, complete=number < last)
            if record is not None:
                yield record

    def _line(self, raw: bytes, number: int, *, complete: bool) -> Record | None:
        """The record on one line, None for a line to pass over, or LedgerError naming file:line."""
        where = f"ledger {shown(self.path)}:{number}"
        if not raw.strip():
            return None
        try:
            return parse_record(raw)
        except ValueError as exc:
            if not complete:
                warn(f"{where}: incomplete last line skipped (left by an interrupted run)")
                return None
            if _torn(raw):
                warn(f"{where}: incomplete record skipped (a write was cut short; the next write began a new line)")
                return None
            raise LedgerError(
                f"ledger record {exc}",
                location=Location(_shown_path(self.path), number),
                hint=_repair_hint(self.path, number),
            ) from None


class S3Ledger:
    """One object per record in the state bucket, under <prefix>/ledger/<environment>/.

    Keys start with the record's time (seconds, zero-padded), so listing them gives the order they were
    written in; each ends with the record's random id, and is written only if absent, so concurrent runs on
    other machines never overwrite one another. Records never change once written: a process fetches each
    once. Reading for one environment skips the objects of the others without fetching them; objects written
    directly under <prefix>/ledger/ (before records were kept per environment) are read by every environment.
    """

    FETCHERS = 8

    def __init__(self, client: Any, bucket: str, prefix: str, environment: str | None = None):
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.rstrip('/')}/ledger/"
        self.environment = environment

    def key(self, record: Record) -> str:
        return f"{self.prefix}{record.environment}/{record.time:017.6f}-{record.id}.json"

    def append(self, records: Iterable[Record]) -> None:
        for r in records:
            body = r.to_json().encode()
            key = self.key(r)
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*", ServerSideEncryption="AES256"
            )
            _FETCHED[(self.bucket, key)] = body

    def keys(self) -> list[str]:
        """The record keys this ledger reads, oldest first."""
        paginator = self.client.get_paginator("list_objects_v2")
        keys = [
            o["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix)
            for o in page.get("Contents", [])
        ]
        return sorted(k for k in keys if k.endswith(".json") and self._reads(k[len(self.prefix) :]))

    def _reads(self, rest: str) -> bool:
        folder, _, _ = rest.rpartition("/")
        return not folder or self.environment is None or folder == self.environment

    def records(self) -> Iterator[Record]:
        keys = self.keys()
        missing = [k for k in keys if (self.bucket, k) not in _FETCHED]
        if missing:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(self.FETCHERS, len(missing))) as pool:
                for key, body in zip(missing, pool.map(self._get, missing), strict=True):
                    _FETCHED[(self.bucket, key)] = body
        for key in sorted(keys, key=lambda k: k.rpartition("/")[2]):
            try:
                yield parse_record(_FETCHED[(self.bucket, key)])
            except ValueError as exc:
                raise LedgerError(
                    f"ledger record s3://{self.bucket}/{key} {exc}",
                    hint="the ledger decides which stacks are already applied and which revision each environment "
                    "runs, so a damaged record is not skipped: keep a copy of the object, then repair or delete it, "
                    "and run `securecart-tf plan --refresh --env ENV` so every stack is planned against AWS rather "
                    "than trusted from the ledger",
                ) from None

    def _get(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


_FETCHED: dict[tuple[str, str], bytes] = {}
"""Ledger objects already read by this process, by bucket and key: a record is never rewritten."""


# ---- reading records back --------------------------------------------------------------------------

# The JSON types a field's annotation allows; fields with other annotations are not type-checked.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


def parse_record(raw: bytes) -> Record:
    """One ledger record from its JSON text, or ValueError saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"is not a JSON object but {_json_kind(data)}")
    known = {f.name: f for f in fields(Record)}
    missing = [
        name for name, f in known.items() if f.default is MISSING and f.default_factory is MISSING and name not in data
    ]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    for name, value in data.items():
        allowed = _FIELD_TYPES.get(str(known[name].type)) if name in known else None
        if allowed is None:
            continue
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ValueError(f"has {name} {_json_kind(value)}, not {_json_name(allowed[-1])}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"has {name} {value}, not a finite number")
    return Record.from_dict(data)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return f"{_json_name(type(value))} {json.dumps(value)[:40]}"


def _json_name(kind: type) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return names.get(kind, kind.__name__)


def _torn(raw: bytes) -> bool:
    """A record a write cut short (a full disk, a crash): the start of an object that never closed.

    A later append ends such a line before writing its own records, so it can sit mid-file.
    """
    text = raw.rstrip(b"\0 \t\r")
    return not text or (text.startswith(b"{") and not text.endswith(b"}"))


def _shown_path(path: Path) -> Path:
    """The path as the user would type it: relative to the working folder when inside it."""
    with contextlib.suppress(ValueError, OSError):
        return path.relative_to(Path.cwd())
    return path


def shown(path: Path) -> str:
    return str(_shown_path(path))


def _repair_hint(path: Path, number: int) -> str:
    return (
        f"the ledger decides which stacks are already applied and which revision each environment runs, so a "
        f"damaged record is not skipped: keep a copy of {shown(path)}, then repair or delete line {number} "
        f"(e.g. `sed -i '{number}d' {shown(path)}`), and run `securecart-tf plan --refresh --env ENV` so every "
        "stack is planned against AWS rather than trusted from the ledger"
    )


_warned: set[str] = set()


def _print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


warning_handler: Callable[[str], None] = _print_warning
"""Where the ledger's warnings go; the command line shows them its own way."""


def warn(message: str) -> None:
    """Say a warning once per process: a command reads the ledger several times."""
    if message not in _warned:
        _warned.add(message)
        warning_handler(message)


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
    """Which revision an environment runs: the last `promote`/`apply` run that succeeded over the whole
    environment, or the revision that runs that took parts of it (`--stacks`, `--shard`) have together applied
    cleanly to every one of its stacks."""
    current = last_attempt = last_result = None
    when = None
    applied: dict[str, str | None] = {}
    """Stack → the revision a run applied cleanly to it (None: its last run failed)."""
    for r in records:
        if r.environment != environment or r.stack != "*" or r.action not in ("apply", "promote", "rollback"):
            continue
        if target is not None and r.target != target:
            continue
        last_attempt, last_result, when = r.revision, r.result, r.time
        everything = _names(r.environment_stacks)
        for name in _names(r.stacks) or everything:
            applied[name] = r.revision if r.result == "ok" else None
        if r.result != "ok":
            continue
        if not r.stacks or (everything and all(applied.get(name) == r.revision for name in everything)):
            current = r.revision
    return EnvironmentStatus(environment, current, last_attempt, last_result, when)


def _names(joined: str) -> list[str]:
    return [n for n in joined.split(",") if n]
