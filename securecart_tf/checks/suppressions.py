"""Suppressions: the findings a team has accepted, each with the reason shown in every report."""

from __future__ import annotations

from securecart_tf.config.load import Project
from securecart_tf.findings import Finding, Severity


def apply_suppressions(project: Project, findings: list[Finding], *, report_unused: bool = True) -> list[Finding]:
    """Mark suppressed findings. A suppression that matches nothing is a warning, but only when every check
    ran: after a reference error the policy checks are skipped, and their suppressions are not unused."""
    rules = {(s.rule, s.subject): s.reason for s in project.matrix.suppressions}
    used: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.subject)
        if key in rules:
            used.add(key)
            out.append(f.suppress(rules[key]))
        else:
            out.append(f)
    for i, s in enumerate(project.matrix.suppressions):
        if report_unused and (s.rule, s.subject) not in used:
            out.append(
                Finding(
                    "unused-suppression",
                    Severity.warning,
                    f"suppression of {s.rule} for '{s.subject}' matches no finding",
                    project.at("suppressions", i),
                    "remove it, or fix its rule or subject",
                    s.subject,
                )
            )
    return out
