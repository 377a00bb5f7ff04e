"""One problem type for everything a user wrote: config, rules, registers, watchlists.

Every message that points at a file says ``file:line:col: [key: ]what is wrong``, the form
editors and CI annotations jump to; config and rule errors used to have twin classes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Problem:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    message: str
    key: str = ""  # the dotted config key or rule field, when there is one

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
