"""`validate`: every check that runs before Terraform, collected as findings.

Schema errors stop loading (they come back as `ConfigErrors`). After that, cross-references, AWS limits,
policy lint and the lockout check each add findings; suppressions in the matrix then mark the ones the
team has accepted, with the reason shown in every report.
"""

from __future__ import annotations

from collections.abc import Callable

from securecart_tf.checks.references import check_references
from securecart_tf.config.load import Project
from securecart_tf.errors import InputError
from securecart_tf.findings import Finding, Severity, has_errors, sort_findings

Check = Callable[[Project], list[Finding]]


def _policy_checks() -> list[Check]:
    checks: list[Check] = []
    try:  # the policy package grows checks without this module changing
        from securecart_tf.checks.policies import CHECKS
    except ImportError:
        return checks
    checks.extend(CHECKS)
    return checks


def run_checks(project: Project) -> list[Finding]:
    """All findings for a loaded project, suppressions applied, sorted (errors first)."""
    findings = check_references(project)
    complete = not has_errors(findings)
    if complete:  # later checks assume the references resolve
        for check in _policy_checks():
            findings.extend(check(project))
    return sort_findings(apply_suppressions(project, findings, report_unused=complete))


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


class ValidationFailed(InputError):
    def __init__(self, findings: list[Finding]):
        errors = [f for f in findings if f.blocks]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"{first.message}{more}",
            location=first.location,
            hint=f"{first.fix} — run `securecart-tf validate` for every finding",
        )
        self.findings = findings


def require_valid(project: Project) -> list[Finding]:
    """Run the checks; raise if any finding is an error. Returns the findings (warnings) otherwise."""
    findings = run_checks(project)
    if has_errors(findings):
        raise ValidationFailed(findings)
    return findings
