"""The incident record and its history events.

An incident groups every alert of one thread (``forum``, ``thread_url``); its ``id`` is derived
from that key so a re-crawl, a replay or a second worker always lands on the same incident.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LEVELS = ("informational", "low", "medium", "high", "critical")
STATUSES = ("open", "acknowledged", "closed", "false-positive")
MAX_SAMPLES = 10  # masked NIR samples kept on the incident (the fingerprint set lives apart)
MAX_LIST = 50  # labs, rules, authors kept on the document: bounded whatever the thread's size


def level_rank(level: str) -> int:
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}") from None


def incident_id(forum: str, thread_url: str) -> str:
    """Stable id of the incident of one thread: the same on every crawl and every worker."""
    return hashlib.sha256(f"incident\x00{forum}\x00{thread_url}".encode()).hexdigest()[:16]


@dataclass(slots=True)
class Event:
    """One line of an incident's history."""

    at: str
    kind: str  # created | evidence | escalated | reopened | status | linked | merged | suppressed | dump
    by: str = "darkwatch"
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Incident:
    id: str
    forum: str
    thread_url: str
    thread_title: str = ""
    status: str = "open"
    level: str = "informational"
    title: str = ""
    created: str = ""
    updated: str = ""
    first_seen: str | None = None  # post times (published), not crawl times
    last_seen: str | None = None
    posts: int = 0  # posts with evidence
    alerts: int = 0
    nir_distinct: int = 0  # distinct valid NIRs, counted by keyed fingerprint
    labs: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # masked NIR samples, capped
    claimed_size: int | None = None  # largest size the posts claim ("120k lignes")
    suppressed_rules: list[str] = field(default_factory=list)  # false-positive: evidence kept, ignored
    status_by: str = ""
    status_at: str = ""
    status_note: str = ""
    merged_into: str | None = None
    merged_from: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # incidents already announced as related
    notified_nirs: int = 0  # nir_distinct at the last notice (growth baseline)
    notified_level: str = ""  # level at the last notice

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Incident:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def rank(self) -> int:
        return level_rank(self.level)
