"""The AWS calls in a Terraform debug log (TF_LOG=DEBUG), and how long the provider's waiters polled.

The AWS provider logs every request it sends and every response it gets, with the operation, the resource
type and the Terraform RPC it serves (PlanResourceChange, ApplyResourceChange, ReadResource). After a
write, many resources poll a read until it answers what was written, several times in a row; `waits`
finds those polls and times them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_ENTRY = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z? \[(\w+)\] ", re.M)
_FIELD = re.compile(r'([\w.@]+)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S*)')
_VERSION = re.compile(r"terraform-provider-aws_v(\d+\.\d+\.\d+)")
WRITE_PREFIXES = ("Create", "Put", "Enable", "Tag", "Update", "Delete", "Attach", "Register", "Start")


@dataclass
class Call:
    """One request the provider sent, and the response it got."""

    sent: float
    """Seconds since the log's first entry."""
    method: str
    resource_type: str
    rpc: str
    request_id: str
    """Terraform's request id (tf_req_id): one per RPC, shared by every call the RPC makes."""
    request_body: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)
    received: float | None = None
    status: int | None = None
    response_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method.startswith(WRITE_PREFIXES)


@dataclass
class Wait:
    """The reads one resource's apply made after its last write: the provider waiting for consistency."""

    resource_type: str
    seconds: float
    """From the last write's response to the last read's response."""
    polls: dict[str, int]
    """Reads per operation, in the order first made."""
    first_after: float
    """From the last write's response to the first read."""
    interval: float
    """The median gap between two reads of the same operation."""


def _fields(text: str) -> dict[str, str]:
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _FIELD.findall(text)}


def _split(text: str) -> tuple[str, str]:
    """An entry's fields and its body: the body's lines start with '  | '."""
    body: list[str] = []
    rest: list[str] = []
    for line in text.splitlines():
        (body if line.startswith("  | ") else rest).append(line[4:] if line.startswith("  | ") else line)
    return " ".join(rest), "\n".join(body)


TRUNCATED = "\n[truncated...]"


def _whole(body: str, length: str | None) -> str:
    """The body without the logger's "[truncated...]" line when what it kept is the whole body: the logger
    marks a body of several lines that way even when it kept every byte the header says was sent."""
    if body.endswith(TRUNCATED) and length is not None and length.isdigit():
        kept = body.removesuffix(TRUNCATED)
        if len(kept.encode()) == int(length):
            return kept
    return body


def provider_version(text: str) -> str | None:
    match = _VERSION.search(text)
    return match.group(1) if match else None


def calls(text: str) -> list[Call]:
    """Every AWS call in the log, in the order sent, each with its response when the log has it."""
    starts = list(_ENTRY.finditer(text))
    origin: datetime | None = None
    found: list[Call] = []
    pending: dict[tuple[str, str, str], list[Call]] = {}
    for i, match in enumerate(starts):
        entry = text[match.start() : starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        sent = "HTTP Request Sent:" in entry
        if not sent and "HTTP Response Received:" not in entry:
            continue
        when = datetime.fromisoformat(match.group(1))
        origin = origin or when
        at = (when - origin).total_seconds()
        fields_text, body = _split(entry)
        f = _fields(fields_text)
        body = _whole(body, f.get("http.request_content_length" if sent else "http.response_content_length"))
        key = (f.get("tf_req_id", ""), f.get("rpc.method", ""), f.get("tf_resource_type", ""))
        if sent:
            call = Call(
                sent=at,
                method=key[1],
                resource_type=key[2],
                rpc=f.get("tf_rpc", ""),
                request_id=key[0],
                request_body=body,
                request_headers={k[len("http.request.header.") :]: v for k, v in f.items() if ".request.header." in k},
            )
            found.append(call)
            pending.setdefault(key, []).append(call)
        elif pending.get(key):
            call = pending[key].pop(0)
            call.received = at
            call.status = int(f["http.status_code"]) if f.get("http.status_code", "").isdigit() else None
            call.response_body = body
            call.response_headers = {
                k[len("http.response.header.") :]: v for k, v in f.items() if ".response.header." in k
            }
    return found


def applied(all_calls: Iterable[Call], resource_type: str) -> list[Call]:
    """The calls of one resource type's create or update (ApplyResourceChange), in order."""
    return [c for c in all_calls if c.rpc == "ApplyResourceChange" and c.resource_type == resource_type]


def by_resource(resource_calls: Iterable[Call]) -> list[list[Call]]:
    """The calls of each resource's apply apart (one Terraform request id each), in the order first sent."""
    groups: dict[str, list[Call]] = {}
    for c in resource_calls:
        groups.setdefault(c.request_id, []).append(c)
    return list(groups.values())


def wait_after_last_write(resource_calls: list[Call]) -> Wait | None:
    """How long one resource's apply kept reading after its last write, and what it read."""
    writes = [i for i, c in enumerate(resource_calls) if c.is_write]
    if not writes:
        return None
    last = resource_calls[writes[-1]]
    reads = resource_calls[writes[-1] + 1 :]
    if not reads or last.received is None:
        return None
    polls: dict[str, int] = {}
    times: dict[str, list[float]] = {}
    for c in reads:
        polls[c.method] = polls.get(c.method, 0) + 1
        times.setdefault(c.method, []).append(c.sent)
    gaps = sorted(b - a for ts in times.values() for a, b in itertools.pairwise(ts))
    end = max(c.received if c.received is not None else c.sent for c in reads)
    return Wait(
        resource_type=resource_calls[0].resource_type,
        seconds=end - last.received,
        polls=polls,
        first_after=reads[0].sent - last.received,
        interval=gaps[len(gaps) // 2] if gaps else 0.0,
    )


def waits(text: str, min_seconds: float = 1.0) -> list[Wait]:
    """Every resource whose apply read for at least `min_seconds` after its last write, longest first."""
    all_calls = calls(text)
    found = []
    for resource_type in sorted({c.resource_type for c in all_calls if c.rpc == "ApplyResourceChange"}):
        w = wait_after_last_write(applied(all_calls, resource_type))
        if w is not None and w.seconds >= min_seconds:
            found.append(w)
    return sorted(found, key=lambda w: -w.seconds)


def read(path: Path) -> str:
    return path.read_text(errors="replace")
