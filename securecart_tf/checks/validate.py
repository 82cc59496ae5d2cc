"""`validate`: every check that runs before Terraform, collected as findings.

Schema errors stop loading (they come back as `ConfigErrors`). After that, cross-references, AWS limits,
policy lint and the lockout check each add findings; suppressions in the matrix then mark the ones the
team has accepted, with the reason shown in every report.
"""

from __future__ import annotations

from securecart_tf.checks.account_settings import check_account_settings
from securecart_tf.checks.references import check_references
from securecart_tf.checks.suppressions import apply_suppressions
from securecart_tf.config.load import Project
from securecart_tf.errors import InputError
from securecart_tf.findings import Finding, has_errors, sort_findings


def run_checks(project: Project) -> list[Finding]:
    """All findings for a loaded project, suppressions applied, sorted (errors first)."""
    findings = check_references(project)
    findings.extend(check_account_settings(project))
    complete = not has_errors(findings)
    if complete:  # later checks assume the references resolve
        findings.extend(_policy_checks(project))
    return sort_findings(apply_suppressions(project, findings, report_unused=complete))


def _policy_checks(project: Project) -> list[Finding]:
    """AWS limits, policy lint and lockout, on one model of the project that they share."""
    # Imported here: they build the model and lint policies, which only a project whose references
    # resolve needs.
    from securecart_tf.checks.context import Context
    from securecart_tf.checks.limits import check_limits
    from securecart_tf.checks.lint import check_policy_lint
    from securecart_tf.checks.lockout import check_lockout

    ctx = Context.build(project)
    return [*check_limits(ctx), *check_policy_lint(ctx), *check_lockout(ctx)]


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
