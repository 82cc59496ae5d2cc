"""Would an SCP or RCP statement apply to a request? Evaluated as AWS does, in three values.

A statement applies to a request when its Action (or NotAction) covers the action, its Resource (or
NotResource) covers the resource, and every condition holds: conditions are ANDed. What the request
context holds is known here only for what securecart-tf's own sessions send:

- `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType` (a role session: AssumedRole);
- `aws:RequestedRegion`, when the caller says which region the call goes to;
- `aws:PrincipalIsAWSService`, `aws:ViaAWSService` (false) and `aws:CalledVia*`, `aws:SourceAccount`,
  `aws:SourceArn`, `aws:SourceOrg*`, `aws:SourceOwner`, `aws:SourceIdentity` (absent): Terraform calls AWS
  directly, not through a service; `aws:SecureTransport` (true): always over TLS;
- where the call comes from (`aws:SourceIp`, `aws:SourceVpc*`, `aws:VpcSourceIp`) is unknown: the runner
  may sit anywhere;
- `aws:PrincipalOrgID`: the organization's, which `${aws:ResourceOrgID}` also stands for in an RCP;
- a service key the action does not document is absent from its request.

A missing key makes a negated operator (StringNotEquals, ArnNotLike, ...) and any ...IfExists operator
true, and any other operator false; `Null` tests for it. Anything else (tags, request parameters, set
operators) is unknown, so the statement *can* apply: the evaluation returns None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from securecart_tf.iam import iam_data
from securecart_tf.iam.iam_data import wildcard
from securecart_tf.iam.lint import as_list, statement_covers

_OWN_ORG = "\0own-organization"
"""The organization's ID where it is not known: equal to itself, and to no ID written in a policy."""

Tri = bool | None
"""True, False, or None: cannot be decided without the request."""

_NEGATED = {
    "stringnotequals",
    "stringnotequalsignorecase",
    "stringnotlike",
    "arnnotequals",
    "arnnotlike",
    "numericnotequals",
    "datenotequals",
    "notipaddress",
}
_NETWORK_ORIGIN = {"aws:sourceip", "aws:sourcevpc", "aws:sourcevpcarn", "aws:sourcevpce", "aws:vpcsourceip"}
"""Keys whose presence and values depend on where the Terraform runner sits, so they cannot be known here."""
_STRING = {"stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase"}
_LIKE = {"stringlike", "stringnotlike"}
_ARN = {"arnequals", "arnnotequals", "arnlike", "arnnotlike"}


def role_arn(account_id: str, role: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role}"


@dataclass(frozen=True)
class Request:
    """What a role session sends; None where the check does not know."""

    principal_arn: str
    action: str | None = None
    resource: str | None = None
    region: str | None = None
    org_id: str | None = None
    """The organization's ID, when known; the principal and the resource are both in it."""


def _glob(pattern: str, value: str) -> bool:
    return wildcard(pattern, False).fullmatch(value) is not None


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


def _substitute(pattern: str, request: Request) -> str | None:
    """Policy variables the request fills; None when another variable makes the value unknowable."""
    parts = request.principal_arn.split(":")
    account = parts[4] if len(parts) >= 5 else ""
    pattern = re.sub(r"\$\{aws:PrincipalAccount\}", account, pattern, flags=re.I)
    org = request.org_id or _OWN_ORG
    pattern = re.sub(r"\$\{aws:(Resource|Principal)OrgID\}", lambda _: org, pattern, flags=re.I)
    return None if "${" in pattern else pattern


def _value_matches(base: str, pattern: str, value: str) -> bool:
    if base in _ARN:
        return _arn_match(pattern, value)  # ArnEquals and ArnLike both take wildcards
    if base in _LIKE:
        return _glob(pattern, value)
    if "ignorecase" in base:
        return pattern.lower() == value.lower()
    return pattern == value


def context_value(key: str, request: Request) -> tuple[bool, list[str]] | None:
    """(present?, values) of a key in the request context; None when it cannot be known."""
    k = key.lower()
    arn = request.principal_arn
    if k == "aws:principalarn":
        return True, [arn]
    if k == "aws:principalaccount":
        return (True, [arn.split(":")[4]]) if arn.count(":") >= 5 else None
    if k == "aws:principaltype":
        return True, ["AssumedRole"]
    if k in ("aws:principalisawsservice", "aws:viaawsservice"):
        return True, ["false"]
    if k in _NETWORK_ORIGIN:
        return None
    if k in ("aws:calledvia", "aws:calledviafirst", "aws:calledvialast") or k.startswith("aws:source"):
        return False, []
    if k == "aws:securetransport":
        return True, ["true"]
    if k == "aws:principalorgid":
        return True, [request.org_id or _OWN_ORG]
    if k == "aws:requestedregion":
        return (True, [request.region]) if request.region is not None else None
    if request.action is not None and not iam_data.is_global_key(key):
        act = iam_data.action(request.action)
        if act is not None and not iam_data.action_supports(act, key):
            return False, []
    return None


def condition_holds(operator: str, key: str, raw: Any, request: Request) -> Tri:
    """One key under one operator, for this request."""
    op = operator.lower()
    known = context_value(key, request)
    values = [str(v) for v in as_list(raw)]
    if op.startswith(("forallvalues:", "foranyvalue:")):
        if known is not None and not known[0]:
            return op.startswith("forallvalues:")  # over an empty set: all hold, none matches
        return None
    if_exists = op.endswith("ifexists")
    base = op.removesuffix("ifexists")
    if known is None:
        return None
    present, actual = known
    if base == "null":
        return any((v.lower() == "true") == (not present) for v in values)
    if not present:
        return if_exists or base in _NEGATED
    if base == "bool":
        return any(v.lower() == a.lower() for v in values for a in actual)
    if not (base in _STRING or base in _LIKE or base in _ARN):
        return None
    positive = base.replace("not", "", 1)
    patterns = [_substitute(v, request) for v in values]
    known_patterns = [p for p in patterns if p is not None]
    matched = any(_value_matches(positive, p, a) for p in known_patterns for a in actual)
    if not matched and len(known_patterns) < len(patterns):
        return None  # a value with an unknowable policy variable might match
    return not matched if base in _NEGATED else matched


def _resource_covered(statement: dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_glob(str(p), resource) for p in as_list(statement["NotResource"]))
    return any(_glob(str(p), resource) for p in as_list(statement.get("Resource", "*")))


def applies(statement: dict[str, Any], request: Request) -> Tri:
    """Whether the statement applies to the request: True, False, or None when it may."""
    if request.action is not None and not statement_covers(statement, request.action):
        return False
    if request.resource is not None and not _resource_covered(statement, request.resource):
        return False
    condition = statement.get("Condition")
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return None
    result: Tri = True
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return None
        for key, raw in block.items():
            holds = condition_holds(str(operator), str(key), raw, request)
            if holds is False:
                return False
            if holds is None:
                result = None
    return result


def excludes(statement: dict[str, Any], principal_arn: str) -> bool:
    """True when the statement's conditions can never hold for a role session with this ARN, whatever it does."""
    return applies(statement, Request(principal_arn)) is False


def exemption_hint(roles: list[str], partition: str = "aws") -> str:
    arns = ", ".join(f'"arn:{partition}:iam::*:role/{r}"' for r in roles)
    return f'add "ArnNotLike": {{"aws:PrincipalArn": [{arns}]}} to the statement\'s Condition'
