"""Errors that point a rule author at ``file:line:col``."""

from __future__ import annotations

from crawler.problems import Problem


class RuleError(Exception):
    """An unusable rule set. ``problems`` are ``file:line:col: message`` strings, in file order."""

    def __init__(self, problems: list[Problem] | list[str]) -> None:
        items = sorted(problems, key=lambda p: (p.file, p.line, p.column)
                       if isinstance(p, Problem) else (str(p), 0, 0))
        self.problems: list[str] = [str(p) for p in items]
        super().__init__("\n".join(self.problems))
