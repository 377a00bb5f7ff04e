"""Duration strings from the config and the CLI (``30m``, ``1h``, ``1d``, ``1h30m``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
MAX_DAYS = 36500  # 100 years: beyond that a duration is a typo (and overflows datetime maths)


class OutOfRange(ValueError):
    """A well-formed duration or time that datetime arithmetic cannot take."""


def _bounded(text: object, seconds: float) -> float:
    if not seconds <= MAX_DAYS * 86400:  # also catches inf ("9" * 400 parses as a float)
        shown = repr(text) if len(str(text)) <= 40 else repr(f"{str(text)[:30]}...")
        raise OutOfRange(f"{shown} is out of range: a duration is at most {MAX_DAYS} days "
                         "(100 years)")
    return seconds


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
        return _bounded(text, float(text))
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return _bounded(text, float(s))
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
    return _bounded(text, total)


def parse_iso_utc(text: str) -> str:
    """``text`` (ISO 8601; no zone means UTC) as ``YYYY-MM-DDTHH:MM:SSZ``.

    Raises ``ValueError`` when it is not ISO 8601, :class:`OutOfRange` when its UTC time falls
    outside years 1-9999 (``9999-12-31T23:59:59-23:59``).
    """
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2024-01-15T00:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return _utc_text(dt.astimezone(UTC))
    except OverflowError:
        raise OutOfRange(f"{text!r} is out of range: in UTC it falls outside the years "
                         "1-9999") from None


def _utc_text(dt: datetime) -> str:
    # Zero-padded whatever the year: stored times compare as text.
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
            f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}Z")


def parse_since(text: str, now: datetime | None = None) -> str:
    """A lower time bound as ISO 8601 UTC (``...Z``): either a duration back from now or a timestamp."""
    now = now or datetime.now(UTC)
    try:
        seconds = parse_duration(text)
    except OutOfRange:
        raise
    except ValueError:
        try:
            return parse_iso_utc(text)
        except OutOfRange:
            raise
        except ValueError:
            raise ValueError(
                f"{text!r} is neither a duration (e.g. '24h', '7d') nor an ISO 8601 time "
                "(e.g. 2024-01-15T00:00:00Z)"
            ) from None
    try:
        return _utc_text((now - timedelta(seconds=seconds)).astimezone(UTC))
    except OverflowError:  # before year 1
        raise OutOfRange(f"{text!r} is out of range: it reaches back before year 1") from None
