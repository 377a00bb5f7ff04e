"""Forum timestamps -> ISO 8601 UTC (``2024-01-15T09:30:00Z``).

Machine-readable values (ISO 8601, epoch seconds/milliseconds) and the engines' default
numeric formats take a fast path; human text ("Mon Jan 01, 2024 10:00 am", "Aujourd'hui
à 10:30", "Вчера, 15:04", "vor 4 Stunden") goes to ``dateparser``, which knows month/day
names and relative words of every language we need, so we keep no tables of our own.
Languages are the forum's interface language (configured ``language:`` or the page's
``<html lang>``) followed by English and French: few enough to stay fast and avoid
surprise matches, and a forum's own language decides ambiguous numeric dates (DMY).
Parses are cached: a board page repeats the same dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

LANGUAGES = ["en", "fr"]  # always tried, after the forum's own language
# Interface languages tested end to end (dateparser knows many more; any of its codes works).
TESTED_LANGUAGES = ("ru", "uk", "en", "fr", "de", "es", "it")

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_EPOCH = re.compile(r"^\d{9,13}$")
# Text that can plausibly be a date: a clock time, a 4-digit year or a relative word.
# Without this guard dateparser happily reads "1" or "#3" as a day of the current month.
# Relative words (today, yesterday, ago, minute, hour, just now) in the tested languages.
_RELATIVE_WORDS = (
    r"today|yesterday|ago|minute|hour|just now|"
    r"aujourd|hier|il y a|heure|à l'instant|"
    r"сегодня|вчера|назад|минут|час|только что|"
    r"сьогодні|вчора|тому|хвилин|годин|щойно|"
    r"heute|gestern|\bvor\b|stunde|gerade eben|"
    r"\bhoy\b|\bayer\b|\bhace\b|\bhora|ahora mismo|"
    r"\boggi\b|\bieri\b|\bfa\b|\bore\b|\bora\b|minut|adesso"
)
_PLAUSIBLE = re.compile(
    r"\d{1,2}\s*[:h]\s*\d{2}|\b(?:19|20)\d{2}\b|" + _RELATIVE_WORDS,
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    _RELATIVE_WORDS + r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|"
    r"lunes|martes|miércoles|jueves|viernes|sábado|domingo|"
    r"lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica",
    re.IGNORECASE,
)
# A relative value that still carries a time of day ("4 часа назад", "vor 3 Minuten"):
# minute/hour units or "just now"; "3 days ago" keeps only the day.
_RELATIVE_CLOCK = re.compile(
    r"(?:\d+|an?|one|une?|un)\s*(?:minute|min|hour|heure|h\b|минут|час|хвилин|годин|"
    r"minuten|stunde|minuto|hora|ora|ore)|just now|à l'instant|только что|щойно|"
    r"gerade eben|ahora mismo|adesso|(?:vor|hace)\s+(?:\d+|einer?|una?)\s*(?:minute|stunde|minuto|hora)",
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


def parse_date(value: str | None, tz: str = "UTC", now: datetime | None = None,
               language: str | None = None) -> str | None:
    """Return ISO 8601 UTC with ``Z`` (second precision), or None when unparseable.

    ``tz`` is the forum's zone for values without an offset; ``now`` anchors relative
    dates ("Today", "Hier", "2 hours ago") and defaults to the current time; ``language``
    is the forum's interface language (tried first, see :func:`languages_for`).
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
        return _parse_human(cleaned, tz, now_key, languages_for(language))
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
    # Dotted day-first dates, the Russian/Ukrainian/German packs' "d.m.Y, H:i" (MyBB,
    # phpBB): never month-first, whatever the language.
    "%d.%m.%Y, %H:%M",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
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


def normalise_language(value: str | None) -> str | None:
    """``"ru-RU"``/``"ru_RU"``/``"RU"`` -> ``"ru"``; None when not a language dateparser knows."""
    if not value:
        return None
    code = re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]
    return code if code in _known_languages() else None


@lru_cache(maxsize=1)
def _known_languages() -> frozenset[str]:
    from dateparser.data.languages_info import language_order

    return frozenset(language_order)


def languages_for(language: str | None) -> tuple[str, ...]:
    """The forum's language first, then the defaults (English, French)."""
    primary = normalise_language(language)
    return tuple(dict.fromkeys([primary, *LANGUAGES])) if primary else tuple(LANGUAGES)


@lru_cache(maxsize=8192)
def _parse_human(text: str, tz: str, now_key: str | None,
                 languages: tuple[str, ...] = tuple(LANGUAGES)) -> str | None:
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
    if languages[0] != "en":
        settings["DATE_ORDER"] = "DMY"  # "05/01/2021" on a non-English forum is 5 January
    dt = dateparser.parse(text, languages=list(languages), settings=settings)
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return _fmt(dt)


def _fmt(dt: datetime) -> str:
    dt = dt.astimezone(UTC).replace(microsecond=0)
    return dt.isoformat().replace("+00:00", "Z")


def is_absolute(value: str) -> bool:
    """True for an epoch or an ISO 8601 value with its offset: one instant whatever the forum's
    zone or the current time (a marker keeps it as is)."""
    text = value.strip()
    offset = re.search(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", text[10:], re.IGNORECASE)  # after the day
    return bool(_EPOCH.match(text) or (_ISO.match(text) and offset))


def has_time(value: str) -> bool:
    """True when a candidate carries a time of day (not just a date), e.g. MyBB's
    ``title="01-15-2024"`` on "Today" vs the visible "Today, 10:30 AM"."""
    text = value.strip()
    return bool(
        _EPOCH.match(text)
        or re.search(r"\d{1,2}\s*[:h]\s*\d{2}", text)
        or _RELATIVE_CLOCK.search(text)
    )


__all__ = ["LANGUAGES", "TESTED_LANGUAGES", "has_time", "languages_for", "normalise_language",
           "parse_date"]
