"""Load the access matrix and environment files into typed models, with file:line on every error."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import posixpath
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from securecart_tf.config import environments, schema
from securecart_tf.config.adoption import ADOPTION_FILE, Adoption
from securecart_tf.config.environments import Environment
from securecart_tf.config.modules import ModuleSource, read_module
from securecart_tf.config.schema import AccessMatrix
from securecart_tf.config.yamlpos import Document, Positions, load_yaml, parse_yaml, read_text
from securecart_tf.errors import ConfigErrors, InputError, Location

M = TypeVar("M", bound=BaseModel)

_PATTERN_WORDS = {
    schema.ACCOUNT_NAME: "an account name: 1 to 50 lowercase letters, digits and '-', not starting or ending with '-'",
    schema.ORG_NAME: "an organization name: 2 to 41 lowercase letters, digits and '-', starting with a letter or digit",
    schema.OU_NAME: "an OU name: letters, digits, space, '_' or '-', starting with a letter or digit",
    schema.OU_PATH: "an OU path such as 'WorkloadsOU/ProdOU' (no leading or trailing '/'), or '/' for the root",
    schema.ENV_NAME: "an environment name: lowercase letters, digits and '-', starting with a letter, such as dev",
    schema.REGION: "an AWS region such as us-east-1",
    schema.EMAIL: "an email address in ASCII such as aws-prod@example.com",
    schema.IAM_NAME: "an IAM name: ASCII letters, digits and +=,.@_- without spaces",
    schema.IAM_PATH: "an IAM path: '/' or '/name/' segments ending in '/'",
    schema.POLICY_ARN: "a policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess",
    schema.ACCOUNT_ID: "a 12-digit AWS account ID",
    schema.ISO_DURATION: "an ISO-8601 duration such as PT1H or PT8H",
    schema.GUARDRAIL_NAME: "a guardrail name: letters, digits, '_' and '-', starting with a letter or digit",
    schema.GROUP_NAME: "a group name: up to 128 ASCII letters, digits, spaces and .@+=,_-",
    schema.BUCKET_NAME: "an S3 bucket name: lowercase letters, digits, '.' and '-' (may use {environment})",
    schema.TABLE_NAME: "a DynamoDB table name: 3 to 255 letters, digits, '_', '.' and '-'",
    schema.RDS_RESOURCE_ID: "an RDS resource id such as db-ABCDEFGHIJKL (letters, digits, '-', '*')",
    schema.DB_USER: "a database user name: letters, digits and '_'",
    schema.RULE_ID: "a rule id such as least-privilege or IAM001",
    environments.S3_BUCKET: "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    environments.KEY_PREFIX: "a state key prefix: letters, digits and _./-",
    environments.PROFILE_NAME: "an AWS profile name: 1 to 128 letters, digits and _+=,.@:/- (no spaces or quotes)",
    schema.SERVICE_NAME: "an AWS service principal such as lambda.amazonaws.com, or its short name such as lambda",
    schema.EXTERNAL_ID: "an STS external ID: 2 to 1224 letters, digits and _+=,.@:/- (no spaces or quotes)",
    schema.IAM_TEXT: "text IAM accepts in a description: printable Latin-1 characters, no emoji or other scripts",
    schema.CUSTOMIZATION_NAME: "a customization name: lowercase letters, digits and '-', starting with a letter",
    schema.MODULE_VERSION: "a module version or constraint such as 1.2.0 or '~> 1.2'",
    schema.SSO_TEXT: "text Identity Center accepts in a description: printable Latin-1, no emoji or other scripts",
}
"""Every pattern the schema uses, in words. A test proves none is missing."""

_TYPE_WORDS = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "date_type": "a date such as 2027-06-30",
    "date_parsing": "a date such as 2027-06-30",
    "date_from_datetime_parsing": "a date such as 2027-06-30",
    "date_from_datetime_inexact": "a date such as 2027-06-30, without a time",
}

MAX_REPORTED = 100
"""Schema errors listed at most; the rest are counted. Keeps a badly broken file readable."""


@dataclass
class PolicyFile:
    """A JSON policy document read from a file the matrix names."""

    path: Path
    document: dict[str, Any]
    text: str
    relative: str = ""
    """Where the matrix says it is, relative to the matrix's folder (normalized, '/'-separated)."""


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
    adoption: Adoption | None = None
    """The adoption record (`adopted.yaml` beside the matrix), when there is one."""
    adoption_file: Path | None = None
    modules: dict[str, ModuleSource] = field(default_factory=dict)
    """Local customization modules by the folder the matrix names (normalized, relative to the matrix)."""
    memo: dict[type, object] = field(default_factory=dict, repr=False, compare=False)
    """What later stages derive from this project and share while it is in use, by the type of what is kept
    (the model the policy checks build is the one `generate` renders)."""

    @property
    def root(self) -> Path:
        return self.matrix_file.parent

    def at(self, *path: str | int) -> Location:
        return self.positions.at(path)

    def input_files(self) -> list[Path]:
        """Every user file the project was built from, for the revision hash."""
        return list(self.inputs().values())

    def inputs(self) -> dict[str, Path]:
        """Every user file the project was built from, by the path the project names it with.

        The path is relative to the matrix's folder, as the loader reads it: a copy of the inputs stored
        under these paths loads as the same project.
        """
        files = {self.matrix_file.name: self.matrix_file}
        for file in self.environment_files.values():
            files[posixpath.join(file.parent.name, file.name)] = file
        for policy in self.policy_files.values():
            files[policy.relative or policy.path.name] = policy.path
        if self.adoption_file is not None:
            files[self.adoption_file.name] = self.adoption_file
        for module in self.modules.values():  # a rollback re-renders a customization from its stored source
            for inner, file in module.files.items():
                files[posixpath.join(module.relative, inner)] = file
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
        in_node = (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if in_node:
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


def _shown(value: Any) -> str:
    """A value for a message: YAML words for containers, a shortened repr for scalars."""
    if isinstance(value, (dict, list)) or value is None:
        return _yaml_type(type(value).__name__)
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:60]) + f"... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text):,} characters)"


