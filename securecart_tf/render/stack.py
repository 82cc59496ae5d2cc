"""One stack's root: providers and module wiring from templates, its data as `terraform.tfvars.json`."""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

import jinja2

from securecart_tf import __version__
from securecart_tf.config.environments import AwsTarget, Environment, S3Backend
from securecart_tf.iam.documents import partition_of
from securecart_tf.model import SECURITY, Model, Stack
from securecart_tf.model.account_settings import provider_alias
from securecart_tf.model.customizations import LOCAL_FOLDER
from securecart_tf.render.hcl import hcl_string
from securecart_tf.render.imports import IMPORTS_FILE, imports_tf, stack_imports
from securecart_tf.render.jsontext import pretty_json
from securecart_tf.resources import modules_dir, templates_dir
from securecart_tf.versions import AWS_PROVIDER_CONSTRAINT, S3_BACKEND_MIN_VERSION, TERRAFORM_MIN_VERSION, dotted

SANDBOX_MAX_RETRIES = 2
AWS_MAX_RETRIES = 25


def jinja_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["hcl"] = hcl_string
    return env


def module_files() -> dict[str, dict[str, bytes]]:
    """module name → its Terraform files (a submodule's as `<folder>/<file>`) → their bytes."""
    result: dict[str, dict[str, bytes]] = {}
    for module in sorted(p for p in modules_dir().iterdir() if p.is_dir()):
        result[module.name] = {
            f.relative_to(module).as_posix(): f.read_bytes() for f in sorted(module.rglob("*.tf")) if f.is_file()
        }
    return result


def hash_files(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\n" + files[name])
    return digest.hexdigest()


def render_stack(
    stack: Stack, model: Model, env: Environment, jinja: jinja2.Environment, module_hashes: dict[str, str]
) -> tuple[dict[str, str], str]:
    """The files of one stack's root and its content hash (which covers the modules it uses)."""
    context = _provider_context(stack, model, env)
    context["modules"] = "../../modules"
    context["role_paths"] = any("path" in spec for spec in stack.inputs.get("roles", {}).values())
    context["customizations"] = _customization_blocks(stack)
    context["account_settings"] = "account_settings" in stack.inputs
    files = {
        "providers.tf": jinja.get_template("_providers.tf.j2").render(context),
        "main.tf": jinja.get_template(f"{stack.layer}.tf.j2").render(context),
        "terraform.tfvars.json": pretty_json(_tfvars(stack, model, env)) + "\n",
    }
    files.update(customization_files(stack, model))
    blocks = stack_imports(stack, model)
    if blocks:
        files[IMPORTS_FILE] = imports_tf(blocks)
    digest = hashlib.sha256()
    digest.update(f"securecart-tf {__version__}\n".encode())
    # Import blocks are left out: they come from what a lookup found before the first apply and change nothing once
    # the state holds what they adopt, so their coming and going is no change of the stack.
    for name in sorted(set(files) - {IMPORTS_FILE}):
        digest.update(f"{name}\n".encode())
        digest.update(files[name].encode())
    for module in sorted(stack.modules):
        digest.update(f"module {module} {module_hashes[module]}\n".encode())
    return files, digest.hexdigest()


def _customization_blocks(stack: Stack) -> list[dict[str, Any]]:
    """Each customization's module block: its source, and the inputs this account passes (aligned as fmt does)."""
    blocks = []
    for block in stack.customizations:
        inputs = sorted(stack.inputs["customizations"][block["name"]])
        keys = ["source", *(["version"] if block["version"] else []), *inputs]
        blocks.append({**block, "inputs": inputs, "width": max(len(k) for k in keys)})
    return blocks


def customization_files(stack: Stack, model: Model) -> dict[str, str]:
    """The copies of local customization modules a stack's folder holds, so that the folder is self-contained."""
    files: dict[str, str] = {}
    by_name = {c.name: c for c in model.matrix.customizations}
    for block in stack.customizations:
        custom = by_name[block["name"]]
        if not custom.is_local:
            continue
        module = model.project.modules[posixpath.normpath(custom.source)]
        for inner, text in module.texts.items():
            files[f"{LOCAL_FOLDER}/{custom.name}/{inner}"] = text
    return files


def _tfvars(stack: Stack, model: Model, env: Environment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "region": stack.region or model.matrix.organization.home_region,
        "account_id": model.directory.ids.get(stack.account) or model.directory(stack.account),
    }
    model.directory.take_pending()
    data.update(stack.inputs)  # serialized as it is; only what changes below is copied first
    if stack.layer == SECURITY and env.target.type == "sandbox":
        # The sandbox is discarded whole, and consistent at once: no need for the provider's 55 s read-back of the
        # log buckets' lifecycle rules, which S3 receives the same either way (modules/security-baseline).
        data["baseline"] = {**data["baseline"], "force_destroy_logs": True, "lifecycle_rules_inline": True}
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
        # each region besides the stack's own gets a provider alias with the same settings, named after it
        "regions": [{"name": r, "alias": provider_alias(r)} for r in stack.regions],
        "provider_constraint": AWS_PROVIDER_CONSTRAINT,
        # the S3 backend's use_lockfile needs 1.11
        "terraform_min_version": dotted(S3_BACKEND_MIN_VERSION if backend["type"] == "s3" else TERRAFORM_MIN_VERSION),
    }
