"""Alert levels, ordered; Sigma's names so rule authors' habits carry over."""

from __future__ import annotations

LEVELS = ("informational", "low", "medium", "high", "critical")


def level_rank(level: str | None) -> int:
    """Position in :data:`LEVELS`; unknown levels rank as informational (never silently promoted)."""
    try:
        return LEVELS.index(str(level or "").lower())
    except ValueError:
        return 0


def at_least(level: str | None, minimum: str) -> bool:
    return level_rank(level) >= level_rank(minimum)
