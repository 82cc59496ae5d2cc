"""The HTML `--diff` page in headless Chromium: the "Who gains what" table shows every change, whole.

One diff of a synthetic organization of 120 accounts (bench/synth.py), where one group is given the
administrators' permission set everywhere and another loses its only assignment, is rendered and opened
once: over a hundred changes, more than a page that shows only the first screenful or the first hundred.
The checks read the rows as Chromium lays them out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from securecart_tf.config.load import load_project
from securecart_tf.report import render_html
from securecart_tf.report.access import build_report
from securecart_tf.report.diff import AccessDiff, diff_reports
from tests.bench_scripts import load_bench
from tests.browser.test_report_browser import find_chromium

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")

AS_OF = dt.date(2026, 6, 1)
WIDTH, HEIGHT = 1400, 1000
ACCOUNTS = 120

# Each row of the changes table as laid out: whether it is drawn, whether a box that clips it (overflow
# other than visible) cuts any of it, which of its cells cut their own text, and the text of each cell.
ROWS_JS = """
() => {
  const card = document.getElementById("changes").getBoundingClientRect();
  const table = document.querySelector("#changes table.changes");
  return [...table.tBodies[0].rows].map((tr) => {
    const box = tr.getBoundingClientRect();
    let clipped = box.left < card.left - 0.5 || box.right > card.right + 0.5;
    for (let a = tr.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "visible" && s.overflowY === "visible") continue;
      const r = a.getBoundingClientRect();
      if (box.top < r.top - 0.5 || box.bottom > r.bottom + 0.5 || box.left < r.left - 0.5 || box.right > r.right + 0.5)
        clipped = true;
    }
    return {
      key: [tr.dataset.principal, tr.dataset.account, tr.dataset.change],
      drawn: tr.checkVisibility({ visibilityProperty: true }) && box.height > 0,
      clipped,
      cut_cells: [...tr.cells].filter(
        (td) => td.scrollWidth > td.clientWidth + 1 || td.scrollHeight > td.clientHeight + 1).length,
      cells: [...tr.cells].map((td) => td.innerText),
    };
  });
}
"""


def _diff(tmp: Path) -> AccessDiff:
    synth = load_bench("synth")
    synth.write_project(tmp, synth.Size.scaled(ACCOUNTS))
    matrix = tmp / "access-matrix.yaml"
    base = build_report(load_project(matrix), as_of=AS_OF)
    data = yaml.safe_load(matrix.read_text())
    assignments = data["identity_center"]["assignments"]
    assignments.append({"group": "Team000", "permission_set": "PlatformAdmin", "ous": ["/"]})
    data["identity_center"]["assignments"] = [a for a in assignments if a["group"] != "AuditReaders"]
    matrix.write_text(yaml.safe_dump(data, sort_keys=False))
    return diff_reports(base, build_report(load_project(matrix), as_of=AS_OF))


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AccessDiff, list[dict[str, Any]]]]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium (or set CHROMIUM)")
    tmp = tmp_path_factory.mktemp("diff-page")
    diff = _diff(tmp)
    page_file = tmp / "diff.html"
    page_file.write_text(render_html.render(diff.head, diff), encoding="utf-8")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()
        page.goto(page_file.as_uri(), wait_until="load")
        rows: list[dict[str, Any]] = page.evaluate(ROWS_JS)
        browser.close()
    yield diff, rows


def test_every_change_has_its_row_in_order(opened: tuple[AccessDiff, list[dict[str, Any]]]) -> None:
    diff, rows = opened
    # from the edit: Team000 reaches admin in every account, AuditReaders loses its one assignment
    accounts = {a.name for a in diff.head.accounts}
    assert len(accounts) == ACCOUNTS
    assert {r["key"][1] for r in rows if r["key"][0] == "group:Team000"} == accounts
    assert ["group:AuditReaders", "security", "lost"] in [r["key"] for r in rows]
    assert [r["key"] for r in rows] == [[c.principal.id, c.account, c.kind.value] for c in diff.changes]


def test_no_row_is_hidden_or_cut(opened: tuple[AccessDiff, list[dict[str, Any]]]) -> None:
    _, rows = opened
    assert [r["key"] for r in rows if not r["drawn"]] == []
    assert [r["key"] for r in rows if r["clipped"]] == []
    assert [r["key"] for r in rows if r["cut_cells"]] == []


def test_each_row_shows_every_way_in_and_what_changed(opened: tuple[AccessDiff, list[dict[str, Any]]]) -> None:
    diff, rows = opened
    for change, row in zip(diff.changes, rows, strict=True):
        _, principal, account, before, after, ways, what = row["cells"]
        assert change.principal.name in principal and account == change.account
        assert (before, after) == (change.before.value, change.after.value)
        assert ways.splitlines() == (change.ways_after or change.ways_before or ["—"])
        assert what == (change.detail or "—")
