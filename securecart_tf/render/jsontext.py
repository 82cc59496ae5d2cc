"""Indented JSON text, byte for byte what `json.dumps(indent=2)` writes, about twice as fast."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Any


class _NotPlainJson(Exception):
    pass


def pretty_json(data: Any, *, sort_keys: bool = True) -> str:
    """Exactly `json.dumps(data, indent=2, sort_keys=sort_keys)`, about twice as fast.

    The standard library has no C encoder for indented output, and a large organization's tfvars hold
    hundreds of thousands of values. Anything but plain JSON data (a key that is not a string, a value of
    another type) is left to `json.dumps` itself.
    """
    parts: list[str] = []
    try:
        _emit(data, "\n", parts, sort_keys)
    except (_NotPlainJson, RecursionError, TypeError):
        return json.dumps(data, indent=2, sort_keys=sort_keys)
    return "".join(parts)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


def _scalar(value: Any) -> str:
    """The JSON text of a string, number, boolean or null."""
    if isinstance(value, str):
        return _encode_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _NotPlainJson


def _emit(value: Any, newline: str, parts: list[str], sort_keys: bool) -> None:
    """Append the indented JSON of `value` to `parts`, in the order and forms `json.dumps` uses."""
    if isinstance(value, (list, tuple)):
        _emit_list(value, newline, parts, sort_keys)
    elif isinstance(value, dict):
        _emit_dict(value, newline, parts, sort_keys)
    else:
        parts.append(_scalar(value))


def _emit_list(value: list[Any] | tuple[Any, ...], newline: str, parts: list[str], sort_keys: bool) -> None:
    if not value:
        parts.append("[]")
        return
    inner = newline + "  "
    parts.append("[" + inner)
    for i, item in enumerate(value):
        if i:
            parts.append("," + inner)
        if type(item) is str:
            parts.append(_encode_string(item))
        else:
            _emit(item, inner, parts, sort_keys)
    parts.append(newline + "]")


def _emit_dict(value: dict[Any, Any], newline: str, parts: list[str], sort_keys: bool) -> None:
    if not value:
        parts.append("{}")
        return
    inner = newline + "  "
    parts.append("{" + inner)
    for i, key in enumerate(sorted(value) if sort_keys else value):
        if type(key) is not str:
            raise _NotPlainJson
        if i:
            parts.append("," + inner)
        parts.append(_encode_string(key))
        parts.append(": ")
        item = value[key]
        if type(item) is str:
            parts.append(_encode_string(item))
        else:
            _emit(item, inner, parts, sort_keys)
    parts.append(newline + "}")
