"""Read YAML into plain data while remembering where each value came from.

PyYAML's composer gives nodes with marks; we construct the Python values ourselves so that we can
refuse duplicate keys, bound alias expansion (no "billion laughs"), and keep a path → line:column map
that every later error uses.

Work and memory are bounded before anything large is built: the file size is capped, the parser's events
are counted before the node tree is composed, and the size a document would have once its aliases are
expanded is computed on the node graph (each node once) before any value is constructed.
"""

from __future__ import annotations

import os
import stat
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

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A matrix for thousands of accounts is a few hundred KiB; anything bigger is refused before parsing."""
MAX_NODES = 100_000
"""Values written in the file (keys, scalars, lists, mappings), counted on the parser's events. The example
has about 650; an organization of a thousand accounts, some 30,000."""
MAX_VALUES = 200_000
"""Values after YAML aliases are expanded; bounds alias bombs."""
MAX_DEPTH = 200
"""Nesting of lists and mappings, aliases included."""

PathKey = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_OPEN_EVENTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_STR_TAG = "tag:yaml.org,2002:str"


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


def _short(value: str, limit: int = 60) -> str:
    """A value quoted for a message, cut so that a huge value cannot flood the terminal."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value):,} characters)"


class _Builder:
    def __init__(self, file: Path):
        self.file = file
        self.positions = Positions(file)
        # resolves !!int, !!bool, timestamps ... exactly like yaml.safe_load
        self.scalars = yaml.constructor.SafeConstructor()

    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def measure(self, root: yaml.Node) -> int:
        """The number of values `root` expands to, each distinct node measured once.

        Raises before any value is built if an alias refers to itself, or the expanded document would nest
        deeper than `MAX_DEPTH` or hold more than `MAX_VALUES` values. Iterative, so that no document can
        exhaust the Python stack here.
        """
        sizes: dict[int, int] = {}
        heights: dict[int, int] = {}
        active: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                active.discard(key)
                children = _children(node)
                sizes[key] = 1 + sum(sizes[id(child)] for child in children)
                heights[key] = 1 + max((heights[id(child)] for child in children), default=0)
                if sizes[key] > MAX_VALUES:
                    raise InputError(
                        f"document expands to more than {MAX_VALUES:,} values",
                        location=self.loc(node),
                        hint="YAML aliases (*name) here multiply into a huge document (an 'alias bomb'); "
                        "write the data out plainly or use fewer nested aliases",
                    )
                if heights[key] > MAX_DEPTH:
                    raise InputError(
                        f"document nests deeper than {MAX_DEPTH} levels",
                        location=self.loc(node),
                        hint="flatten the structure; an access matrix needs only a few levels",
                    )
                continue
            if key in sizes:
                continue
            if key in active:
                raise InputError(
                    "a YAML alias refers to the list or mapping that contains it",
                    location=self.loc(node),
                    hint="an anchor (&name) cannot be used (*name) inside itself; write the data out plainly",
                )
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
        return sizes[id(root)]

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if path not in self.positions.marks:
            self.positions.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if node.tag not in (_SEQ_TAG, _MAP_TAG):
            raise InputError(
                f"unsupported YAML tag '{node.tag}'",
                location=self.loc(node),
                hint="remove the tag; the matrix uses plain YAML values only",
            )
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        raise InputError(f"unsupported YAML node {node.tag}", location=self.loc(node))  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG:  # what the constructor returns for text, without its bookkeeping
            return node.value
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            if node.tag.startswith("!") or "could not determine a constructor" in str(exc.problem):
                raise InputError(
                    f"unsupported YAML tag '{node.tag}' on {_short(node.value)}",
                    location=self.loc(node),
                    hint="remove the tag; the matrix uses plain YAML values only",
                ) from None
            raise InputError(
                f"cannot read value {_short(node.value)}: {exc.problem}", location=self.loc(node)
            ) from None
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            reason = str(exc).split("\n", 1)[0]
            hint = "put the value in quotes if it is meant as text"
            if node.tag.endswith(":int") and "limit" in reason:
                reason = f"a number of {len(node.value):,} digits is too long"
            elif node.tag.endswith(":timestamp"):
                reason = f"not a real date ({reason})"
                hint = "write a date as YYYY-MM-DD, or put the value in quotes if it is meant as text"
            raise InputError(
                f"cannot read value {_short(node.value)}: {reason}", location=self.loc(node), hint=hint
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        explicit, merged = self._flatten(node)
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in explicit:
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                shown = key if len(key) <= 60 else f"{key[:60]}... ({len(key):,} characters)"
                raise InputError(
                    f"duplicate key '{shown}' (first written on line {first})",
                    location=self.loc(key_node),
                    hint="YAML would keep only the last value; remove or rename one of them",
                )
            seen[key] = key_node
            self.positions.marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        # a merged key counts only where no explicit key and no earlier merge source gave it
        for key_node, value_node in merged:
            key = key_node.value
            if key in result:
                continue
            self.positions.marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _flatten(
        self, node: yaml.MappingNode
    ) -> tuple[list[tuple[yaml.ScalarNode, yaml.Node]], list[tuple[yaml.ScalarNode, yaml.Node]]]:
        """The mapping's own pairs, and the pairs its `<<` merge keys bring in, in priority order.

        `measure()` has already refused cyclic documents, so following merges always ends.
        """
        explicit: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        merged: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(key_node, value_node):
                    own, inherited = self._flatten(source)
                    merged += own + inherited
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(
                    "a key must be a plain string",
                    location=self.loc(key_node),
                    hint="keys are names like 'accounts:'; a list or mapping cannot be a key",
                )
            explicit.append((key_node, value_node))
        return explicit, merged

    def _merge_sources(self, key: yaml.Node, node: yaml.Node) -> list[yaml.MappingNode]:
        # `node` may be an alias, i.e. the anchored node itself, so errors point at the '<<' key
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if all(isinstance(n, yaml.MappingNode) and n.tag == _MAP_TAG for n in sources):
            return list(sources)
        raise InputError(
            "'<<' must merge a mapping or a list of mappings",
            location=self.loc(key),
            hint="write '<<: *name' where &name anchors a mapping",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _refuse_special(file: Path, mode: int, what: str) -> None:
    """Only regular files are read: a pipe or a device could block the read forever, or never end."""
    if stat.S_ISREG(mode):
        return
    kind = next((words for test, words in _SPECIAL_KINDS if test(mode)), "not a regular file")
    raise InputError(
        f"{what} is {kind}, not a regular file",
        location=Location(file),
        hint="point to a saved text file, or move this one out of the project folder",
    )


def read_text(file: Path, what: str) -> str:
    """Read a user file as UTF-8 text, with errors that say which file and why."""
    if "\x00" in str(file):
        raise InputError(
            f"the {what} name contains a NUL character",
            location=Location(Path(str(file).replace("\x00", "\\0"))),
            hint="remove the \\0 escape from the file name",
        )
    try:
        info = file.stat()
    except FileNotFoundError:
        raise InputError(
            f"{what} not found",
            location=Location(file),
            hint="check the path; `securecart-tf init DIR` creates an example project",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", location=Location(file)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} is a folder, not a file", location=Location(file), hint="name the file itself")
    _refuse_special(file, info.st_mode, what)
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{what} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
            location=Location(file),
            hint="check that this is the right file; an access matrix is a few hundred KiB at most",
        )
    try:
        # O_NONBLOCK: should the file have been swapped for a pipe since the check above, opening it does not
        # wait for a writer; fstat then refuses it.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:  # read no more than the limit, even if the file grows meanwhile
            _refuse_special(file, os.fstat(handle.fileno()).st_mode, what)
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", location=Location(file)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{what} is larger than {MAX_FILE_BYTES:,} bytes", location=Location(file))
    nul = raw.find(b"\x00")
    if nul >= 0 and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        line = raw[:nul].count(b"\n") + 1
        raise InputError(
            f"{what} contains a NUL byte; it looks binary",
            location=Location(file, line, nul - raw.rfind(b"\n", 0, nul)),
            hint="point to the YAML text file, not a binary or compressed one",
        )
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = raw[:offset].count(b"\n") + 1
        column = offset - raw.rfind(b"\n", 0, offset)
        raise InputError(
            f"{what} is not UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})",
            location=Location(file, line, column),
            hint="save the file as UTF-8",
        ) from None


