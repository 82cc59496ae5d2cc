"""The report as Markdown, for pull requests: principals by accounts (by OU at scale), admin seats, details.

A pull request's summary must stay readable at 1,000 accounts: past `DETAIL_ACCOUNTS` accounts the table has a
column per top-level OU rather than per account, changes to many accounts of one principal share a row, and
the ways in are left to `-f html` and `-f json`."""

from __future__ import annotations

from securecart_tf.report.access import KIND_TITLES, Cell, OUNode, Path, Principal, Report, SeatAccess
from securecart_tf.report.actions import Level, highest
from securecart_tf.report.diff import AccessDiff, Change, ChangeKind

MARK = {Level.none: "·", Level.read: "read", Level.write: "**write**", Level.admin: "**ADMIN**"}
CHANGE_MARK = {
    ChangeKind.gained: "🔺 gained",
    ChangeKind.escalated: "🔺 escalated",
    ChangeKind.changed: "✏️ changed",
    ChangeKind.reduced: "🔻 reduced",
    ChangeKind.lost: "🔻 lost",
}
GRANT_KIND = {"aws-managed": "AWS managed", "customer-managed": "customer managed", "inline": "inline"}
DETAIL_ACCOUNTS = 12
"""Up to this many accounts, the table has a column per account and every way in is written out."""
SHOWN_NAMES = 8
"""How many names a list of accounts or seats shows before it says how many more there are."""


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def cell_mark(cell: Cell) -> str:
    mark = MARK[cell.level]
    if cell.inactive_paths and not cell.active_paths:
        mark += " †"
    return mark


def matrix_table(report: Report) -> list[str]:
    """Principals by accounts; past `DETAIL_ACCOUNTS` accounts, principals by top-level OU."""
    if len(report.accounts) > DETAIL_ACCOUNTS:
        return ou_table(report)
    accounts = report.account_names
    header = (
        "| principal | " + " | ".join(f"{a.name}{' (mgmt)' if a.management else ''}" for a in report.accounts) + " |"
    )
    lines = [header, "|---|" + ":-:|" * len(accounts)]
    kind = None
    for p in report.principals:
        if p.kind != kind:
            kind = p.kind
            lines.append(f"| ***{KIND_TITLES[kind]}*** |" + " |" * len(accounts))
        marks = [cell_mark(report.cell(p.id, a)) for a in accounts]
        lines.append(f"| {_esc(p.name)} | " + " | ".join(marks) + " |")
    return lines


def _names(names: list[str], limit: int = SHOWN_NAMES) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _under(node: OUNode) -> list[str]:
    out = list(node.accounts)
    for child in node.children:
        out += _under(child)
    return out


def ou_columns(report: Report) -> list[tuple[str, list[str]]]:
    """A column per account at the root (the management account) and per top-level OU, with its accounts."""
    present = set(report.account_names)
    columns = [(f"{a}{' (mgmt)' if a == report.management_account else ''}", [a]) for a in report.ou_tree.accounts]
    columns += [(f"{child.name}/", _under(child)) for child in report.ou_tree.children]
    columns = [(title, [a for a in accounts if a in present]) for title, accounts in columns]
    return [(title, accounts) for title, accounts in columns if accounts]


def ou_table(report: Report) -> list[str]:
    """Principals by top-level OU: the highest level in the OU's accounts, and in how many it has any access."""
    columns = ou_columns(report)
    levels: dict[str, dict[str, Level]] = {}
    for (pid, account), cell in report.cells.items():
        if cell.paths:
            levels.setdefault(pid, {})[account] = cell.level
    titles = [f"{title} ({len(accs)} accounts)" if len(accs) > 1 else title for title, accs in columns]
    header = "| principal | " + " | ".join(titles) + " |"
    lines = [header, "|---|" + ":-:|" * len(columns)]
    kind = None
    for p in report.principals:
        if p.kind != kind:
            kind = p.kind
            lines.append(f"| ***{KIND_TITLES[kind]}*** |" + " |" * len(columns))
        mine = levels.get(p.id, {})
        marks = []
        for _, accounts in columns:
            reached = [mine[a] for a in accounts if a in mine and mine[a] != Level.none]
            top = highest(reached)
            marks.append(MARK[top] + (f" {len(reached)}" if reached and len(accounts) > 1 else ""))
        lines.append(f"| {_esc(p.name)} | " + " | ".join(marks) + " |")
    return lines


