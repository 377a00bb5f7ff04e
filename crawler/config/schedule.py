"""Per-forum crawl schedules (``every: 30m`` or ``cron: "*/30 * * * *"``): validation and time math.

Pure functions over epoch seconds, shared by the config validation, the daemon's scheduler and the
monitoring-gap check. Cron expressions are evaluated in UTC (a server's local zone would move
crawls twice a year and differ between hosts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.config.duration import parse_duration

DEFAULT_EVERY = "1h"
MIN_EVERY = 1.0  # seconds: below this the daemon would only spawn processes
# How many future cron fires to inspect for a cron schedule's (longest) interval: enough to see a
# weekend gap in a weekday-only schedule.
CRON_LOOKAHEAD = 16


def check_every(text: Any) -> float:
    """Seconds of an ``every`` value; ``ValueError`` with the expected form otherwise."""
    seconds = parse_duration(text)
    if seconds < MIN_EVERY:
        raise ValueError(f"{text!r} is too short: the shortest schedule is 1s (e.g. '30m', '1h')")
    return seconds


def check_cron(expr: str) -> str:
    """A standard 5-field cron expression (minute hour day-of-month month day-of-week), in UTC."""
    from croniter import croniter

    fields = str(expr).split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise ValueError(
            f"{expr!r} is not a 5-field cron expression (minute hour day-of-month month "
            "day-of-week, in UTC), e.g. '*/30 * * * *' or '0 6-22 * * 1-5'"
        )
    return " ".join(fields)


def next_cron(expr: str, after: float) -> float:
    """Epoch seconds of the first fire of ``expr`` strictly after ``after``."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, UTC)
    return float(croniter(expr, start).get_next(float))


def cron_interval(expr: str, now: float) -> float:
    """The longest gap between the next fires of ``expr``: what "one interval" means for it."""
    t = next_cron(expr, now)
    longest = 0.0
    for _ in range(CRON_LOOKAHEAD):
        nxt = next_cron(expr, t)
        longest = max(longest, nxt - t)
        t = nxt
    return longest


def forum_interval(forum: Any, now: float | None = None) -> float:
    """Seconds between two crawls of ``forum`` (a ``ForumConfig``): ``every``, else the cron gap."""
    cron = getattr(forum, "cron", None)
    if cron:
        return cron_interval(cron, datetime.now(UTC).timestamp() if now is None else now)
    return parse_duration(getattr(forum, "every", None) or DEFAULT_EVERY)


def next_due(forum: Any, last_start: float | None, now: float) -> float:
    """When ``forum`` should next start, given its previous start (None: never crawled).

    ``every``: one interval after the previous start (immediately when never crawled or overdue:
    a restart catches up once, it never replays every missed run). ``cron``: the first fire after
    the previous start, or the next fire from now when never crawled.
    """
    cron = getattr(forum, "cron", None)
    if cron:
        return next_cron(cron, now if last_start is None else last_start)
    if last_start is None:
        return now
    return last_start + parse_duration(getattr(forum, "every", None) or DEFAULT_EVERY)
