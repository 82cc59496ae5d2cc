"""How stacks run concurrently: up to `parallelism` at a time on a thread pool, each result handed back, named
by its stack, as soon as it finishes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import TypeVar

from securecart_tf.run.results import StackResult

T = TypeVar("T")
U = TypeVar("U")


def in_pool(parallelism: int, items: list[T], work: Callable[[T], U]) -> list[U]:
    """`work` over every item, up to `parallelism` at a time, results in the items' order."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        return list(pool.map(work, items))


class Executor:
    """A pool that runs each stack's work and tells which stacks finished; leaving it waits for all of them."""

    def __init__(self, parallelism: int):
        self.parallelism = max(1, parallelism)
        self._pool = ThreadPoolExecutor(max_workers=self.parallelism)
        self._running: dict[Future[StackResult], str] = {}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    @property
    def free(self) -> int:
        """How many more stacks may start now without waiting for a thread."""
        return max(0, self.parallelism - len(self._running))

    def submit(self, name: str, work: Callable[[], StackResult]) -> None:
        self._running[self._pool.submit(work)] = name

    def map(self, work: Callable[[T], U], items: Iterable[T]) -> list[U]:
        """`work` over every item on the pool, waiting for all; the first error is raised."""
        return list(self._pool.map(work, items))

    def finished(self) -> list[tuple[str, Future[StackResult]]]:
        """Wait until at least one stack's work is done; those done, no longer running."""
        done, _ = wait(self._running, return_when=FIRST_COMPLETED)
        return [(self._running.pop(future), future) for future in done]

    def drain(self) -> list[tuple[str, Future[StackResult]]]:
        """Every stack still running, no longer counted as running (its future tells when it is done)."""
        running, self._running = self._running, {}
        return [(name, future) for future, name in running.items()]
