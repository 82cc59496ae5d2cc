"""The adoption record (`adopted.yaml`): the live IDs of what existed before securecart-tf managed it.

`securecart-tf import` writes it beside the access matrix. Rendering turns each entry that the matrix still
describes into a Terraform `import` block in that object's stack, so the first plan adopts what exists
instead of creating it a second time. Entries are keyed by the matrix's names, never by Terraform addresses;
an entry the matrix no longer describes is ignored. Once a stack's state holds an object, its import block is
a no-op, so the record can stay.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from securecart_tf.config.schema import AccountName, OUPath, Strict

ADOPTION_FILE = "adopted.yaml"


class AdoptedAssignment(Strict):
    """A group's permission set in some accounts: one entry per (group, permission set), so that a record of ten
    thousand assignments stays small enough for the loader's size limit."""

    group: str
    permission_set: str
    accounts: list[AccountName]
    principal_id: str = Field(description="The group's ID in the identity store.")

    @model_validator(mode="before")
    @classmethod
    def _one_account(cls, data: Any) -> Any:
        """A record written one account per entry (`account: prod`) reads as a list of one."""
        if isinstance(data, dict) and "account" in data and "accounts" not in data:
            data = {**data, "accounts": [data["account"]]}
            del data["account"]
        return data


class AdoptedIdentityCenter(Strict):
    instance_arn: str
    identity_store_id: str
    groups: dict[str, str] = Field(default_factory=dict, description="Created group's name → its group ID.")
    permission_sets: dict[str, str] = Field(default_factory=dict, description="Permission set's name → its ARN.")
    managed_policies: dict[str, list[str]] = Field(
        default_factory=dict, description="Permission set → the AWS-managed policy ARNs attached to it."
    )
    customer_managed_policies: dict[str, list[str]] = Field(
        default_factory=dict, description="Permission set → the customer-managed references, as path + name."
    )
    inline_policies: list[str] = Field(default_factory=list, description="Permission sets with an inline policy.")
    boundaries: list[str] = Field(default_factory=list, description="Permission sets with a permissions boundary.")
    assignments: list[AdoptedAssignment] = Field(default_factory=list)


class AdoptedRole(Strict):
    managed_policies: list[str] = Field(default_factory=list, description="Attached managed policy ARNs.")
    inline_policies: list[str] = Field(default_factory=list, description="Names of inline policies.")


class AdoptedAccount(Strict):
    """IAM objects in one account."""

    roles: dict[str, AdoptedRole] = Field(default_factory=dict)
    policies: dict[str, str] = Field(default_factory=dict, description="Matrix policy name → its ARN here.")
    oidc_providers: dict[str, str] = Field(default_factory=dict, description="Provider (github) → its ARN here.")


class AdoptedDelegatedAdmin(Strict):
    account: AccountName
    service_principal: str


class Adoption(Strict):
    version: Literal[1] = 1
    organization_id: str
    root_id: str
    management_account_id: str | None = Field(
        default=None, description="The management account's ID, for what is attached to or delegated to it."
    )
    service_access_principals: list[str] = Field(
        default_factory=list, description="The services the organization trusted: kept, so the first plan keeps them."
    )
    enabled_policy_types: list[str] = Field(
        default_factory=list, description="The policy types the root had enabled: kept, as are trusted services."
    )
    units: dict[OUPath, str] = Field(default_factory=dict, description="OU path → OU ID.")
    guardrails: dict[str, str] = Field(default_factory=dict, description="Guardrail name → policy ID.")
    guardrail_attachments: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Guardrail name → the targets it was attached to: root, ou:<path> or account:<name>.",
    )
    delegated_administrators: list[AdoptedDelegatedAdmin] = Field(default_factory=list)
    identity_center: AdoptedIdentityCenter | None = None
    accounts: dict[AccountName, AdoptedAccount] = Field(default_factory=dict)
