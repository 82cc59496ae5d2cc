"""Findings as a table for people, JSON for machines, and SARIF 2.1.0 for code scanning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from securecart_tf import __version__
from securecart_tf.findings import Finding, Severity

_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}
_SARIF_LEVEL = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def _where(f: Finding, root: Path) -> str:
    try:
        file = f.location.file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        file = str(f.location.file)
    return f"{file}:{f.location.line}" if f.location.line else file


def findings_table(findings: list[Finding], root: Path) -> Table:
    t = Table(title="Findings", title_justify="left")
    for col in ("severity", "rule", "where", "finding", "fix"):
        t.add_column(col, overflow="fold")
    for f in findings:
        severity = f"[{_STYLE[f.severity]}]{f.severity}[/]" if f.active else f"[dim]{f.severity} (suppressed)[/]"
        message = escape(f.message) + (f"\n[dim]suppressed: {escape(f.suppressed)}[/]" if f.suppressed else "")
        t.add_row(severity, f.rule, _where(f, root), message, escape(f.fix))
    return t


def iam_data_info() -> dict[str, str]:
    """Which IAM data judged actions and condition keys: its version and the date AWS's reference was read."""
    from securecart_tf.iam import iam_data

    return {"version": iam_data.data_version(), "updated": iam_data.data_updated()}


def findings_json(findings: list[Finding], root: Path) -> dict[str, Any]:
    return {
        "tool": "securecart-tf",
        "version": __version__,
        "iam_data": iam_data_info(),
        "errors": sum(1 for f in findings if f.blocks),
        "findings": [
            {
                "severity": f.severity.value,
                "rule": f.rule,
                "message": f.message,
                "file": _where(f, root).split(":")[0],
                "line": f.location.line,
                "column": f.location.column,
                "fix": f.fix,
                "subject": f.subject,
                "suppressed": f.suppressed,
            }
            for f in findings
        ],
    }


def _sarif_rule(rule: str, seen: Severity) -> dict[str, Any]:
    """A rule as code scanning lists it: its summary from the rule table, and its usual level."""
    from securecart_tf.checks.rules import RULES

    known = RULES.get(rule)
    summary = known.summary.replace("`", "") if known else rule.replace("-", " ")
    level = _SARIF_LEVEL[known.severity if known else seen]
    return {
        "id": rule,
        "name": rule,
        "shortDescription": {"text": summary},
        "defaultConfiguration": {"level": level},
    }


def findings_sarif(findings: list[Finding], root: Path) -> dict[str, Any]:
    first_seen: dict[str, Severity] = {}
    for f in findings:
        first_seen.setdefault(f.rule, f.severity)
    index = {rule: i for i, rule in enumerate(sorted(first_seen))}
    rules = [_sarif_rule(rule, first_seen[rule]) for rule in index]
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message.rstrip('.')}. Fix: {f.fix}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _where(f, root).split(":")[0]},
                        "region": {"startLine": max(1, f.location.line), "startColumn": max(1, f.location.column)},
                    }
                }
            ],
        }
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "securecart-tf",
                        "version": __version__,
                        "properties": {"iamData": iam_data_info()},
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
