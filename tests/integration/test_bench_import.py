"""bench/import_org.py at the smallest synthetic sizes: it builds each organization in a sandbox, imports it,
checks what import wrote and prints its figures, so the benchmark cannot rot unnoticed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_import_bench_runs_at_the_smallest_sizes(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_org.py"), "--sizes", "6,8", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())
    for size in ("6", "8"):
        row = results["sizes"][size]
        # the bench exits non-zero on a wrong import; these are what it checked, as it recorded them
        assert row["written"]["ok"] and row["written"]["accounts"] == int(size)
        assert row["written"]["validate"] == 0
        assert row["cli"]["code"] == 0 and row["cli"]["rss_mib"] > 0 and row["cli"]["sandbox_cpu"] > 0
        assert row["build"]["assignments"] == row["stats"]["assignments"]
        counted = row["inprocess"]
        assert counted["accounts_read"] == int(size) and counted["roles"] == row["build"]["roles"]
        # every member account is entered through the deployment role once
        assert counted["calls"]["sts:AssumeRole"] == int(size) - 1
    assert "growth 6→8" in proc.stdout
