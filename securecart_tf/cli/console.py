"""The terminal every command writes to: the two consoles, the live progress view, Ctrl-C handling, errors."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from securecart_tf.errors import SecureCartError

if TYPE_CHECKING:
    from rich.live import Live
    from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def status_style(status: str) -> str:
    """The style a stack's status shows in; steps in progress ("planning", "applying") are not outcomes."""
    from securecart_tf.run.status import StackStatus

    return StackStatus.style_of(status, "cyan")


class Progress:
    """A live table of stacks on a terminal; one line per event otherwise."""

    def __init__(self, title: str, enabled: bool = True):
        self.title = title
        self.rows: dict[str, tuple[str, str, float]] = {}
        self.live: Live | None = None
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, stack: str, status: str, detail: str = "") -> None:
        self.rows[stack] = (status, detail, time.monotonic())
        if not self.enabled:
            return
        if self.live is not None:
            self.live.update(self._table())
        else:
            err.print(
                f"[dim]{time.monotonic() - self.started:6.1f}s[/] {stack}: {status}"
                + (f" ({escape(detail)})" if detail else ""),
                highlight=False,
            )

    def _table(self) -> Table:
        from rich.table import Table

        t = Table(title=self.title, title_justify="left", show_edge=False)
        t.add_column("stack")
        t.add_column("status")
        t.add_column("detail", overflow="fold")
        for stack, (status, detail, _) in self.rows.items():
            t.add_row(stack, f"[{status_style(status)}]{status}[/]", escape(detail))
        return t

    def __enter__(self) -> Progress:
        if self.enabled and err.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=err, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)


@contextmanager
def interruptible() -> Iterator[None]:
    """First Ctrl-C or SIGTERM: each Terraform finishes its resource in flight and writes state. Second: stop now.

    SIGTERM (a service manager, a CI runner cancelling a job, `kill`) is a request to stop, like Ctrl-C:
    cut off, an apply leaves resources in AWS that no state knows, and its state lock held.
    """
    from securecart_tf.run.terraform import REGISTRY

    presses = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        if presses == 1:
            _finish_in_flight(name, REGISTRY.interrupt())
        else:
            _stop_at_once(REGISTRY.kill())

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def _finish_in_flight(name: str, finishing: list[str]) -> None:
    err.print(
        f"\n[yellow]Interrupted.[/] ({name}) No new stack starts and plans stop now. "
        + (
            f"Letting the applies in flight finish and write state ({', '.join(finishing)}): cut off "
            "half-way, an apply can leave resources in AWS that no state knows. "
            if finishing
            else ""
        )
        + "Press Ctrl-C again (or send SIGTERM again) to stop at once."
    )


def _stop_at_once(running: list[str]) -> None:
    err.print(
        "\n[red]Stopped at once.[/] "
        + (
            f"These stacks may be left locked: {', '.join(running)}. The next run names the lock's ID "
            "and the `terraform force-unlock` command to release it, in the stack's build folder, once "
            "you have checked nobody else runs. What they were creating may exist in AWS without being "
            "in their state: check, and `terraform import` it, before the next apply."
            if running
            else "No Terraform was running."
        )
    )
    os._exit(130)


def print_error(exc: SecureCartError) -> None:
    """One error on stderr: where, what, and the hint of what to do."""
    where = f"{exc.location}: " if exc.location else ""
    err.print(f"[red]error:[/] {escape(where + exc.message)}", highlight=False)
    if exc.hint:
        err.print(f"  [dim]hint:[/] {escape(exc.hint)}", highlight=False)
