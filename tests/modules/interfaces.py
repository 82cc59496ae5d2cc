"""Read module interfaces from their .tf files, and check rendered roots against them without Terraform.

Terraform checks a root's wiring only when it plans, and silently drops object attributes a module's type
does not declare. These checks catch the same mistakes at once, from files alone:

- a rendered root's terraform.tfvars.json has exactly the variables the root declares;
- each module call passes only variables the module declares, and every one it requires;
- the data handed to a module variable fits the variable's type: no missing attribute, no unknown one;
- every `var.x.y` and `each.value.y` the wiring reads exists in the data.

The parser reads `terraform fmt` formatted files: top-level blocks close with a `}` in column one, and a
block's own arguments are indented by two spaces. It understands Terraform's type expressions, not HCL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BLOCK = re.compile(r'^(variable|output|module) "([\w-]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
_ARGUMENT = re.compile(r"^  ([\w-]+)\s*=\s*(.*)$")
_NESTED_BLOCK = re.compile(r"^  [\w-]+\s*\{")
_DESCRIPTION = re.compile(r'^  description\s*=\s*"((?:[^"\\]|\\.)*)"', re.MULTILINE)
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[(){}\[\],=]|[^\s(){}\[\],=]+)')
META_ARGUMENTS = {"source", "for_each", "count", "depends_on", "providers", "version"}


# -- types --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Type:
    """A Terraform type constraint: kind is string, number, bool, any, list, set, map, tuple or object."""

    kind: str
    element: Type | None = None
    attributes: tuple[tuple[str, Type, bool], ...] = ()
    """For objects: (name, type, optional)."""
    elements: tuple[Type, ...] = ()
    """For tuples."""

    def __str__(self) -> str:
        if self.kind in ("list", "set", "map"):
            return f"{self.kind}({self.element})"
        if self.kind == "object":
            return "object({" + ", ".join(f"{n}{'?' if o else ''}={t}" for n, t, o in self.attributes) + "})"
        if self.kind == "tuple":
            return "tuple([" + ", ".join(map(str, self.elements)) + "])"
        return self.kind


ANY = Type("any")


class _Parser:
    def __init__(self, text: str):
        self.tokens = [t for t in _TOKEN.findall(text) if t]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'a token'} at {self.pos}, found {token!r} in {self.tokens}")
        self.pos += 1
        return token

    def skip_expression(self) -> None:
        """Skip an optional() default value, up to the closing parenthesis it sits in."""
        depth = 0
        while (token := self.peek()) is not None:
            if token in "([{" and len(token) == 1:
                depth += 1
            elif token in ")]}" and len(token) == 1:
                if depth == 0:
                    return
                depth -= 1
            self.pos += 1

    def type(self) -> tuple[Type, bool]:
        """A type, and whether it was wrapped in optional()."""
        name = self.take()
        if name in ("string", "number", "bool", "any"):
            return Type(name), False
        self.take("(")
        if name == "optional":
            inner, _ = self.type()
            if self.peek() == ",":
                self.take(",")
                self.skip_expression()
            self.take(")")
            return inner, True
        if name in ("list", "set", "map"):
            element, _ = self.type()
            self.take(")")
            return Type(name, element=element), False
        if name == "object":
            self.take("{")
            attributes = []
            while self.peek() != "}":
                attr = self.take().strip('"')
                self.take("=")
                attr_type, optional = self.type()
                attributes.append((attr, attr_type, optional))
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
            self.take(")")
            return Type("object", attributes=tuple(attributes)), False
        if name == "tuple":
            self.take("[")
            elements = []
            while self.peek() != "]":
                elements.append(self.type()[0])
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            self.take(")")
            return Type("tuple", elements=tuple(elements)), False
        raise ValueError(f"unknown type {name!r}")


def parse_type(text: str) -> Type:
    parser = _Parser(text)
    result, _ = parser.type()
    if parser.peek() is not None:
        raise ValueError(f"unexpected {parser.peek()!r} after the type in {text!r}")
    return result


def conforms(value: Any, expected: Type, path: str) -> list[str]:
    """Where `value` (decoded JSON) does not fit `expected`, one line each. Null fits anything."""
    if value is None or expected.kind == "any":
        return []
    kind = expected.kind
    if kind == "string":
        ok = isinstance(value, str | int | float | bool)
        return [] if ok else [f"{path}: a {type(value).__name__} where the module takes a string"]
    if kind == "number":
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        )
        return [] if ok else [f"{path}: {value!r} where the module takes a number"]
    if kind == "bool":
        ok = isinstance(value, bool) or value in ("true", "false")
        return [] if ok else [f"{path}: {value!r} where the module takes a bool"]
    if kind in ("list", "set", "tuple"):
        if not isinstance(value, list):
            return [f"{path}: a {type(value).__name__} where the module takes a {kind}"]
        types = expected.elements if kind == "tuple" else (expected.element or ANY,) * len(value)
        if len(types) != len(value):
            return [f"{path}: {len(value)} elements where the module's tuple has {len(types)}"]
        return [p for i, (v, t) in enumerate(zip(value, types, strict=True)) for p in conforms(v, t, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path}: a {type(value).__name__} where the module takes a {kind}"]
    if kind == "map":
        return [p for k, v in value.items() for p in conforms(v, expected.element or ANY, f"{path}[{k!r}]")]
    problems = []
    declared = {name: (attr_type, optional) for name, attr_type, optional in expected.attributes}
    for name, (attr_type, optional) in declared.items():
        if name in value:
            problems += conforms(value[name], attr_type, f"{path}.{name}")
        elif not optional:
            problems.append(f"{path}: lacks {name!r}, which the module requires")
    for name in value:
        if name not in declared:
            problems.append(f"{path}.{name}: not an attribute of the module's type (Terraform would drop it)")
    return problems


# -- files ----------------------------------------------------------------------------------------------


@dataclass
class Variable:
    name: str
    type: Type
    required: bool
    description: str = ""
    type_text: str = "any"


@dataclass
class Output:
    name: str
    description: str = ""


@dataclass
class ModuleCall:
    name: str
    source: str
    for_each: str | None
    arguments: dict[str, str]
    """argument → its expression's first line (a multi-line expression ends with an opening bracket)."""


