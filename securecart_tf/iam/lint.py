"""Lint one policy document: which actions and condition keys exist, parliament's structure checks, our rules.

Which actions, services and condition keys exist, and which keys apply to which action, come from the IAM
data in `iam_data` (AWS's current reference), never from parliament's older copy. Parliament still checks
structure: Version, Sids, operators, ARNs, value types, MFA patterns. Its findings are kept where they mean
the same thing for the kind of document at hand and dropped where they do not; each filter below says why.
Our own rules cover what parliament does not: wildcard grants, `iam:PassRole` on any role, and what an
identity can do to IAM.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import re
import sys
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from securecart_tf.findings import Severity
from securecart_tf.iam import iam_data
from securecart_tf.iam.iam_data import wildcard
from securecart_tf.iam.lint_cache import lint_cache, remembered


@cache
def load_parliament() -> types.ModuleType:
    """parliament, imported on first use, and without `pkg_resources` when it can be.

    parliament imports `pkg_resources` only to find two data files beside itself, and that import scans
    every installed distribution: it doubles the cost of importing parliament. While parliament imports,
    a stand-in that knows where those files are takes its place; anything else falls back to the real one.
    """
    spec = importlib.util.find_spec("parliament")
    if "pkg_resources" in sys.modules or spec is None or spec.origin is None:
        return importlib.import_module("parliament")
    folder = Path(spec.origin).parent
    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_filename = lambda package, name: str(folder / name)  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        return importlib.import_module("parliament")
    except AttributeError:  # a parliament that wants more of pkg_resources than this
        for name in [n for n in sys.modules if n == "parliament" or n.startswith("parliament.")]:
            del sys.modules[name]
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return importlib.import_module("parliament")


class Kind(StrEnum):
    scp = "scp"
    identity = "identity"
    """Customer-managed policies attached as permissions, role inline policies, permission-set inline policies."""
    boundary = "boundary"
    trust = "trust"


@dataclass(frozen=True)
class Issue:
    """A problem in one document; the caller adds the subject and the YAML location."""

    rule: str
    message: str
    fix: str
    severity: Severity | None = None
    """None: the rule's default severity."""


def statements(document: dict[str, Any]) -> list[Any]:
    raw = document.get("Statement", [])
    return [raw] if isinstance(raw, dict) else list(raw) if isinstance(raw, list) else [raw]


