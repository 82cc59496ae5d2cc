"""Saved plans and state fingerprints: which plan file `apply` may take, whether a state is as an apply left it,
and whether a state Terraform could not save is still to be pushed.

A plan's metadata keeps the fingerprint of the state it was planned against, read from the backend, so that an
apply on another machine (the plans folder carried there) refuses the plan once the state has moved on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securecart_tf.run.ledger import Record

APPLICABLE_PLAN_COMMAND = "plan"
"""The only command whose saved plans `apply` takes: plans made by apply, destroy, promote or rollback are
theirs alone, and one left behind (declined, failed, killed) must never be applied by a later command."""


class UnusablePlan(Exception):
    """A saved plan is there but `apply` must not take it; the message says why."""


@dataclass(frozen=True)
class SavedPlan:
    """A plan file and what its metadata says about it, checked for shape and for which command made it."""

    planfile: Path
    command: str
    revision: str
    stack_hash: str
    target: str
    add: int
    change: int
    remove: int
    imports: int = 0
    state: StateFingerprint | None = None
    """The state the plan was made against (None: the stack had none yet)."""
    state_known: bool = False
    """False for a plan whose metadata predates recording the state."""

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.remove or self.imports)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_meta(planfile: Path, meta_path: Path) -> dict[str, Any]:
    """The metadata of a saved plan, when its shape says `apply` may take the plan; else UnusablePlan."""
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise UnusablePlan(f"{planfile} has no metadata file {meta_path.name}") from None
    except (OSError, ValueError) as exc:
        raise UnusablePlan(f"its metadata {meta_path} is unreadable ({exc})") from None
    if not isinstance(meta, dict):
        raise UnusablePlan(f"its metadata {meta_path} is not a JSON object")
    if meta.get("destroy") is True:
        raise UnusablePlan("it was made by `destroy`; apply takes only plans that `plan` saved")
    for key in ("add", "change", "remove"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UnusablePlan(f"its metadata {meta_path} has no valid {key!r} count")
    for key in ("command", "revision", "stack_hash", "target", "digest"):
        if not isinstance(meta.get(key), str):
            raise UnusablePlan(f"its metadata {meta_path} has no {key!r} (written by an older securecart-tf?)")
    if meta.get("destroy") is not False:
        raise UnusablePlan(f"its metadata {meta_path} does not say whether it destroys")
    if meta["command"] != APPLICABLE_PLAN_COMMAND:
        raise UnusablePlan(f"it was made by `{meta['command']}`; apply takes only plans that `plan` saved")
    return meta


def read_saved_plan(planfile: Path, meta_path: Path) -> SavedPlan | None:
    """The plan `plan` saved for a stack, or None when there is none; UnusablePlan when one is there that
    `apply` must not take (unreadable, made by another command, or not the file its metadata describes)."""
    if not planfile.exists() and not meta_path.exists():
        return None
    meta = _checked_meta(planfile, meta_path)
    if not planfile.is_file():
        raise UnusablePlan(f"its plan file {planfile} is missing")
    try:
        digest = file_digest(planfile)
    except OSError as exc:
        raise UnusablePlan(f"its plan file {planfile} is unreadable ({exc.strerror or exc})") from None
    if digest != meta["digest"]:
        raise UnusablePlan(f"{planfile} is not the plan its metadata describes")
    return SavedPlan(
        planfile,
        command=meta["command"],
        revision=meta["revision"],
        stack_hash=meta["stack_hash"],
        target=meta["target"],
        add=meta["add"],
        change=meta["change"],
        remove=meta["remove"],
        imports=meta.get("imports", 0),
        state=_state_of(meta.get("state")),
        state_known="state" in meta,
    )


def state_meta(found: StateFingerprint | None) -> dict[str, Any] | None:
    """A state's fingerprint as a plan's metadata keeps it."""
    return None if found is None else {"serial": found.serial, "lineage": found.lineage, "digest": found.digest}


def _state_of(value: object) -> StateFingerprint | None:
    if not isinstance(value, dict):
        return None
    serial = value.get("serial")
    return StateFingerprint(
        serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
        str(value.get("lineage") or ""),
        str(value.get("digest") or ""),
    )


def moved_since_planned(saved: SavedPlan, now: StateFingerprint | None) -> str | None:
    """How the stack's state differs from the one its saved plan was made against, or None when it does not."""
    if not saved.state_known or saved.state == now:
        return None
    if saved.state is None:
        return "the stack had no state when it was planned; it has one now"
    if now is None:
        return "the state it was planned against is gone"
    if now.lineage != saved.state.lineage:
        return "the stack's state was replaced since it was planned (another lineage)"
    if now.serial != saved.state.serial:
        return f"the stack's state changed since it was planned (serial {saved.state.serial} -> {now.serial})"
    return "the stack's state was edited since it was planned"


def write_plan_meta(planfile: Path, meta_path: Path, meta: dict[str, Any]) -> None:
    """Write a plan's metadata, with the plan file's digest, whole or not at all (a torn file must never
    describe a plan)."""
    meta = {**meta, "digest": file_digest(planfile)}
    tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(meta) + "\n")
    os.replace(tmp, meta_path)


@dataclass(frozen=True)
class StateFingerprint:
    serial: int | None
    lineage: str
    digest: str


def fingerprint(state: dict[str, Any]) -> StateFingerprint:
    serial = state.get("serial")
    lineage = state.get("lineage")
    return StateFingerprint(
        serial if isinstance(serial, int) and not isinstance(serial, bool) else None,
        lineage if isinstance(lineage, str) else "",
        hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest(),
    )


def state_mismatch(state: dict[str, Any] | None, applied: Record) -> str | None:
    """Why a stack's state is not the one its last apply left (so its inputs alone cannot vouch for it), or None."""
    if not state:
        return "its state is missing or unreadable since the last apply"
    if not applied.state_lineage or not applied.state_digest:
        return "the ledger holds no fingerprint of its state (the last apply predates them)"
    now = fingerprint(state)
    if now.lineage != applied.state_lineage:
        return "its state was replaced since the last apply (another lineage)"
    if now.serial != applied.state_serial:
        return f"its state changed since the last apply (serial {applied.state_serial} -> {now.serial})"
    if now.digest != applied.state_digest:
        return "its state was edited since the last apply"
    return None


def why_unsaved(errored: Path, state: dict[str, Any] | None) -> str | None:
    """Why the state Terraform wrote to `errored` (it could not save it to the backend) is still to be pushed,
    or None when there is no such file or the backend holds that state or a later one of the same lineage.

    Until it is pushed, the backend holds the state from before that apply: a plan made from it would create
    again what the apply made, or lose track of it.
    """
    if not errored.is_file():
        return None
    try:
        left = json.loads(errored.read_bytes())
    except (OSError, ValueError):
        left = None
    if not isinstance(left, dict):
        return f"an earlier apply could not save its state and left {errored}, which is not a readable state"
    then = fingerprint(left)
    if state and _holds(fingerprint(state), then):
        return None
    serial = f" (serial {then.serial})" if then.serial is not None else ""
    return f"an earlier apply could not save its state and left it in {errored}{serial}, ahead of the backend's"


def _holds(now: StateFingerprint, then: StateFingerprint) -> bool:
    """Whether a backend's state `now` is `then` (pushed) or a later state of the same lineage."""
    if now.lineage != then.lineage or now.serial is None or then.serial is None:
        return False
    return then.serial <= now.serial