def _foreign_character(value: str, pattern: str) -> str | None:
    """Name the first character `pattern` cannot take because of its script: a look-alike letter, a stray
    control character or an emoji cannot be seen in the message otherwise."""
    latin1 = pattern in (schema.IAM_TEXT, schema.SSO_TEXT)
    for i, char in enumerate(value, 1):
        if " " <= char <= "~" or (latin1 and (char in "\t\n\r" or "\u00a1" <= char <= "\u00ff")):
            continue
        if unicodedata.category(char) == "Cc":
            return f"character {i} is the control character U+{ord(char):04X}; remove it"
        name = unicodedata.name(char, "unnamed")
        if latin1:
            return f"character {i} is U+{ord(char):04X} ({name}), outside Latin-1; replace it"
        return f"character {i} is U+{ord(char):04X} ({name}), not ASCII; type it in ASCII"
    return None


def _choices(expected: str) -> list[str]:
    """The quoted choices in a pydantic 'expected' text such as "'human', 'ci' or 'vendor'"."""
    return re.findall(r"'([^']*)'", expected)


def explain(
    error: Any, root: type[BaseModel], data: Any, positions: Positions, prefix: tuple[str | int, ...] = ()
) -> InputError:
    """One pydantic error as an `InputError` in the user's words, at the line the value was written.

    `data` is what `root` validated; `prefix` is where that data sits in the document `positions` maps.
    """
    e = _Error(error, root, data, positions, prefix)
    for explainer in (_explain_key, _explain_value, _explain_shape):
        explained = explainer(e)
        if explained is not None:
            return explained
    msg = error["msg"]
    if isinstance(e.got, (str, int, float, bool)):
        msg = f"{msg} (got {_shown(e.got)})"
    return InputError(f"{e.where}: {msg}", location=e.location)


