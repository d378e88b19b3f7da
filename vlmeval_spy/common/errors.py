"""Errors that point at the exact place of bad input: file, item and field."""

from __future__ import annotations

from dataclasses import dataclass

from .exit_status import BAD_INPUT


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file."""

    file: str
    message: str
    item: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.item is not None:
            where.append(f"item {self.item}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        return f"{': '.join(where)}: {self.message}"


class SpyDataError(ValueError):
    """Raised with every problem found, so users fix their files in one pass."""

    EXIT_STATUS = BAD_INPUT
    """What a run that stops on it exits with (`vlmeval_spy.common.exit_status`)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} problem(s) in the input:" if len(lines) > 1 else "invalid input:"
        super().__init__("\n  ".join([head, *lines]))

    def __reduce__(self):
        # Rebuilt from its problems when it crosses a process boundary (a process pool's worker).
        return type(self), (self.problems,)
