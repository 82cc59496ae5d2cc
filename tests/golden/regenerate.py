"""Render the SecureCart example into the golden tree, tests/golden/securecart/ (`make golden`).

Every environment of the example is rendered with no organization state, so accounts have their stand-in
IDs, exactly as a fresh checkout renders them. The tree holds each environment's manifest.json and each
stack's providers.tf, main.tf and terraform.tfvars.json; the modules are left out (they are sources, not
output). Review the diff of a regenerated tree as you would review code: it is what users will get.

A second tree, tests/golden/customized/output/, holds the stacks of the example with one customization
added (the module in tests/golden/customized/module/): only the stacks that hold it, with their copies.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.render import render
from tests.helpers import copy_example

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MATRIX = ROOT / "access-matrix.yaml"
GOLDEN = Path(__file__).resolve().parent / "securecart"
EXCLUDED = ("modules",)
CUSTOMIZED = Path(__file__).resolve().parent / "customized"
CUSTOMIZED_GOLDEN = CUSTOMIZED / "output"
CUSTOMIZATION = """
customizations:
  - name: account-public-access-block
    source: ./customizations/account-public-access-block
    targets:
      ous: [WorkloadsOU]
    inputs:
      account_id: "{account_id}"
      restrict_public_buckets: true
"""
"""Appended to the example's matrix: every workload account, dev to prod, gets the module."""
BASELINE_BLOCK_OFF = """\
    overrides:                        # the customization manages the block in the workload accounts
      dev: {s3_public_access_block: false}
      staging: {s3_public_access_block: false}
      prod: {s3_public_access_block: false}
"""
"""Added to the example's every_account settings with the customization: one resource manages the block."""
REPORT_JSON = Path(__file__).resolve().parent / "report" / "example.json"
REPORT_AS_OF = dt.date(2026, 6, 1)
"""The day the example's report is judged on: before the vendor's trust expires."""


def render_example(out: Path, matrix: Path = EXAMPLE_MATRIX) -> Path:
    """Render every environment of the example into `out` (modules included, as `generate` does)."""
    project = load_project(matrix)
    render(build_model(project), list(project.environments.values()), out)
    return out


def render_customized_example(out: Path) -> Path:
    """Render the example with `CUSTOMIZATION` added, from a copy made beside `out`."""
    project = copy_example(out.parent / "customized-example")
    shutil.copytree(CUSTOMIZED / "module", project / "customizations" / "account-public-access-block")
    matrix = project / "access-matrix.yaml"
    text = matrix.read_text()
    settings_end = text.index("\n", text.index("    config_recorder:")) + 1
    matrix.write_text(text[:settings_end] + BASELINE_BLOCK_OFF + text[settings_end:] + CUSTOMIZATION)
    return render_example(out, matrix)


def customized_files(tree: Path) -> dict[str, bytes]:
    """The files of the stacks in `tree` that hold a customization: relative path → bytes."""
    holders = {p.parent for p in tree.glob("*/*/customizations")}
    return {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for folder in sorted(holders)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def golden_files(tree: Path) -> dict[str, bytes]:
    """The files of a rendered tree that the golden tree holds: relative path → bytes."""
    return {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.is_file() and p.relative_to(tree).parts[0] not in EXCLUDED
    }


def regenerate(golden: Path = GOLDEN) -> tuple[list[str], list[str]]:
    """Rewrite the golden tree from a fresh render. Returns (written, removed) relative paths."""
    with tempfile.TemporaryDirectory(prefix="securecart-golden-") as tmp:
        fresh = golden_files(render_example(Path(tmp) / "build"))
    return _sync(golden, fresh, golden_files(golden) if golden.is_dir() else {})


def regenerate_customized(golden: Path = CUSTOMIZED_GOLDEN) -> tuple[list[str], list[str]]:
    """Rewrite the customized example's golden tree. Returns (written, removed) relative paths."""
    with tempfile.TemporaryDirectory(prefix="securecart-golden-") as tmp:
        fresh = customized_files(render_customized_example(Path(tmp) / "build"))
    return _sync(golden, fresh, customized_files(golden) if golden.is_dir() else {})


def _sync(golden: Path, fresh: dict[str, bytes], current: dict[str, bytes]) -> tuple[list[str], list[str]]:
    written = [name for name, data in fresh.items() if current.get(name) != data]
    removed = [name for name in current if name not in fresh]
    for name in written:
        path = golden / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fresh[name])
    for name in removed:
        (golden / name).unlink()
    for folder in sorted((p for p in golden.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return written, removed


def example_report_json(matrix: Path = EXAMPLE_MATRIX) -> str:
    """The example's report as `report -f json` writes it, without a revision (it names the inputs' digest)."""
    from securecart_tf.report.access import build_report
    from securecart_tf.report.render_json import document, dumps

    return dumps(document(build_report(load_project(matrix), as_of=REPORT_AS_OF)))


def regenerate_report(target: Path = REPORT_JSON) -> bool:
    """Rewrite the example's report JSON if it changed; whether it did."""
    fresh = example_report_json()
    if target.is_file() and target.read_text(encoding="utf-8") == fresh:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(fresh, encoding="utf-8")
    return True


def main() -> int:
    if regenerate_report():
        print(f"{REPORT_JSON.relative_to(ROOT)}: written")
    for golden, (written, removed) in ((GOLDEN, regenerate()), (CUSTOMIZED_GOLDEN, regenerate_customized())):
        where = golden.relative_to(ROOT)
        if not written and not removed:
            print(f"{where}: up to date")
        for name in written:
            print(f"{where}/{name}: written")
        for name in removed:
            print(f"{where}/{name}: removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
