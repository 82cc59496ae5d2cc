"""Values inside quoted HCL strings: exactly their text, never an interpolation."""

from __future__ import annotations

import re

_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HCL_SPECIAL = re.compile(r'[\\"\x00-\x1f\x7f\u2028\u2029]|[$%](?=\{)')


def _hcl_escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in "$%":  # `${` and `%{` open a template sequence; doubling the sign makes them literal
        return char + char
    return _HCL_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def hcl_string(value: object) -> str:
    """`value` as the inside of a quoted HCL string: exactly that text, never an interpolation.

    Every value a template puts between quotes goes through this (the `hcl` filter). Validation already
    refuses such characters in names; this keeps a value that slipped past it from becoming HCL.
    """
    return _HCL_SPECIAL.sub(_hcl_escape, str(value))
