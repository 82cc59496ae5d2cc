"""The SecureCart example renders exactly to the golden tree. Regenerate it with `make golden`."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.golden.regenerate import (
    CUSTOMIZED_GOLDEN,
    GOLDEN,
    ROOT,
    customized_files,
    golden_files,
    regenerate,
    render_customized_example,
    render_example,
)

MAX_DIFF_LINES = 200


def _diff(golden: dict[str, bytes], fresh: dict[str, bytes]) -> list[str]:
    lines: list[str] = []
    for name in sorted(set(golden) | set(fresh)):
        before, after = golden.get(name), fresh.get(name)
        if before == after:
            continue
        if before is None:
            lines.append(f"new file, not in the golden tree: {name}")
        elif after is None:
            lines.append(f"golden file no longer rendered: {name}")
        else:
            lines += difflib.unified_diff(
                before.decode().splitlines(),
                after.decode().splitlines(),
                f"golden/{name}",
                f"rendered/{name}",
                lineterm="",
            )
    return lines


def test_example_renders_to_the_golden_tree(tmp_path: Path) -> None:
    _compare(golden_files(GOLDEN), golden_files(render_example(tmp_path / "build")), GOLDEN)


def test_example_with_a_customization_renders_to_its_golden_tree(tmp_path: Path) -> None:
    fresh = customized_files(render_customized_example(tmp_path / "build"))
    assert {name.split("/")[1] for name in fresh} == {"access-dev", "access-staging", "access-prod"}
    _compare(customized_files(CUSTOMIZED_GOLDEN), fresh, CUSTOMIZED_GOLDEN)


def _compare(golden: dict[str, bytes], fresh: dict[str, bytes], where: Path) -> None:
    if fresh != golden:
        diff = _diff(golden, fresh)
        shown = diff[:MAX_DIFF_LINES]
        if len(diff) > MAX_DIFF_LINES:
            shown.append(f"... {len(diff) - MAX_DIFF_LINES} more lines")
        pytest.fail(
            f"The rendered example differs from {where.relative_to(ROOT)}:\n"
            + "\n".join(shown)
            + "\n\nIf the change is intended, run `make golden` and review the golden tree's diff.",
            pytrace=False,
        )


def test_golden_tree_covers_every_environment_and_stack() -> None:
    golden = golden_files(GOLDEN)
    for env in ("dev", "staging", "prod"):
        assert f"{env}/manifest.json" in golden
    stacks = {name.rsplit("/", 1)[0] for name in golden if name.endswith("/main.tf")}
    for stack in stacks:
        for part in ("providers.tf", "main.tf", "terraform.tfvars.json"):
            assert f"{stack}/{part}" in golden, f"{stack}/{part} is missing"
    assert "dev/organization" in stacks and "prod/access-prod" in stacks


def test_regenerate_rewrites_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    golden = tmp_path / "golden"
    (golden / "dev" / "gone").mkdir(parents=True)
    (golden / "dev" / "gone" / "main.tf").write_text("# a stack the example no longer has\n")
    (golden / "dev").joinpath("manifest.json").write_text("{}\n")
    written, removed = regenerate(golden)
    assert removed == ["dev/gone/main.tf"] and not (golden / "dev" / "gone").exists()
    assert "dev/manifest.json" in written
    assert golden_files(golden) == golden_files(render_example(tmp_path / "fresh"))
    assert regenerate(golden) == ([], [])
