"""Which forums are due: pure bookkeeping over epoch seconds (no processes, no I/O)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crawler.config.schedule import next_due


@dataclass
class Entry:
    forum: Any  # ForumConfig
    next_due: float
    last_start: float | None = None

    @property
    def key(self) -> tuple[str | None, str | None]:
        return schedule_key(self.forum)


def schedule_key(forum: Any) -> tuple[str | None, str | None]:
    return (getattr(forum, "every", None), getattr(forum, "cron", None))


class Scheduler:
    """Next start time of each enabled forum; a reload keeps the times of unchanged schedules."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def sync(self, forums: Iterable[Any], now: float,
             history: Mapping[str, float] | None = None) -> None:
        """Adopt a (re)loaded forum list. ``history``: last start per forum from the store, so a
        restarted daemon does not crawl everything at once. Disabled or removed forums are dropped."""
        history = history or {}
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
            entries[forum.name] = Entry(forum, next_due(forum, last, now), last)
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

    def next_runs(self) -> dict[str, float]:
        return {name: e.next_due for name, e in self.entries.items()}

    def seconds_to_next(self, now: float, running: Container[str] = ()) -> float | None:
        times = [e.next_due for name, e in self.entries.items() if name not in running]
        return max(0.0, min(times) - now) if times else None
