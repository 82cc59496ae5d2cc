"""A stack: one Terraform root with its own state, for one account and layer; and the layers' names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

ORGANIZATION: Final = "organization"
SECURITY: Final = "security"
IDENTITY_CENTER: Final = "identity-center"
ACCESS: Final = "access"
ACCESS_PREFIX: Final = f"{ACCESS}-"


def access_stack(account: str) -> str:
    return f"{ACCESS_PREFIX}{account}"


def stack_sort_key(name: str) -> tuple[int, str]:
    """Organization first, then security, the access stacks, and identity center last."""
    rank = {ORGANIZATION: 0, SECURITY: 1}.get(name, 3 if name == IDENTITY_CENTER else 2)
    return rank, name


@dataclass
class OrgFacts:
    """What the organization stack's state tells: real account IDs and the organization's ID."""

    account_ids: dict[str, str] = field(default_factory=dict)
    organization_id: str | None = None
    root_id: str | None = None
    service_access_principals: list[str] = field(default_factory=list)
    """Trusted access the live organization has: kept, since the provider disables what is not listed."""
    enabled_policy_types: list[str] = field(default_factory=list)
    """Policy types the live organization's root has enabled: kept for the same reason."""


@dataclass
class Stack:
    name: str
    layer: str
    account: str
    depends_on: tuple[str, ...]
    modules: tuple[str, ...]
    inputs: dict[str, Any]
    environment: str | None = None
    pending_accounts: tuple[str, ...] = ()
    reach: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """resource kind → instance key → environments a change to it reaches."""
    notes: list[str] = field(default_factory=list)
    region: str | None = None
    """The region the stack's provider works in, when not the organization's home region."""