@dataclass
class _Error:
    """One pydantic error, with where it points in the user's document."""

    raw: Any
    root: type[BaseModel]
    data: Any
    positions: Positions
    prefix: tuple[str | int, ...]
    loc: tuple[Any, ...] = ()
    rel: tuple[str | int, ...] = ()
    path: tuple[str | int, ...] = ()

    def __post_init__(self) -> None:
        self.loc = tuple(self.raw["loc"])
        self.rel = _data_path(self.data, self.loc)
        self.path = (*self.prefix, *self.rel)

    @property
    def kind(self) -> str:
        return str(self.raw["type"])

    @property
    def ctx(self) -> dict[str, Any]:
        return dict(self.raw.get("ctx") or {})

    @property
    def got(self) -> Any:
        return self.raw.get("input")

    @property
    def where(self) -> str:
        return _display_path(self.path)

    @property
    def location(self) -> Location:
        return self.positions.at(self.path)


def _explain_key(e: _Error) -> InputError | None:
    """Keys: unknown, missing, or a union's tag that is wrong or missing."""
    if e.kind == "extra_forbidden":
        key = str(e.loc[-1])
        parent = e.rel[:-1] if e.rel and e.rel[-1] == key else e.rel
        allowed = sorted({name for m in _models_at(e.root, parent) for name in m.model_fields})
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        shown = key if len(key) <= 60 else f"{key[:60]}... ({len(key):,} characters)"
        message = f"unknown key '{shown}' in {_display_path((*e.prefix, *parent))}"
        hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
        return InputError(message, location=e.location, hint=hint)
    if e.kind == "missing":
        key = str(e.loc[-1])
        return InputError(f"missing required key '{key}' in {e.where}", location=e.location, hint=f"add '{key}:'")
    if e.kind == "union_tag_invalid":
        field_name = e.ctx.get("discriminator", "type").strip("'")
        choices = _choices(str(e.ctx.get("expected_tags", "")))
        close = difflib.get_close_matches(str(e.ctx.get("tag", "")), choices, n=1, cutoff=0.5)
        return InputError(
            f"{e.where}.{field_name}: expected {' or '.join(repr(c) for c in choices)}, got {e.ctx.get('tag')!r}",
            location=e.positions.at((*e.path, field_name)),
            hint=f"did you mean '{close[0]}'?" if close else None,
        )
    if e.kind == "union_tag_not_found":
        field_name = e.ctx.get("discriminator", "type").strip("'")
        return InputError(
            f"missing required key '{field_name}' in {e.where}", location=e.location, hint=f"add '{field_name}:'"
        )
    return None


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "less_than_equal": ("le", "at most"),
    "greater_than": ("gt", "more than"),
    "less_than": ("lt", "less than"),
}


def _explain_value(e: _Error) -> InputError | None:
    """Values: a pattern, a choice, a validator's own message, or a bound they do not meet."""
    got = e.got
    if e.kind == "string_pattern_mismatch":
        pattern = e.ctx.get("pattern", "")
        words = _PATTERN_WORDS.get(pattern, f"in the expected format (pattern {pattern})")
        hint = _foreign_character(got, pattern) if isinstance(got, str) else None
        return InputError(f"{e.where}: {_shown(got)} is not {words}", location=e.location, hint=hint)
    if e.kind in ("literal_error", "enum"):
        choices = _choices(str(e.ctx.get("expected", "")))
        close = difflib.get_close_matches(str(got), choices, n=1, cutoff=0.5) if isinstance(got, str) else []
        return InputError(
            f"{e.where}: expected {e.ctx.get('expected', 'one of the allowed values')}, got {_shown(got)}",
            location=e.location,
            hint=f"did you mean '{close[0]}'?" if close else None,
        )
    if e.kind == "value_error":
        msg = str(e.ctx.get("error", e.raw["msg"]))
        return InputError(f"{e.where}: {msg}" if e.path else msg, location=e.location)
    if e.kind in _BOUNDS:
        key, words = _BOUNDS[e.kind]
        return InputError(f"{e.where}: must be {words} {e.ctx.get(key)}, got {_shown(got)}", location=e.location)
    return None


