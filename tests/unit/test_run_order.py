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


def test_of_the_stacks_ready_at_once_those_others_wait_for_start_first() -> None:
    # the SecureCart shape after the organization: identity-center waits for every access stack, nothing waits
    # for the security stack, which comes first in dependency order
    depends_on = {
        "organization": [],
        "security": ["organization"],
        "access-dev": ["organization"],
        "access-prod": ["organization"],
        "identity-center": ["access-dev", "access-prod"],
        "reporting": ["identity-center"],
    }
    order = Order(list(depends_on), lambda name: depends_on[name])
    assert order.depth == {
        "organization": 0,
        "security": 1,
        "access-dev": 1,
        "access-prod": 1,
        "identity-center": 2,
        "reporting": 3,
    }
    assert order.waiting == {
        "organization": 5,
        "security": 0,
        "access-dev": 2,
        "access-prod": 2,
        "identity-center": 1,
        "reporting": 0,
    }
    assert order.ready({}, False, lambda name, bad: None) == ["organization"]
    order.start(["organization"])
    results = {"organization": _result("organization", StackStatus.APPLIED)}
    assert order.ready(results, False, lambda name, bad: None) == ["access-dev", "access-prod", "security"]


def test_among_stacks_nothing_waits_for_the_one_further_down_a_chain_starts_first() -> None:
    # identity-center waits for one access stack; once that one is done it goes before the other access stacks,
    # which became ready earlier, instead of ending the run after them
    depends_on = {"organization": [], "access-a": ["organization"], "access-b": ["organization"]}
    depends_on |= {"access-c": ["organization"], "identity-center": ["access-a"]}
    order = Order(list(depends_on), lambda name: depends_on[name])
    order.start(["organization", "access-a"])
    results = {name: _result(name, StackStatus.APPLIED) for name in ("organization", "access-a")}
    assert order.ready(results, False, lambda name, bad: None) == ["identity-center", "access-b", "access-c"]


def test_a_deep_chain_counts_every_stack_below_once() -> None:
    # a chain of 1,500 stacks, deeper than Python's recursion limit, and a fan below it: a stack both branches
    # reach is counted once
    chain = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(1500)}
    chain["fan"] = ["s10", "s20"]
    order = Order(list(chain), lambda name: chain[name])
    assert order.waiting["s0"] == 1500
    assert order.waiting["s10"] == 1490
    assert order.waiting["s1499"] == 0
