"""Errors that point a rule author at ``file:line:col``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class RuleProblem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RuleError(Exception):
    """An unusable rule set. ``problems`` are ``file:line:col: message`` strings, in file order."""

    def __init__(self, problems: list[RuleProblem] | list[str]) -> None:
        items = sorted(problems, key=lambda p: (p.file, p.line, p.column)
                       if isinstance(p, RuleProblem) else (str(p), 0, 0))
        self.problems: list[str] = [str(p) for p in items]
        super().__init__("\n".join(self.problems))
