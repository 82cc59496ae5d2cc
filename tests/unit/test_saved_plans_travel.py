"""A saved plan keeps the state it was planned against, so an apply anywhere refuses it once that state moved on;
and the plans can live in a folder of their own (`--plans`), the one a CI artifact carries between machines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from securecart_tf.errors import RunRefused
from securecart_tf.run.apply import apply
from securecart_tf.run.plan import plan
from securecart_tf.run.selection import Selection, Shard
from tests.unit.test_saved_plans import STACKS, StandInRun, _run, _status

pytestmark = pytest.mark.timeout(60)


def _state(root: Path, stack: str, serial: int, lineage: str = "lineage-x") -> None:
    path = root / ".securecart" / "state" / stack / "terraform.tfstate"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 4, "serial": serial, "lineage": lineage, "resources": []}))


def test_a_plan_records_the_state_it_was_planned_against(tmp_path: Path) -> None:
    _state(tmp_path, "a", 7)
    plan(_run(tmp_path, "plan"))
    meta = json.loads((tmp_path / ".securecart" / "plans" / "dev" / "a.json").read_text())
    assert meta["state"]["serial"] == 7 and meta["state"]["lineage"] == "lineage-x"
    assert len(meta["state"]["digest"]) == 64


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (None, 1, "the stack had no state when it was planned; it has one now"),
        (3, 4, "the stack's state changed since it was planned (serial 3 -> 4)"),
        (3, None, "the state it was planned against is gone"),
    ],
)
def test_apply_refuses_a_plan_whose_state_moved_on(
    tmp_path: Path, before: int | None, after: int | None, words: str
) -> None:
    if before is not None:
        _state(tmp_path, "a", before)
    plan(_run(tmp_path, "plan"))
    state = tmp_path / ".securecart" / "state" / "a" / "terraform.tfstate"
    if after is None:
        state.unlink()
    else:
        _state(tmp_path, "a", after)  # another machine applied the stack meanwhile
    run = _run(tmp_path, "apply")
    with pytest.raises(RunRefused) as caught:
        apply(run)
    assert f"the saved plan for a is stale: {words}" == caught.value.message
    assert caught.value.hint is not None and "securecart-tf plan --env dev" in caught.value.hint
    assert run.applied == []


def test_a_state_replaced_under_the_same_serial_is_refused_too(tmp_path: Path) -> None:
    _state(tmp_path, "a", 3)
    plan(_run(tmp_path, "plan"))
    _state(tmp_path, "a", 3, lineage="another")
    with pytest.raises(RunRefused, match="state was replaced since it was planned"):
        apply(_run(tmp_path, "apply"))


def test_plans_in_their_own_folder_are_found_there(tmp_path: Path) -> None:
    carried = tmp_path / "artifact" / "plans"
    plan(_run(tmp_path, "plan", plans=carried))
    assert sorted(p.name for p in carried.iterdir()) == ["a.json", "a.tfplan", "b.json", "b.tfplan"]
    assert not (tmp_path / ".securecart" / "plans" / "dev").exists()
    moved = tmp_path / "elsewhere"
    shutil.copytree(carried, moved)
    shutil.rmtree(carried)
    run = _run(tmp_path, "apply", plans=moved)
    report = apply(run)
    assert _status(report.results) == {"a": "applied", "b": "applied"}
    assert [(s, body.endswith(b"made by plan")) for s, body in run.applied] == [("a", True), ("b", True)]
    assert run.planned == []  # the carried plans, not fresh ones


class SelectingRun(StandInRun):
    """The stand-in run, taking the part of its stacks its options select."""

    def environment_stacks(self):  # type: ignore[no-untyped-def]
        return list(self._stacks)

    def stacks(self):  # type: ignore[no-untyped-def]
        return self.options.selection.of(self._stacks)


def test_a_selected_stack_waits_for_a_dependency_left_out(tmp_path: Path) -> None:
    from securecart_tf.run.orchestrate import Options

    options = Options(parallelism=2, timeout=60, auto_approve=True, selection=Selection(("b",)))
    run = SelectingRun(tmp_path, STACKS, "apply", options)
    report = apply(run)
    assert [(r.stack, r.status) for r in report.results] == [("b", "refused")]
    assert "waiting for a" in report.results[0].message
    assert run.applied == []
    only_a = Options(parallelism=2, timeout=60, auto_approve=True, selection=Selection(shard=Shard(1, 2)))
    assert _status(apply(SelectingRun(tmp_path, STACKS, "apply", only_a)).results) == {"a": "applied"}
    report = apply(SelectingRun(tmp_path, STACKS, "apply", options))
    assert _status(report.results) == {"b": "applied"}
    runs = [json.loads(line) for line in (tmp_path / ".securecart" / "ledger.jsonl").read_text().splitlines()]
    parts = [(r["stacks"], r["environment_stacks"], r["result"]) for r in runs if r["stack"] == "*"]
    assert parts == [("b", "a,b", "failed"), ("a", "a,b", "ok"), ("b", "a,b", "ok")]
