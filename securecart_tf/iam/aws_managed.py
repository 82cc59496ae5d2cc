"""AWS managed policies: the ones people attach most, their names, and their documents from moto's copy.

The report classifies a managed policy from its whole document, capped by the level `AWS_MANAGED` gives.
The policy checks need only the statements that can touch IAM, to see whether an attached AWS managed
policy lets a role create roles or attach policies. moto's copy is loaded once, on first use (about 50 ms).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from securecart_tf.iam.lint import as_list

Level = Literal["read", "write", "admin"]
"""How much a policy lets its holder do, as the access report ranks it."""


@dataclass(frozen=True)
class KnownPolicy:
    level: Level
    """The level AWS designed the policy for; a level computed from its document never exceeds it."""
    summary: str
    iam: dict[str, Any] | None = None
    """The part of its document that reaches IAM, for the policies whose reach the grant rules know by heart."""


_ADMIN_IAM: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_POWER_USER_IAM: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles"],
            "Resource": "*",
        },
    ],
}
_IAM_FULL_IAM: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
}

AWS_MANAGED: dict[str, KnownPolicy] = {
    "AdministratorAccess": KnownPolicy("admin", "every action on every resource", _ADMIN_IAM),
    "PowerUserAccess": KnownPolicy("write", "every service except IAM, Organizations and Account", _POWER_USER_IAM),
    "ReadOnlyAccess": KnownPolicy("read", "read every service, data included (S3 objects, table items)"),
    "ViewOnlyAccess": KnownPolicy("read", "list and describe resources, no data"),
    "SecurityAudit": KnownPolicy("read", "read security configuration and metadata"),
    "IAMReadOnlyAccess": KnownPolicy("read", "read IAM"),
    "IAMFullAccess": KnownPolicy("write", "all of IAM, permissions management included", _IAM_FULL_IAM),
    "AmazonS3ReadOnlyAccess": KnownPolicy("read", "read S3"),
    "AmazonS3FullAccess": KnownPolicy("write", "all of S3"),
    "Billing": KnownPolicy("write", "view and change billing and cost settings"),
    "SystemAdministrator": KnownPolicy("write", "operate compute, storage and monitoring"),
    "DatabaseAdministrator": KnownPolicy("write", "operate database services"),
    "NetworkAdministrator": KnownPolicy("write", "operate network services"),
}
"""The AWS managed policies people attach most, by name."""


def aws_managed_name(arn: str) -> str | None:
    """'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess' → 'ViewOnlyAccess'; None for a customer ARN."""
    match = re.match(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)$", arn)
    return match.group(1) if match else None


@cache
def _moto_documents() -> dict[str, Any]:
    """moto's copy of every AWS managed policy, by name.

    The data module is loaded on its own: importing it as `moto.iam.aws_managed_policies` would first
    import moto's IAM backend and boto3, ten times the cost of the data itself.
    """
    text: str | None = None
    spec = importlib.util.find_spec("moto")
    if spec is not None and spec.origin is not None:
        source = Path(spec.origin).parent / "iam" / "aws_managed_policies.py"
        data_spec = importlib.util.spec_from_file_location("_securecart_aws_managed_policies", source)
        if data_spec is not None and data_spec.loader is not None:
            module = importlib.util.module_from_spec(data_spec)
            with contextlib.suppress(OSError, SyntaxError):
                data_spec.loader.exec_module(module)
                text = getattr(module, "aws_managed_policies_data", None)
    if not isinstance(text, str):
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        text = aws_managed_policies_data
    data: dict[str, Any] = json.loads(text)
    return data


def aws_managed_document(arn: str) -> dict[str, Any] | None:
    """The document of an AWS managed policy, from moto's bundled copy; None when it is not there."""
    name = aws_managed_name(arn)
    if name is None:
        return None
    entry = _moto_documents().get(name)
    if not isinstance(entry, dict) or not isinstance(entry.get("Document"), dict):
        return None
    document: dict[str, Any] = entry["Document"]
    return document


def _iam_part(statement: Any) -> dict[str, Any] | None:
    """The part of a statement that can allow or deny IAM actions, or None. A NotAction statement is kept
    whole; otherwise only its IAM actions and wildcards are, with its resources and conditions."""
    if not isinstance(statement, dict):
        return None
    if "NotAction" in statement:
        return statement
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    iam = [a for a in actions if a == "*" or a.lower().startswith("iam:")]
    return {**statement, "Action": iam} if iam else None


def _iam_statements_from_moto() -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, entry in _moto_documents().items():
        document = entry.get("Document") if isinstance(entry, dict) else None
        if isinstance(document, dict):
            parts = (_iam_part(s) for s in as_list(document.get("Statement")))
            out[name] = [p for p in parts if p is not None]
    return out


@cache
def _iam_index() -> dict[str, list[Any]]:
    return _iam_statements_from_moto()


def known_iam_document(arn: str) -> dict[str, Any] | None:
    """The IAM part of an AWS managed policy the grant rules know by heart; None for any other policy. They
    know each by its ARN in the commercial partition."""
    name = aws_managed_name(arn)
    known = AWS_MANAGED.get(name) if name is not None and arn == f"arn:aws:iam::aws:policy/{name}" else None
    return known.iam if known is not None else None


def aws_managed_iam_document(arn: str) -> dict[str, Any] | None:
    """The statements of an AWS managed policy that can allow or deny IAM actions, as a document; None when
    the policy is unknown. What it allows outside IAM is left out."""
    name = aws_managed_name(arn)
    if name is None:
        return None
    statements = _iam_index().get(name)
    if statements is None:
        return None
    return {"Version": "2012-10-17", "Statement": statements}
