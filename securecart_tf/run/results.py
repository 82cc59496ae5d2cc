"""What a run did: each stack's result, and the report of the whole run that the terminal, JSON and summary show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from securecart_tf import __version__
from securecart_tf.run.status import StackStatus


def counts(add: int, change: int, remove: int, imports: int = 0) -> str:
    """A plan's changes in Terraform's signs: +add ~change -remove, and how many existing objects it imports."""
    text = f"+{add} ~{change} -{remove}"
    return f"{text} ({imports} to import)" if imports else text


@dataclass
class StackResult:
    stack: str
    account: str
    environment: str
    status: StackStatus
    add: int = 0
    change: int = 0
    remove: int = 0
    imports: int = 0
    """Existing objects the plan adopts into state (Terraform `import` blocks)."""
    duration: float = 0.0
    log: str = ""
    message: str = ""
    reaches: list[str] = field(default_factory=list)
    """Other environments a planned change here reaches immediately."""
    changes: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = StackStatus(self.status)  # a status word read back from JSON becomes its StackStatus

    @property
    def failed(self) -> bool:
        return self.status.failed

    @property
    def stops_dependents(self) -> bool:
        """Whether the stacks that depend on this one must not go ahead."""
        return self.failed or self.status is StackStatus.SKIPPED

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.remove or self.imports) or self.status is StackStatus.WAITING


@dataclass
class RunReport:
    command: str
    environment: str
    revision: str
    target: str
    results: list[StackResult]
    notices: list[str] = field(default_factory=list)
    summary_file: str | None = None
    duration: float = 0.0
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return self.interrupted or any(r.stops_dependents for r in self.results)

    def exit_code(self) -> int:
        if self.failed:
            return 1
        if self.command in ("plan", "drift") and any(r.has_changes for r in self.results):
            return 2
        return 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code()
        data["tool_version"] = __version__
        return data


Listener = Callable[[str, str, str], None]
"""(stack, status or activity, detail) → None; drives the progress view."""