def _explain_shape(e: _Error) -> InputError | None:
    """Types: a scalar where a list or mapping belongs, or a value of the wrong type."""
    got = e.got
    if e.kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        want = "a list" if e.kind == "list_type" else "a mapping"
        hint: str | None = None
        if e.kind == "list_type" and isinstance(got, (str, int, float, bool)) and len(str(got)) <= 40:
            hint = f"write a list: [{got}], or one '- item' per line"
        elif e.kind == "list_type":
            hint = "write a list: [a, b], or one '- item' per line"
        elif e.kind == "model_type":
            models = _models_at(e.root, e.rel)
            doc = next((m.__doc__ for m in models if m.__name__ == e.ctx.get("class_name")), None)
            hint = doc.strip().splitlines()[0] if doc else None
        if hint is None and want == "a mapping" and e.path and isinstance(e.path[-1], str):
            hint = f"write '{e.path[-1]}:' followed by indented 'key: value' lines"
        return InputError(f"{e.where}: expected {want}, got {_shown(got)}", location=e.location, hint=hint)
    if e.kind in _TYPE_WORDS:
        hint = None
        if e.kind == "string_type" and isinstance(got, (int, float)) and not isinstance(got, bool):
            hint = "YAML read this as a number; put it in quotes so that it stays text, every digit kept"
        elif e.kind == "string_type" and isinstance(got, bool):
            hint = "YAML read this as true/false; put it in quotes to keep it as text"
        elif e.kind == "string_type" and isinstance(got, (dt.date, dt.datetime)):
            hint = "YAML read this as a date; put it in quotes to keep it as text"
        message = f"{e.where}: expected {_TYPE_WORDS[e.kind]}, got {_shown(got)}"
        return InputError(message, location=e.location, hint=hint)
    return None


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


def explain_all(
    exc: ValidationError, root: type[BaseModel], data: Any, positions: Positions, prefix: tuple[str | int, ...] = ()
) -> list[InputError]:
    """Every error of `exc`, explained. A missing key is left out when a misspelt key already suggests it."""
    raw = exc.errors(include_url=False)
    suggested: set[tuple[Any, ...]] = set()
    for e in raw:
        if e["type"] == "extra_forbidden":
            loc = tuple(e["loc"])
            parent = _data_path(data, loc)[:-1]
            allowed = {name for m in _models_at(root, parent) for name in m.model_fields}
            for close in difflib.get_close_matches(str(loc[-1]), sorted(allowed), n=1, cutoff=0.6):
                suggested.add((*loc[:-1], close))
    return [
        explain(e, root, data, positions, prefix)
        for e in raw
        if not (e["type"] == "missing" and tuple(e["loc"]) in suggested)
    ]


def validate_document(model: type[M], doc: Document) -> M:
    """Build `model` from a loaded document, or raise every schema error with its position."""
    if not isinstance(doc.data, dict):
        required = [name for name, f in model.model_fields.items() if f.is_required()]
        raise InputError(
            f"expected a mapping at the top level, got {_yaml_type(type(doc.data).__name__)}",
            location=doc.at(),
            hint=f"the file is a mapping of keys such as {', '.join(f'{k}:' for k in required)}",
        )
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = explain_all(exc, model, doc.data, doc.positions)
        errors.sort(key=lambda e: (e.location.line, e.location.column) if e.location else (0, 0))
        if len(errors) > MAX_REPORTED:
            hidden = len(errors) - MAX_REPORTED
            errors = [
                *errors[:MAX_REPORTED],
                InputError(
                    f"{hidden:,} more error(s) not shown",
                    location=doc.positions.at(()),
                    hint="fix the errors above and validate again",
                ),
            ]
        raise ConfigErrors(errors) from None
    except RecursionError:
        raise InputError("document nests too deeply", location=doc.at()) from None


