"""The README's limits table and rule list are generated from the code; they must not drift."""

from __future__ import annotations

from test_policy_support import ROOT

from securecart_tf.checks import docs
from securecart_tf.checks.rules import RULES, rules_markdown
from securecart_tf.iam.limits import LIMITS, limits_markdown


def test_the_readme_shows_the_limits_table_and_rule_list_the_code_has() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, body in docs.blocks().items():
        shown = docs.current(text, name)
        assert shown is not None, f"README.md lacks the <!-- {name}:begin --> block; run `{docs.COMMAND}`"
        assert shown == body, f"README.md's {name} block is stale; run `{docs.COMMAND}`"


def test_the_limits_table_has_a_row_per_limit_with_its_value() -> None:
    rows = [line for line in limits_markdown().splitlines()[2:]]
    assert len(rows) == len(LIMITS)
    for row, limit in zip(rows, LIMITS.values(), strict=True):
        assert row.startswith(f"| `{limit.key}` | {limit.value:,} |")


def test_the_rule_list_has_a_line_per_rule() -> None:
    lines = [line for line in rules_markdown().splitlines() if line.startswith("- `")]
    assert [line.split("`")[1] for line in lines] == list(RULES)


def test_update_rewrites_only_between_the_markers() -> None:
    stale = "intro\n<!-- limits-table:begin -->\nold\n<!-- limits-table:end -->\nmiddle\n"
    stale += "<!-- lint-rules:begin -->\n<!-- lint-rules:end -->\noutro\n"
    updated = docs.update(stale)
    assert updated.startswith("intro\n<!-- limits-table:begin -->\n| limit |")
    assert "\n<!-- limits-table:end -->\nmiddle\n<!-- lint-rules:begin -->\n**AWS limits**" in updated
    assert updated.endswith("<!-- lint-rules:end -->\noutro\n")
    assert docs.update(updated) == updated


def test_rule_summaries_name_only_limits_that_exist() -> None:
    import fnmatch
    import re

    for rule in RULES.values():
        for key in re.findall(r"`([a-z_*]+)`", rule.summary):
            assert fnmatch.filter(LIMITS, key), f"{rule.id} names unknown limit {key}"
