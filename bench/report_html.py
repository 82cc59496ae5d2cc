"""The HTML access report at scale: its size, and how long Chromium takes to open and paint it.

    python bench/report_html.py                    # 100 and 1,000 accounts, 3 page loads each
    python bench/report_html.py --sizes 6,100,1000 --runs 5 --shots docs/

For each size, a synthetic organization from bench/synth.py (6 is the SecureCart example) is turned into
a report in this process, then rendered to HTML; the page is opened in headless Chromium (Debian's, driven
by Playwright) at 1400x1000 in a fresh browser context for each load. Printed per size:

- the time to build the report model and to render the page (the model's cost is the report's own figure);
- the page's size;
- in the page: first contentful paint, the end of the load event, and the moment the grid's script has
  drawn the grid (the `grid-drawn` mark), each from the start of navigation;
- seen from outside: the wall time from asking for the page until two animation frames after its load,
  and until a screenshot of it is written. Each is the median of the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # beside this script: bench/ is not a package

from securecart_tf.config.load import load_project
from securecart_tf.report import render_html
from securecart_tf.report.access import Report, build_report, collector_paused

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 1000
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]
IN_PAGE_JS = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const drawn = performance.getEntriesByName("grid-drawn")[0];
  return { fcp: fcp ? fcp.startTime : null, load: nav.loadEventEnd, drawn: drawn ? drawn.startTime : null,
           cells: document.querySelectorAll("#matrix td.lv").length };
}
"""


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("Chromium is not installed: apt-get install -y chromium (or set CHROMIUM)")
    return found


def report_of(accounts: int, work: Path) -> tuple[Report, float, float]:
    """The report of the example (6) or of a synthetic organization, and the seconds (wall, CPU) it took."""
    if accounts == 6:
        matrix = ROOT / "access-matrix.yaml"
    else:
        synth.write_project(work, synth.Size.scaled(accounts))
        matrix = work / "access-matrix.yaml"
    started, cpu = time.perf_counter(), time.process_time()
    report = build_report(load_project(matrix), as_of=dt.date(2026, 6, 1))
    return report, time.perf_counter() - started, time.process_time() - cpu


def load_once(browser: Any, page_file: Path, shot: Path | None) -> dict[str, float]:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(page_file.as_uri(), wait_until="load")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    painted = time.perf_counter() - started
    page.screenshot(path=str(shot or page_file.with_suffix(".png")))
    screenshot = time.perf_counter() - started
    figures: dict[str, float] = page.evaluate(IN_PAGE_JS)
    context.close()
    return {**figures, "painted_ms": painted * 1000, "screenshot_ms": screenshot * 1000}


def bench_size(browser: Any, accounts: int, runs: int, work: Path, shots: Path | None) -> dict[str, Any]:
    report, model_s, model_cpu_s = report_of(accounts, work / f"org-{accounts}")
    started, cpu = time.perf_counter(), time.process_time()
    with collector_paused():  # as `securecart-tf report` renders
        html = render_html.render(report)
    render_s, render_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    page_file = work / f"report-{accounts}.html"
    page_file.write_text(html, encoding="utf-8")
    shot = shots / f"report-{accounts}-accounts.png" if shots else None
    loads = [load_once(browser, page_file, shot) for _ in range(runs)]
    median = {
        k: statistics.median(x[k] for x in loads if x[k] is not None) for k in loads[0] if loads[0][k] is not None
    }
    return {
        "accounts": accounts,
        "principals": len(report.principals),
        "model_s": model_s,
        "model_cpu_s": model_cpu_s,
        "render_s": render_s,
        "render_cpu_s": render_cpu_s,
        "bytes": page_file.stat().st_size,
        **median,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="account counts, comma-separated (6 is the example)")
    parser.add_argument("--runs", type=int, default=3, help="page loads per size")
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot per size in this folder")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    results = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS)
        for accounts in (int(s) for s in args.sizes.split(",")):
            r = bench_size(browser, accounts, args.runs, Path(tmp), args.shots)
            results.append(r)
            print(
                f"{r['accounts']:>5} accounts, {r['principals']} principals: model {r['model_s']:.1f} s "
                f"({r['model_cpu_s']:.1f} s CPU), render {r['render_s']:.2f} s ({r['render_cpu_s']:.2f} s CPU), "
                f"{r['bytes'] / 1e6:.2f} MB; in the page: first paint "
                f"{r['fcp']:.0f} ms, grid drawn {r['drawn']:.0f} ms, load {r['load']:.0f} ms; "
                f"painted {r['painted_ms']:.0f} ms, screenshot {r['screenshot_ms']:.0f} ms "
                f"({r['cells']:.0f} cells drawn)",
                flush=True,
            )
        browser.close()
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
