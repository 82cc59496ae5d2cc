"""checkov on the modules it guards: no failed check, and each deliberate skip carries a reason the README repeats.

checkov pins its own boto3 and an old `packaging`, so it lives in a virtualenv of its own (`.venv-checkov`,
built by `make .venv/.installed`); `CHECKOV` names another checkov executable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.modules.inventory import MODULES, ROOT

pytestmark = pytest.mark.modules

# The modules held to checkov; the others have not been reviewed against it yet.
CHECKED = ("security-baseline",)
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.+)$")


def _checkov() -> str:
    explicit = os.environ.get("CHECKOV")
    candidates = [explicit] if explicit else [str(ROOT / ".venv-checkov" / "bin" / "checkov"), "checkov"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(f"checkov not found ({', '.join(candidates)}): run `make .venv/.installed`", pytrace=False)


def skips_in(module: Path) -> dict[tuple[str, str], str]:
    """(check ID, resource address) -> reason, for every `#checkov:skip=ID:reason` in the module's files."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(module.glob("*.tf")):
        resource = ""
        for line in path.read_text().splitlines():
            block = re.match(r'resource\s+"([^"]+)"\s+"([^"]+)"', line)
            if block:
                resource = f"{block.group(1)}.{block.group(2)}"
            skip = SKIP.search(line)
            if skip:
                found[(skip.group(1), resource)] = skip.group(2).strip()
    return found


def _run(module: Path) -> dict[str, Any]:
    result = subprocess.run(
        [_checkov(), "--directory", str(module), "--framework", "terraform", "--compact", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # exit 1 means failed checks, which the test reports itself; anything else is checkov failing to run
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert isinstance(report, dict), f"several reports, expected one: {[r.get('check_type') for r in report]}"
    return report


@pytest.mark.parametrize("module", CHECKED)
def test_checkov_passes_every_check_not_skipped_with_a_reason(module: str) -> None:
    folder = MODULES / module
    report = _run(folder)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "checkov failed:\n" + "\n".join(failed)
    assert not report["summary"]["parsing_errors"], results.get("parsing_errors")

    declared = skips_in(folder)
    skipped = {(c["check_id"], re.sub(r"\[\d+\]$", "", c["resource"])) for c in results["skipped_checks"]}
    # every skip in the code is one checkov honoured: a misspelt ID or a check that no longer applies shows here
    assert set(declared) == skipped, f"declared {sorted(declared)}, checkov skipped {sorted(skipped)}"


@pytest.mark.parametrize("module", CHECKED)
def test_the_readme_lists_every_checkov_skip_with_its_reason(module: str) -> None:
    folder = MODULES / module
    readme = (folder / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("|")]
    for (check, resource), reason in skips_in(folder).items():
        assert any(f"`{check}`" in row and f"`{resource}`" in row and reason in row for row in rows), (
            f"modules/{module}/README.md: no table row with `{check}`, `{resource}` and the reason {reason!r}"
        )
