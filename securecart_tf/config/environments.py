"""Environment files: one rollout stage each (dev, staging, prod)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from securecart_tf.config.schema import (
    ENV_NAME,
    EXTERNAL_ID,
    IAM_NAME,
    REGION,
    AccountName,
    EnvName,
    Strict,
)

S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
KEY_PREFIX = r"^[A-Za-z0-9_./-]*$"
PROFILE_NAME = r"^[A-Za-z0-9_+=,.@:/-]{1,128}$"
"""An AWS CLI profile name, as securecart-tf accepts it: no spaces, quotes or other scripts."""


class Approval(StrEnum):
    none = "none"
    """apply never asks."""
    prompt = "prompt"
    """apply asks unless --auto-approve."""
    always = "always"
    """apply asks for the environment's name even with --auto-approve."""


class SandboxTarget(Strict):
    type: Literal["sandbox"] = "sandbox"


ProfileName = Annotated[str, Field(pattern=PROFILE_NAME, description="A profile in ~/.aws/config.")]


class AwsTarget(Strict):
    """Real AWS. Credentials come from the standard chain; member accounts are reached by assume_role."""

    type: Literal["aws"]
    profile: ProfileName | None = Field(default=None, description="Profile for the management account.")
    role_name: str | None = Field(
        default=None,
        pattern=IAM_NAME,
        max_length=64,
        description="The role assumed in member accounts. Unset: the matrix's organization.deployment_role.",
    )
    role_name_reason: str | None = Field(
        default=None,
        min_length=10,
        description="Why role_name differs from the matrix's deployment_role (which guardrails exempt).",
    )
    account_profiles: dict[AccountName, ProfileName] = Field(
        default_factory=dict, description="Per-account profiles, used instead of assume_role."
    )
    external_id: str | None = Field(default=None, pattern=EXTERNAL_ID)


class LocalBackend(Strict):
    type: Literal["local"] = "local"


class S3Backend(Strict):
    type: Literal["s3"]
    bucket: str = Field(pattern=S3_BUCKET)
    region: str = Field(default="us-east-1", pattern=REGION)
    key_prefix: str = Field(default="securecart", pattern=KEY_PREFIX)
    create_bucket: bool = Field(default=False, description="Create the bucket if missing (sandbox only).")


class Environment(Strict):
    """One rollout stage: which stacks it covers, where they run, and how they are gated."""

    name: str = Field(pattern=ENV_NAME, description="Must match the file name: environments/<name>.yaml.")
    description: str = ""
    promotes_from: EnvName | None = Field(
        default=None, description="The stage a revision must have applied cleanly in before it comes here."
    )
    stacks: list[Literal["organization", "security", "identity-center"]] = Field(
        default_factory=list, description="Organization-wide stacks this stage applies."
    )
    accounts: list[AccountName] = Field(
        default_factory=list, description="Accounts whose access stacks this stage applies."
    )
    target: SandboxTarget | AwsTarget = Field(default_factory=SandboxTarget, discriminator="type")
    backend: LocalBackend | S3Backend = Field(default_factory=LocalBackend, discriminator="type")
    approval: Approval = Approval.prompt

    @model_validator(mode="after")
    def _covers_something(self) -> Environment:
        if not (self.stacks or self.accounts):
            raise ValueError("an environment must cover at least one stack or account")
        return self
