"""Each stack becomes a Terraform root folder.

Jinja renders only backend, provider and module wiring; every piece of data is written with
`json.dumps` into `terraform.tfvars.json`. No policy document ever passes through string templating.
Output is deterministic, and a file is rewritten only when its bytes change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _encode_string  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import jinja2

from securecart_tf import __version__
from securecart_tf.config.environments import AwsTarget, Environment, S3Backend
from securecart_tf.config.load import Project
from securecart_tf.errors import SecureCartError
from securecart_tf.iam.documents import partition_of
from securecart_tf.model import Model, Stack, build_model
from securecart_tf.resources import modules_dir, templates_dir

PROVIDER_CONSTRAINT = ">= 5.60.0, < 6.0.0"
TERRAFORM_MIN_VERSION = "1.9.0"
S3_TERRAFORM_MIN_VERSION = "1.11.0"
SANDBOX_MAX_RETRIES = 2
AWS_MAX_RETRIES = 25
MANIFEST = "manifest.json"
DEFAULT_ENVIRONMENT = "default"


def default_environment(model: Model) -> Environment:
    """Used when the project has no environment files: every stack, the sandbox, local state."""
    return Environment(
        name=DEFAULT_ENVIRONMENT,
        stacks=[s for s in ("organization", "security", "identity-center") if s in model.stacks],
        accounts=[s.account for s in model.stacks.values() if s.layer == "access"],
    )


def stacks_of(model: Model, env: Environment) -> list[Stack]:
    """The stacks an environment covers, in dependency order."""
    wanted = set(env.stacks) | {f"access-{a}" for a in env.accounts}
    return [s for s in model.ordered() if s.name in wanted]


@dataclass
class RenderedStack:
    stack: Stack
    environment: str
    directory: Path
    hash: str
    files: dict[str, str]
    rewritten: list[str] = field(default_factory=list)


@dataclass
class RenderResult:
    root: Path
    stacks: dict[str, RenderedStack]
    rewritten: list[Path]
    unchanged: int


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


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["hcl"] = hcl_string
    return env


def _module_files() -> dict[str, dict[str, bytes]]:
    result: dict[str, dict[str, bytes]] = {}
    for module in sorted(p for p in modules_dir().iterdir() if p.is_dir()):
        result[module.name] = {
            f.name: f.read_bytes() for f in sorted(module.iterdir()) if f.is_file() and f.suffix == ".tf"
        }
    return result


def _write_if_changed(path: Path, content: bytes, rewritten: list[Path], *, new_folder: bool = False) -> None:
    """Write `path` unless it holds `content` already.

    `new_folder`: its folder was just made, so there is nothing to read, and nothing that reads the file
    yet: it is written in place. Elsewhere a file is replaced whole, never seen half-written.
    """
    if new_folder:
        path.write_bytes(content)
        rewritten.append(path)
        return
    try:
        if path.is_file() and path.read_bytes() == content:  # a pipe in its place is replaced, never read
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    rewritten.append(path)


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


def _emit(value: Any, newline: str, parts: list[str], sort_keys: bool) -> None:
    """Append the indented JSON of `value` to `parts`, in the order and forms `json.dumps` uses."""
    if isinstance(value, str):
        parts.append(_encode_string(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_float(value))
    elif isinstance(value, (list, tuple)):
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
    elif isinstance(value, dict):
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
    else:
        raise _NotPlainJson


def _tfvars(stack: Stack, model: Model, env: Environment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "region": stack.region or model.matrix.organization.home_region,
        "account_id": model.directory.ids.get(stack.account) or model.directory(stack.account),
    }
    model.directory.take_pending()
    data.update(stack.inputs)  # serialized as it is; only what changes below is copied first
    if stack.layer == "security" and env.target.type == "sandbox":
        data["baseline"] = {**data["baseline"], "force_destroy_logs": True}
    return data


def _provider_context(stack: Stack, model: Model, env: Environment) -> dict[str, Any]:
    target = env.target
    mgmt = model.matrix.organization.management_account
    profile = None
    assume_role = None
    external_id = None
    if isinstance(target, AwsTarget):
        profile = target.account_profiles.get(stack.account, target.profile)
        if stack.account != mgmt and stack.account not in target.account_profiles:
            assume_role = target.role_name or model.matrix.organization.deployment_role
            external_id = target.external_id
    elif stack.account != mgmt:
        assume_role = model.matrix.organization.deployment_role
    backend: dict[str, Any] = {"type": "local"}
    if isinstance(env.backend, S3Backend):
        backend = env.backend.model_dump()
    return {
        "stack": {"name": stack.name, "layer": stack.layer, "account": stack.account},
        "target": {"type": target.type},
        "backend": backend,
        "profile": profile,
        "assume_role": assume_role,
        "external_id": external_id,
        "max_retries": SANDBOX_MAX_RETRIES,
        "aws_max_retries": AWS_MAX_RETRIES,
        "partition": partition_of(model.matrix.organization.home_region),
        "provider_constraint": PROVIDER_CONSTRAINT,
        # the S3 backend's use_lockfile needs 1.11
        "terraform_min_version": S3_TERRAFORM_MIN_VERSION if backend["type"] == "s3" else TERRAFORM_MIN_VERSION,
    }


def render_stack(
    stack: Stack,
    model: Model,
    env: Environment,
    jinja: jinja2.Environment | None = None,
    module_hashes: dict[str, str] | None = None,
) -> tuple[dict[str, str], str]:
    """The files of one stack's root and its content hash (which covers the modules it uses)."""
    jinja = jinja or _jinja()
    context = _provider_context(stack, model, env)
    context["modules"] = "../../modules"
    layer_template = {"access": "access.tf.j2"}.get(stack.layer, f"{stack.layer}.tf.j2")
    files = {
        "providers.tf": jinja.get_template("_providers.tf.j2").render(context),
        "main.tf": jinja.get_template(layer_template).render(context),
        "terraform.tfvars.json": pretty_json(_tfvars(stack, model, env)) + "\n",
    }
    if module_hashes is None:
        module_hashes = {name: _hash_files(f) for name, f in _module_files().items()}
    digest = hashlib.sha256()
    digest.update(f"securecart-tf {__version__}\n".encode())
    for name in sorted(files):
        digest.update(f"{name}\n".encode())
        digest.update(files[name].encode())
    for module in sorted(stack.modules):
        digest.update(f"module {module} {module_hashes[module]}\n".encode())
    return files, digest.hexdigest()