def admin_seats(report: Report) -> list[str]:
    """Every seat that is an administrator or can make itself one, by permission set or role."""
    by_name: dict[tuple[str, str], list[SeatAccess]] = {}
    order = {a: i for i, a in enumerate(report.account_names)}
    for seat in sorted(report.seats.values(), key=lambda s: order.get(s.seat.account, len(order))):
        if seat.level == Level.admin:
            by_name.setdefault((seat.seat.kind, seat.seat.name), []).append(seat)
    if not by_name:
        return []
    lines = ["## Admin seats", ""]
    for (kind, name), seats in sorted(by_name.items()):
        accounts = [s.seat.account for s in seats]
        how = "can escalate" if any(s.escalation for s in seats) else "administrator"
        lines.append(f"- **{_esc(name)}** ({kind}, {how}) in {len(accounts)}: {_esc(_names(accounts))}")
        for path in dict.fromkeys(e for s in seats for e in s.escalation):
            lines.append(f"  - escalates: {_esc(path)}")
    return [*lines, ""]


def legend(report: Report) -> str:
    return (
        "Levels: **ADMIN** every action, nothing caps it · **write** changes something (or manages permissions) · "
        "read reads only · · none. † a way in exists but is blocked or expired (see details). "
        f"SCPs never restrict the management account ({report.management_account})."
    )


def scp_line(report: Report, seat: SeatAccess) -> str:
    if not seat.scps_apply:
        attached = sorted({s.name for s in seat.scps})
        above = f" (attached above it: {', '.join(attached)})" if attached else ""
        return f"SCPs: do not apply in the management account{above}"
    account = next(a for a in report.accounts if a.name == seat.seat.account)
    path = " → ".join(at.rsplit("/", 1)[-1] for at, _ in account.scp_path)
    groups: dict[str, list[str]] = {}
    for s in seat.scps:
        groups.setdefault(s.status, []).append(s.name)
    parts = []
    for status, title in (("restricts", "restrict"), ("exempt", "exempt"), ("does-not-apply", "not this principal")):
        if groups.get(status):
            parts.append(f"{title}: {', '.join(sorted(set(groups[status])))}")
    return f"SCPs ({path}): " + ("; ".join(parts) if parts else "none attached")


def seat_lines(report: Report, seat: SeatAccess, indent: str) -> list[str]:
    lines = []
    grants = ", ".join(
        f"`{g.name.rsplit('/', 1)[-1]}` ({GRANT_KIND.get(g.kind, g.kind)}, {g.level_text})" for g in seat.grants
    )
    lines.append(f"{indent}- grants: {grants or 'nothing'}")
    if seat.boundary is not None:
        lowered = ", lowers the grants" if seat.boundary.lowered else ""
        lines.append(
            f"{indent}- boundary: `{seat.boundary.name}` (allows at most {seat.boundary.allows.value}{lowered})"
        )
    else:
        lines.append(f"{indent}- boundary: none")
    for deny in seat.denies:
        lines.append(f"{indent}- denies: {_esc(deny)}")
    lines.append(f"{indent}- {_esc(scp_line(report, seat))}")
    for note in seat.notes:
        lines.append(f"{indent}- note: {_esc(note)}")
    return lines


def path_lines(report: Report, path: Path) -> list[str]:
    status = "" if path.active else f" — **{path.status}**: {_esc(path.reason)}"
    lines = [f"  - {_esc(path.way_in())} — {path.level.value}{status}"]
    conditions = path.conditions.items()
    if conditions:
        lines.append(f"    - requires: {_esc('; '.join(conditions))}")
    seat = report.seats.get(path.seat)
    if seat is not None and path.active:
        lines += seat_lines(report, seat, "    ")
    return lines


def principal_summary(report: Report, p: Principal) -> str:
    by_level: dict[Level, list[str]] = {}
    for a in report.account_names:
        level = report.level(p.id, a)
        if level != Level.none:
            by_level.setdefault(level, []).append(a)
    if not by_level:
        return "no access"
    return "; ".join(
        f"{lv.value} in {', '.join(accs)}" for lv, accs in sorted(by_level.items(), key=lambda x: -x[0].rank)
    )


def details(report: Report) -> list[str]:
    lines = ["## Details", ""]
    for p in report.principals:
        cells = [report.cell(p.id, a) for a in report.account_names]
        cells = [c for c in cells if c.paths]
        lines.append(
            f"<details><summary><b>{_esc(p.name)}</b> ({p.kind.value}) — {_esc(principal_summary(report, p))}</summary>"
        )
        lines.append("")
        if p.description:
            lines.append(f"_{_esc(p.description)}_")
            lines.append("")
        for cell in cells:
            lines.append(f"- **{cell.account}** — {cell.level.value}")
            for path in cell.paths:
                lines += path_lines(report, path)
        if not cells:
            lines.append("- no way into any account")
        lines += ["", "</details>", ""]
    return lines


def tree_lines(node: OUNode, depth: int = 0) -> list[str]:
    """The OU tree as a nested list: what is attached at each node, SCPs and RCPs apart, and its accounts."""
    parts = [f"SCPs: {', '.join(node.scps)}"] if node.scps else []
    parts += [f"RCPs: {', '.join(node.rcps)}"] if node.rcps else []
    parts += [f"accounts: {', '.join(node.accounts)}"] if node.accounts else []
    lines = [f"{'  ' * depth}- **{_esc(node.name)}**" + (f" — {_esc('; '.join(parts))}" if parts else "")]
    for child in node.children:
        lines += tree_lines(child, depth + 1)
    return lines


