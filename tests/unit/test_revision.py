"""The revision hash, the snapshot stored with it, and re-rendering an older revision exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from securecart_tf import __version__
from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.render import render
from securecart_tf.resources import data_root, modules_dir, tool_files
from securecart_tf.run.promote import stored_tool_files
from securecart_tf.run.revision import revision_of, snapshot


def _install(tmp_path: Path) -> Path:
    """A copy of this install's modules and templates that a test may change."""
    root = tmp_path / "install"
    for name in ("modules", "templates"):
        shutil.copytree(data_root() / name, root / name)
    return root


def _rendered(matrix: Path, out: Path) -> dict[str, bytes]:
    project = load_project(matrix)
    render(build_model(project), list(project.environments.values()), out)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_the_revision_covers_inputs_modules_and_templates(example_project: Path, tmp_path: Path) -> None:
    install = _install(tmp_path)
    with tool_files(install):
        base = revision_of(load_project(example_project))
        assert revision_of(load_project(example_project)) == base
        template = next((install / "templates").glob("*.j2"))
        template.write_text(template.read_text() + "\n")
        after_template = revision_of(load_project(example_project))
        module_file = install / "modules" / "iam-role" / "main.tf"
        module_file.write_text(module_file.read_text() + "# changed\n")
        after_module = revision_of(load_project(example_project))
    matrix = example_project.read_text()
    example_project.write_text(matrix + "\n# a comment is a change to the input\n")
    with tool_files(install):
        after_input = revision_of(load_project(example_project))
    assert len({base, after_template, after_module, after_input}) == 4


def test_a_revision_re_renders_byte_for_byte_after_the_modules_change(example_project: Path, tmp_path: Path) -> None:
    install = _install(tmp_path)
    store = tmp_path / "revisions"
    with tool_files(install):
        old = revision_of(load_project(example_project))
        stored = snapshot(load_project(example_project), old, store)
        before = _rendered(example_project, tmp_path / "before")
        # the tool's own module changes after the revision was applied
        module_file = install / "modules" / "iam-role" / "main.tf"
        module_file.write_text(module_file.read_text() + "# a later version of this module\n")
        assert revision_of(load_project(example_project)) != old
        changed = _rendered(example_project, tmp_path / "changed")
        assert changed != before

        context, _ = stored_tool_files(stored)
        with context:
            assert revision_of(load_project(stored / "inputs" / "access-matrix.yaml")) == old
            again = _rendered(stored / "inputs" / "access-matrix.yaml", tmp_path / "again")
    assert again == before


def test_a_snapshot_from_another_tool_version_renders_with_this_one_and_says_so(
    example_project: Path, tmp_path: Path
) -> None:
    stored = snapshot(load_project(example_project), "0123456789ab", tmp_path / "revisions")
    meta = json.loads((stored / "snapshot.json").read_text())
    (stored / "snapshot.json").write_text(json.dumps({**meta, "tool_version": "0.0.1"}))
    context, why = stored_tool_files(stored)
    with context:
        assert modules_dir() == data_root() / "modules"
    assert "0.0.1" in why and __version__ in why
    shutil.rmtree(stored / "tool")
    (stored / "snapshot.json").write_text(json.dumps(meta))
    _, why = stored_tool_files(stored)
    assert "not stored" in why


def test_a_snapshot_keeps_each_input_under_the_path_the_project_names_it_with(
    example_project: Path, tmp_path: Path
) -> None:
    """Policies in a subfolder reached through a symlink (a shared checkout, say) are stored where the matrix
    looks for them, so that a rollback loads the stored copies, not the files as they are now."""
    root = example_project.parent
    (root / "shared").mkdir()
    shutil.move(root / "policies", root / "shared" / "policies")
    (root / "shared" / "policies" / "scp").mkdir()
    shutil.move(root / "shared" / "policies" / "scp-deny-public-s3.json", root / "shared" / "policies" / "scp")
    (root / "policies").symlink_to(root / "shared" / "policies", target_is_directory=True)
    matrix = example_project.read_text()
    example_project.write_text(
        matrix.replace("policies/scp-deny-public-s3.json", "policies/scp/scp-deny-public-s3.json")
    )
    project = load_project(example_project)
    revision = revision_of(project)
    texts = {name: policy.text for name, policy in project.policy_files.items()}
    stored = snapshot(project, revision, tmp_path / "revisions")

    for policy in project.policy_files.values():  # every policy changes after the revision was recorded
        policy.path.write_text(policy.text.replace('"Statement"', ' "Statement"', 1))
    assert revision_of(load_project(example_project)) != revision

    old = load_project(stored / "inputs" / "access-matrix.yaml")
    assert {name: policy.text for name, policy in old.policy_files.items()} == texts
    assert all(policy.path.is_relative_to(stored.resolve()) for policy in old.policy_files.values())
    assert revision_of(old) == revision
    assert json.loads((stored / "snapshot.json").read_text())["files"] == sorted(
        ["access-matrix.yaml", *(f"environments/{p.name}" for p in (root / "environments").iterdir()), *texts]
    )
