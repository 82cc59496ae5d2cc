"""The order stacks run in, and how a status reads in the terminal, JSON and the ledger."""

from __future__ import annotations

import json

from securecart_tf.run.batches import Order
from securecart_tf.run.results import StackResult
from securecart_tf.run.status import StackStatus

DEPENDS_ON = {"a": [], "b": ["a"], "c": ["b"], "d": []}


def _result(stack: str, status: StackStatus) -> StackResult:
    return StackResult(stack, stack, "dev", status)


def test_a_failure_skips_the_whole_chain_below_it_in_one_pass() -> None:
    order = Order(["b", "c", "d"], lambda name: DEPENDS_ON[name])
    results = {"a": _result("a", StackStatus.FAILED)}
    skipped: dict[str, list[str]] = {}

    def skip(name: str, bad: list[str]) -> None:
        skipped[name] = bad
        results[name] = _result(name, StackStatus.SKIPPED)

    assert order.ready(results, False, skip) == ["d"]
    assert skipped == {"b": ["a"], "c": ["b"]}
    assert order.pending == ["d"]  # ready stacks stay pending until started
    order.start(["d"])
    assert order.pending == []


def test_a_stack_waits_until_its_dependency_has_finished() -> None:
    order = Order(["a", "b"], lambda name: DEPENDS_ON[name])
    results: dict[str, StackResult] = {}
    assert order.ready(results, False, lambda name, bad: None) == ["a"]
    order.start(["a"])
    assert order.ready(results, False, lambda name, bad: None) == []
    results["a"] = _result("a", StackStatus.APPLIED)
    assert order.ready(results, False, lambda name, bad: None) == ["b"]


def test_an_interrupted_run_starts_nothing_new() -> None:
    order = Order(["a", "d"], lambda name: DEPENDS_ON[name])
    skipped: list[tuple[str, list[str]]] = []
    assert order.ready({}, True, lambda name, bad: skipped.append((name, bad))) == []
    assert skipped == [("a", []), ("d", [])]
    assert order.pending == []


def test_a_status_reads_as_its_word_in_json_and_its_ledger_spelling_in_the_ledger() -> None:
    result = _result("a", StackStatus.TIMED_OUT)
    assert json.dumps(result.status) == '"timed out"'
    assert f"{result.status}" == "timed out"
    assert result.status.ledger == "timed-out"
    assert StackResult("a", "a", "dev", "no changes").status is StackStatus.NO_CHANGES  # type: ignore[arg-type]


def test_a_progress_word_that_is_no_status_takes_the_default_style() -> None:
    assert StackStatus.style_of("init", "cyan") == "cyan"
    assert StackStatus.style_of("failed", "cyan") == StackStatus.FAILED.style != "cyan"
