"""The HTML access report at 6, 100 and 1,000 accounts, driven in a real headless Chromium with Playwright.

Each size renders once (a module fixture per size) and one page serves every check: the first screen
has no text drawn over other text, unfolding an OU, filtering to one principal and searching for an
account show what the report model says, a cell opens its ways in. Screenshots go to build/browser/
(or $SECURECART_ARTIFACTS), so a CI run keeps what the page looked like.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from securecart_tf.config.load import load_project
from securecart_tf.report import render_html
from securecart_tf.report.access import Report, build_report
from securecart_tf.report.actions import Level
from tests.bench_scripts import load_bench
from tests.browser.test_report_browser import find_chromium
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")

SIZES = [6, 100, 1000]
WIDTH, HEIGHT = 1400, 1000
RANK = {lv: i for i, lv in enumerate(Level)}
MAX_BYTES = 5_000_000
# The target is 2 s to open and paint at 1,000 accounts, which bench/report_html.py measures on a quiet
# machine. Here the suite shares the CPU with other workers, so the guard is looser; it still fails a page
# that draws every cell up front, as the page did before (17 s to paint 1,000 accounts).
MAX_OPEN_MS = 8_000

# Every text node's boxes on screen, clipped by the boxes that clip it, and the pairs of different text
# nodes whose boxes overlap by more than a pixel each way: text drawn over other text.
OVERLAPS_JS = """
() => {
  const W = innerWidth, H = innerHeight, boxes = [];
  const cut = (a, b) => ({
    l: Math.max(a.l, b.l), t: Math.max(a.t, b.t), r: Math.min(a.r, b.r), b: Math.min(a.b, b.b),
  });
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let id = 0;
  for (let n = walk.nextNode(); n; n = walk.nextNode(), id++) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest("script, style, noscript, select")) continue;
    // text in a closed <details> keeps its layout boxes but is not drawn
    if (!el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
    let clip = { l: 0, t: 0, r: W, b: H };
    for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        const r = a.getBoundingClientRect();
        clip = cut(clip, { l: r.left, t: r.top, r: r.right, b: r.bottom });
      }
    }
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) {
      const c = cut(clip, { l: r.left, t: r.top, r: r.right, b: r.bottom });
      if (c.r - c.l > 0.5 && c.b - c.t > 0.5) boxes.push({ id, c, text: n.textContent.trim().slice(0, 40) });
    }
  }
  const pairs = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.id === b.id) continue;
      const w = Math.min(a.c.r, b.c.r) - Math.max(a.c.l, b.c.l), h = Math.min(a.c.b, b.c.b) - Math.max(a.c.t, b.c.t);
      if (w > 1 && h > 1) pairs.push([a.text, b.text]);
    }
  }
  return { texts: boxes.length, pairs };
}
"""

CELLS_JS = """
() => [...document.querySelectorAll("#matrix td.lv")].map((td) => ({
  principal: td.dataset.principal, account: td.dataset.account || null, group: td.dataset.group || null,
  level: td.dataset.level, count: td.dataset.count ? +td.dataset.count : null,
}))
"""


def artifacts() -> Path:
    target = Path(os.environ.get("SECURECART_ARTIFACTS") or ROOT / "build" / "browser")
    target.mkdir(parents=True, exist_ok=True)
    return target


def report_of(accounts: int, tmp: Path) -> Report:
    """The example at 6 accounts; a synthetic organization from bench/synth.py otherwise."""
    if accounts == 6:
        matrix = ROOT / "access-matrix.yaml"
    else:
        synth = load_bench("synth")
        synth.write_project(tmp, synth.Size.scaled(accounts))
        matrix = tmp / "access-matrix.yaml"
    return build_report(load_project(matrix), as_of=dt.date(2026, 6, 1))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed: apt-get install -y chromium (or set CHROMIUM)")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]
    flags += ["--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1"]
    with playwright.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=flags)
        yield launched
        launched.close()


class Opened:
    """A rendered report open in Chromium, with the model it was rendered from."""

    def __init__(self, report: Report, file: Path, page: Any, open_ms: float) -> None:
        self.report, self.file, self.page, self.open_ms = report, file, page, open_ms
        self.ou_of = {a.name: a.ou for a in report.accounts}

    def cells(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate(CELLS_JS)
        return result

    def expected(self, principal: str, accounts: list[str]) -> tuple[str, int]:
        """The highest level of `principal` over `accounts` and how many of them reach it, from the model."""
        levels = [self.report.level(principal, a) for a in accounts]
        top = max(levels, key=lambda lv: RANK[lv])
        return top.value, levels.count(top)


@pytest.fixture(scope="module", params=SIZES, ids=[f"{n}-accounts" for n in SIZES])
def opened(request: pytest.FixtureRequest, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opened]:
    accounts: int = request.param
    tmp = tmp_path_factory.mktemp(f"org-{accounts}")
    report = report_of(accounts, tmp)
    assert len(report.accounts) == accounts
    file = tmp / "access.html"
    file.write_text(render_html.render(report), encoding="utf-8")
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    # the page is offline: any request that leaves the file fails the test
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page = context.new_page()
    started = time.monotonic()
    page.goto(file.as_uri(), wait_until="load")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    open_ms = (time.monotonic() - started) * 1000
    page.screenshot(path=str(artifacts() / f"report-{accounts}-accounts.png"))
    assert requests == []
    yield Opened(report, file, page, open_ms)
    context.close()


def test_the_page_is_small_and_opens_quickly(opened: Opened) -> None:
    assert opened.file.stat().st_size < MAX_BYTES
    assert opened.open_ms < MAX_OPEN_MS, f"{opened.open_ms:.0f} ms to open and paint"


def test_no_text_is_drawn_over_other_text_on_the_first_screen(opened: Opened) -> None:
    found = opened.page.evaluate(OVERLAPS_JS)
    assert found["texts"] > 50  # the first screen has the header, the filters and a screenful of grid
    assert found["pairs"] == [], found["pairs"][:10]


def test_unfolding_an_ou_shows_its_accounts_with_their_levels(opened: Opened) -> None:
    page = opened.page
    page.click("#f-reset")
    page.click("#f-collapse")
    folded = opened.cells()
    assert folded and all(c["account"] is None for c in folded)
    for c in folded:  # a folded OU shows the highest level among its accounts and how many reach it
        accounts = [a for a, ou in opened.ou_of.items() if ou == c["group"]]
        assert (c["level"], c["count"]) == opened.expected(c["principal"], accounts), c
    # the leftmost folded OU with several accounts: its columns unfold within the first screen
    group = next(g for g in dict.fromkeys(c["group"] for c in folded) if list(opened.ou_of.values()).count(g) > 1)
    page.click(f'#matrix th.grp[data-group="{group}"]')
    shown = opened.cells()
    unfolded = {c["account"] for c in shown if c["account"]}
    assert unfolded == {a for a, ou in opened.ou_of.items() if ou == group}
    for c in shown:
        if c["account"]:
            assert c["level"] == opened.report.level(c["principal"], c["account"]).value, c
    page.click("#f-collapse")


def test_filtering_to_one_principal_keeps_only_its_row(opened: Opened) -> None:
    page = opened.page
    page.click("#f-reset")
    target = max(opened.report.principals, key=lambda p: sum(RANK[opened.report.level(p.id, a)] for a in opened.ou_of))
    page.select_option("#f-principal", target.id)
    shown = opened.cells()
    assert shown and {c["principal"] for c in shown} == {target.id}
    assert page.locator("#matrix tbody tr[data-principal]").count() == 1
    for c in shown:
        accounts = [c["account"]] if c["account"] else [a for a, ou in opened.ou_of.items() if ou == c["group"]]
        assert c["level"] == opened.expected(target.id, accounts)[0], c
    page.click("#f-reset")


def test_searching_for_an_account_shows_its_column(opened: Opened) -> None:
    page = opened.page
    page.click("#f-reset")
    account = opened.report.accounts[-1].name  # the last one: far off screen in a large organization
    page.fill("#f-search", account)
    heads = page.eval_on_selector_all("#matrix th[data-account]", "(ths) => ths.map((th) => th.dataset.account)")
    assert sorted(heads) == sorted(a for a in opened.ou_of if account in a)
    shown = [c for c in opened.cells() if c["account"] == account]
    assert {c["principal"] for c in shown} == {p.id for p in opened.report.principals}
    for c in shown:
        assert c["level"] == opened.report.level(c["principal"], account).value
    page.click("#f-reset")


def test_a_cell_opens_its_ways_in(opened: Opened) -> None:
    page, report = opened.page, opened.report
    page.click("#f-reset")
    principal, account = next(
        (p.id, a) for p in report.principals for a in opened.ou_of if report.level(p.id, a) == Level.admin
    )
    page.select_option("#f-principal", principal)
    page.fill("#f-search", account)
    page.click(f'#matrix td[data-principal="{principal}"][data-account="{account}"]')
    panel = page.locator("#drill")
    assert panel.is_visible()
    text = panel.inner_text()
    for path in report.cell(principal, account).paths:
        assert path.way_in() in text
    page.click("#drill .close")
    assert not panel.is_visible()
    page.click("#f-reset")


def test_trust_that_does_not_work_folds_when_long(opened: Opened) -> None:
    notes = opened.report.notes
    if not notes:
        assert opened.page.locator("#notes").count() == 0
        return
    box = opened.page.locator("details#notes")
    was_open = box.evaluate("(d) => d.open")
    assert was_open == (len(notes) <= render_html.NOTES_OPEN_UP_TO)
    opened.page.click("details#notes > summary")
    assert box.evaluate("(d) => d.open") != was_open
    assert (notes[0] in box.inner_text()) == (not was_open)
    opened.page.click("details#notes > summary")
