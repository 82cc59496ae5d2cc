"""Could an SCP Deny hit the deployment or break-glass role? Decided from the statement's conditions alone.

A Deny statement's conditions are ANDed, so it cannot apply to a role when any one of them is false for
that role. Two kinds of condition can be decided without the request:

- `aws:PrincipalArn` under a negated operator (ArnNotLike, ArnNotEquals, StringNotLike, StringNotEquals)
  whose values cover the role's ARN: the exemption;
- `aws:PrincipalArn` or `aws:PrincipalType` under a positive operator whose values can never be the role
  (deny-root-user's `StringLike` on `arn:aws:iam::*:root`).

Anything else (tags, regions, request parameters) might be true for the role, so the Deny could hit it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_NEGATED = {"arnnotlike", "arnnotequals", "stringnotlike", "stringnotequals"}
_POSITIVE = {"arnlike", "arnequals", "stringlike", "stringequals"}


def role_arn(account_id: str, role: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role}"


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    # compiled once per pattern: an SCP's patterns are matched against a role ARN in every member account
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _glob(pattern: str, value: str) -> bool:
    return _glob_regex(pattern).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _arn_regex(pattern: str) -> re.Pattern[str] | None:
    """One regex for an ARN pattern: each of the first five parts matched within itself, then the rest."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return None

    def part(text: str, within: bool) -> str:
        star, one = ("[^:]*", "[^:]") if within else (".*", ".")
        return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in text)

    return re.compile(":".join([*(part(p, True) for p in parts[:5]), part(parts[5], False)]))


def _arn_match(pattern: str, arn: str) -> bool:
    # Arn operators match each of the six colon-separated parts on its own, with wildcards in each.
    regex = _arn_regex(pattern)
    if regex is None or arn.count(":") < 5:
        return False
    return regex.fullmatch(arn) is not None


def _matches(operator: str, pattern: str, value: str) -> bool:
    # The principal's own account is known; any other policy variable stays literal and so matches nothing.
    pattern = pattern.replace("${aws:PrincipalAccount}", value.split(":")[4] if value.count(":") >= 5 else "")
    if operator.startswith("arn"):
        return _arn_match(pattern, value)
    if operator.endswith("like"):
        return _glob(pattern, value)
    return pattern == value


def _operator(name: str) -> tuple[str, bool] | None:
    """The base operator, lower-case, and whether it is negated; None for what cannot be decided here."""
    op = name.lower()
    if op.startswith(("forallvalues:", "foranyvalue:")):
        return None  # set operators on these single-valued keys: leave them to a human
    op = op.removesuffix("ifexists")  # the key is always present for a signed-in principal
    if op in _NEGATED:
        return op, True
    if op in _POSITIVE:
        return op, False
    return None


def excludes(statement: dict[str, Any], principal_arn: str) -> bool:
    """True when the statement's conditions can never hold for a role session with this ARN."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for op_name, block in condition.items():
        decided = _operator(str(op_name))
        if decided is None or not isinstance(block, dict):
            continue
        op, negated = decided
        for key, raw in block.items():
            values = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
            if key.lower() == "aws:principalarn":
                matched = any(_matches(op, v, principal_arn) for v in values)
            elif key.lower() == "aws:principaltype" and not op.startswith("arn"):
                matched = any(_matches(op, v, "AssumedRole") for v in values)
            else:
                continue
            if matched == negated:  # negated and covered, or positive and never the role
                return True
    return False


def exemption_hint(roles: list[str]) -> str:
    arns = ", ".join(f'"arn:aws:iam::*:role/{r}"' for r in roles)
    return f'add "ArnNotLike": {{"aws:PrincipalArn": [{arns}]}} to the statement\'s Condition'
