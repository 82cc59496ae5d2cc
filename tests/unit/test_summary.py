"""The run summary: the terminal table and the Markdown file for a pull request keep every message whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from securecart_tf.run.results import RunReport, StackResult
from securecart_tf.run.summary import markdown, table

TERRAFORM_ERROR = (
    "No valid credential sources found (providers.tf:17): Please see the provider's documentation\n"
    "\n"
    'Error: module.role["HandRole"] failed | retry [later]'
)


def _report() -> RunReport:
    return RunReport(
        "plan",
        "dev",
        "0123456789ab",
        "sandbox:abc",
        [
            StackResult("organization", "management", "dev", "planned", add=3, duration=4.2, reaches=["prod"]),
            StackResult("access-dev", "dev", "dev", "failed", duration=1.0, message=TERRAFORM_ERROR),
            StackResult("identity-center", "management", "dev", "skipped", message="skipped: access-dev did not plan"),
        ],
        notices=["started the sandbox on http://127.0.0.1:4566\n(session abc)"],
    )


def _terminal(report: RunReport) -> str:
    console = Console(record=True, width=400, color_system=None)
    console.print(table(report))
    return console.export_text()


def test_the_terminal_table_shows_brackets_in_messages_as_text() -> None:
    text = _terminal(_report())
    assert 'module.role["HandRole"] failed | retry [later]' in text
    assert "reaches prod immediately" in text


def test_the_markdown_table_keeps_one_row_per_stack_whatever_the_message() -> None:
    md = markdown(_report())
    lines = md.splitlines()
    header = lines.index("| stack | account | + | ~ | - | import | time | result | notes |")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    assert [row.split(" | ")[0] for row in rows] == ["| `organization`", "| `access-dev`", "| `identity-center`"]
    # every row has the header's 9 cells: escaped pipes do not split a cell
    assert all(row.replace("\\|", "").count("|") == 10 for row in rows)
    failed = rows[1]
    assert "Please see the provider's documentation<br>Error: module.role" in failed
    assert "failed \\| retry [later]" in failed
    assert "| 3 | 0 | 0 | 0 | 4.2s | planned | **reaches prod immediately** |" in rows[0]
    assert "**Changes that cannot be staged:** `organization` reaches prod." in md
    assert "> started the sandbox on http://127.0.0.1:4566\n> (session abc)" in md
    assert "exit code 1" in md


def test_progress_lines_show_brackets_in_details_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    from securecart_tf.cli.console import Progress

    progress = Progress("plan · dev")
    progress("access-dev", "failed", 'module.role["HandRole"]: accounts [dev] refused')
    assert 'access-dev: failed (module.role["HandRole"]: accounts [dev] refused)' in capsys.readouterr().err


def test_a_plan_that_only_imports_is_a_change_to_apply_and_says_how_many() -> None:
    adopting = StackResult("organization", "management", "main", "planned", imports=7)
    report = RunReport("plan", "main", "0123456789ab", "sandbox:abc", [adopting])
    assert adopting.has_changes
    assert report.exit_code() == 2
    assert "+0 ~0 -0 (7 to import)" in _terminal(report)
    assert "| `organization` | management | 0 | 0 | 0 | 7 |" in markdown(report)


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_a_summary_the_full_disk_refuses_is_an_error_after_the_run_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    """The results may say where a state Terraform could not save lies and how to push it: shown, whatever else."""
    from securecart_tf.cli.project import print_run_report
    from securecart_tf.run.workspace import Workspace

    push = "`cd build/dev/organization && terraform state push errored.tfstate`"
    report = RunReport(
        "apply",
        "dev",
        "0123456789ab",
        "sandbox:abc",
        [StackResult("organization", "management", "dev", "failed", message=f"push it with {push}")],
        notices=[],
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "summaries").write_text("")  # where the summary's folder goes: no folder can be made there
    with pytest.raises(OSError):
        print_run_report(report, as_json, Workspace(tmp_path, home=home))
    shown = capsys.readouterr()
    assert push in (shown.out if as_json else shown.out + shown.err).replace("\n", ""), shown
