"""Render stacks into out/<env>/<stack>/ with a manifest per environment, rewriting only files that changed,
and remove what the renderer left for stacks that are gone."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securecart_tf import __version__
from securecart_tf.config.environments import Environment
from securecart_tf.errors import SecureCartError
from securecart_tf.model import Model, Stack
from securecart_tf.model.customizations import LOCAL_FOLDER
from securecart_tf.render.environments import stacks_of
from securecart_tf.render.imports import IMPORTS_FILE, is_rendered
from securecart_tf.render.jsontext import pretty_json
from securecart_tf.render.stack import hash_files, jinja_environment, module_files, render_stack

MANIFEST = "manifest.json"
STACK_FILES = ("providers.tf", "main.tf", "terraform.tfvars.json")
"""What `render_stack` writes into every stack's folder; besides these, only an imports.tf it marked as its own
(an adopted stack's) is the renderer's to remove."""
_STACK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_INIT_MARKER = "securecart-init"


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


class _Renderer:
    """One `render` call: the templates and modules it renders with, what it wrote and what it left alone."""

    def __init__(self, model: Model, out: Path):
        self.model = model
        self.out = out
        self.jinja = jinja_environment()
        self.modules = module_files()
        self.module_hashes = {name: hash_files(files) for name, files in self.modules.items()}
        self.rendered: dict[str, RenderedStack] = {}
        self.rewritten: list[Path] = []
        self.unchanged = 0

    def write_modules(self) -> None:
        for module, files in self.modules.items():
            for fname, content in files.items():
                self.unchanged += not self.write(self.out / "modules" / module / fname, content)

    def write_environment(self, env: Environment) -> None:
        """The environment's stacks and its manifest; the folders of stacks its last manifest listed and
        no environment of this render has are cleared."""
        env_dir = self.out / env.name
        previous = _read_manifest(env_dir / MANIFEST)
        entries = [_manifest_entry(self.write_stack(env, stack)) for stack in stacks_of(self.model, env)]
        for old in previous.get("stacks", []):
            name = old.get("name") if isinstance(old, dict) else None
            if isinstance(name, str) and name not in self.rendered:
                _remove_stack(self.out, env_dir, name)
        manifest = {
            "tool_version": __version__,
            "environment": env.name,
            "target": env.target.type,
            "backend": env.backend.type,
            "stacks": entries,
        }
        self.write(env_dir / MANIFEST, (pretty_json(manifest, sort_keys=False) + "\n").encode())

    def write_stack(self, env: Environment, stack: Stack) -> RenderedStack:
        files, digest = render_stack(stack, self.model, env, self.jinja, self.module_hashes)
        directory = self.out / env.name / stack.name
        result = RenderedStack(stack, env.name, directory, digest, files)
        new_folder = not directory.is_dir()
        if new_folder:
            directory.mkdir(parents=True, exist_ok=True)
        elif _own_imports(directory / IMPORTS_FILE, wanted=IMPORTS_FILE in files):
            (directory / IMPORTS_FILE).unlink()
            self.rewritten.append(directory / IMPORTS_FILE)
        for fname, text in files.items():
            if "/" in fname:  # a customization's module, copied into the stack's folder
                (directory / fname).parent.mkdir(parents=True, exist_ok=True)
            if self.write(directory / fname, text.encode(), new_folder=new_folder):
                result.rewritten.append(fname)
            else:
                self.unchanged += 1
        if not new_folder:
            self.rewritten += _prune_customizations(directory, files)
        self.rendered[stack.name] = result
        return result

    def write(self, path: Path, content: bytes, *, new_folder: bool = False) -> bool:
        """Write `path` unless it holds `content` already; say whether it was written.

        `new_folder`: its folder was just made, so there is nothing to read, and nothing that reads the file
        yet: it is written in place. Elsewhere a file is replaced whole, never seen half-written.
        """
        if new_folder:
            path.write_bytes(content)
        elif not _replace_if_changed(path, content):
            return False
        self.rewritten.append(path)
        return True


def _replace_if_changed(path: Path, content: bytes) -> bool:
    try:
        if path.is_file() and path.read_bytes() == content:  # a pipe in its place is replaced, never read
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return True


def _own_imports(path: Path, *, wanted: bool) -> bool:
    """Whether `path` is an imports.tf the renderer wrote and no longer wants. One the user saved there stays,
    unless the renderer must write its own in its place: then the user is asked to choose."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() and not path.is_symlink() else None
    except OSError:
        text = None
    if text is None:
        return False
    if is_rendered(text):
        return not wanted
    if wanted:
        raise SecureCartError(
            f"{path} holds import blocks saved by hand, and adopted.yaml now renders this stack's imports.tf",
            hint="rename your file (any name ending in .tf is read), and remove from it the blocks adopted.yaml "
            "also names: Terraform refuses two import blocks for one address",
        )
    return False


def _prune_customizations(directory: Path, files: dict[str, str]) -> list[Path]:
    """Remove the copies of customization modules, or their files, that the stack no longer holds."""
    folder = directory / LOCAL_FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.rglob("*"), reverse=True):  # files before the folders that hold them
        inner = path.relative_to(directory).as_posix()
        if path.is_file() and not path.is_symlink() and inner not in files:
            path.unlink()
            removed.append(path)
        elif path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()
    return removed


def _manifest_entry(rendered: RenderedStack) -> dict[str, Any]:
    stack = rendered.stack
    return {
        "name": stack.name,
        "layer": stack.layer,
        "account": stack.account,
        "environment": rendered.environment,
        "depends_on": list(stack.depends_on),
        "modules": list(stack.modules),
        "hash": rendered.hash,
        "pending_accounts": list(stack.pending_accounts),
    }


def render(model: Model, environments: list[Environment], out: Path) -> RenderResult:
    """Render the stacks of each environment into out/<env>/<stack>/, and the modules into out/modules/."""
    renderer = _Renderer(model, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        renderer.write_modules()
        for env in environments:
            renderer.write_environment(env)
    except OSError as exc:
        raise SecureCartError(
            f"cannot write the rendered Terraform under {out}: {exc.strerror or exc}",
            hint="choose a writable folder with --out, or free some disk space",
        ) from None
    return RenderResult(root=out, stacks=renderer.rendered, rewritten=renderer.rewritten, unchanged=renderer.unchanged)


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
    _prune_customizations(folder, {})
    if _own_imports(folder / IMPORTS_FILE, wanted=False):
        (folder / IMPORTS_FILE).unlink()
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
