"""What a drift check found for one stack: one name for each outcome, with its style and its ledger word."""

from __future__ import annotations

from enum import StrEnum

from securecart_tf.run.status import StackStatus


class DriftStatus(StrEnum):
    """A stack's status in a drift check. The value is what the terminal and JSON show.

    The failures are the run's own (StackStatus): they look and are recorded the same as in plan and apply.
    """

    CLEAN = "clean"
    DRIFTED = "drifted"
    NOT_APPLIED = "not applied"
    FAILED = StackStatus.FAILED.value
    TIMED_OUT = StackStatus.TIMED_OUT.value
    INTERRUPTED = StackStatus.INTERRUPTED.value

    @property
    def style(self) -> str:
        """The rich style the terminal shows it in."""
        own = _STYLE.get(self)
        return own if own is not None else StackStatus(self.value).style

    @property
    def ledger(self) -> str:
        """The word the ledger records it as."""
        own = _LEDGER.get(self)
        return own if own is not None else StackStatus(self.value).ledger

    @property
    def failed(self) -> bool:
        """Whether the check of this stack failed, so the drift check as a whole did."""
        return self not in _STYLE and StackStatus(self.value).failed


# the outcomes only a drift check has; the others take theirs from StackStatus
_STYLE = {
    DriftStatus.CLEAN: "green",
    DriftStatus.DRIFTED: "yellow",
    DriftStatus.NOT_APPLIED: "dim",
}

_LEDGER = {
    DriftStatus.CLEAN: "no-drift",
    DriftStatus.DRIFTED: "drift",
    DriftStatus.NOT_APPLIED: "not-applied",
}
