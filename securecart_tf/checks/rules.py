"""Every rule `validate` applies to policies: its stable id, its severity and what it catches.

The README's rule list is rendered from `RULES`, and a test checks that every finding the checks emit
names a rule listed here, so the list cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securecart_tf.errors import Location
from securecart_tf.findings import Finding, Severity

if TYPE_CHECKING:
    from securecart_tf.iam.lint import Issue


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    group: str
    summary: str


_E, _W, _I = Severity.error, Severity.warning, Severity.info

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # ---- AWS limits (values from the limits table)
        Rule(
            "scp-minified", _I, "limits", "a custom SCP file is over `scp_max_chars` as written, but fits once minified"
        ),
        Rule(
            "scp-packed",
            _I,
            "limits",
            "an SCP over `scp_max_chars` is packed into several SCPs; each part takes an attachment slot",
        ),
        Rule(
            "scp-too-large",
            _E,
            "limits",
            "a single SCP (RCP) statement is over `scp_max_chars` (`rcp_max_chars`), so no packing can fit it",
        ),
        Rule("scp-name-length", _E, "limits", "an SCP name (a packed part adds -N) is longer than `policy_name_chars`"),
        Rule(
            "scps-per-target",
            _E,
            "limits",
            "more than `scps_per_target` SCPs (`rcps_per_target` RCPs) attached directly to a root, OU or account, "
            "FullAWSAccess (RCPFullAWSAccess) included",
        ),
        Rule("ou-depth", _E, "limits", "an OU nested deeper than `ou_depth` levels under the root"),
        Rule(
            "accounts-per-organization",
            _E,
            "limits",
            "the matrix has more accounts than `accounts_per_organization`, the management account included",
        ),
        Rule(
            "trust-policy-size",
            _E,
            "limits",
            "a role's trust policy, as rendered for an account, is longer than `role_trust_policy_chars`",
        ),
        Rule(
            "managed-policies-per-role",
            _E,
            "limits",
            "a role has more than `managed_policies_per_role` managed policies",
        ),
        Rule(
            "managed-policy-size",
            _E,
            "limits",
            "a customer-managed policy is longer than `managed_policy_chars`, minified",
        ),
        Rule(
            "role-inline-policy-size",
            _E,
            "limits",
            "a role's or service role's inline policies together are longer than `role_inline_policy_chars`",
        ),
        Rule("role-name-length", _E, "limits", "a role name is longer than `role_name_chars`"),
        Rule(
            "role-session-duration",
            _E,
            "limits",
            "a role's max_session_duration is outside `role_session_min_seconds` to `role_session_max_seconds`",
        ),
        Rule(
            "role-chaining-session", _I, "limits", "a role reached only by role chaining asks for sessions over 1 hour"
        ),
        Rule(
            "permission-set-name-length",
            _E,
            "limits",
            "a permission set name is longer than `permission_set_name_chars`",
        ),
        Rule(
            "permission-set-session-duration",
            _E,
            "limits",
            "a permission set session_duration is outside the `permission_set_session_*_minutes` bounds",
        ),
        Rule(
            "permission-set-inline-policy-size",
            _E,
            "limits",
            "a permission set's inline policy is over `permission_set_inline_bytes` or `permission_set_inline_chars`",
        ),
        Rule(
            "permission-set-managed-policies",
            _E,
            "limits",
            "a permission set has more managed policies than `permission_set_managed_policies` or the per-role quota",
        ),
        # ---- lint: parliament, filtered per policy kind
        Rule(
            "condition-key-not-supported",
            _E,
            "lint",
            "a condition key the action does not support (the seed's s3:PutBucketPolicy example)",
        ),
        Rule("unknown-action", _W, "lint", "an action or service prefix IAM does not know; it matches nothing"),
        Rule("malformed-policy", _E, "lint", "a document AWS rejects: bad element, Effect, Sid, operator or Version"),
        Rule("invalid-arn", _E, "lint", "a Resource that is not a well-formed ARN"),
        Rule("condition-type-mismatch", _E, "lint", "a condition value or operator of the wrong type for its key"),
        Rule(
            "condition-operator-type", _I, "lint", "a String operator on an ARN key; it works, Arn operators are exact"
        ),
        Rule("resource-mismatch", _W, "lint", "an Allow whose resources match none of its actions' resource types"),
        Rule(
            "unknown-principal",
            _W,
            "lint",
            "a trust policy principal that is not an account, ARN, service or known identity provider",
        ),
        Rule("mfa-condition-pattern", _E, "lint", "an MFA condition that does not enforce MFA (Bool/Null on false)"),
        Rule(
            "resource-policy-escalation",
            _W,
            "lint",
            "S3 bucket policy or ACL rights granted without the matching object rights",
        ),
        Rule(
            "policy-lint",
            _W,
            "lint",
            "a policy without Version 2012-10-17, or a statement parliament could not analyse",
        ),
        # ---- lint: resource control policies
        Rule("rcp-syntax", _E, "lint", 'an RCP statement that is not a Deny with Principal "*"'),
        Rule(
            "rcp-unsupported-service",
            _E,
            "lint",
            "an RCP action of a service RCPs do not apply to (the IAM data's list of supported services)",
        ),
        # ---- lint: our own rules
        Rule("wildcard-action", _E, "lint", 'an Allow of Action "*" (or NotAction) outside roles marked admin'),
        Rule(
            "wildcard-resource-write",
            _W,
            "lint",
            'an Allow of write actions that support resource ARNs on Resource "*", outside roles marked admin',
        ),
        Rule("passrole-wildcard", _E, "lint", 'iam:PassRole on Resource "*" (any role), outside roles marked admin'),
        Rule(
            "trust-root-without-external-id",
            _E,
            "lint",
            "trust in another account's root: error outside the organization without ExternalId, warning inside",
        ),
        Rule("trust-human-without-mfa", _E, "lint", "a human role trusting IAM principals without requiring MFA"),
        Rule("vendor-role-expiry", _E, "lint", "a vendor role with no trust expiry, or one already past"),
        Rule(
            "privilege-escalation-without-boundary",
            _E,
            "lint",
            "can create roles or attach policies, but no boundary forces a boundary on what it creates",
        ),
        Rule(
            "service-role-escalation",
            _E,
            "lint",
            "a policy that lets a non-admin change what a more privileged role runs: lambda:UpdateFunctionCode on "
            "any function, or ecs:RegisterTaskDefinition with iam:PassRole over a role that may do more",
        ),
        Rule("developer-role-in-prod", _E, "lint", "a DeveloperRole placed in an account whose environment is prod"),
        # ---- lockout
        Rule(
            "scp-lockout",
            _E,
            "lockout",
            "an SCP Deny that can deny the deployment role an action securecart-tf's Terraform performs in an "
            "account it reaches, or the break-glass role what it needs to recover (assume roles, manage IAM "
            "roles and policies); Action, Resource and Condition evaluated as AWS does",
        ),
        Rule(
            "scp-binds-platform-role",
            _I,
            "lockout",
            "an SCP Deny that applies to the deployment or break-glass role, but only to actions they do not need",
        ),
        Rule(
            "rcp-lockout",
            _E,
            "lockout",
            "an RCP Deny that can deny the deployment role, or the tool's state bucket, access its Terraform needs",
        ),
        Rule(
            "scp-management-account",
            _I,
            "lockout",
            "a guardrail targets the management account, which SCPs and RCPs never restrict",
        ),
    )
}


def finding(
    rule: str,
    message: str,
    location: Location,
    fix: str,
    subject: str,
    severity: Severity | None = None,
) -> Finding:
    """A finding of a registered rule, at the rule's severity unless one is given."""
    return Finding(rule, severity or RULES[rule].severity, message, location, fix, subject)


class FindingSet:
    """Collects findings once each: the same problem rendered into several accounts is one finding."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, f: Finding) -> None:
        key = (f.rule, f.subject, f.message)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(f)

    def issues(self, issues: Iterable[Issue], prefix: str, location: Location, subject: str) -> None:
        """Issues the lint found in one document, as findings of `subject` at `location`."""
        for issue in issues:
            message = f"{prefix} {issue.message}" if prefix else issue.message
            self.add(finding(issue.rule, message, location, issue.fix, subject, issue.severity))


def rules_markdown() -> str:
    """The rule list for the README: one line per rule, grouped."""
    titles = {"limits": "AWS limits", "lint": "Policy lint", "lockout": "Lockout"}
    out: list[str] = []
    for group, title in titles.items():
        out.append(f"**{title}**")
        out.append("")
        for r in RULES.values():
            if r.group == group:
                out.append(f"- `{r.id}` ({r.severity}): {r.summary}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