@dataclass
class TerraformFiles:
    """The variables, outputs and module calls of one folder's .tf files."""

    variables: dict[str, Variable] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    modules: dict[str, ModuleCall] = field(default_factory=dict)
    text: str = ""


def _arguments(body: str) -> dict[str, str]:
    """The block's own arguments (indented two spaces), each with its expression's first line."""
    found = {}
    for line in body.splitlines():
        match = _ARGUMENT.match(line)
        if match:
            found[match.group(1)] = match.group(2).split(" #")[0].strip()
    return found


def _type_text(body: str) -> str:
    lines = body.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^  type\s*=\s*(.*)$", line)
        if not match:
            continue
        collected = [match.group(1)]
        for rest in lines[i + 1 :]:
            if _ARGUMENT.match(rest) or _NESTED_BLOCK.match(rest):
                break
            collected.append(rest)
        return "\n".join(collected)
    return "any"


def read_folder(folder: Path) -> TerraformFiles:
    result = TerraformFiles()
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text()
        result.text += text
        for kind, name, body in _BLOCK.findall(text):
            description = _DESCRIPTION.search(body)
            desc = json.loads(f'"{description.group(1)}"') if description else ""
            if kind == "variable":
                type_text = _type_text(body)
                result.variables[name] = Variable(
                    name=name,
                    type=parse_type(type_text),
                    required=re.search(r"^  default\s*=", body, re.MULTILINE) is None,
                    description=desc,
                    type_text=" ".join(type_text.split()),
                )
            elif kind == "output":
                result.outputs[name] = Output(name, desc)
            else:
                args = _arguments(body)
                source = args.pop("source", "").strip('"')
                for_each = args.get("for_each")
                result.modules[name] = ModuleCall(
                    name=name,
                    source=source,
                    for_each=for_each,
                    arguments={k: v for k, v in args.items() if k not in META_ARGUMENTS},
                )
    return result


# -- checks ---------------------------------------------------------------------------------------------


