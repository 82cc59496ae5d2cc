"""What became of a stack in a run: one name for each outcome, with its style, its ledger word and its weight."""

from __future__ import annotations

from enum import StrEnum


class StackStatus(StrEnum):
    """A stack's status in a plan, apply or destroy. The value is what the terminal and JSON show."""

    WAITING = "waiting"
    PLANNED = "planned"
    NO_CHANGES = "no changes"
    UNCHANGED = "unchanged"
    APPLIED = "applied"
    DESTROYED = "destroyed"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    INTERRUPTED = "interrupted"
    REFUSED = "refused"
    SKIPPED = "skipped"

    @property
    def style(self) -> str:
        """The rich style the terminal shows it in."""
        return _STYLE[self]

    @classmethod
    def style_of(cls, word: str, default: str) -> str:
        """The style of a word a progress listener hears: a status's own, `default` for an activity (init...)."""
        try:
            return cls(word).style
        except ValueError:
            return default

    @property
    def ledger(self) -> str:
        """The word the ledger records it as (ledger records are read by older and newer versions alike)."""
        return _LEDGER.get(self, self.value)

    @property
    def failed(self) -> bool:
        """Whether the run counts as failed because of it."""
        return self in (StackStatus.FAILED, StackStatus.TIMED_OUT, StackStatus.INTERRUPTED, StackStatus.REFUSED)


_STYLE = {
    StackStatus.APPLIED: "green",
    StackStatus.DESTROYED: "green",
    StackStatus.NO_CHANGES: "dim",
    StackStatus.UNCHANGED: "dim",
    StackStatus.PLANNED: "yellow",
    StackStatus.WAITING: "cyan",
    StackStatus.FAILED: "bold red",
    StackStatus.TIMED_OUT: "bold red",
    StackStatus.INTERRUPTED: "bold red",
    StackStatus.REFUSED: "red",
    StackStatus.SKIPPED: "magenta",
}

_LEDGER = {
    StackStatus.PLANNED: "changes",
    StackStatus.NO_CHANGES: "no-changes",
    StackStatus.APPLIED: "ok",
    StackStatus.DESTROYED: "ok",
    StackStatus.TIMED_OUT: "timed-out",
}
