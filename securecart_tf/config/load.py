"""Load the access matrix and environment files into typed models, with file:line on every error."""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from securecart_tf.config import schema
from securecart_tf.config.environments import Environment
from securecart_tf.config.schema import AccessMatrix
from securecart_tf.config.yamlpos import Document, Positions, load_yaml, read_text
from securecart_tf.errors import ConfigErrors, InputError, Location

M = TypeVar("M", bound=BaseModel)

_PATTERN_WORDS = {
    schema.ACCOUNT_NAME: "an account name: lowercase letters, digits and '-', at most 50 characters",
    schema.OU_NAME: "an OU name: letters, digits, space, '_' or '-'",
    schema.IAM_NAME: "an IAM name: letters, digits and +=,.@_-",
    schema.ACCOUNT_ID: "a 12-digit AWS account ID",
    schema.ISO_DURATION: "an ISO-8601 duration such as PT1H or PT8H",
}


@dataclass
class PolicyFile:
    """A JSON policy document read from a file the matrix names."""

    path: Path
    document: dict[str, Any]
    text: str


@dataclass
class Project:
    """Everything loaded from the user's folder: the matrix, environments and referenced files."""

    matrix: AccessMatrix
    matrix_file: Path
    positions: Positions
    environments: dict[str, Environment] = field(default_factory=dict)
    environment_files: dict[str, Path] = field(default_factory=dict)
    environment_positions: dict[str, Positions] = field(default_factory=dict)
    policy_files: dict[str, PolicyFile] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.matrix_file.parent

    def at(self, *path: str | int) -> Location:
        return self.positions.at(path)

    def input_files(self) -> list[Path]:
        """Every user file the project was built from, for the revision hash."""
        files = [self.matrix_file, *self.environment_files.values()]
        files += [p.path for p in self.policy_files.values()]
        return files


def _display_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop the parts of a pydantic `loc` that are union tags or validator names, not data keys."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str):
            # a missing key or a union/model tag: keep missing keys so the message can name them
            continue
    return tuple(path)


def _unwrap(tp: Any) -> list[Any]:
    """The model classes reachable from an annotation (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _unwrap(arg)]
    if origin in (list, tuple, set):
        return [m for arg in typing.get_args(tp) for m in _unwrap(arg)]
    if origin is dict:
        return _unwrap(typing.get_args(tp)[1])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _models_at(root: type[BaseModel], data_path: tuple[str | int, ...]) -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = [root]
    for part in data_path:
        if isinstance(part, int):
            continue
        nxt: list[type[BaseModel]] = []
        for model in models:
            info = model.model_fields.get(part)
            if info is not None:
                nxt += _unwrap(info.annotation)
        if not nxt:
            return models
        models = nxt
    return models


def _friendly(error: dict[str, Any], root: type[BaseModel], data: Any, positions: Positions) -> InputError:
    loc = tuple(error["loc"])
    kind = error["type"]
    path = _data_path(data, loc)
    where = _display_path(path)
    location = positions.at(path)
    hint = None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = path[:-1] if path and path[-1] == key else path
        allowed = sorted({name for m in _models_at(root, parent) for name in m.model_fields})
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        message = f"unknown key '{key}' in {_display_path(parent)}"
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
        return InputError(message, location=location, hint=hint)
    if kind == "missing":
        key = str(loc[-1])
        return InputError(f"missing required key '{key}' in {where}", location=location, hint=f"add '{key}:'")
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        words = _PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        return InputError(f"{where}: {error['input']!r} is not {words}", location=location)
    if kind == "value_error":
        msg = str(error.get("ctx", {}).get("error", error["msg"]))
        return InputError(f"{where}: {msg}", location=location)
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        got = type(error.get("input")).__name__
        want = {"list_type": "a list", "dict_type": "a mapping"}.get(kind, "a mapping")
        return InputError(f"{where}: expected {want}, got {_yaml_type(got)}", location=location)
    msg = error["msg"]
    shown = error.get("input")
    if isinstance(shown, (str, int, float, bool)) and len(repr(shown)) < 80:
        msg = f"{msg} (got {shown!r})"
    return InputError(f"{where}: {msg}", location=location)


def _yaml_type(py: str) -> str:
    return {
        "str": "text",
        "int": "a number",
        "float": "a number",
        "bool": "true/false",
        "NoneType": "nothing",
        "list": "a list",
        "dict": "a mapping",
    }.get(py, py)


def validate_document(model: type[M], doc: Document) -> M:
    """Build `model` from a loaded document, or raise every schema error with its position."""
    if not isinstance(doc.data, dict):
        raise InputError(
            f"expected a mapping at the top level, got {_yaml_type(type(doc.data).__name__)}",
            location=doc.at(),
        )
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = [_friendly(dict(e), model, doc.data, doc.positions) for e in exc.errors()]
        errors.sort(key=lambda e: e.location.line if e.location else 0)
        raise ConfigErrors(errors) from None
    except RecursionError:
        raise InputError("document nests too deeply", location=doc.at()) from None


def load_matrix(matrix_file: Path) -> tuple[AccessMatrix, Positions]:
    doc = load_yaml(matrix_file, "access matrix")
    return validate_document(AccessMatrix, doc), doc.positions


def load_environment(file: Path) -> tuple[Environment, Positions]:
    doc = load_yaml(file, "environment file")
    env = validate_document(Environment, doc)
    if env.name != file.stem:
        raise InputError(
            f"environment name '{env.name}' does not match the file name '{file.name}'",
            location=doc.at("name"),
            hint=f"rename the file to {env.name}.yaml or set name: {file.stem}",
        )
    return env, doc.positions


def _load_policy_file(root: Path, relative: str, location: Location) -> PolicyFile:
    path = (root / relative).resolve()
    try:
        text = read_text(path, "policy file")
    except InputError as exc:
        raise InputError(f"{exc.message}: {relative}", location=location, hint=exc.hint) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"policy file is not valid JSON: {exc.msg}", location=Location(path, exc.lineno, exc.colno)
        ) from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise InputError("policy file must be a JSON object with a 'Statement'", location=Location(path, 1, 1))
    return PolicyFile(path=path, document=document, text=text)


def load_project(matrix_file: Path, environments_dir: Path | None = None) -> Project:
    """Load the matrix, its policy files and (if the folder exists) every environment file."""
    matrix_file = Path(matrix_file)
    matrix, positions = load_matrix(matrix_file)
    project = Project(matrix=matrix, matrix_file=matrix_file, positions=positions)
    errors: list[InputError] = []
    for i, guardrail in enumerate(matrix.guardrails):
        if guardrail.file:
            try:
                project.policy_files[guardrail.file] = _load_policy_file(
                    project.root, guardrail.file, positions.at(("guardrails", i, "file"))
                )
            except InputError as exc:
                errors.append(exc)
    for i, policy in enumerate(matrix.policies):
        if policy.file:
            try:
                project.policy_files[policy.file] = _load_policy_file(
                    project.root, policy.file, positions.at(("policies", i, "file"))
                )
            except InputError as exc:
                errors.append(exc)
    if environments_dir is None:
        environments_dir = matrix_file.parent / "environments"
    if environments_dir.is_dir():
        for file in sorted(environments_dir.glob("*.yaml")) + sorted(environments_dir.glob("*.yml")):
            try:
                env, env_positions = load_environment(file)
            except ConfigErrors as exc:
                errors.extend(exc.errors)
                continue
            except InputError as exc:
                errors.append(exc)
                continue
            project.environments[env.name] = env
            project.environment_files[env.name] = file
            project.environment_positions[env.name] = env_positions
    if errors:
        raise ConfigErrors(errors)
    return project
