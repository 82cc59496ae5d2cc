"""The drift report for people: rich tables of stacks, changes and unmanaged items, import blocks, a verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from securecart_tf.drift.changes import Change
    from securecart_tf.drift.result import DriftReport
    from securecart_tf.drift.unmanaged import Unmanaged


def _table(title: str, columns: tuple[str, ...]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _stacks(report: DriftReport) -> Table:
    from rich.markup import escape
    from rich.table import Table

    stacks = Table(title=f"drift · environment {report.environment} · revision {report.revision}", title_justify="left")
    for col in ("stack", "account", "result", "changed", "time", "notes"):
        stacks.add_column(col, overflow="fold", justify="right" if col in ("changed", "time") else "left")
    for s in report.stacks:
        notes = s.message
        if s.normalized:
            notes = (notes + "; " if notes else "") + f"{len(s.normalized)} normalization(s) set aside"
        stacks.add_row(
            s.stack,
            s.account,
            f"[{s.status.style}]{s.status}[/]",
            str(len(s.changes)),
            f"{s.duration:.1f}s",
            escape(notes),
        )
    return stacks


def _tables(report: DriftReport) -> list[RenderableType]:
    """What changed, what is not managed, and what drift.ignore set aside: a table each, when there is any."""
    from rich.markup import escape

    parts: list[RenderableType] = []
    if report.changes:
        t = _table("Changed outside Terraform", ("stack", "resource", "change", "what changed", "what to do"))
        for c in report.changes:
            t.add_row(c.stack, escape(c.address), c.action, escape(c.summary), escape(c.hint))
        parts.append(t)
    if report.unmanaged:
        t = _table("Exists but not managed", ("where", "kind", "what", "how to adopt"))
        for u in report.unmanaged:
            t.add_row(u.account, u.kind, escape(u.name), escape(u.hint))
        parts.append(t)
    if report.ignored:
        t = _table("Not managed, ignored by drift.ignore in the matrix", ("where", "kind", "what", "reason"))
        for i in report.ignored:
            t.add_row(i.item.account, i.item.kind, escape(i.item.name), escape(i.reason))
        parts.append(t)
    return parts


def _verdict(report: DriftReport) -> str:
    if report.failed:
        verdict = "[red]drift could not be fully checked[/]"
    elif report.drifted:
        stacks_hit = len({c.stack for c in report.changes})
        verdict = (
            f"[yellow]drift found[/]: {len(report.changes)} resource(s) changed outside Terraform in {stacks_hit} "
            f"stack(s), {len(report.unmanaged)} item(s) not managed"
        )
    else:
        verdict = "[green]no drift[/]: every stack matches its state and nothing unmanaged was found"
    if report.ignored and not report.failed:
        verdict += f" ({len(report.ignored)} ignored by drift.ignore)"
    return verdict


def render(report: DriftReport) -> list[RenderableType]:
    """The report as rich renderables: stacks, changes, unmanaged items, import blocks, verdict."""
    from rich.text import Text

    parts: list[RenderableType] = [_stacks(report), *_tables(report)]
    items: list[Change | Unmanaged] = [*report.changes, *report.unmanaged]
    removals = [cmd for item in items for cmd in item.remove]
    if removals:
        parts.append(Text("\n".join(["# To remove instead of adopting:", *removals])))
    for stack, text in report.import_files().items():
        parts.append(Text(f"# To adopt: build/{report.environment}/{stack}/imports.tf\n{text}"))
    if report.errors:
        parts.append(Text("\n".join(f"error: {e}" for e in report.errors), style="red"))
    parts.append(Text.from_markup(_verdict(report)))
    return parts