def guardrail_lines(report: Report) -> list[str]:
    lines = ["## Service and resource control policies", ""]
    for g in report.guardrails.values():
        attached = ", ".join(g.attached) or "not attached"
        kind = "RCP, " if g.type == "rcp" else ""
        described = ": " + _esc(g.description) if g.description else ""
        lines.append(f"- **{g.name}** ({kind}attached at {attached}){described}")
        for st in g.statements:
            lines.append(f"  - {_esc(st)}")
    lines.append("")
    lines.append(
        f"SCPs never restrict principals of the management account ({report.management_account}), "
        "even when attached at the root. Resource control policies (RCP) cap what may be done to the resources "
        "of member accounts, whoever asks; they do not change any seat's level."
    )
    return lines


def header(report: Report) -> list[str]:
    rev = f"revision `{report.revision}` · " if report.revision else ""
    return [
        f"# Effective access: {report.organization}",
        "",
        f"{rev}as of {report.as_of.isoformat()} · computed from the access matrix alone, without calling AWS",
        "",
    ]


def render(report: Report) -> str:
    lines = header(report)
    lines += matrix_table(report)
    lines += ["", legend(report), ""]
    if report.notes:
        lines += ["**Trust that does not work:**", ""] + [f"- ⚠️ {_esc(n)}" for n in report.notes] + [""]
    lines += admin_seats(report)
    if len(report.accounts) > DETAIL_ACCOUNTS:
        lines += [
            f"Every way in of every principal, account by account: `securecart-tf report -f html` "
            f"or `-f json` ({len(report.accounts)} accounts are too many to list here).",
            "",
        ]
    else:
        lines += details(report)
    lines += ["## Organization", "", *tree_lines(report.ou_tree), ""]
    lines += guardrail_lines(report)
    return "\n".join(lines).rstrip() + "\n"


def _grouped(changes: list[Change]) -> list[list[Change]]:
    """Changes alike but for the account, together: a permission set edited in 400 accounts is one row."""
    groups: dict[tuple[str, ChangeKind, Level, Level, str], list[Change]] = {}
    for c in changes:
        groups.setdefault((c.principal.id, c.kind, c.before, c.after, c.detail), []).append(c)
    return list(groups.values())


def _change_row(group: list[Change]) -> str:
    c = group[0]
    ways = c.ways_after or c.ways_before
    way_text = "<br>".join(_esc(w) for w in ways) if ways else "—"
    if len(group) > 1:
        way_text += f" (and alike in the {len(group) - 1} other accounts)"
    accounts = _esc(_names([g.account for g in group]))
    return (
        f"| {CHANGE_MARK[c.kind]} | {_esc(c.principal.name)} ({c.principal.kind.value}) | {accounts} | "
        f"{c.before.value} | {c.after.value} | {way_text} |"
    )


def render_diff(diff: AccessDiff) -> str:
    lines = [f"# Who gains what: {diff.base_label} → {diff.head_label}", ""]
    summary = " · ".join(f"{diff.count(k)} {k.value}" for k in ChangeKind)
    lines.append(f"**{summary}**")
    lines.append("")
    groups = _grouped(diff.changes)
    if not diff.changes:
        lines.append("No principal gains or loses access in any account.")
    else:
        lines += ["| change | principal | account | before | after | way in now |", "|---|---|---|---|---|---|"]
        lines += [_change_row(g) for g in groups]
        escalating = [g for g in groups if "it can escalate" in g[0].detail]
        if escalating:
            lines += ["", "### Admin-equivalent: can make itself an administrator", ""]
            for g in escalating:
                accounts = _esc(_names([c.account for c in g]))
                lines.append(f"- **{_esc(g[0].principal.name)}** in **{accounts}**: {_esc(g[0].detail)}")
        changed = [g for g in groups if g[0].kind == ChangeKind.changed]
        if changed:
            lines += ["", "### Same level, but what leads there or limits it changed", ""]
            for g in changed:
                lines += _changed_lines(g)
    lines += ["", f"## Access at {diff.head_label}", ""]
    lines += matrix_table(diff.head)
    lines += ["", legend(diff.head)]
    return "\n".join(lines).rstrip() + "\n"


def _changed_lines(group: list[Change]) -> list[str]:
    c = group[0]
    lines = [f"- **{_esc(c.principal.name)}** in **{_esc(_names([g.account for g in group]))}** ({c.detail})"]
    for w in c.ways_before:
        if w not in c.ways_after:
            lines.append(f"  - before: {_esc(w)}")
    for w in c.ways_after:
        if w not in c.ways_before:
            lines.append(f"  - now: {_esc(w)}")
    return lines