def load_yaml(file: Path, what: str = "file") -> Document:
    """Load one YAML document with positions. Raises `InputError` naming file:line on any problem."""
    text = read_text(file, what)
    return parse_yaml(text, file, what)


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: Path) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context or ""
    opened = exc.context_mark
    if opened is not None and exc.problem and ("flow" in context or "quoted" in context):
        # an unclosed bracket or quote: point where it opens, which is what the user has to fix
        what = "quote" if "quoted" in context else "bracket or brace"
        return InputError(
            f"YAML syntax error: this {what} is never closed (reading on, the parser found: {problem} on line {line})",
            location=Location(file, opened.line + 1, opened.column + 1),
            hint=f"close the {what} opened here",
        )
    message = f"YAML syntax error: {problem}"
    if context and exc.problem and not context.startswith("while "):
        message = f"YAML syntax error: {context}, {problem}"
    hint = None
    bad = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    if "another document" in problem:
        hint = "the file holds one YAML document; remove the extra '---' line"
    elif "\\t" in problem or "tab" in problem or "\t" in bad[: len(bad) - len(bad.lstrip())]:
        hint = "YAML indents with spaces, never tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be in quotes, or the line is indented wrongly"
    elif "could not find expected ':'" in problem:
        hint = "each line in a mapping is 'key: value'; check the indentation and the colons"
    elif "indentation" in problem or "block end" in problem or "expected key" in problem:
        hint = "align the keys of one mapping at the same column, using spaces"
    return InputError(message, location=Location(file, line, col), hint=hint)


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: Path) -> InputError:
    position = exc.position
    if _Loader.__name__ == "CSafeLoader":  # libyaml counts UTF-8 bytes, PyYAML counts characters
        position = len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return InputError(
        f"the file contains the control character U+{ord(character):04X}, which YAML does not allow",
        location=Location(file, line, column),
        hint="delete the character, or write it as an escape (\\x..) inside a double-quoted string",
    )


