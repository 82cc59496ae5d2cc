"""What a drift check found: per stack, and for the environment as a whole (with its JSON and exit code)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from securecart_tf import __version__
from securecart_tf.drift.changes import Change
from securecart_tf.drift.status import DriftStatus
from securecart_tf.drift.unmanaged import Ignored, Unmanaged


@dataclass
class StackDrift:
    stack: str
    account: str
    status: DriftStatus
    changes: list[Change] = field(default_factory=list)
    normalized: list[str] = field(default_factory=list)
    """Resources Terraform saw drift in that is only representation (null against empty, and the like)."""
    message: str = ""
    log: str = ""
    duration: float = 0.0

    def __post_init__(self) -> None:
        self.status = DriftStatus(self.status)  # a status given by its word becomes its member

    @property
    def failed(self) -> bool:
        return self.status.failed


@dataclass
class DriftReport:
    environment: str
    revision: str
    target: str
    stacks: list[StackDrift]
    unmanaged: list[Unmanaged] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    duration: float = 0.0
    ignored: list[Ignored] = field(default_factory=list)
    """Unmanaged items that `drift.ignore` in the matrix names: shown, not counted as drift."""

    @property
    def changes(self) -> list[Change]:
        return [c for s in self.stacks for c in s.changes]

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(s.failed for s in self.stacks)

    @property
    def drifted(self) -> bool:
        return bool(self.changes or self.unmanaged)

    def exit_code(self) -> int:
        if self.failed:
            return 1
        return 2 if self.drifted else 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = "drift"
        data["drift"] = self.drifted
        data["exit_code"] = self.exit_code()
        data["tool_version"] = __version__
        return data

    def import_files(self) -> dict[str, str]:
        """Stack → the text of an imports.tf adopting everything reported for it."""
        files: dict[str, list[str]] = {}
        items: list[Change | Unmanaged] = [*self.changes, *self.unmanaged]
        for item in items:
            for block in item.imports:
                files.setdefault(block.stack, []).append(block.hcl())
        return {stack: "\n".join(dict.fromkeys(blocks)) for stack, blocks in sorted(files.items())}
