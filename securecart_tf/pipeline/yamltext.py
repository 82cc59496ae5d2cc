"""YAML as CI systems read it: keys in the order written, scripts as literal blocks, the same bytes every time."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as hand-written CI files do, and writes no anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: object) -> bool:
        return True  # a CI file is read by people: every job spells out its own permissions


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(header: str, data: dict[str, Any]) -> str:
    """The document, under a comment header; top-level entries separated by a blank line for reading."""
    parts = [
        yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)
        for key, value in data.items()
    ]
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + "\n" + "\n".join(parts)
