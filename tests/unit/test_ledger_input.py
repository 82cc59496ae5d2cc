"""A damaged ledger through the real command line: named at file:line, never a traceback, never guessed around.

The project's environments target AWS with made-up credentials and a local backend, so each command reads
the ledger (the same file and code a sandbox run reads) and stops on it before any Terraform call leaves
the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from securecart_tf.errors import SecureCartError
from securecart_tf.run.ledger import LocalLedger, Record, last_applied
from tests.conftest import ROOT
from tests.helpers import explain, run_cli

LEDGER = Path(".securecart") / "ledger.jsonl"


def _record(environment: str, stack: str, revision: str, result: str = "ok") -> str:
    return Record(
        action="apply", environment=environment, stack=stack, revision=revision, result=result, target="aws"
    ).to_json()


GOOD = [_record("staging", "*", "a1b2c3d4e5f6"), _record("staging", "access-staging", "a1b2c3d4e5f6")]

# Each damaged line as it would sit between two good records, and a word the error must say about it.
DAMAGED = {
    "a-list": (b"[1,2,3]", "object"),
    "null": (b"null", "object"),
    "a-record-missing-fields": (b'{"stack": 5}', "action"),
    "a-field-of-the-wrong-type": (
        json.dumps({**json.loads(GOOD[1]), "stack": 5}).encode(),
        "stack",
    ),
    "not-utf-8": (b'{"action": "apply", "stack": "\xff\xfe"}', "UTF-8"),
    "not-json": (b"apply dev ok", "JSON"),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The SecureCart example, its stages moved to AWS (credentials made up, nothing is sent)."""
    for name in ("access-matrix.yaml", "policies"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    (tmp_path / "environments").mkdir()
    for env in (ROOT / "environments").glob("*.yaml"):
        text = env.read_text()
        assert "type: sandbox" in text
        (tmp_path / "environments" / env.name).write_text(text.replace("type: sandbox", "type: aws"))
    return tmp_path


# Made-up credentials, and an endpoint where nothing listens: should a run get past the ledger, its calls go nowhere.
NOWHERE = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
    "AWS_SECRET_ACCESS_KEY": "example-secret-not-real",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args, env=NOWHERE, unset=("AWS_", "SECURECART_"), timeout=300)


def _write_ledger(project: Path, data: bytes) -> None:
    (project / LEDGER).parent.mkdir(mode=0o700, exist_ok=True)
    (project / LEDGER).write_bytes(data)


def _refused_at(run: subprocess.CompletedProcess[str], line: int, word: str) -> None:
    assert run.returncode == 1, explain(run)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, explain(run)
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error: ")]
    assert any(ln.startswith(f"error: {LEDGER}:{line}: ") and word in ln for ln in errors), explain(run)
    assert re.search(rf"hint: .*\b{line}\b", run.stderr), explain(run)  # says which line to repair


@pytest.mark.parametrize("command", ["status", "plan"])
@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_record_mid_ledger_stops_the_command_at_its_line(project: Path, case: str, command: str) -> None:
    line, word = DAMAGED[case]
    _write_ledger(project, GOOD[0].encode() + b"\n" + line + b"\n" + GOOD[1].encode() + b"\n")
    args = ["status"] if command == "status" else ["plan", "--env", "staging"]
    _refused_at(_cli(project, *args), 2, word)


def test_apply_and_promote_stop_on_a_damaged_record_too(project: Path) -> None:
    _write_ledger(project, (GOOD[0] + "\n" + GOOD[1] + "\n").encode() + b"[1,2,3]\n")
    _refused_at(_cli(project, "apply", "--env", "staging", "--auto-approve"), 3, "object")
    _refused_at(_cli(project, "promote", "--from", "staging", "--to", "prod"), 3, "object")


def test_a_torn_last_line_is_skipped_with_a_warning_and_the_records_before_it_count(project: Path) -> None:
    torn = _record("staging", "*", "ffffffffffff")[:57]  # a crash cut the write short: no closing brace, no newline
    _write_ledger(project, (GOOD[0] + "\n" + GOOD[1] + "\n" + torn).encode())
    warning = f"warning: ledger {LEDGER}:3: incomplete last line skipped"

    shown = _cli(project, "status", "--json")
    assert shown.returncode == 0, explain(shown)
    assert warning in shown.stderr, explain(shown)
    rows = {r["environment"]: r for r in json.loads(shown.stdout)}
    assert rows["staging"]["current"] == "a1b2c3d4e5f6"  # what the whole records say
    assert rows["prod"]["current"] is None

    # promote reads the same ledger: past the torn line it finds what staging runs, and refuses on that
    promoted = _cli(project, "promote", "--from", "staging", "--to", "prod")
    assert promoted.returncode == 1, explain(promoted)
    assert warning in promoted.stderr, explain(promoted)
    assert "staging runs a1b2c3d4e5f6" in promoted.stderr, explain(promoted)


def _apply(stack: str, result: str = "ok") -> Record:
    return Record(action="apply", environment="dev", stack=stack, revision="r", result=result, target="t")


def test_a_damaged_record_after_a_clean_apply_never_leaves_the_stack_looking_applied(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = LocalLedger(path)
    ledger.append([_apply("a")])
    assert set(last_applied(ledger.records(), "t")) == {"a"}
    with path.open("ab") as f:  # what may have recorded that "a" then failed, damaged
        f.write(b'{"action": "apply", "stack": "a", "result": "failed"}\n')
    ledger.append([_apply("b")])
    with pytest.raises(SecureCartError) as refused:
        last_applied(ledger.records(), "t")
    assert refused.value.location is not None and refused.value.location.line == 2


def test_a_record_cut_short_mid_ledger_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from securecart_tf.run import ledger as ledger_module

    said: list[str] = []
    monkeypatch.setattr(ledger_module, "warning_handler", said.append)
    path = tmp_path / "ledger.jsonl"
    ledger = LocalLedger(path)
    ledger.append([_apply("a")])
    with path.open("ab") as f:  # a full disk cut the write short; the next append starts a new line
        f.write(_apply("b").to_json().encode()[:40])
    ledger.append([_apply("c")])
    assert [r.stack for r in ledger.records()] == ["a", "c"]
    assert len(said) == 1 and ":2: incomplete record skipped" in said[0], said
