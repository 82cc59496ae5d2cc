"""Bad input through the real command line: every broken project in tests/corpus/bad is refused.

Each case runs `python -m securecart_tf validate --matrix <case>` in a subprocess, so the real entry point
and its exit-code mapping are under test. The output must name `file:line`, say what is wrong and what to
do, exit 1, and never show a traceback. Expected lines and messages are in tests/corpus/bad/cases.yaml,
written from the broken files themselves.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.helpers import run_cli

CORPUS = ROOT / "tests" / "corpus" / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class Reported:
    """One problem as the user sees it: where it is, and the text (message and what to do)."""

    where: str
    message: str
    hint: str


def cli(*args: str, cwd: Path) -> Run:
    proc = run_cli(cwd, *args, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def squash(text: str) -> str:
    """Text without whitespace, so that a table cell wrapped over several lines still matches."""
    return "".join(text.split())


def reported(run: Run) -> list[Reported]:
    """Every problem in the output: `error:` lines (with their hint) and rows of the findings table."""
    problems: list[Reported] = []
    for line in run.stderr.splitlines():
        match = re.match(r"^error: (\S+): (.*)$", line)
        if match:
            problems.append(Reported(match[1], match[2], ""))
        elif line.startswith("  hint: ") and problems:
            last = problems[-1]
            problems[-1] = Reported(last.where, last.message, last.hint + line[len("  hint: ") :])
    rows: list[list[str]] = []
    for line in run.stdout.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if len(cells) != 5:
            continue
        if cells[0]:  # a new row; continuation lines leave the severity cell empty
            rows.append(cells)
        elif rows:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    problems += [Reported(squash(where), message, fix) for _, _, where, message, fix in rows]
    return problems


def at(problem: Reported, file: str, line: int | None) -> bool:
    where = squash(problem.where)
    suffix = rf":{line}(:\d+)?" if line is not None else ""
    return re.search(rf"(^|/){re.escape(file)}{suffix}$", where) is not None


def main_in_process(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Run:
    """`securecart-tf ARGS` through the console script's `main()`: the same error-to-exit-code mapping."""
    from securecart_tf.cli.app import main

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["securecart-tf", *args])
    monkeypatch.delenv("SECURECART_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return Run(int(exited.value.code or 0), captured.out, captured.err)


def check_refused(case: dict[str, Any], run: Run) -> None:
    shown = f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.code == 1, shown
    assert "Traceback" not in run.output, shown
    assert "internal error" not in run.output, shown
    here = [p for p in reported(run) if at(p, case["file"], case["line"])]
    assert here, f"nothing reported at {case['file']}:{case['line']}\n{shown}"
    matching = [p for p in here if squash(case["message"]) in squash(p.message)]
    assert matching, f"no problem at {case['file']}:{case['line']} says {case['message']!r}\n{shown}"
    if case.get("hint"):
        assert any(squash(case["hint"]) in squash(p.hint) for p in matching), (
            f"the problem does not say what to do ({case['hint']!r})\n{shown}"
        )


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_project_is_refused_at_its_line(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check_refused(case, main_in_process(["validate", "--matrix", case["matrix"]], CORPUS, monkeypatch, capsys))


# One case of each kind also runs as its own process, the way a user or CI runs it.
IN_A_PROCESS = [
    "empty-file",
    "missing-file",
    "binary-nul-bytes",
    "not-utf8",
    "tab-indentation",
    "duplicate-key",
    "alias-bomb",
    "unknown-key-typo",
    "assignment-unknown-group",
    "policy-invalid-json",
    "env-promotion-cycle",
]


@pytest.fixture(scope="module")
def process_runs() -> dict[str, Run]:
    """The IN_A_PROCESS cases, run in parallel: each process is mostly interpreter and import start-up."""
    cases = [c for c in CASES if c["case"] in IN_A_PROCESS]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        runs = pool.map(lambda c: cli("validate", "--matrix", c["matrix"], cwd=CORPUS), cases)
        return {c["case"]: run for c, run in zip(cases, runs, strict=True)}


@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_bad_project_is_refused_by_python_dash_m(name: str, process_runs: dict[str, Run]) -> None:
    check_refused(next(c for c in CASES if c["case"] == name), process_runs[name])


def test_corpus_index_lists_every_case_folder() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    indexed = {c["case"] for c in CASES}
    assert len(indexed) == len(CASES), "a case is listed twice"
    assert folders - indexed == set(), "a case folder has no expectations in cases.yaml"
    # cases listed without a folder are the ones about a file that does not exist
    for name in indexed - folders:
        case = next(c for c in CASES if c["case"] == name)
        assert not (CORPUS / case["matrix"]).exists() and case["line"] is None, name
    assert len([c for c in CASES if not c["file"].startswith("environments/")]) >= 30
    assert len([c for c in CASES if c["file"].startswith("environments/")]) >= 5


def test_the_example_project_validates_cleanly(example_project: Path) -> None:
    """The control: the same command on a good project exits 0, so a refusal above is about the input."""
    run = cli("validate", "--matrix", example_project.name, cwd=example_project.parent)
    assert run.code == 0, run.output
    assert f"{example_project.name}: valid" in run.stdout and "Traceback" not in run.output


def test_a_folder_given_as_the_matrix_is_refused(tmp_path: Path) -> None:
    run = cli("validate", "--matrix", str(tmp_path), cwd=tmp_path)
    assert run.code == 1
    assert "is a folder, not a file" in run.stderr and "Traceback" not in run.output


def test_a_named_pipe_in_environments_is_refused_without_waiting_for_a_writer(example_project: Path) -> None:
    """Opening a FIFO blocks until something writes to it; validate must name it and go on, not hang."""
    pipe = example_project.parent / "environments" / "qa.yaml"
    os.mkfifo(pipe)
    run = cli("validate", "--matrix", example_project.name, cwd=example_project.parent)  # bounded: 120 s
    assert run.code == 1 and "Traceback" not in run.output, run.output
    assert any(
        at(p, "environments/qa.yaml", None) and "named pipe (FIFO), not a regular file" in p.message
        for p in reported(run)
    ), run.output


def test_a_matrix_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    from securecart_tf.config.yamlpos import MAX_FILE_BYTES

    big = tmp_path / "access-matrix.yaml"
    with big.open("w") as handle:
        handle.write("version: 1\nnotes: |\n")
        line = "  " + "x" * 1022 + "\n"
        for _ in range(MAX_FILE_BYTES // len(line) + 1):
            handle.write(line)
    run = cli("validate", "--matrix", big.name, cwd=tmp_path)
    assert run.code == 1
    assert f"the limit is {MAX_FILE_BYTES:,}" in run.stderr and "Traceback" not in run.output


def test_other_commands_refuse_bad_input_the_same_way() -> None:
    """generate reads the matrix through the same loader: same line, same exit code."""
    case = next(c for c in CASES if c["case"] == "duplicate-key")
    run = cli("generate", "--matrix", case["matrix"], "--out", os.devnull, cwd=CORPUS)
    assert run.code == 1 and "Traceback" not in run.output
    assert any(at(p, case["file"], case["line"]) for p in reported(run)), run.output


def test_the_timeout_help_states_the_default_the_run_uses() -> None:
    from securecart_tf.cli.options import TIMEOUT_HELP
    from securecart_tf.run.orchestrate import Options

    assert f"(default: {Options().timeout:.0f})" in TIMEOUT_HELP


def test_version_prints_the_installed_distributions_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = cli("--version", cwd=tmp_path)
    assert (result.code, result.stdout.strip()) == (0, f"securecart-tf {version('securecart-tf')}")
