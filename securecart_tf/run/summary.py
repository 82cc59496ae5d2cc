"""Run summaries: a Markdown file ready to paste into a pull request, and the terminal table."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from securecart_tf.run.results import RunReport, counts
from securecart_tf.run.workspace import Workspace


def table(report: RunReport) -> Table:
    t = Table(
        title=f"{report.command} · environment {report.environment} · revision {report.revision}", title_justify="left"
    )
    for col in ("stack", "account", "changes", "time", "result", "notes"):
        t.add_column(col, overflow="fold", justify="right" if col in ("changes", "time") else "left")
    for r in report.results:
        notes = r.message
        if r.reaches:
            notes = f"reaches {', '.join(r.reaches)} immediately" + (f"; {notes}" if notes else "")
        t.add_row(
            r.stack,
            r.account,
            counts(r.add, r.change, r.remove, r.imports),
            f"{r.duration:.1f}s",
            f"[{r.status.style}]{r.status}[/]",
            escape(notes),  # Terraform's messages and ours hold [brackets] that are text, not styles
        )
    return t


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell: pipes escaped, line breaks as <br>."""
    lines = [line.strip().replace("|", "\\|") for line in text.strip().splitlines()]
    return "<br>".join(line for line in lines if line)


def markdown(report: RunReport) -> str:
    lines = [
        f"### securecart-tf {report.command}: `{report.environment}` at revision `{report.revision}`",
        "",
        f"Target: `{report.target}` · exit code {report.exit_code()} · {report.duration:.0f}s",
        "",
        "| stack | account | + | ~ | - | import | time | result | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in report.results:
        notes = _cell(r.message)
        if r.reaches:
            notes = f"**reaches {', '.join(r.reaches)} immediately**" + (f"; {notes}" if notes else "")
        lines.append(
            f"| `{r.stack}` | {r.account} | {r.add} | {r.change} | {r.remove} | {r.imports} | {r.duration:.1f}s | "
            f"{r.status} | {notes} |"
        )
    reaching = [r for r in report.results if r.reaches]
    if reaching:
        lines += [
            "",
            "**Changes that cannot be staged:** "
            + "; ".join(f"`{r.stack}` reaches {', '.join(r.reaches)}" for r in reaching)
            + '. See the README\'s "Staging a change that spans stages".',
        ]
    for notice in report.notices:
        lines += ["", *(f"> {line}" for line in notice.splitlines())]
    return "\n".join(lines) + "\n"


def write_summary(report: RunReport, ws: Workspace) -> Path:
    """Write the run's Markdown summary, stamped and as the environment's latest, and note where in the report."""
    ws.summaries.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = ws.summaries / f"{report.environment}-{report.command}-{stamp}.md"
    text = markdown(report)
    path.write_text(text)
    (ws.summaries / f"{report.environment}-{report.command}-latest.md").write_text(text)
    report.summary_file = str(path)
    return path
