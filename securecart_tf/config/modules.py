"""A customization's local Terraform module: its files, and the variables its `.tf` files declare."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from securecart_tf.errors import InputError, Location

MAX_MODULE_FILES = 200
"""Files a customization module may hold: a module is source code, not a data folder."""
MAX_MODULE_BYTES = 2_000_000
"""Bytes a customization module may hold in all, for the same reason."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_CLOSERS = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class Variable:
    """A `variable` block of a module: its name, whether a caller must set it, and where it is declared."""

    name: str
    required: bool
    location: Location


@dataclass
class ModuleSource:
    """A local module folder the matrix names, read once: it is copied into every stack that uses it."""

    relative: str
    """The folder, relative to the matrix's folder (normalized, '/'-separated)."""
    path: Path
    files: dict[str, Path] = field(default_factory=dict)
    """Path inside the module ('/'-separated) → the file."""
    texts: dict[str, str] = field(default_factory=dict)
    """Path inside the module → its text, as it is copied into a stack."""
    variables: dict[str, Variable] = field(default_factory=dict)
    top_blocks: list[tuple[str, Location]] = field(default_factory=list)
    """Each top-level block's type (resource, provider, ...) and where it starts."""
    resources: list[tuple[str, Location]] = field(default_factory=list)
    """Each resource block's resource type (aws_s3_account_public_access_block, ...) and where it starts."""


@dataclass
class _Block:
    """One top-level block being read: its words so far, and (inside a variable) the attributes seen."""

    words: list[str] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)
    line: int = 0
    column: int = 0


class _Scanner:
    """Reads HCL just far enough to find top-level blocks and each variable's attributes.

    It follows strings (with `${...}` inside), heredocs and comments so that a brace in them is not taken for
    structure, and refuses what cannot be HCL: an unclosed string, comment, heredoc or bracket, or a closing
    bracket that does not match. Anything subtler is left to `terraform validate`, which every plan runs.
    """

    def __init__(self, text: str, path: Path):
        self.text = text
        self.path = path
        self.pos = 0
        self.stack: list[tuple[str, int]] = []
        self.block = _Block()
        self.blocks: list[_Block] = []

    def where(self, pos: int) -> Location:
        line = self.text.count("\n", 0, pos) + 1
        return Location(self.path, line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1)

    def fail(self, message: str, pos: int, hint: str) -> InputError:
        return InputError(f"HCL syntax error in {self.path.name}: {message}", location=self.where(pos), hint=hint)

    def scan(self) -> list[_Block]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("this comment is never closed", self.pos, "close it with */")
                self.pos = end + 2
            elif char == '"':
                self.pos = self.string(self.pos)
            elif text.startswith("<<", self.pos) and _HEREDOC.match(text, self.pos):
                self.pos = self.heredoc(self.pos)
            elif char in _CLOSERS or char in "}])":
                self.bracket(char)
                self.pos += 1
            else:
                self.word()
        if self.stack:
            opener, at = self.stack[-1]
            raise self.fail(f"'{opener}' is never closed", at, f"add the matching '{_CLOSERS[opener]}'")
        return self.blocks

    def word(self) -> None:
        match = _IDENT.match(self.text, self.pos)
        if match is None:
            self.pos += 1
            return
        depth = len(self.stack)
        if depth == 0:
            if not self.block.words:
                start = self.where(self.pos)
                self.block.line, self.block.column = start.line, start.column
            self.block.words.append(match.group())
        elif depth == 1 and self.stack[0][0] == "{" and self._is_attribute(match.end()):
            self.block.attributes.add(match.group())
        self.pos = match.end()

    def _is_attribute(self, end: int) -> bool:
        rest = self.text[end:].lstrip(" \t")
        return rest.startswith("=") and not rest.startswith("==")

    def string(self, start: int) -> int:
        """The position after the quoted string that opens at `start`; `${...}` inside may hold strings."""
        text, pos, depth = self.text, start + 1, 0
        while pos < len(text):
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char == "\n" and depth == 0:
                break
            if text.startswith("${", pos) or text.startswith("%{", pos):
                depth += 1
                pos += 2
                continue
            if depth and char == "{":
                depth += 1
            elif depth and char == "}":
                depth -= 1
            elif depth and char == '"':
                pos = self.string(pos)
                continue
            elif not depth and char == '"':
                if len(self.stack) == 0:
                    self.block.words.append(text[start + 1 : pos])
                return pos + 1
            pos += 1
        raise self.fail("this string is never closed", start, 'close it with " on the same line')

    def heredoc(self, start: int) -> int:
        match = _HEREDOC.match(self.text, start)
        assert match is not None
        end = re.compile(rf"^[ \t]*{re.escape(match.group(2))}[ \t]*\r?$", re.M).search(self.text, match.end())
        if end is None:
            raise self.fail(f"the heredoc <<{match.group(2)} is never closed", start, f"end it with {match.group(2)}")
        return end.end()

    def bracket(self, char: str) -> None:
        if char in _CLOSERS:
            self.stack.append((char, self.pos))
            return
        if not self.stack:
            raise self.fail(f"'{char}' closes nothing", self.pos, "remove it, or add the bracket it closes")
        opener, at = self.stack.pop()
        if _CLOSERS[opener] != char:
            line = self.where(at).line
            raise self.fail(f"'{char}' closes '{opener}' opened on line {line}", self.pos, f"use '{_CLOSERS[opener]}'")
        if not self.stack and opener == "{":
            self.blocks.append(self.block)
            self.block = _Block()


