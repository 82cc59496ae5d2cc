"""The example's emitted CI files match the golden ones, and pass the linters their users run: actionlint and
zizmor for the GitHub workflow, GitLab's schema for .gitlab-ci.yml; at 1,000 accounts as well."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from bench.synth import Size, write_project
from securecart_tf.config.load import load_project
from securecart_tf.pipeline import emit
from tests.golden.pipeline import linters
from tests.golden.pipeline.regenerate import FILES, GOLDEN, emitted, use_s3_backends


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both CI files of the 1,000-account synthetic organization, with S3 backends."""
    folder = tmp_path_factory.mktemp("org-1000")
    write_project(folder, Size.scaled(1000))
    use_s3_backends(folder, "bench-state")
    project = load_project(folder / "access-matrix.yaml")
    out = {"github": folder / ".github" / "workflows" / "securecart.yml", "gitlab": folder / ".gitlab-ci.yml"}
    for ci, path in out.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(emit(project, ci)[1])  # type: ignore[arg-type]
    return out


def test_the_example_emits_the_golden_files() -> None:
    for name, text in emitted().items():
        golden = (GOLDEN / name).read_text()
        if text != golden:
            diff = difflib.unified_diff(golden.splitlines(), text.splitlines(), f"golden/{name}", name, lineterm="")
            pytest.fail(
                "\n".join(list(diff)[:200]) + "\n\nIf intended: python -m tests.golden.pipeline.regenerate",
                pytrace=False,
            )
    assert set(FILES.values()) <= {p.name for p in GOLDEN.iterdir()}


def _workflow_copy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "workflows" / "securecart.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_the_github_workflow_passes_actionlint(tmp_path: Path, thousand: dict[str, Path]) -> None:
    for path in (_workflow_copy(tmp_path, (GOLDEN / FILES["github"]).read_text()), thousand["github"]):
        try:
            found = linters.actionlint(path)
        except linters.Unavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        assert found == [], json.dumps(found, indent=2)


def test_the_github_workflow_passes_zizmor(tmp_path: Path, thousand: dict[str, Path]) -> None:
    for path in (_workflow_copy(tmp_path, (GOLDEN / FILES["github"]).read_text()), thousand["github"]):
        try:
            code, output = linters.zizmor(path)
        except linters.Unavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        assert code == 0, output
        assert json.loads(output[: output.rindex("]") + 1]) == [], output


def test_the_gitlab_file_passes_gitlabs_schema(tmp_path: Path, thousand: dict[str, Path]) -> None:
    example = tmp_path / ".gitlab-ci.yml"
    example.write_text((GOLDEN / FILES["gitlab"]).read_text())
    for path in (example, thousand["gitlab"]):
        try:
            code, output = linters.gitlab_schema(path)
        except linters.Unavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        assert code == 0, output


def test_the_linters_find_what_they_look_for(tmp_path: Path) -> None:
    """The checks above can fail: each linter reports a planted fault."""
    bad = _workflow_copy(
        tmp_path,
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.pull_request.title }}\n",
    )
    assert any(f["kind"] == "expression" for f in linters.actionlint(bad))
    code, output = linters.zizmor(bad)
    assert code != 0 and "unpinned-uses" in output
    gitlab = tmp_path / ".gitlab-ci.yml"
    gitlab.write_text("job:\n  script: [echo]\n  parallel:\n    matrix:\n      - A: 1\n  when: sometimes\n")
    assert linters.gitlab_schema(gitlab)[0] != 0
