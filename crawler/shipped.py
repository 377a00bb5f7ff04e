"""Where the rule packs shipped with darkwatch are: the default ``rules.paths``.

crawler/rulepacks is a symlink to the top-level rules/ in a checkout and the copied files in an
installed wheel; resolved so messages name rules/... in a checkout. A module of its own so the
config, the rules and the CLI can all name it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_RULES = (Path(__file__).resolve().parent / "rulepacks").resolve()
