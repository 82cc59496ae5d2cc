"""What runs and in what order: a stack is ready once the stacks it depends on in this run have finished, and
one whose dependency did not succeed is skipped, which carries down to the stacks that depend on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from securecart_tf.run.results import StackResult


def stopped_by(dependencies: Iterable[str], results: Mapping[str, StackResult]) -> list[str]:
    """The dependencies that finished without succeeding, so the stack that waits for them must not go ahead."""
    return [d for d in dependencies if d in results and results[d].stops_dependents]


class Order:
    """The stacks of a run not started yet, in dependency order, and which of them may start now."""

    def __init__(self, names: list[str], blockers: Callable[[str], list[str]]):
        self.pending = list(names)
        self._blockers = blockers

    def ready(
        self, results: Mapping[str, StackResult], interrupted: bool, skip: Callable[[str, list[str]], None]
    ) -> list[str]:
        """The pending stacks whose blockers have all finished. A stack that will never start (a blocker did not
        succeed, or the run was interrupted) leaves the order through `skip(name, blockers that stopped it)` at
        once, so that a stack after it in the same pass sees it skipped."""
        found = []
        for name in list(self.pending):
            waits_for = self._blockers(name)
            bad = stopped_by(waits_for, results)
            if bad or (interrupted and name not in results):
                skip(name, bad)
                self.pending.remove(name)
            elif all(b in results for b in waits_for):
                found.append(name)
        return found

    def start(self, names: list[str]) -> None:
        for name in names:
            self.pending.remove(name)
