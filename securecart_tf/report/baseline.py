"""The project as it was at an earlier revision: a recorded snapshot, or a git commit."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from securecart_tf.config.load import Project, load_matrix, load_project
from securecart_tf.errors import InputError, SecureCartError
from securecart_tf.run.workspace import Workspace


def load_revision(project: Project, rev: str) -> tuple[Project, str]:
    """Load the inputs of `rev`. Returns the project and a label for the revision.

    A recorded revision (`.securecart/revisions/<rev>/inputs/`, written by `revision.snapshot` on each
    plan) is tried first, by full name or unique prefix; then, if the project is in git, a commit-ish.
    """
    store = Workspace(project.root).revisions
    folder = _snapshot_folder(store, rev)
    if folder is not None:
        meta = json.loads((folder / "snapshot.json").read_text())
        matrix = folder / "inputs" / str(meta.get("matrix") or project.matrix_file.name)
        return _load(matrix, f"revision {folder.name}"), folder.name
    commit = _git_commit(project.root, rev)
    if commit is not None:
        return _from_git(project, rev, commit), f"{rev} ({commit[:12]})" if rev != commit else commit[:12]
    recorded = sorted(p.name for p in store.iterdir() if (p / "snapshot.json").is_file()) if store.is_dir() else []
    raise SecureCartError(
        f"no recorded revision or git commit '{rev}'",
        hint=(
            f"recorded revisions in {store}: {', '.join(recorded[-5:])}; or give a git commit such as HEAD~1"
            if recorded
            else "revisions are recorded by `securecart-tf plan`; in a git repository, give a commit such as HEAD~1"
        ),
    )


def _snapshot_folder(store: Path, rev: str) -> Path | None:
    if not store.is_dir() or not rev or "/" in rev or rev.startswith("."):
        return None
    exact = store / rev
    if (exact / "snapshot.json").is_file():
        return exact
    matches = [p for p in store.iterdir() if p.name.startswith(rev) and (p / "snapshot.json").is_file()]
    if len(matches) > 1:
        raise SecureCartError(
            f"revision prefix '{rev}' is ambiguous: {', '.join(sorted(p.name for p in matches))}",
            hint="give more characters of the revision",
        )
    return matches[0] if matches else None


def _load(matrix: Path, what: str) -> Project:
    try:
        return load_project(matrix)
    except InputError as exc:
        raise SecureCartError(
            f"the matrix of {what} does not load: {exc.message}",
            location=exc.location,
            hint="compare with a revision whose matrix was valid",
        ) from None


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(["git", *args], 1, b"", str(exc).encode())


def _git_commit(root: Path, rev: str) -> str | None:
    if rev.startswith("-"):
        return None
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        return None
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return found.stdout.decode().strip() or None if found.returncode == 0 else None


def _show(root: Path, commit: str, rel: str) -> bytes | None:
    shown = _git(root, "show", f"{commit}:./{rel}")
    return shown.stdout if shown.returncode == 0 else None


def _from_git(project: Project, rev: str, commit: str) -> Project:
    # the project root is the matrix's folder, so every input is named relative to it
    root = project.root
    matrix_name = project.matrix_file.name
    text = _show(root, commit, matrix_name)
    if text is None:
        raise SecureCartError(f"commit {rev} has no {matrix_name}", hint="pick a commit where the access matrix exists")
    with tempfile.TemporaryDirectory(prefix="securecart-report-") as tmp:
        base = Path(tmp)
        matrix = base / matrix_name
        matrix.write_bytes(text)
        try:
            parsed, _ = load_matrix(matrix)
        except InputError as exc:
            raise SecureCartError(
                f"the matrix at {rev} does not load: {exc.message}", hint="compare with a commit whose matrix was valid"
            ) from None
        wanted = [g.file for g in parsed.guardrails if g.file] + [p.file for p in parsed.policies if p.file]
        # ls-tree names paths relative to the working directory, here the project root
        listed = _git(root, "ls-tree", "-r", "--name-only", commit, "--", "environments")
        if listed.returncode == 0:
            wanted += [line for line in listed.stdout.decode().splitlines() if line.endswith((".yaml", ".yml"))]
        for rel in dict.fromkeys(str(w) for w in wanted):
            target = (base / rel).resolve()
            if not target.is_relative_to(base.resolve()):
                continue  # outside the project folder: loading reports it as missing
            content = _show(root, commit, rel)
            if content is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        return _load(matrix, f"commit {rev}")
