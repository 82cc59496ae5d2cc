"""Policy documents compared as AWS and Terraform compare them: order and one-item lists do not matter."""

from __future__ import annotations

import json
from typing import Any


def canonical(document: Any, *, drop_sids: bool = False) -> Any:
    """`document` with every list of values as a sorted set (one value: the value itself), statements in a
    stable order, and booleans as the strings IAM stores. With `drop_sids`, statement ids are left out."""
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if key == "Statement":
                statements = value if isinstance(value, list) else [value]
                out[key] = sorted(
                    (canonical(s, drop_sids=drop_sids) for s in statements), key=lambda s: json.dumps(s, sort_keys=True)
                )
            elif not (drop_sids and key == "Sid"):
                out[key] = canonical(value, drop_sids=drop_sids)
        return out
    if isinstance(document, list):
        items = [canonical(v, drop_sids=drop_sids) for v in document]
        unique = {json.dumps(v, sort_keys=True): v for v in items}
        ordered = [unique[k] for k in sorted(unique)]
        return ordered[0] if len(ordered) == 1 else ordered
    if isinstance(document, bool):
        return "true" if document else "false"
    return document


def same_policy(a: Any, b: Any, *, ignore_sids: bool = False) -> bool:
    return bool(canonical(a, drop_sids=ignore_sids) == canonical(b, drop_sids=ignore_sids))


def sids(document: dict[str, Any]) -> list[str]:
    """The statement ids of a document, in order ('' where a statement has none)."""
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return [str(s.get("Sid", "")) for s in statements if isinstance(s, dict)]
