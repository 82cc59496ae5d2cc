"""The HTML report's embedded data: every level and way in of the model, each text once, safe in a script."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from securecart_tf.config.load import load_project
from securecart_tf.report import render_html
from securecart_tf.report.access import Report, build_report
from securecart_tf.report.render_md import scp_line
from tests.conftest import EXAMPLE_MATRIX

DATA_OPEN = '<script type="application/json" id="report-data">'


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(load_project(EXAMPLE_MATRIX), as_of=dt.date(2026, 6, 1))


def embedded(page: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.split(DATA_OPEN, 1)[1].split("</script>", 1)[0])
    return data


def test_every_level_and_way_in_of_the_model_is_in_the_page(report: Report) -> None:
    data = embedded(render_html.render(report))
    strings = data["strings"]
    accounts = [a[0] for a in data["accounts"]]
    principals = [p[0] for p in data["principals"]]
    assert sorted(accounts) == sorted(report.account_names)
    assert principals == [p.id for p in report.principals]
    for i, p in enumerate(principals):
        for j, a in enumerate(accounts):
            assert data["levels"][int(data["matrix"][i][j])] == report.level(p, a).value, (p, a)
    ways = {(principals[c[0]], accounts[c[1]]): [strings[w[0]] for w in c[4]] for c in data["cells"]}
    expected = {k: [p.way_in() for p in c.paths] for k, c in report.cells.items() if c.paths}
    assert ways == expected
    # a way in names its seat's details; seats with the same details share one entry
    seats = {w[5] for c in data["cells"] for w in c[4]}
    assert seats <= set(range(len(data["seats"])))
    assert len(data["seats"]) < len({p.seat for c in report.cells.values() for p in c.paths})


def test_columns_follow_the_ou_tree_and_fold_in_a_large_organization(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = embedded(render_html.render(report))
    groups = [g[0] for g in data["groups"]]
    ou_of = {a.name: a.ou for a in report.accounts}
    assert [groups[a[1]] for a in data["accounts"]] == [ou_of[a[0]] for a in data["accounts"]]
    # each OU's accounts sit side by side, in the order of the tree
    seen = [groups[a[1]] for a in data["accounts"]]
    assert seen == sorted(seen, key=groups.index)
    assert data["open"] is True
    monkeypatch.setattr(render_html, "OPEN_TREE_UP_TO", len(report.accounts) - 1)
    page = render_html.render(report)
    assert embedded(page)["open"] is False
    assert '<details class="ou root" data-ou="/" open>' in page and 'data-ou="WorkloadsOU" open' not in page


def test_text_from_the_matrix_cannot_close_the_data_script(report: Report) -> None:
    hostile = "</script><script>alert(1)</script>"
    principals = [dataclasses.replace(report.principals[0], description=hostile), *report.principals[1:]]
    page = render_html.render(dataclasses.replace(report, principals=principals))
    assert hostile not in page
    assert embedded(page)["principals"][0][3] == hostile


def test_long_lists_of_trust_that_does_not_work_start_folded(report: Report) -> None:
    def notes_tag(count: int) -> str:
        page = render_html.render(dataclasses.replace(report, notes=[f"note {i}" for i in range(count)]))
        return page[page.index('<details class="notes"') :].split(">", 1)[0]

    assert " open" in notes_tag(render_html.NOTES_OPEN_UP_TO)
    assert " open" not in notes_tag(render_html.NOTES_OPEN_UP_TO + 1)


def test_each_seat_names_its_scps_as_the_markdown_does(report: Report) -> None:
    packer = render_html._Packer(report, None)
    for access in report.seats.values():
        assert packer.scp_text(access) == scp_line(report, access), access.seat.key
