"""What runs and in what order: a stack is ready once the stacks it depends on in this run have finished, and
one whose dependency did not succeed is skipped, which carries down to the stacks that depend on it. Of the
stacks ready at once, those more stacks wait for start first, then those further down a chain of
dependencies, so that a run's longest chain is not queued behind stacks nothing waits for."""

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
        self.waiting, self.depth = waiting_on(names, blockers)
        """Stack → how many stacks of the run wait for it, directly or through others; and how many stacks long
        the longest chain of stacks it waits for is."""

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
        return sorted(found, key=lambda name: (-self.waiting[name], -self.depth[name]))  # stable among equals

    def start(self, names: list[str]) -> None:
        for name in names:
            self.pending.remove(name)


def waiting_on(names: list[str], blockers: Callable[[str], list[str]]) -> tuple[dict[str, int], dict[str, int]]:
    """For each stack, how many of `names` wait for it, directly or through other stacks, and the length of the
    longest chain of stacks it waits for. `names` are in the order they may run: a stack's blockers first."""
    above: dict[str, set[str]] = {}
    depth: dict[str, int] = {}
    for name in names:
        above[name] = set()
        depth[name] = 0
        for blocker in blockers(name):
            above[name] |= {blocker, *above.get(blocker, ())}
            depth[name] = max(depth[name], depth.get(blocker, 0) + 1)
    counts = dict.fromkeys(names, 0)
    for ancestors in above.values():
        for ancestor in ancestors:
            if ancestor in counts:
                counts[ancestor] += 1
    return counts, depth
