"""Names the matrix accepts, derived from the names AWS has: account short names, guardrail names, file names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from securecart_tf.adopt.inventory import LiveAccount
from securecart_tf.config.schema import ACCOUNT_NAME, GUARDRAIL_NAME

_MAX_ACCOUNT_NAME = 50


def slug(text: str) -> str:
    """Lowercase letters, digits and single dashes: 'Prod Workloads (EU)' → 'prod-workloads-eu'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def account_names(accounts: Iterable[LiveAccount], management_id: str) -> dict[str, str]:
    """Account ID → a unique short name the schema accepts. The management account is 'management' when its
    own name gives nothing usable; a name two accounts would share gets the last digits of the ID."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for acc in sorted(accounts, key=lambda a: (a.id != management_id, a.name.lower(), a.id)):
        base = slug(acc.name)[:_MAX_ACCOUNT_NAME].strip("-")
        if not base:
            base = "management" if acc.id == management_id else f"account-{acc.id}"
        name = base
        if name in taken:
            name = f"{base[: _MAX_ACCOUNT_NAME - 5].strip('-')}-{acc.id[-4:]}"
        if name in taken:
            name = f"account-{acc.id}"
        assert re.match(ACCOUNT_NAME, name), name
        names[acc.id] = name
        taken.add(name)
    return names


def guardrail_name(name: str, taken: set[str]) -> str:
    """The policy's name where the schema accepts it; otherwise its unaccepted characters become '-'.
    Unique among `taken`, which it joins."""
    candidate = name if re.match(GUARDRAIL_NAME, name) else re.sub(r"[^A-Za-z0-9_-]", "-", name).lstrip("-_")
    candidate = (candidate or "policy")[:128]
    unique, n = candidate, 2
    while unique.lower() in {t.lower() for t in taken}:
        unique = f"{candidate[:120]}-{n}"
        n += 1
    taken.add(unique)
    return unique


def file_stem(name: str) -> str:
    """A file name part for a policy or role name: its characters outside [A-Za-z0-9_.-] become '-'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "policy"
