"""Block-style YAML text with a comment above any entry, for the files `import` writes.

PyYAML drops comments, and each entry of an imported matrix says where it came from, so the text is written
here. Scalars are still formatted by PyYAML, which knows when a value must be quoted to stay text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_FLOW_WIDTH = 100
"""A list of scalars shorter than this is written on one line: `[a, b]`."""


@dataclass(frozen=True)
class Commented:
    """A value with a comment written on the line(s) above its key or its `- `."""

    value: Any
    comment: str


def strip_comments(node: Any) -> Any:
    """The plain data a YAML loader reads back from `dump(node)`."""
    if isinstance(node, Commented):
        return strip_comments(node.value)
    if isinstance(node, dict):
        return {k: strip_comments(v) for k, v in node.items()}
    if isinstance(node, list):
        return [strip_comments(v) for v in node]
    return node


_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./@+=-]*$")
"""A word YAML reads as text when its resolver says so: no space, colon, quote, comment or flow character."""
_PRINTABLE = re.compile(r"^[ !-&(-~]+$")
"""Printable ASCII without the single quote: safe inside single quotes."""
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


def _plain(value: str) -> bool:
    resolved: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return resolved == _STR


def scalar(value: Any) -> str:
    """One scalar as YAML text, quoted where YAML would read it as something else.

    Words and printable ASCII are written here, without PyYAML's emitter, which a large organization would wait
    for; the rest is left to PyYAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and _PLAIN.match(value) and _plain(value):
        return value
    if isinstance(value, str) and _PRINTABLE.match(value):
        return f"'{value}'"  # single quotes take every printable character but the quote itself
    text: str = yaml.safe_dump([value], default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.strip()[1:-1]


def dump(node: dict[str, Any], header: str = "") -> str:
    """The document `node` as block YAML, with `header` (lines of comment) on top."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += _mapping(node, 0)
    return "\n".join(lines) + "\n"


def _comment(text: str, indent: int) -> list[str]:
    return [(" " * indent + f"# {line}").rstrip() for line in text.splitlines()]


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, Commented))


def _inline(value: Any) -> str | None:
    """`value` on the line of its key, when it fits there: a scalar, an empty container, a short flat list."""
    if _is_scalar(value):
        return scalar(value)
    if isinstance(value, (dict, list)) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        text = "[" + ", ".join(scalar(v) for v in value) + "]"
        return text if len(text) <= _FLOW_WIDTH else None
    return None


def _mapping(node: dict[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for key, raw in node.items():
        value = raw
        if isinstance(raw, Commented):
            lines += _comment(raw.comment, indent)
            value = raw.value
        inline = _inline(value)
        if inline is not None:
            lines.append(f"{pad}{scalar(key)}: {inline}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{scalar(key)}:")
            lines += _mapping(value, indent + 2)
        else:
            lines.append(f"{pad}{scalar(key)}:")
            lines += _sequence(value, indent + 2)
    return lines


def _sequence(items: list[Any], indent: int) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for raw in items:
        value = raw
        if isinstance(raw, Commented):
            lines += _comment(raw.comment, indent)
            value = raw.value
        inline = _inline(value)
        if inline is not None:
            lines.append(f"{pad}- {inline}")
            continue
        body = _mapping(value, indent + 2) if isinstance(value, dict) else _sequence(value, indent + 2)
        # the first line of the item goes after the dash; a comment inside it stays on its own line above
        first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
        lines += body[:first]
        lines.append(f"{pad}- {body[first][indent + 2 :]}")
        lines += body[first + 1 :]
    return lines
