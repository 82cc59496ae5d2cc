"""Which stacks of an environment a run takes: `--stacks A,B`, then `--shard i/N`, and the waves of the stack graph.

A shard is round-robin over the selected stacks in dependency order: shard i of N keeps the stacks at positions
i-1, i-1+N, i-1+2N, ... The order is the model's, which depends on the inputs alone, so every machine computes
the same slice. A selected stack whose dependency is not selected treats it as it treats a dependency in
another environment: it must already be applied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from securecart_tf.errors import SecureCartError
from securecart_tf.model import Stack

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based."""
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`i/N` with N >= 1 and 1 <= i <= N, or SecureCartError saying what is wrong."""
    found = _SHARD.fullmatch(text)
    hint = "give it as i/N: --shard 1/3 is the first of three shards (1 <= i <= N)"
    if found is None:
        raise SecureCartError(f"--shard {text!r} is not of the form i/N", hint=hint)
    index, count = int(found[1]), int(found[2])
    if count < 1:
        raise SecureCartError(f"--shard {text}: the number of shards must be at least 1", hint=hint)
    if not 1 <= index <= count:
        raise SecureCartError(f"--shard {text}: the shard must be between 1 and {count}", hint=hint)
    return Shard(index, count)


def parse_stacks(text: str) -> tuple[str, ...]:
    """The names in `A,B` (spaces allowed around them), each once, in the order given; empty is an error."""
    names = [n.strip() for n in text.split(",")]
    if not any(names) or not all(names):
        raise SecureCartError(
            f"--stacks {text!r} names no stack" if not any(names) else f"--stacks {text!r} has an empty name",
            hint="give stack names separated by commas, e.g. --stacks organization,access-dev",
        )
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Selection:
    """The part of an environment a run takes; the default takes it whole."""

    stacks: tuple[str, ...] | None = None
    shard: Shard | None = None

    @property
    def whole(self) -> bool:
        return self.stacks is None and (self.shard is None or self.shard.count == 1)

    @classmethod
    def parse(cls, stacks: str | None, shard: str | None) -> Selection:
        return cls(
            parse_stacks(stacks) if stacks is not None else None, parse_shard(shard) if shard is not None else None
        )

    def check(self, environment: str, available: Sequence[str], elsewhere: dict[str, str]) -> None:
        """Refuse a named stack the environment does not have, naming it and the ones it has.

        `elsewhere` maps the stacks of other environments to their environment, to say where one belongs.
        """
        unknown = [n for n in self.stacks or () if n not in available]
        if not unknown:
            return
        where = [f"{n} (environment {elsewhere[n]})" if n in elsewhere else n for n in unknown]
        noun = "stack" if len(unknown) == 1 else "stacks"
        raise SecureCartError(
            f"--stacks: environment '{environment}' has no {noun} {', '.join(where)}",
            hint=f"its stacks: {', '.join(available) or 'none'}",
        )

    def of(self, ordered: Sequence[Stack]) -> list[Stack]:
        """The selected stacks, in the dependency order given."""
        chosen = [s for s in ordered if self.stacks is None or s.name in self.stacks]
        if self.shard is None:
            return chosen
        return chosen[self.shard.index - 1 :: self.shard.count]

    def describe(self) -> str:
        parts = []
        if self.stacks is not None:
            parts.append(f"stacks {','.join(self.stacks)}")
        if self.shard is not None:
            parts.append(f"shard {self.shard}")
        return ", ".join(parts) or "every stack"


def waves(ordered: Sequence[Stack]) -> dict[str, int]:
    """Each stack's wave: 0 for a stack that depends on none of these, else one more than its deepest dependency."""
    wave: dict[str, int] = {}
    for stack in ordered:  # dependencies come first
        wave[stack.name] = max((wave[d] + 1 for d in stack.depends_on if d in wave), default=0)
    return wave