def scan_module_file(text: str, path: Path, module: ModuleSource) -> None:
    """Add the variables and top-level blocks of one `.tf` file to `module`; refuse it if it is not HCL."""
    for block in _Scanner(text, path).scan():
        if not block.words:
            continue
        location = Location(path, block.line, block.column)
        module.top_blocks.append((block.words[0], location))
        if block.words[0] == "resource" and len(block.words) >= 2:
            module.resources.append((block.words[1], location))
        if block.words[0] == "variable" and len(block.words) >= 2:
            name = block.words[1]
            module.variables[name] = Variable(name, "default" not in block.attributes, location)


def read_module(root: Path, relative: str, folder: Path, location: Location) -> ModuleSource:
    """Read the module in `folder` (inside `root`): its files and the variables its `.tf` files declare."""
    module = ModuleSource(relative=relative, path=folder)
    total = 0
    for file in sorted(folder.rglob("*")):
        inner = file.relative_to(folder)
        if any(part.startswith(".") for part in inner.parts) or not file.is_file() or ".tfstate" in file.name:
            continue  # Terraform's working data, state and hidden files are not the module's source
        if not file.resolve().is_relative_to(root.resolve()):
            raise InputError(
                f"module file {inner.as_posix()} leads through a symlink outside the project folder",
                location=location,
                hint="copy the file into the module folder",
            )
        total += file.stat().st_size
        if len(module.files) >= MAX_MODULE_FILES or total > MAX_MODULE_BYTES:
            raise InputError(
                f"module folder {relative} holds more than {MAX_MODULE_FILES} files or {MAX_MODULE_BYTES:,} bytes",
                location=location,
                hint="a customization is copied into every stack that uses it: keep only its source in the folder",
            )
        module.files[inner.as_posix()] = file
        module.texts[inner.as_posix()] = _read_text(file, inner.as_posix(), location)
    top = sorted(name for name in module.texts if "/" not in name and name.endswith((".tf", ".tf.json")))
    if not top:
        raise InputError(
            f"module folder {relative} holds no .tf file", location=location, hint="name a Terraform module's folder"
        )
    for name in top:
        if name.endswith(".json"):
            _json_variables(module.texts[name], module.files[name], module)
        else:
            scan_module_file(module.texts[name], module.files[name], module)
    return module


def _json_variables(text: str, path: Path, module: ModuleSource) -> None:
    """The variables of a `.tf.json` file (Terraform's JSON syntax): `{"variable": {"name": {...}}}`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"JSON syntax error in {path.name}: {exc.msg}", location=Location(path, exc.lineno, exc.colno)
        ) from None
    variables = data.get("variable") if isinstance(data, dict) else None
    for name, body in (variables or {}).items() if isinstance(variables, dict) else ():
        bodies = body if isinstance(body, list) else [body]
        required = not any(isinstance(b, dict) and "default" in b for b in bodies)
        module.variables[name] = Variable(name, required, Location(path, 1, 1))


def _read_text(file: Path, inner: str, location: Location) -> str:
    try:
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"module file {inner} is not UTF-8 text", location=location, hint="a customization holds text files only"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read module file {inner}: {exc.strerror or exc}", location=location) from None