def _count_nodes(text: str, file: Path) -> bool:
    """Refuse a document with more than MAX_NODES values before composing it (composing is the costly part).

    Returns whether `measure()` is still needed: when the document has no aliases and nests no deeper than
    MAX_DEPTH, its node count and depth, known here, are already within every bound `measure()` checks.
    """
    loader = _Loader(text)
    count = 0
    depth = 0
    deepest = 0
    aliases = False
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    mark = event.start_mark
                    raise InputError(
                        f"document has more than {MAX_NODES:,} values",
                        location=Location(file, mark.line + 1, mark.column + 1) if mark else Location(file),
                        hint="check that this is the right file; an access matrix is far smaller",
                    )
                deepest = max(deepest, depth + 1)
                if isinstance(event, _OPEN_EVENTS):
                    depth += 1
                elif isinstance(event, yaml.AliasEvent):
                    aliases = True
            elif isinstance(event, _CLOSE_EVENTS):
                depth -= 1
    finally:
        loader.dispose()
    return aliases or deepest > MAX_DEPTH or MAX_NODES > MAX_VALUES


def parse_yaml(text: str, file: Path, what: str = "file") -> Document:
    """Parse YAML text read from `file` (named in errors) into data with positions, within the bounds above."""
    if not text.strip():
        raise InputError(
            f"{what} is empty",
            location=Location(file, 1, 1),
            hint="`securecart-tf init DIR` writes a complete example to start from",
        )
    try:
        needs_measure = _count_nodes(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {str(exc).splitlines()[0]}", location=Location(file, 1, 1)) from None
    except RecursionError:
        raise InputError("YAML nests too deeply", location=Location(file, 1, 1)) from None
    if node is None:
        raise InputError(
            f"{what} holds no YAML document, only comments or blank lines",
            location=Location(file, 1, 1),
            hint="`securecart-tf init DIR` writes a complete example to start from",
        )
    builder = _Builder(file)
    if needs_measure:
        builder.measure(node)
    try:
        data = builder.build(node, ())
    except RecursionError:  # measure() bounds nesting; this only guards an interpreter with a small stack
        raise InputError("YAML nests too deeply", location=Location(file, 1, 1)) from None
    return Document(data=data, positions=builder.positions)
