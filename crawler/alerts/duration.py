"""Duration strings from the config and the CLI (``30m``, ``1h``, ``1d``, ``1h30m``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)


def parse_duration(text: str | int | float) -> float:
    """Seconds in ``text``; ``0`` disables (e.g. throttling off).

    Accepts one or more ``<number><unit>`` parts, units s/m/h/d/w, or a bare number of seconds.
    Raises ``ValueError`` with an example of the expected form.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration (e.g. '30m', '1h', '1d')")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    compact = s.replace(" ", "")
    for m in _PART.finditer(compact):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if not compact or pos != len(compact):
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit s/m/h/d/w, e.g. '30m', '1h', '1d', '1h30m'"
        )
    return total


def parse_since(text: str, now: datetime | None = None) -> str:
    """A lower time bound as ISO 8601 UTC (``...Z``): either a duration back from now or a timestamp."""
    now = now or datetime.now(UTC)
    try:
        seconds = parse_duration(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a duration (e.g. '24h', '7d') nor an ISO 8601 time "
                "(e.g. 2024-01-15T00:00:00Z)"
            ) from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
    else:
        dt = now - timedelta(seconds=seconds)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