def load_matrix(matrix_file: Path) -> tuple[AccessMatrix, Positions]:
    doc = load_yaml(matrix_file, "access matrix")
    return validate_document(AccessMatrix, doc), doc.positions


def load_adoption(file: Path) -> Adoption:
    """The adoption record, or every schema error in it with its file and line."""
    return validate_document(Adoption, load_yaml(file, "adoption record"))


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


class _DuplicateJsonKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateJsonKey(key)
        seen[key] = value
    return seen


def _parse_policy_json(text: str, path: Path) -> Any:
    """Parse a policy file, refusing duplicate keys (JSON would keep only the last one silently)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"policy file is not valid JSON: {exc.msg}",
            location=Location(path, exc.lineno, exc.colno),
            hint="check the brackets, quotes and commas near this point (no trailing commas in JSON)",
        ) from None
    except _DuplicateJsonKey as exc:
        hint = "JSON would keep only the last value; remove or rename one of them"
        location = Location(path, 1, 1)
        message = f"duplicate key '{exc.key}' in the policy file"
        try:  # JSON is YAML, and the YAML loader knows the lines of both keys
            parse_yaml(text, path, "policy file")
        except InputError as located:
            if "duplicate key" in located.message:
                message, location = located.message, located.location or location
        raise InputError(message, location=location, hint=hint) from None
    except RecursionError:
        raise InputError("policy file nests too deeply", location=Location(path, 1, 1)) from None


def _inside_project(root: Path, relative: str, location: Location, kind: str = "policy file") -> str:
    """`relative`, normalized, when it names a file in the project folder; else why not, at `location`.

    Every input must lie in the project folder: a revision stores its inputs by these paths, so a file
    named by an absolute path or outside the folder would be read again, as it is now, on rollback.
    """
    what, home = ("module", "customizations/") if kind == "module folder" else ("file", "policies/")
    hint = f"copy the {what} into the project folder (e.g. {home}) and name it relative to the matrix"
    named = _shown(relative)
    if relative.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", relative):
        raise InputError(f"{kind} {named} is not relative to the matrix's folder", location=location, hint=hint)
    normal = posixpath.normpath(relative)
    if normal == ".." or normal.startswith("../"):
        raise InputError(f"{kind} {named} lies outside the project folder", location=location, hint=hint)
    try:
        real = (root / normal).resolve()
        outside = not real.is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: reading it reports the problem
        outside = False
    if outside:
        raise InputError(
            f"{kind} {named} leads through a symlink outside the project folder, to {real}",
            location=location,
            hint=hint,
        )
    return normal


def _load_policy_file(root: Path, relative: str, location: Location) -> PolicyFile:
    normal = _inside_project(root, relative, location)
    shown = root / relative
    try:
        text = read_text(shown, "policy file")
        path = shown.resolve()
    except InputError as exc:
        named = relative.replace("\x00", "\\0")
        raise InputError(f"{exc.message}: {named}", location=location, hint=exc.hint) from None
    except (OSError, RuntimeError) as exc:  # e.g. a symlink loop
        raise InputError(f"cannot read policy file {relative}: {exc}", location=location) from None
    document = _parse_policy_json(text, shown)
    if not isinstance(document, dict) or "Statement" not in document:
        raise InputError(
            "policy file must be a JSON object with a 'Statement'",
            location=Location(shown, 1, 1),
            hint='write {"Version": "2012-10-17", "Statement": [...]}',
        )
    try:
        schema.PolicyDocument.model_validate(document)
    except ValidationError as exc:
        raise ConfigErrors(explain_all(exc, schema.PolicyDocument, document, Positions(shown))) from None
    return PolicyFile(path=path, document=document, text=text, relative=normal)


def load_project(matrix_file: Path, environments_dir: Path | None = None) -> Project:
    """Load the matrix, its policy files and (if the folder exists) every environment file."""
    matrix_file = Path(matrix_file)
    matrix, positions = load_matrix(matrix_file)
    project = Project(matrix=matrix, matrix_file=matrix_file, positions=positions)
    errors: list[InputError] = []
    _load_policy_files(project, errors)
    _load_customizations(project, errors)
    if environments_dir is None:
        environments_dir = matrix_file.parent / "environments"
    if environments_dir.is_dir():
        for file in sorted(environments_dir.glob("*.yaml")) + sorted(environments_dir.glob("*.yml")):
            _add_environment(project, file, errors)
    _add_adoption(project, errors)
    if errors:
        raise ConfigErrors(errors)
    return project


def _collect(errors: list[InputError], exc: InputError | ConfigErrors) -> None:
    errors.extend(exc.errors if isinstance(exc, ConfigErrors) else [exc])


def _load_policy_files(project: Project, errors: list[InputError]) -> None:
    """Every guardrail, policy, trust and inline policy file the matrix names, read into `project.policy_files`."""
    m = project.matrix
    named: list[tuple[tuple[str | int, ...], str | None]] = [
        (("guardrails", i, "file"), g.file) for i, g in enumerate(m.guardrails)
    ]
    named += [(("policies", i, "file"), p.file) for i, p in enumerate(m.policies)]
    for i, r in enumerate(m.roles):
        named.append((("roles", i, "trust", "policy_file"), r.trust.policy_file))
        named += [(("roles", i, "inline_policies", j, "file"), p.file) for j, p in enumerate(r.inline_policies)]
    for where, file in named:
        if not file:
            continue
        try:
            project.policy_files[file] = _load_policy_file(project.root, file, project.positions.at(where))
        except (ConfigErrors, InputError) as exc:
            _collect(errors, exc)


def _add_adoption(project: Project, errors: list[InputError]) -> None:
    """The adoption record beside the matrix, if there is one."""
    file = project.root / ADOPTION_FILE
    if not file.is_file():
        return
    try:
        project.adoption = load_adoption(file)
    except (ConfigErrors, InputError) as exc:
        _collect(errors, exc)
        return
    project.adoption_file = file


def _add_environment(project: Project, file: Path, errors: list[InputError]) -> None:
    """One environment file into the project; a second file for the same environment is an error."""
    try:
        env, env_positions = load_environment(file)
    except (ConfigErrors, InputError) as exc:
        _collect(errors, exc)
        return
    if env.name in project.environments:
        other = project.environment_files[env.name]
        errors.append(
            InputError(
                f"environment '{env.name}' is defined twice, here and in {other.name}",
                location=env_positions.at(("name",)),
                hint="keep one file per environment; delete or rename the other",
            )
        )
        return
    project.environments[env.name] = env
    project.environment_files[env.name] = file
    project.environment_positions[env.name] = env_positions


PLACEHOLDERS = ("account", "account_id", "environment")
"""What a customization's input text may use, replaced for each account."""
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _load_customizations(project: Project, errors: list[InputError]) -> None:
    """Every local module a customization names, read once, and each customization's inputs checked against it."""
    for i, custom in enumerate(project.matrix.customizations):
        try:
            _check_placeholders(project, i, custom.inputs)
            if not custom.is_local:
                continue  # a registry module's variables are known once `terraform init` fetched it
            location = project.at("customizations", i, "source")
            module = project.modules.get(posixpath.normpath(custom.source))
            if module is None:
                module = _load_module(project.root, custom.source, location, custom.name)
                project.modules[module.relative] = module
            _check_inputs(project, i, custom, module)
        except (ConfigErrors, InputError) as exc:
            _collect(errors, exc)


