"""Read YAML into plain data while remembering where each value came from.

PyYAML's composer gives nodes with marks; we construct the Python values ourselves so that we can
refuse duplicate keys, bound alias expansion (no "billion laughs"), and keep a path → line:column map
that every later error uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from securecart_tf.errors import InputError, Location

try:  # the C parser is several times faster on large matrices
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 3_000_000
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]


@dataclass
class Positions:
    """Maps a path in the loaded document (keys and list indices) to where it was written."""

    file: Path
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Iterable[str | int]) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        key = tuple(path)
        while True:
            mark = self.marks.get(key)
            if mark is not None:
                return Location(self.file, mark[0], mark[1])
            if not key:
                return Location(self.file, 1, 1)
            key = key[:-1]

    def has(self, path: Iterable[str | int]) -> bool:
        return tuple(path) in self.marks


@dataclass
class Document:
    data: Any
    positions: Positions

    def at(self, *path: str | int) -> Location:
        return self.positions.at(path)


class _Builder:
    def __init__(self, file: Path):
        self.file = file
        self.positions = Positions(file)
        self.count = 0
        # resolves !!int, !!bool, timestamps ... exactly like yaml.safe_load
        self.scalars = yaml.constructor.SafeConstructor()

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: PathKey, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError(
                f"document expands to more than {MAX_NODES:,} values",
                location=self.loc(node),
                hint="this usually means nested YAML aliases (an 'alias bomb'); write the data out plainly",
            )
        if depth > MAX_DEPTH:
            raise InputError(f"document nests deeper than {MAX_DEPTH} levels", location=self.loc(node))
        if path not in self.positions.marks:
            self.positions.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.scalars.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                raise InputError(f"cannot read value {node.value!r}: {exc}", location=self.loc(node)) from None
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        raise InputError(f"unsupported YAML node {node.tag}", location=self.loc(node))  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                for source in self._merge_sources(value_node):
                    merged.update({k: v for k, v in self.build(source, path, depth + 1).items() if k not in merged})
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError("a key must be a plain string", location=self.loc(key_node))
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise InputError(
                    f"duplicate key '{key}' (first written on line {first})",
                    location=self.loc(key_node),
                    hint="YAML keeps only the last value; remove or rename one of them",
                )
            seen[key] = key_node
            self.positions.marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.MappingNode) for n in node.value):
            return list(node.value)
        raise InputError("'<<' must merge a mapping or a list of mappings", location=self.loc(node))


def read_text(file: Path, what: str) -> str:
    """Read a user file as UTF-8 text, with errors that say which file and why."""
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{what} not found", location=Location(file)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", location=Location(file)) from None
    if file.is_dir():
        raise InputError(f"{what} is a folder, not a file", location=Location(file))
    if size > MAX_FILE_BYTES:
        raise InputError(f"{what} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", location=Location(file))
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", location=Location(file)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what} is not UTF-8 text (bad byte at offset {exc.start})",
            location=Location(file, line, 1),
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(f"{what} contains a NUL byte; it looks binary", location=Location(file, line, 1))
    return text


def load_yaml(file: Path, what: str = "file") -> Document:
    """Load one YAML document with positions. Raises `InputError` naming file:line on any problem."""
    text = read_text(file, what)
    return parse_yaml(text, file, what)


def parse_yaml(text: str, file: Path, what: str = "file") -> Document:
    if not text.strip():
        raise InputError(f"{what} is empty", location=Location(file, 1, 1))
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "YAML indents with spaces, never tabs" if "\\t" in problem or "tab" in problem else None
        raise InputError(f"YAML syntax error: {problem}", location=Location(file, line, col), hint=hint) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", location=Location(file, 1, 1)) from None
    except RecursionError:
        raise InputError("YAML nests too deeply", location=Location(file, 1, 1)) from None
    if node is None:
        raise InputError(f"{what} holds no YAML document", location=Location(file, 1, 1))
    builder = _Builder(file)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise InputError("YAML nests too deeply", location=Location(file, 1, 1)) from None
    return Document(data=data, positions=builder.positions)