def statement_dicts(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's statements that are objects (a malformed one is left to the linter to report)."""
    return [s for s in statements(document) if isinstance(s, dict)]


def statement_label(statement: Any, index: int) -> str:
    """How a message names a statement: its Sid, or its 1-based position."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return f'statement "{sid}"' if sid else f"statement #{index + 1}"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------- parliament

_DROPPED_EVERYWHERE = {
    # Which actions, prefixes and condition keys exist is decided by the IAM data (`_iam_data_issues`):
    # parliament's copy of AWS's reference is years old and flags what AWS has added since.
    "UNKNOWN_ACTION",
    "UNKNOWN_PREFIX",
    "UNKNOWN_CONDITION_FOR_ACTION",
    # Our own wildcard-resource-write rule covers Resource "*", knowing which roles are marked admin and
    # which actions can name a resource at all; parliament's generic version would only add noise.
    "RESOURCE_STAR",
    "RESOURCE_EFFECTIVELY_STAR",
}

# rule id, fix; severity comes from the rule unless given
_MAPPING: dict[str, tuple[str, str, Severity | None]] = {
    "UNKNOWN_CONDITION_FOR_ACTION": (
        "condition-key-not-supported",
        "use a condition key the action supports (see its Service Authorization Reference page), or change the action",
        None,
    ),
    "UNKNOWN_ACTION": ("unknown-action", "correct the action name; see the Service Authorization Reference", None),
    "UNKNOWN_PREFIX": ("unknown-action", "correct the service prefix; see the Service Authorization Reference", None),
    "MALFORMED": ("malformed-policy", "fix the statement so that IAM accepts it", None),
    "MALFORMED_JSON": ("malformed-policy", "fix the JSON", None),
    "INVALID_SID": ("malformed-policy", "use only letters and digits in a Sid", None),
    "DUPLICATE_SID": ("malformed-policy", "give every statement its own Sid", None),
    "INVALID_VERSION": ("malformed-policy", 'set "Version": "2012-10-17"', None),
    "UNKNOWN_OPERATOR": ("malformed-policy", "use a documented condition operator", None),
    "MISMATCHED_TYPE_OPERATION_TO_NULL": ("malformed-policy", 'compare Bool and Null with "true" or "false"', None),
    "NO_VERSION": ("policy-lint", 'add "Version": "2012-10-17"; without it policy variables do not work', None),
    "OLD_VERSION": ("policy-lint", 'use "Version": "2012-10-17"; 2008-10-17 has no policy variables', None),
    "INVALID_ARN": ("invalid-arn", "write the resource as arn:partition:service:region:account:resource", None),
    "MISMATCHED_TYPE": ("condition-type-mismatch", "use an operator and a value of the key's type", None),
    "MISMATCHED_TYPE_BUT_USABLE": ("condition-operator-type", "use ArnEquals/ArnLike for ARN condition keys", None),
    "RESOURCE_MISMATCH": ("resource-mismatch", "name resources of the types these actions act on", None),
    "UNKNOWN_PRINCIPAL": ("unknown-principal", "name an account, role ARN or service principal", None),
    "UNKNOWN_FEDERATION_SOURCE": ("unknown-principal", "name a SAML or OIDC provider ARN", None),
    "BAD_PATTERN_FOR_MFA": (
        "mfa-condition-pattern",
        'require MFA with an Allow on {"Bool": {"aws:MultiFactorAuthPresent": "true"}}',
        None,
    ),
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": (
        "resource-policy-escalation",
        "grant the object rights explicitly, or drop the bucket policy/ACL rights",
        None,
    ),
    "EXCEPTION": ("policy-lint", "simplify the statement; parliament could not analyse it", Severity.warning),
}


def _is_idp_claim(key: str) -> bool:
    # Keys of an OIDC or SAML identity provider ("token.actions.githubusercontent.com:sub") are defined by the
    # provider, not in the AWS Service Authorization Reference parliament reads.
    prefix = key.split(":", 1)[0]
    return "." in prefix


def _keep(issue: str, detail: Any, statement: Any, kind: Kind) -> bool:
    if issue in _DROPPED_EVERYWHERE:
        return False
    if kind == Kind.scp and issue in ("RESOURCE_MISMATCH", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
        # An SCP grants nothing and applies across every account; resource-type matching and grant-escalation
        # patterns are identity-policy semantics.
        return False
    if kind == Kind.boundary and issue == "RESOURCE_POLICY_PRIVILEGE_ESCALATION":
        return False  # a boundary caps permissions; it grants nothing to escalate with
    if kind == Kind.trust:
        if issue in ("RESOURCE_MISMATCH", "RESOURCE_POLICY_PRIVILEGE_ESCALATION"):
            return False  # the Resource was added by us so parliament would analyse the statement at all
        if issue == "UNKNOWN_FEDERATION_SOURCE" and ":oidc-provider/" in str(detail):
            return False  # parliament knows SAML providers and four web IdPs; IAM OIDC providers are valid too
    return True


def _prepare(document: dict[str, Any], kind: Kind) -> dict[str, Any]:
    if kind != Kind.trust:
        return document
    # A trust policy is a resource policy: it has a Principal and no Resource. Parliament stops at a statement
    # without Resource before it checks actions and condition keys, so it gets a copy with Resource "*".
    prepared = copy.deepcopy(document)
    for statement in statements(prepared):
        if isinstance(statement, dict) and "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = "*"
    return prepared


def _describe(issue: str, detail: Any, location: dict[str, Any]) -> str:
    text = location.get("string") if isinstance(location, dict) else None
    if issue == "INVALID_ARN":
        return f"Resource {text!r} is not a valid ARN ({detail})"
    if issue == "INVALID_SID":
        return f"Sid {text!r} may only hold letters and digits"
    if issue == "UNKNOWN_OPERATOR":
        return f"condition operator {detail} is unknown"
    if issue == "MISMATCHED_TYPE_OPERATION_TO_NULL":
        return "a Bool or Null condition is compared with something other than true or false"
    if issue == "RESOURCE_MISMATCH" and isinstance(detail, list):
        parts = [f"{d.get('action')} (needs {d.get('required_format')})" for d in detail if isinstance(d, dict)]
        return "no listed resource matches " + shorten(parts)
    if issue == "NO_VERSION":
        return "the policy has no Version"
    if issue == "OLD_VERSION":
        return "the policy uses Version 2008-10-17"
    if issue in ("UNKNOWN_PRINCIPAL", "UNKNOWN_FEDERATION_SOURCE"):
        shown = detail or text
        return (
            f"principal {shown!r} is not in a form IAM accepts" if shown else "a principal is not in a form IAM accepts"
        )
    if issue == "EXCEPTION":
        return f"parliament could not analyse it: {detail}"
    return str(detail) if detail else issue.replace("_", " ").lower()


def shorten(items: Sequence[str], keep: int = 5) -> str:
    """'a, b, c, d, e and 3 more'."""
    items = list(dict.fromkeys(items))
    if len(items) <= keep:
        return ", ".join(items)
    return ", ".join(items[:keep]) + f" and {len(items) - keep} more"


def _shape_issues(document: dict[str, Any]) -> list[Issue]:
    """Element types IAM requires; parliament crashes on these rather than reporting them."""
    rule, fix, _ = _MAPPING["MALFORMED"]
    issues = []
    for index, statement in enumerate(statements(document)):
        label = statement_label(statement, index)
        if not isinstance(statement, dict):
            issues.append(Issue(rule, f"{label}: a statement must be an object", fix))
            continue
        for element in ("Action", "NotAction", "Resource", "NotResource"):
            if element in statement and not all(isinstance(v, str) for v in as_list(statement[element])):
                issues.append(Issue(rule, f"{label}: {element} must be a string or a list of strings", fix))
        condition = statement.get("Condition")
        if condition is not None and not (
            isinstance(condition, dict) and all(isinstance(block, dict) for block in condition.values())
        ):
            issues.append(Issue(rule, f"{label}: Condition must map operators to {{key: values}} objects", fix))
    return issues


def _row(issue: Issue) -> list[Any]:
    return [issue.rule, issue.message, issue.fix, issue.severity.value if issue.severity is not None else None]


def _issue(row: list[Any]) -> Issue:
    rule, message, fix, severity = row
    if not all(isinstance(v, str) for v in (rule, message, fix)):
        raise ValueError(row)
    return Issue(rule, message, fix, Severity(severity) if severity is not None else None)


def _remembered(parts: tuple[str, ...], compute: Callable[[], list[Issue]]) -> list[Issue]:
    """`compute()` once per document: repeated documents, and documents linted by an earlier run, are free."""
    return remembered(lint_cache(Path(__file__)), parts, compute, _row, _issue)


def parliament_issues(document: dict[str, Any], kind: Kind) -> list[Issue]:
    """Parliament's findings for one document, attributed to statements and filtered for `kind`.

    Elements of the wrong type are reported first, and alone: parliament cannot analyse such a document.
    """
    try:
        text = json.dumps(document)
    except (TypeError, ValueError):
        return _parliament_issues(document, kind)
    return _remembered(("parliament", kind.value, text), lambda: _parliament_issues(json.loads(text), kind))


def _parliament_issues(document: dict[str, Any], kind: Kind) -> list[Issue]:
    shape = _shape_issues(document)
    if shape:
        return shape
    prepared = _prepare(document, kind)
    try:
        policy = load_parliament().analyze_policy_string(json.dumps(prepared), ignore_private_auditors=True)
    except Exception as exc:  # parliament raises bare Exceptions on documents it cannot model
        rule, fix, severity = _MAPPING["EXCEPTION"]
        return [Issue(rule, f"parliament could not analyse it: {exc}", fix, severity)]
    issues: list[Issue] = []
    for f in policy._findings:  # policy-level: Version, duplicate Sids, cross-statement patterns
        if _keep(f.issue, f.detail, None, kind):
            rule, fix, severity = _MAPPING.get(f.issue, ("policy-lint", "see parliament's documentation", None))
            issues.append(Issue(rule, _describe(f.issue, f.detail, f.location), fix, severity))
    raw = statements(document)
    for index, statement in enumerate(raw):
        label = statement_label(statement, index)
        parsed = policy.statements[index] if index < len(policy.statements) else None
        for f in parsed.findings if parsed is not None else []:
            if _keep(f.issue, f.detail, statement, kind):
                rule, fix, severity = _MAPPING.get(f.issue, ("policy-lint", "see parliament's documentation", None))
                issues.append(Issue(rule, f"{label}: {_describe(f.issue, f.detail, f.location)}", fix, severity))
        if isinstance(statement, dict):
            found = _iam_data_issues(statement, kind)
            issues += [Issue(i.rule, f"{label}: {i.message}", i.fix, i.severity) for i in found]
    return issues


def _unknown(pattern: str) -> Issue | None:
    """An action pattern naming no action IAM knows; None when it names at least one."""
    service, sep, _ = pattern.partition(":")
    if pattern == "*" or (sep and any(c in service for c in "*?")):
        return None
    if not sep or not iam_data.service_exists(service):
        rule, fix, severity = _MAPPING["UNKNOWN_PREFIX"]
        return Issue(rule, f"{pattern}: the service prefix is unknown to IAM, so it matches nothing", fix, severity)
    if iam_data.expand(pattern):
        return None
    rule, fix, severity = _MAPPING["UNKNOWN_ACTION"]
    return Issue(rule, f"{pattern} is not an IAM action, so it matches nothing", fix, severity)


def _condition_keys(statement: dict[str, Any]) -> list[str]:
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return []
    return list(dict.fromkeys(str(k) for block in condition.values() if isinstance(block, dict) for k in block))


def _iam_data_issues(statement: dict[str, Any], kind: Kind) -> list[Issue]:
    """Unknown actions and condition keys that do not apply to the statement's actions, by the IAM data."""
    element = "NotAction" if "NotAction" in statement else "Action"
    patterns = [str(a) for a in as_list(statement.get(element))]
    issues = [i for i in map(_unknown, patterns) if i is not None]
    if element == "NotAction":
        # The listed actions are the ones the statement does NOT cover; their keys say nothing about it.
        return issues
    for key in _condition_keys(statement):
        if kind == Kind.trust and _is_idp_claim(key):
            continue
        actions = iam_data.unsupported(key, patterns)
        if actions:
            rule, fix, severity = _MAPPING["UNKNOWN_CONDITION_FOR_ACTION"]
            message = (
                f"condition key {key} does not apply to {shorten(actions)}, so the condition cannot do what it says"
            )
            issues.append(Issue(rule, message, fix, severity))
    return issues


# ------------------------------------------------------------------------------------------ action matching


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, with * and ? wildcards."""
    return wildcard(pattern, True).fullmatch(action) is not None


def statement_covers(statement: dict[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) element applies to `action`."""
    if "NotAction" in statement:
        return not any(action_matches(str(p), action) for p in as_list(statement["NotAction"]))
    return any(action_matches(str(p), action) for p in as_list(statement.get("Action")))


@dataclass(frozen=True)
class Privilege:
    action: str
    access_level: str
    scoped: bool
    """The action can name a resource (it has resource types), so Resource "*" is a choice, not a need."""


def expand(pattern: str) -> tuple[Privilege, ...]:
    """Every known action a pattern such as "s3:Put*" stands for; unknown ones expand to nothing."""
    return tuple(Privilege(a.name, a.access_level, bool(a.resource_types)) for a in iam_data.expand(pattern))


WRITE_LEVELS = {"Write", "Permissions management", "Tagging"}


def _wildcard_role_resource(resource: str) -> bool:
    return resource == "*" or re.fullmatch(r"arn:[^:]*:iam::[^:]*:role/\*", resource) is not None


def grant_issues(document: dict[str, Any], *, name: str) -> list[Issue]:
    """Our rules for a document that grants permissions to a principal not marked admin.

    `name` says what the document is in messages ("policy SecureCartDeploy", "AWS-managed AdministratorAccess").
    """
    try:
        text = json.dumps(document)
    except (TypeError, ValueError):
        return _grant_issues(document, name=name)
    return _remembered(("grant", name, text), lambda: _grant_issues(json.loads(text), name=name))


def _grant_issues(document: dict[str, Any], *, name: str) -> list[Issue]:
    issues: list[Issue] = []
    for index, statement in enumerate(statements(document)):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        label = statement_label(statement, index)
        actions = [str(a) for a in as_list(statement.get("Action"))]
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        any_resource = "*" in resources or "NotResource" in statement
        if "NotAction" in statement:
            excluded = shorten([str(a) for a in as_list(statement["NotAction"])])
            issues.append(
                Issue(
                    "wildcard-action",
                    f"{name} {label}: Allow with NotAction grants every action except {excluded}",
                    "list the actions it needs, or mark the role or permission set admin: true",
                )
            )
            continue
        if any(a in ("*", "*:*") for a in actions):
            issues.append(
                Issue(
                    "wildcard-action",
                    f'{name} {label}: allows Action "*" on {shorten(resources) or "nothing"}',
                    "list the actions it needs, or mark the role or permission set admin: true",
                )
            )
            continue
        passrole = False
        if any(action_matches(a, "iam:PassRole") for a in actions):
            wide = [r for r in resources if _wildcard_role_resource(r)]
            if wide or "NotResource" in statement:
                passrole = True
                shown = wide[0] if wide else "NotResource"
                issues.append(
                    Issue(
                        "passrole-wildcard",
                        f"{name} {label}: allows iam:PassRole on {shown!r}, so it can hand any role, admin roles "
                        "included, to a service",
                        "list the role ARNs it passes, e.g. arn:aws:iam::*:role/checkout-service",
                    )
                )
        if any_resource:
            writes = sorted(
                {
                    p.action
                    for a in actions
                    for p in expand(a)
                    if p.access_level in WRITE_LEVELS and p.scoped and not (passrole and p.action == "iam:PassRole")
                }
            )
            if writes:
                issues.append(
                    Issue(
                        "wildcard-resource-write",
                        f'{name} {label}: allows {len(writes)} write action(s) on Resource "*" that could name '
                        f"their resources: {shorten(writes)}",
                        "scope Resource to the ARNs it changes, or mark the role or permission set admin: true",
                    )
                )
    return issues


# ------------------------------------------------------------------------------------- what IAM allows it

ROLE_CREATION_ACTIONS = (
    "iam:CreateRole",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:CreateUser",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
)


def _has_key(statement: dict[str, Any], key: str) -> bool:
    condition = statement.get("Condition") or {}
    return isinstance(condition, dict) and any(
        isinstance(block, dict) and any(k.lower() == key.lower() for k in block) for block in condition.values()
    )


def unbounded_creation(identity: Iterable[dict[str, Any]], boundary: dict[str, Any] | None) -> list[str]:
    """The role-creating or policy-attaching actions an identity can use without a forced boundary.

    An action counts when an Allow in the identity's policies covers it, no unconditional Deny (in its
    policies or its boundary) blocks it, and the boundary is missing or allows it without a condition on
    `iam:PermissionsBoundary` (which is how a boundary forces boundaries on what the identity creates).
    """
    identity_statements = [s for d in identity for s in statements(d) if isinstance(s, dict)]
    boundary_statements = [s for s in statements(boundary) if isinstance(s, dict)] if boundary is not None else []
    out = []
    for action in ROLE_CREATION_ACTIONS:
        allowed = any(s.get("Effect") == "Allow" and statement_covers(s, action) for s in identity_statements)
        denied = any(
            s.get("Effect") == "Deny" and "Condition" not in s and statement_covers(s, action)
            for s in [*identity_statements, *boundary_statements]
        )
        if not allowed or denied:
            continue
        if boundary is None:
            out.append(action)
            continue
        grants = [s for s in boundary_statements if s.get("Effect") == "Allow" and statement_covers(s, action)]
        if any(not _has_key(s, "iam:PermissionsBoundary") for s in grants):
            out.append(action)
    return out
