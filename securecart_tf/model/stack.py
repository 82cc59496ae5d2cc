"""A stack: one Terraform root with its own state, for one account and layer; and the layers' names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from securecart_tf.model.addresses import ImportBlock

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
class Singletons:
    """What one account already holds of the things AWS allows only one of, found before a stack manages them.

    A stack imports these instead of creating a second one, which AWS would refuse.
    """

    guardduty_detectors: dict[str, str] = field(default_factory=dict)
    """region → the detector's ID."""
    config_recorders: dict[str, str] = field(default_factory=dict)
    """region → the configuration recorder's name."""
    config_delivery_channels: dict[str, str] = field(default_factory=dict)
    """region → the delivery channel's name."""
    service_linked_roles: dict[str, str] = field(default_factory=dict)
    """service principal (config.amazonaws.com) → the role's ARN."""
    oidc_providers: dict[str, str] = field(default_factory=dict)
    """provider URL without its scheme (token.actions.githubusercontent.com) → the provider's ARN."""
    security_hubs: dict[str, str] = field(default_factory=dict)
    """region → the account ID, where the account is subscribed to Security Hub (its import ID)."""
    security_hub_standards: dict[str, str] = field(default_factory=dict)
    """"<region> <standard's path>" (`us-east-1 cis-aws-foundations-benchmark/v/1.4.0`) → the subscription's ARN."""

    def __bool__(self) -> bool:
        return any(vars(self).values())


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
    singletons: dict[str, Singletons] = field(default_factory=dict)
    """account name → what it already holds of what AWS allows once per account or region."""


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
    regions: tuple[str, ...] = ()
    """Other regions the stack also works in, each through a provider alias of its own."""
    adopts: tuple[ImportBlock, ...] = ()
    """Import blocks for what the account already holds of what AWS allows only once (see Singletons)."""
    customizations: tuple[dict[str, Any], ...] = ()
    """The module blocks of the customizations the stack holds (access stacks only); their inputs are data."""
