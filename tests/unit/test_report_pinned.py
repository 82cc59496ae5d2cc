"""The example's seats, levels and ways in stay what they were before evaluations were shared.

tests/unit/data/report-example-access.txt was written from the report as it computed every seat on its own,
and reviewed against the matrix; it is never regenerated from the code under test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from securecart_tf.config.load import load_project
from securecart_tf.report.access import Report, build_report
from tests.conftest import ROOT

PINNED = Path(__file__).parent / "data" / "report-example-access.txt"


def describe(report: Report) -> list[str]:
    """Every seat (level, grants, SCPs, escalation) and every cell's ways in, one fact a line."""
    out = []
    for key, s in sorted(report.seats.items()):
        out.append(f"seat {key} {s.level.value}")
        out.append("  grants: " + ", ".join(f"{g.name} {g.level.value}" for g in s.grants))
        out.append("  scps: " + ", ".join(f"{e.name}@{e.attached_at} {e.status}" for e in s.scps))
        out += [f"  escalation: {e}" for e in s.escalation]
    for (pid, account), cell in sorted(report.cells.items()):
        if not cell.paths:
            continue
        out.append(f"cell {pid} @ {account}: {cell.level.value}")
        for p in sorted(cell.paths, key=lambda p: (p.way_in(), p.status)):
            conditions = "; ".join(p.conditions.items())
            out.append(
                f"  {p.status} {p.level.value}: {p.way_in()}"
                + (f" [{conditions}]" if conditions else "")
                + (f" ({p.reason})" if p.reason else "")
            )
    return out


def test_the_example_reports_the_pinned_seats_levels_and_ways_in() -> None:
    expected = [line for line in PINNED.read_text().splitlines() if not line.startswith("#")]
    report = build_report(load_project(ROOT / "access-matrix.yaml"), as_of=dt.date(2026, 6, 1))
    assert describe(report) == expected
