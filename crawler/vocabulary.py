"""The words every layer shares, declared once: alert levels and statuses.

Levels are Sigma's names, so rule authors' habits carry over; rules, config, stores, the CLI,
notifications and incidents all take them from here (they used to be declared six times and had
started to disagree on unknown values).
"""

from __future__ import annotations

from typing import Literal, get_args

Level = Literal["informational", "low", "medium", "high", "critical"]
LEVELS: tuple[str, ...] = get_args(Level)  # ordered, lowest first

# Triage status of a raw alert: stored in SQLite and Elasticsearch (``darkwatch.alert.status``),
# set from the CLI or Kibana; the saved objects filter on these exact values.
AlertStatus = Literal["open", "ack", "closed", "false_positive"]
ALERT_STATUSES: tuple[str, ...] = get_args(AlertStatus)


def level_rank(level: str | None) -> int:
    """Position in :data:`LEVELS`; an unknown level ranks as informational (never promoted).

    For ranking data already stored; user input goes through :func:`check_level`.
    """
    try:
        return LEVELS.index(str(level or "").lower())
    except ValueError:
        return 0


def check_level(level: str) -> int:
    """The rank of a level given by a user (a filter, a config value); ValueError names the
    accepted values."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}") from None


def at_least(level: str | None, minimum: str) -> bool:
    return level_rank(level) >= level_rank(minimum)