def _load_module(root: Path, source: str, location: Location, name: str) -> ModuleSource:
    normal = _inside_project(root, source, location, kind="module folder")
    folder = root / normal
    if not folder.is_dir():
        looks_registry = re.match(schema.REGISTRY_SOURCE, source) is not None
        raise InputError(
            f"module folder {_shown(source)} does not exist" + (f" in {root}" if not looks_registry else ""),
            location=location,
            hint="add 'version:' to use a registry module"
            if looks_registry
            else "name a folder of .tf files, relative to the matrix, e.g. ./customizations/budget",
        )
    try:
        return read_module(root, normal, folder, location)
    except InputError as exc:
        if exc.location is None or exc.location == location:
            raise
        # the module's own file is at fault: point there, and say which customization of the matrix uses it
        raise InputError(
            f"{exc.message} (module of customization '{name}', {location})", location=exc.location, hint=exc.hint
        ) from None


def _check_inputs(project: Project, i: int, custom: schema.Customization, module: ModuleSource) -> None:
    """Every input names a variable of the module, and every variable without a default has an input."""
    errors: list[InputError] = []
    for block, where in module.top_blocks:
        if block == "provider":  # its resources would be orphaned, with no provider to destroy them, on removal
            errors.append(
                InputError(
                    f"customization '{custom.name}': module {module.relative} configures a provider ({where})",
                    location=project.at("customizations", i, "source"),
                    hint="remove the provider block: the module uses the account's provider of the stack it is in",
                )
            )
    suggested: set[str] = set()
    for key in custom.inputs:
        if key not in module.variables:
            close = difflib.get_close_matches(key, sorted(module.variables), n=1, cutoff=0.6)
            suggested.update(close)
            known = ", ".join(sorted(module.variables)) or "none"
            errors.append(
                InputError(
                    f"customization '{custom.name}': input '{key}' is not a variable of module {module.relative} "
                    f"({', '.join(_declaring_files(module))})",
                    location=project.at("customizations", i, "inputs", key),
                    hint=f"did you mean '{close[0]}'?" if close else f"the module's variables: {known}",
                )
            )
    for name, var in sorted(module.variables.items()):
        if var.required and name not in custom.inputs and name not in suggested:  # a misspelling says it already
            errors.append(
                InputError(
                    f"customization '{custom.name}': missing input '{name}', required by module {module.relative} "
                    f"(variable declared at {posixpath.join(module.relative, var.location.file.name)}:"
                    f"{var.location.line})",
                    location=project.at("customizations", i, "inputs" if custom.inputs else "name"),
                    hint=f"add '{name}:' under inputs, or give the variable a default in the module",
                )
            )
    if errors:
        raise ConfigErrors(errors)


def _declaring_files(module: ModuleSource) -> list[str]:
    """The module's files that declare variables (else all its top-level .tf files), as the matrix names them."""
    files = {v.location.file.name for v in module.variables.values()}
    files = files or {name for name in module.texts if "/" not in name and name.endswith(".tf")}
    return [posixpath.join(module.relative, name) for name in sorted(files)]


def _check_placeholders(project: Project, i: int, inputs: dict[str, Any]) -> None:
    """Text in the inputs uses only the placeholders there are: a misspelt one would reach AWS as it is."""

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, str):
            for word in _PLACEHOLDER.findall(value):
                if word not in PLACEHOLDERS:
                    close = difflib.get_close_matches(word, PLACEHOLDERS, n=1, cutoff=0.6)
                    raise InputError(
                        f"customizations[{i}].inputs: unknown placeholder {{{word}}}",
                        location=project.at("customizations", i, "inputs", *path),
                        hint=f"did you mean {{{close[0]}}}?"
                        if close
                        else "inputs may use {account}, {account_id} and {environment}",
                    )
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, (*path, n))

    walk(inputs, ())