def _hash_files(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\n" + files[name])
    return digest.hexdigest()


def render(model: Model, environments: list[Environment], out: Path) -> RenderResult:
    """Render the stacks of each environment into out/<env>/<stack>/, and the modules into out/modules/."""
    jinja = _jinja()
    modules = _module_files()
    module_hashes = {name: _hash_files(files) for name, files in modules.items()}
    rewritten: list[Path] = []
    unchanged = 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for module, files in modules.items():
            for fname, content in files.items():
                before = len(rewritten)
                _write_if_changed(out / "modules" / module / fname, content, rewritten)
                unchanged += len(rewritten) == before
        rendered: dict[str, RenderedStack] = {}
        for env in environments:
            env_dir = out / env.name
            manifest_path = env_dir / MANIFEST
            previous = _read_manifest(manifest_path)
            entries = []
            for stack in stacks_of(model, env):
                files, digest = render_stack(stack, model, env, jinja, module_hashes)
                directory = env_dir / stack.name
                result = RenderedStack(stack, env.name, directory, digest, files)
                new_folder = not directory.is_dir()
                if new_folder:
                    directory.mkdir(parents=True, exist_ok=True)
                for fname, text in files.items():
                    before = len(rewritten)
                    _write_if_changed(directory / fname, text.encode(), rewritten, new_folder=new_folder)
                    if len(rewritten) > before:
                        result.rewritten.append(fname)
                    else:
                        unchanged += 1
                rendered[stack.name] = result
                entries.append(
                    {
                        "name": stack.name,
                        "layer": stack.layer,
                        "account": stack.account,
                        "environment": env.name,
                        "depends_on": list(stack.depends_on),
                        "modules": list(stack.modules),
                        "hash": digest,
                        "pending_accounts": list(stack.pending_accounts),
                    }
                )
            for old in previous.get("stacks", []):
                name = old.get("name") if isinstance(old, dict) else None
                if isinstance(name, str) and name not in rendered:
                    _remove_stack(out, env_dir, name)
            manifest = {
                "tool_version": __version__,
                "environment": env.name,
                "target": env.target.type,
                "backend": env.backend.type,
                "stacks": entries,
            }
            _write_if_changed(manifest_path, (pretty_json(manifest, sort_keys=False) + "\n").encode(), rewritten)
    except OSError as exc:
        raise SecureCartError(
            f"cannot write the rendered Terraform under {out}: {exc.strerror or exc}",
            hint="choose a writable folder with --out, or free some disk space",
        ) from None
    return RenderResult(root=out, stacks=rendered, rewritten=rewritten, unchanged=unchanged)


STACK_FILES = ("providers.tf", "main.tf", "terraform.tfvars.json")
"""What `render_stack` writes into a stack's folder; nothing else there is the renderer's to remove."""
_STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_INIT_MARKER = "securecart-init"


def _remove_stack(out: Path, env_dir: Path, name: str) -> None:
    """Remove what the renderer (and its `terraform init`) put in the folder of a stack that is gone.

    The name comes from a manifest on disk, which anyone can edit: only a plain stack name whose folder
    lies inside the output folder, itself no symlink, is considered. Files a user saved there (an
    `imports.tf`, notes) are kept, and so is the folder that holds them.
    """
    if not _STACK_NAME.match(name):
        return
    folder = env_dir / name
    if folder.is_symlink() or not folder.is_dir() or not _inside(folder, out):
        return
    for fname in (*STACK_FILES, ".terraform.lock.hcl"):
        path = folder / fname
        if path.is_file() and not path.is_symlink():
            path.unlink()
    data = folder / ".terraform"
    if not data.is_symlink() and (data / _INIT_MARKER).is_file() and _inside(data, out):
        shutil.rmtree(data)  # the working data of a `terraform init` this tool ran (marked by it)
    with contextlib.suppress(OSError):  # not empty: the user's files stay, in their folder
        folder.rmdir()


def _inside(path: Path, root: Path) -> bool:
    """`path`, with every symlink resolved, lies strictly inside `root` (also resolved)."""
    resolved, base = path.resolve(), root.resolve()
    return resolved != base and resolved.is_relative_to(base)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def load_env(project: Project, name: str) -> Environment:
    """The named environment; "default" for a project without environment files."""
    if name in project.environments:
        return project.environments[name]
    if not project.environments and name == "default":
        return default_environment(build_model(project))
    known = ", ".join(sorted(project.environments)) or "none (add environments/*.yaml)"
    raise SecureCartError(f"unknown environment '{name}'", hint=f"known environments: {known}")