_VAR = re.compile(r"^var\.(\w+)((?:\.\w+)*)$")
_EACH_VALUE = re.compile(r"^each\.value((?:\.\w+)+)$")
_VAR_REFERENCE = re.compile(r"\bvar\.(\w+)((?:\.\w+)*)")
_EACH_REFERENCE = re.compile(r"\beach\.value((?:\.\w+)+)")


def _walk(data: Any, path: list[str]) -> tuple[bool, Any]:
    """Follow attribute names into data; (False, None) if one is absent. Stops, found, at a null."""
    for name in path:
        if data is None:
            return True, None
        if not isinstance(data, dict) or name not in data:
            return False, None
        data = data[name]
    return True, data


def check_root(stack: Path, modules: Path) -> list[str]:
    """Every way a rendered root's data and wiring disagree with its modules' interfaces."""
    root = read_folder(stack)
    tfvars = json.loads((stack / "terraform.tfvars.json").read_text())
    where = stack.name
    problems = []
    for name in sorted(set(tfvars) - set(root.variables)):
        problems.append(f"{where}: terraform.tfvars.json sets {name!r}, which the root does not declare")
    for name, var in sorted(root.variables.items()):
        if var.required and name not in tfvars:
            problems.append(f"{where}: the root requires {name!r}, which terraform.tfvars.json does not set")

    for call in root.modules.values():
        module_dir = (stack / call.source).resolve()
        if not module_dir.is_relative_to(modules.resolve()):
            module_dir = modules / Path(call.source).name
        module = read_folder(module_dir)
        label = f"{where}: module.{call.name} ({Path(call.source).name})"
        for arg in sorted(set(call.arguments) - set(module.variables)):
            problems.append(f"{label} passes {arg!r}, which the module does not declare")
        for name, var in sorted(module.variables.items()):
            if var.required and name not in call.arguments:
                problems.append(f"{label} does not pass {name!r}, which the module requires")
        each_source = None
        if call.for_each and (m := _VAR.match(call.for_each)) and not m.group(2):
            each_source = tfvars.get(m.group(1))
        for arg, expr in sorted(call.arguments.items()):
            var = module.variables.get(arg)
            if var is None:
                continue
            for value, path in _values_of(expr, tfvars, each_source):
                problems += [f"{label}: {p}" for p in conforms(value, var.type, path)]
        # Every each.value.<attribute> the call reads exists in every element it iterates over.
        if isinstance(each_source, dict):
            body = _module_body(root.text, call.name)
            for ref in sorted(set(_EACH_REFERENCE.findall(body))):
                attrs = ref.strip(".").split(".")
                for key, element in each_source.items():
                    found, _ = _walk(element, attrs)
                    if not found:
                        problems.append(f"{label} reads each.value{ref}, which {key!r} lacks")
    for name, ref in sorted(set(_VAR_REFERENCE.findall(root.text))):
        if name not in tfvars:
            if name not in root.variables or root.variables[name].required:
                problems.append(f"{where}: the wiring reads var.{name}{ref}, which terraform.tfvars.json does not set")
            continue
        found, _ = _walk(tfvars[name], ref.strip(".").split(".") if ref else [])
        if not found:
            problems.append(f"{where}: the wiring reads var.{name}{ref}, which the data lacks")
    return problems


def _module_body(text: str, name: str) -> str:
    for kind, block, body in _BLOCK.findall(text):
        if kind == "module" and block == name:
            return str(body)
    return ""


def _values_of(expr: str, tfvars: dict[str, Any], each_source: Any) -> list[tuple[Any, str]]:
    """The data an argument's expression hands to the module, when it is a plain reference."""
    if (m := _VAR.match(expr)) and m.group(1) in tfvars:
        attrs = m.group(2).strip(".").split(".") if m.group(2) else []
        found, value = _walk(tfvars[m.group(1)], attrs)
        return [(value, f"var.{m.group(1)}{m.group(2)}")] if found else []
    if (m := _EACH_VALUE.match(expr)) and isinstance(each_source, dict):
        attrs = m.group(1).strip(".").split(".")
        values = []
        for key, element in each_source.items():
            found, value = _walk(element, attrs)
            if found:
                values.append((value, f"[{key!r}]{m.group(1)}"))
        return values
    if expr == "each.key" and isinstance(each_source, dict):
        return [(key, f"[{key!r}] (each.key)") for key in each_source]
    return []
