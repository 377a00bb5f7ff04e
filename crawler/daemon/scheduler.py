"""Which forums are due: pure bookkeeping over epoch seconds (no processes, no I/O)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.config.schedule import forum_interval, next_cron, next_due

DEFAULT_BACKOFF_MAX = 8  # a failing forum is retried at least once every 8 of its intervals


@dataclass
class Entry:
    forum: Any  # ForumConfig
    next_due: float
    last_start: float | None = None
    failures: int = 0  # consecutive failed crawls; 0 after a success

    @property
    def key(self) -> tuple[str | None, str | None]:
        return schedule_key(self.forum)


def schedule_key(forum: Any) -> tuple[str | None, str | None]:
    return (getattr(forum, "every", None), getattr(forum, "cron", None))


def backoff_delay(forum: Any, failures: int, max_intervals: float, now: float) -> float:
    """Wait after the ``failures``-th failed crawl in a row: 1, 2, 4... intervals of the forum,
    at most ``max_intervals``; counted from the end of the failed crawl (a crawl that overran
    its interval retrying errors does not start the next one at once)."""
    interval = forum_interval(forum, now)
    return min(interval * 2.0 ** (max(failures, 1) - 1), interval * max_intervals)


class Scheduler:
    """Next start time of each enabled forum; a reload keeps the times of unchanged schedules."""

    def __init__(self, backoff_max: float = DEFAULT_BACKOFF_MAX) -> None:
        self.entries: dict[str, Entry] = {}
        self.backoff_max = backoff_max

    def sync(self, forums: Iterable[Any], now: float,
             history: Mapping[str, float] | None = None,
             failing: Mapping[str, tuple[int, float]] | None = None) -> None:
        """Adopt a (re)loaded forum list. ``history``: last start per forum from the store, so a
        restarted daemon does not crawl everything at once; ``failing``: (failed crawls in a row,
        end of the last one) from the store, so a restart keeps a failing forum's backoff.
        Disabled or removed forums are dropped."""
        history, failing = history or {}, failing or {}
        entries: dict[str, Entry] = {}
        for forum in forums:
            if not getattr(forum, "enabled", True):
                continue
            old = self.entries.get(forum.name)
            if old is not None and old.key == schedule_key(forum):
                old.forum = forum
                entries[forum.name] = old
                continue
            last = old.last_start if old is not None else history.get(forum.name)
            entry = Entry(forum, next_due(forum, last, now), last)
            if old is None and forum.name in failing:
                entry.failures, ended = failing[forum.name]
                wait = backoff_delay(forum, entry.failures, self.backoff_max, now)
                entry.next_due = max(entry.next_due, ended + wait)
            entries[forum.name] = entry
        self.entries = entries

    def due(self, now: float, running: Container[str] = ()) -> list[Any]:
        """Forums whose time has come and that are not running, most overdue first."""
        ready = [e for name, e in self.entries.items() if e.next_due <= now and name not in running]
        return [e.forum for e in sorted(ready, key=lambda e: (e.next_due, e.forum.name))]

    def started(self, name: str, now: float) -> None:
        entry = self.entries.get(name)
        if entry is not None:
            entry.last_start = now
            entry.next_due = next_due(entry.forum, now, now)

    def finished(self, name: str, failed: bool, now: float) -> float | None:
        """A crawl of ``name`` ended at ``now``. A failure pushes its next attempt back (see
        ``backoff_delay``; a cron forum waits for its first fire after that) and returns the
        seconds until it; a success resets the count (the normal schedule, set at the start, holds)."""
        entry = self.entries.get(name)
        if entry is None:
            return None
        if not failed:
            entry.failures = 0
            return None
        entry.failures += 1
        earliest = now + backoff_delay(entry.forum, entry.failures, self.backoff_max, now)
        cron = getattr(entry.forum, "cron", None)
        if cron:
            earliest = next_cron(cron, earliest - 1.0)  # a fire at (or just after) that time
        entry.next_due = max(entry.next_due, earliest)
        return entry.next_due - now

    def failures(self) -> dict[str, int]:
        return {name: e.failures for name, e in self.entries.items()}

    def next_runs(self) -> dict[str, float]:
        return {name: e.next_due for name, e in self.entries.items()}

    def seconds_to_next(self, now: float, running: Container[str] = ()) -> float | None:
        times = [e.next_due for name, e in self.entries.items() if name not in running]
        return max(0.0, min(times) - now) if times else None
