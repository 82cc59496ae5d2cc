"""The README's generated blocks: the limits table and the rule list, between marker comments.

Regenerate them with `python -m securecart_tf.checks.docs README.md`; a unit test fails when they drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from securecart_tf.checks.rules import rules_markdown
from securecart_tf.iam.limits import limits_markdown

COMMAND = "python -m securecart_tf.checks.docs README.md"


def blocks() -> dict[str, str]:
    """Marker name → the Markdown that belongs between its markers."""
    return {"limits-table": limits_markdown(), "lint-rules": rules_markdown()}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:begin[^>]*-->\n)(.*?)(<!-- {name}:end -->)", re.S)


def current(text: str, name: str) -> str | None:
    """What the README holds between the markers, or None without markers."""
    match = _pattern(name).search(text)
    return match.group(2) if match else None


def update(text: str) -> str:
    for name, body in blocks().items():
        if current(text, name) is None:
            raise ValueError(f"no <!-- {name}:begin --> ... <!-- {name}:end --> markers")
        text = _pattern(name).sub(_between(body), text)
    return text


def _between(body: str) -> Callable[[re.Match[str]], str]:
    """A replacement that puts `body` between a match's begin and end markers."""
    return lambda m: m.group(1) + body + m.group(3)


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "README.md")
    try:
        path.write_text(update(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
