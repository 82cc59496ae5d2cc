"""Findings: what `validate` reports, each with a severity, rule id, file:line and a one-line fix."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from securecart_tf.errors import Location


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    location: Location
    fix: str
    subject: str = ""
    suppressed: str | None = field(default=None, compare=False)
    """The written reason, when the matrix suppresses this finding."""

    def suppress(self, reason: str) -> Finding:
        return replace(self, suppressed=reason)

    @property
    def active(self) -> bool:
        return self.suppressed is None

    @property
    def blocks(self) -> bool:
        return self.active and self.severity == Severity.error


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (
            f.suppressed is not None,
            SEVERITY_ORDER[f.severity],
            str(f.location.file),
            f.location.line,
            f.rule,
        ),
    )


def has_errors(findings: list[Finding]) -> bool:
    return any(f.blocks for f in findings)
