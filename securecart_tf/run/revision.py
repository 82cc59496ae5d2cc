"""The revision: one content hash of everything a rollout is made from.

It covers the matrix, the environment files, the policy files the matrix names, the modules, the
templates and the tool version. Snapshots of the user's inputs, with the modules and templates they were
rendered with, are kept by revision so that a rollback can re-render an older revision exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from securecart_tf import __version__
from securecart_tf.config.load import Project
from securecart_tf.resources import modules_dir, templates_dir

SHORT = 12


def _tree_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and ".terraform" not in p.parts
    )


def revision_of(project: Project) -> str:
    digest = hashlib.sha256()
    digest.update(f"securecart-tf {__version__}\n".encode())
    for name, file in sorted(project.inputs().items()):
        digest.update(f"input {name}\n".encode())
        digest.update(file.read_bytes())
    for label, root in (("modules", modules_dir()), ("templates", templates_dir())):
        for file in _tree_files(root):
            digest.update(f"{label} {file.relative_to(root).as_posix()}\n".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:SHORT]


def snapshot(project: Project, revision: str, store: Path) -> Path:
    """Copy the user's inputs for `revision` under store/<revision>/inputs/, and the modules and templates
    under store/<revision>/tool/ (once). Returns that folder."""
    target = store / revision
    if (target / "snapshot.json").is_file():
        return target
    tmp = store / f".{revision}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    inputs = project.inputs()
    for rel, file in inputs.items():  # each under the path the project names it with, so it loads as it did
        dest = tmp / "inputs" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dest)
    for label, root in (("modules", modules_dir()), ("templates", templates_dir())):
        for file in _tree_files(root):
            dest = tmp / "tool" / label / file.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, dest)
    meta = {
        "revision": revision,
        "tool_version": __version__,
        "matrix": project.matrix_file.name,
        "files": sorted(inputs),
        "git_commit": git_commit(project.root),
    }
    (tmp / "snapshot.json").write_text(json.dumps(meta, indent=2) + "\n")
    try:
        os.replace(tmp, target)
    except OSError:  # another writer got there first; theirs is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
