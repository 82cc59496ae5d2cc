"""AWS quotas, in one table. Validation, packing and the README all read `LIMITS`.

Values are AWS defaults; the matrix's `limits:` block overrides the adjustable ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from securecart_tf.config.schema import AccessMatrix
from securecart_tf.iam.documents import minify


@dataclass(frozen=True)
class Limit:
    key: str
    value: int
    unit: str
    what: str
    adjustable: str


LIMITS: dict[str, Limit] = {
    limit.key: limit
    for limit in (
        Limit(
            "scp_max_chars",
            5120,
            "characters",
            "SCP document size, minified as sent",
            "10,240 since the 2026-05-15 raise: set limits.scp_max_chars: 10240",
        ),
        Limit(
            "scps_per_target",
            5,
            "policies",
            "SCPs attached directly to one root, OU or account, FullAWSAccess included",
            "10 after the 2026 raise: set limits.scps_per_target",
        ),
        Limit("rcp_max_chars", 5120, "characters", "RCP document size, minified as sent", "no"),
        Limit(
            "rcps_per_target",
            5,
            "policies",
            "RCPs attached directly to one root, OU or account, RCPFullAWSAccess included",
            "no",
        ),
        Limit("ou_depth", 5, "levels", "OU nesting depth under the root", "no"),
        Limit(
            "accounts_per_organization",
            10,
            "accounts",
            "accounts in the organization, the management account included; new organizations may start lower",
            "by quota request: limits.accounts_per_organization",
        ),
        Limit(
            "role_trust_policy_chars",
            2048,
            "characters",
            "role trust policy size",
            "up to 8,192 by quota request: limits.role_trust_policy_chars",
        ),
        Limit(
            "managed_policies_per_role",
            10,
            "policies",
            "managed policies attached to one role",
            "up to 25 by quota request: limits.managed_policies_per_role",
        ),
        Limit("managed_policy_chars", 6144, "characters", "managed policy document size, minified", "no"),
        Limit(
            "role_inline_policy_chars",
            10240,
            "characters",
            "inline policies of one role, all together, minified",
            "no",
        ),
        Limit("role_name_chars", 64, "characters", "role name length", "no"),
        Limit("policy_name_chars", 128, "characters", "policy name length", "no"),
        Limit("role_session_min_seconds", 3600, "seconds", "role maximum session duration, lower bound", "no"),
        Limit("role_session_max_seconds", 43200, "seconds", "role maximum session duration, upper bound", "no"),
        Limit("permission_set_name_chars", 32, "characters", "permission set name length, unique per instance", "no"),
        Limit("permission_set_session_min_minutes", 60, "minutes", "permission set session, lower bound (PT1H)", "no"),
        Limit(
            "permission_set_session_max_minutes", 720, "minutes", "permission set session, upper bound (PT12H)", "no"
        ),
        Limit("permission_set_inline_bytes", 32768, "bytes", "inline policy per permission set", "no"),
        Limit(
            "permission_set_inline_chars", 10240, "non-whitespace characters", "inline policy per permission set", "no"
        ),
        Limit(
            "permission_set_managed_policies",
            20,
            "policies",
            "managed policies per permission set (AWS + customer)",
            "capped by managed_policies_per_role",
        ),
    )
}


@dataclass(frozen=True)
class Limits:
    """The limits in force for one matrix: defaults with the matrix's overrides applied."""

    values: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.values[key]

    @classmethod
    def from_matrix(cls, matrix: AccessMatrix | None) -> Limits:
        values = {k: v.value for k, v in LIMITS.items()}
        if matrix is not None:
            for key, value in matrix.limits.model_dump(exclude_none=True).items():
                values[key] = int(value)
        return cls(values)


SIZE_LIMIT = {"scp": "scp_max_chars", "rcp": "rcp_max_chars"}
"""The limit on one policy's size, by policy type."""
COUNT_LIMIT = {"scp": "scps_per_target", "rcp": "rcps_per_target"}
"""The limit on policies attached to one target, by policy type."""
FULL_ACCESS = {"scp": "FullAWSAccess", "rcp": "RCPFullAWSAccess"}
"""The AWS-managed policy attached to every root, OU and account, taking one slot."""


def fit_scp(name: str, document: dict[str, Any], limits: Limits, kind: str = "scp") -> list[tuple[str, str]]:
    """Minify an SCP or RCP, and if it is still too big, pack its statements into as few policies as fit.

    Returns (policy name, minified content) pairs: one pair when it fits, `name-1`, `name-2`... otherwise.
    A single statement larger than the limit is returned alone; validation reports it.
    """
    limit = limits[SIZE_LIMIT[kind]]
    content = minify(document)
    if len(content) <= limit:
        return [(name, content)]
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    version = document.get("Version", "2012-10-17")
    overhead = len(minify({"Version": version, "Statement": []}))
    # first-fit decreasing: the fewest policies for statements of uneven size
    sized = sorted(((len(minify(s)), i, s) for i, s in enumerate(statements)), key=lambda t: (-t[0], t[1]))
    bins: list[tuple[int, list[tuple[int, dict[str, Any]]]]] = []
    for size, index, statement in sized:
        for b, (used, items) in enumerate(bins):
            if used + size + 1 <= limit:
                items.append((index, statement))
                bins[b] = (used + size + 1, items)
                break
        else:
            bins.append((overhead + size, [(index, statement)]))
    parts = []
    for b, (_, items) in enumerate(bins, start=1):
        ordered = [s for _, s in sorted(items, key=lambda t: t[0])]
        parts.append((f"{name}-{b}", minify({"Version": version, "Statement": ordered})))
    return parts


def limits_markdown(limits: Limits | None = None) -> str:
    """The limits table as Markdown, for the README. With `limits`, the Value column shows those values."""
    values = limits.values if limits is not None else {k: v.value for k, v in LIMITS.items()}
    rows = [
        "| limit | value | unit | what it bounds | adjustable |",
        "|---|---:|---|---|---|",
    ]
    for key, limit in LIMITS.items():
        rows.append(f"| `{key}` | {values[key]:,} | {limit.unit} | {limit.what} | {limit.adjustable} |")
    return "\n".join(rows) + "\n"
