"""Recognize a live SCP or RCP as a library guardrail: infer its parameters from the document, build the
library's policy with them, and keep the match only when the two documents are the same policy."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from securecart_tf.adopt.compare import same_policy
from securecart_tf.adopt.inventory import Document
from securecart_tf.iam import documents
from securecart_tf.iam.guardrails import (
    GLOBAL_SERVICES,
    LIBRARY,
    RCP_SERVICES,
    EncryptionParams,
    GuardrailParameterError,
    SecurityServicesParams,
    build_guardrail,
)
from securecart_tf.iam.lint import as_list, statement_dicts

_EXEMPT_ROLE = re.compile(r"^arn:[a-z-]+:iam::\*:role/([A-Za-z0-9_+=,.@-]+)$")


@dataclass(frozen=True)
class BuiltinMatch:
    builtin: str
    parameters: dict[str, Any] = field(default_factory=dict)
    exempt_roles: tuple[str, ...] = ()


def _condition_values(doc: Document, key: str) -> list[Any]:
    """The values of condition key `key` under any operator, from the first statement that has it."""
    for s in statement_dicts(doc):
        for keys in (s.get("Condition") or {}).values():
            if isinstance(keys, dict) and key in keys:
                return as_list(keys[key])
    return []


def exempt_roles(doc: Document) -> list[str] | None:
    """The role names an `aws:PrincipalArn` ArnNotLike condition exempts, in order; None when one of its
    patterns is not a role name in every account."""
    for s in statement_dicts(doc):
        patterns = ((s.get("Condition") or {}).get("ArnNotLike") or {}).get("aws:PrincipalArn")
        if patterns is None:
            continue
        names = [m.group(1) if (m := _EXEMPT_ROLE.match(str(p))) else None for p in as_list(patterns)]
        return None if None in names else [str(n) for n in names]
    return []


def _region_params(doc: Document) -> Iterator[dict[str, Any]]:
    regions = _condition_values(doc, "aws:RequestedRegion")
    if not regions:
        return
    params: dict[str, Any] = {"regions": [str(r) for r in regions]}
    not_actions = next((as_list(s["NotAction"]) for s in statement_dicts(doc) if "NotAction" in s), None)
    if not_actions is not None and sorted(not_actions) != sorted(GLOBAL_SERVICES):
        params["global_services"] = [str(a) for a in not_actions]
    yield params


_ENCRYPTION_SIDS = {
    "s3": "DenyWeakS3ObjectEncryption",
    "rds": "DenyUnencryptedRdsClusters",
    "ebs": "DenyUnencryptedEbsVolumes",
}


def _encryption_params(doc: Document) -> Iterator[dict[str, Any]]:
    present = {str(s.get("Sid", "")) for s in statement_dicts(doc)}
    services = [svc for svc, sid in _ENCRYPTION_SIDS.items() if sid in present]
    params: dict[str, Any] = {}
    if services != EncryptionParams().services:
        params["services"] = services
    allowed = _condition_values(doc, "s3:x-amz-server-side-encryption")
    allowed = [v for v in allowed if v != "false"]  # the Null operator's value
    if allowed and sorted(allowed) != sorted(EncryptionParams().s3_allowed_encryption):
        params["s3_allowed_encryption"] = [str(v) for v in allowed]
    yield params


def _security_params(doc: Document) -> Iterator[dict[str, Any]]:
    actions = {str(a) for s in statement_dicts(doc) for a in as_list(s.get("Action", []))}
    every = SecurityServicesParams().services
    services = [svc for svc in every if _security_actions(svc) <= actions]
    yield {} if services == every else {"services": services}


def _security_actions(service: str) -> set[str]:
    built = build_guardrail("protect-security-services", {"services": [service]}, [])
    return {str(a) for s in statement_dicts(built) for a in as_list(s.get("Action", []))}


def _rcp_params(doc: Document, organization_id: str) -> Iterator[dict[str, Any]]:
    org = [str(v) for k in ("aws:SourceOrgID", "aws:PrincipalOrgID") for v in _condition_values(doc, k)]
    base: dict[str, Any] = {} if not org or org[0] == organization_id else {"organization_id": org[0]}
    services = sorted(
        {str(a).split(":", 1)[0] for s in statement_dicts(doc) for a in as_list(s.get("Action", [])) if ":" in str(a)}
    )
    yield base
    for extra in ([], ["sts"]):  # two RCPs leave STS out of what they deny, whatever their parameter says
        chosen = [svc for svc in RCP_SERVICES if svc in services or svc in extra]
        if chosen:
            yield {**base, "services": chosen}


def _candidates(builtin: str, doc: Document, organization_id: str) -> Iterator[dict[str, Any]]:
    inferrers: dict[str, Callable[[Document], Iterator[dict[str, Any]]]] = {
        "region-allow-list": _region_params,
        "require-encryption": _encryption_params,
        "protect-security-services": _security_params,
    }
    if LIBRARY[builtin].type == "rcp":
        yield from _rcp_params(doc, organization_id)
    elif builtin in inferrers:
        yield from inferrers[builtin](doc)
    else:
        yield {}


def match_builtin(
    doc: Document, kind: str, *, deployment_role: str, organization_id: str, partition: str
) -> BuiltinMatch | None:
    """The library guardrail, with parameters and extra exempt roles, whose policy is `doc`; else None.

    The library always exempts the deployment role, so a live policy that does not cannot be a built-in."""
    exempt = exempt_roles(doc)
    if exempt is None or (exempt and deployment_role not in exempt):
        return None
    extra = tuple(r for r in exempt if r != deployment_role)
    for builtin, entry in LIBRARY.items():
        if entry.type != kind:
            continue
        for params in _candidates(builtin, doc, organization_id):
            try:
                built = build_guardrail(builtin, dict(params), [deployment_role, *extra], organization_id)
            except GuardrailParameterError:
                continue
            if same_policy(documents.in_partition(built, partition), doc):
                return BuiltinMatch(builtin, params, extra)
    return None
