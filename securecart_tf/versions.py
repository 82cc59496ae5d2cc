"""The Terraform and AWS provider versions securecart-tf writes into every stack and checks before a run.

`versions.tf` at the repository's root says the same for people reading the Terraform;
tests/unit/test_versions.py holds the two, the modules and the rendered stacks to one another.
"""

from __future__ import annotations

TERRAFORM_MIN_VERSION = (1, 9, 0)
S3_BACKEND_MIN_VERSION = (1, 11, 0)
"""The S3 backend's use_lockfile (state locking without DynamoDB) arrived in Terraform 1.11."""
AWS_PROVIDER_CONSTRAINT = ">= 5.60.0, < 6.0.0"
CI_TERRAFORM_VERSION = (1, 11, 4)
"""The Terraform an emitted pipeline installs on a runner that has none (at least S3_BACKEND_MIN_VERSION)."""


def dotted(version: tuple[int, ...]) -> str:
    """(1, 9, 0) as "1.9.0"."""
    return ".".join(map(str, version))
