"""One exception hierarchy. The CLI catches `SecureCartError` in one place and exits 1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a user's file: 1-based line and column."""

    file: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:  # a whole line is at fault (a ledger record), no column to point at
            return f"{self.file}:{self.line}"
        return str(self.file)


class SecureCartError(Exception):
    """An error the user can act on. Never shown with a traceback."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class InputError(SecureCartError):
    """The matrix, an environment file or a policy file is malformed or inconsistent."""


class ConfigErrors(InputError):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, location=first.location, hint=first.hint)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class TerraformError(SecureCartError):
    """Terraform is missing, too old, or one of its commands failed."""


class SandboxError(SecureCartError):
    """The local sandbox could not be started, reached or stopped."""


class LedgerError(SecureCartError):
    """A ledger record cannot be read. Never guessed around: the ledger decides what is already applied."""


class RunRefused(SecureCartError):
    """A plan, apply or promotion was refused before anything changed."""


class LockHeld(RunRefused):
    """Another run holds the environment's lock."""
