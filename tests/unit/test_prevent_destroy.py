"""Terraform refuses to delete the organization, the log bucket and its key (`prevent_destroy`), and whatever
carries it is something `destroy` keeps: otherwise destroy would stop on Terraform's refusal halfway."""

from __future__ import annotations

import re

from securecart_tf.model import ORGANIZATION, SECURITY
from securecart_tf.run.guards import KEPT_BY_DESTROY
from tests.helpers import ROOT

RESOURCE = re.compile(r'^resource "(?P<type>[a-z0-9_]+)" "(?P<name>[a-z0-9_]+)" \{$', re.MULTILINE)


def _resources(module: str) -> dict[tuple[str, str], str]:
    """(type, name) → the body of each resource block of a module, as `terraform fmt` writes it."""
    found = {}
    for path in sorted((ROOT / "modules" / module).glob("*.tf")):
        text = path.read_text()
        for match in RESOURCE.finditer(text):
            end = text.index("\n}\n", match.end())  # formatted: a block closes at column 0
            found[(match["type"], match["name"])] = text[match.end() : end]
    return found


def _protected(module: str) -> set[str]:
    return {kind for (kind, _), body in _resources(module).items() if re.search(r"prevent_destroy\s*=\s*true", body)}


def test_the_organization_the_log_bucket_and_its_key_carry_prevent_destroy() -> None:
    assert _protected("organization") == {"aws_organizations_organization"}
    assert _protected("security-baseline") == {"aws_s3_bucket", "aws_kms_key"}


def test_accounts_do_not_so_that_closing_can_close_one() -> None:
    assert ("aws_organizations_account", "this") in _resources("organization")
    assert "aws_organizations_account" not in _protected("organization")


def test_destroy_keeps_everything_terraform_may_not_delete() -> None:
    assert _protected("organization") <= set(KEPT_BY_DESTROY[ORGANIZATION])
    assert _protected("security-baseline") <= set(KEPT_BY_DESTROY[SECURITY])
