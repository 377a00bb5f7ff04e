"""Forum timestamps -> ISO 8601 UTC (``2024-01-15T09:30:00Z``).

Machine-readable values (ISO 8601, epoch seconds/milliseconds) take a fast path; human
text ("Mon Jan 01, 2024 10:00 am", "Aujourd'hui à 10:30", "Yesterday, 09:15 PM",
"« Reply #3 on: January 15, 2024, 10:30:00 AM »") goes to ``dateparser``: it already
knows English and French month/day names and relative words, so we do not maintain our
own tables. Languages are restricted to en+fr, which keeps it fast and avoids surprise
matches from other languages. Parses are cached: a board page repeats the same dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

LANGUAGES = ["en", "fr"]

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"^\d{9,13}$")
# Text that can plausibly be a date: a clock time, a 4-digit year or a relative word.
# Without this guard dateparser happily reads "1" or "#3" as a day of the current month.
_PLAUSIBLE = re.compile(
    r"\d{1,2}\s*[:h]\s*\d{2}|\b(?:19|20)\d{2}\b|today|yesterday|ago|aujourd|hier|il y a|"
    r"minute|hour|heure|just now|à l'instant",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"today|yesterday|ago|aujourd|hier|il y a|minute|hour|heure|just now|à l'instant|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche",
    re.IGNORECASE,
)
# Decorations engines put around dates (SMF "« Reply #3 on: … »", MyBB "(This post was
# last modified: …)", phpBB "by X »"). Removed before parsing.
_NOISE = [
    (re.compile(r"\([^)]*\)"), " "),
    (re.compile(r"[«»\u2039\u203a\[\]|]"), " "),
    (re.compile(r"\b(?:reply|réponse)\s*#?\s*\d+\s*(?:on|le)?\s*:?", re.IGNORECASE), " "),
    (re.compile(r"^\s*(?:posted|publié|posté|on|le)\s*:?\s+", re.IGNORECASE), " "),
    (re.compile(r"#\d+"), " "),
    (re.compile(r"\s+"), " "),
]


def parse_date(value: str | None, tz: str = "UTC", now: datetime | None = None) -> str | None:
    """Return ISO 8601 UTC with ``Z`` (second precision), or None when unparseable.

    ``tz`` is the forum's zone for values without an offset; ``now`` anchors relative
    dates ("Today", "Hier", "2 hours ago") and defaults to the current time.
    """
    if value is None:
        return None
    text = str(value).replace("\u00a0", " ").replace("\u2019", "'").strip()
    if not text or len(text) > 2000:
        return None
    try:
        fast = _fast_path(text, tz)
        if fast is not None:
            return fast
        cleaned = _clean(text)  # drops "(This post was last modified: … Edit Reason: …)"
        if not cleaned or len(cleaned) > 200 or not _PLAUSIBLE.search(cleaned):
            return None
        quick = _strptime(cleaned, tz)
        if quick is not None:
            return quick
        now_key = None
        if _RELATIVE.search(cleaned):
            base = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
            now_key = base.isoformat()
        return _parse_human(cleaned, tz, now_key)
    except (ValueError, OverflowError, OSError, LookupError):
        return None


def _fast_path(text: str, tz: str) -> str | None:
    if _EPOCH.match(text):
        n = int(text)
        if n > 10**11:  # milliseconds
            n //= 1000
        return _fmt(datetime.fromtimestamp(n, UTC))
    if _ISO.match(text):
        iso = text.replace(" ", "T", 1) if len(text) > 10 and text[10] == " " else text
        iso = re.sub(r"\s+", "", iso)
        if re.search(r"[+-]\d{2}$", iso):  # "+01" -> "+01:00"
            iso += ":00"
        dt = datetime.fromisoformat(iso)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(tz))
        return _fmt(dt)
    return None


# The engines' default English formats, tried with strptime before dateparser (~100x
# faster; boards and threads are full of them): MyBB "m-d-Y, h:i A", SMF
# "%B %d, %Y, %I:%M:%S %p", phpBB "D M d, Y g:i a", Discourse "July 16, 2026, 8:01am".
_STRPTIME_FORMATS = (
    "%m-%d-%Y, %I:%M %p",
    "%B %d, %Y, %I:%M:%S %p",
    "%a %b %d, %Y %I:%M %p",
    "%B %d, %Y, %I:%M%p",
)


def _strptime(text: str, tz: str) -> str | None:
    for fmt in _STRPTIME_FORMATS:
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return _fmt(dt.replace(tzinfo=ZoneInfo(tz)))
    return None


def _clean(text: str) -> str:
    for pattern, repl in _NOISE:
        text = pattern.sub(repl, text)
    return text.strip(" ,;:-")


@lru_cache(maxsize=8192)
def _parse_human(text: str, tz: str, now_key: str | None) -> str | None:
    import dateparser  # heavy import, only when a human date shows up

    settings: dict[str, object] = {
        "TIMEZONE": tz,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
    }
    if now_key is not None:
        local_now = datetime.fromisoformat(now_key).astimezone(ZoneInfo(tz))
        settings["RELATIVE_BASE"] = local_now.replace(tzinfo=None)
    dt = dateparser.parse(text, languages=LANGUAGES, settings=settings)
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return _fmt(dt)


def _fmt(dt: datetime) -> str:
    dt = dt.astimezone(UTC).replace(microsecond=0)
    return dt.isoformat().replace("+00:00", "Z")


def has_time(value: str) -> bool:
    """True when a candidate carries a time of day (not just a date), e.g. MyBB's
    ``title="01-15-2024"`` on "Today" vs the visible "Today, 10:30 AM"."""
    text = value.strip()
    return bool(
        _EPOCH.match(text)
        or re.search(r"\d{1,2}\s*[:h]\s*\d{2}", text)
        or re.search(r"\b(?:ago|il y a)\b", text, re.IGNORECASE)
    )


__all__ = ["LANGUAGES", "has_time", "parse_date"]
