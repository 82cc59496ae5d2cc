"""Helpers for the policy tests: write a small matrix, run `validate`'s checks, find lines in the YAML.

This module holds no tests; the test_policy_* modules import it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.findings import Finding
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]

# A clean organization: no finding of any kind. Tests append sections to it.
BASE = """\
version: 1
organization:
  name: acme
  management_account: management
  break_glass_role: BreakGlassRole
  units:
    - name: WorkloadsOU
accounts:
  - name: management
    email: management@acme.example
    ou: /
  - name: dev
    email: dev@acme.example
    ou: WorkloadsOU
    environment: dev
  - name: prod
    email: prod@acme.example
    ou: WorkloadsOU
    environment: prod
"""

EXEMPTION = {
    "ArnNotLike": {
        "aws:PrincipalArn": ["arn:aws:iam::*:role/OrganizationAccountAccessRole", "arn:aws:iam::*:role/BreakGlassRole"]
    }
}


def write_matrix(tmp_path: Path, extra: str = "", files: dict[str, Any] | None = None, base: str = BASE) -> Path:
    """BASE plus `extra` (dedented) as access-matrix.yaml; `files` are written next to it (dicts as JSON)."""
    for name, content in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    path = tmp_path / "access-matrix.yaml"
    path.write_text(base + textwrap.dedent(extra))
    return path


def check(path: Path) -> list[Finding]:
    return run_checks(load_project(path))


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def one(findings: list[Finding], rule: str) -> Finding:
    found = by_rule(findings, rule)
    assert len(found) == 1, f"expected one {rule}, got {[(f.rule, f.message) for f in findings]}"
    return found[0]


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line of the file containing `needle`."""
    lines = [i for i, text in enumerate(path.read_text().splitlines(), start=1) if needle in text]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocks]


def deny(sid: str, actions: list[str], resources: Any = "*", condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": resources}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def validate_cli(path: Path, fmt: str = "json") -> tuple[int, dict[str, Any]]:
    """Run `python -m securecart_tf validate --matrix F --format FMT` (json or sarif); return the exit code and
    the parsed output."""
    result = run_cli(path.parent, "validate", "--matrix", str(path), "--format", fmt, timeout=120)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)
