"""The two storage contracts.

``StateStore`` is the crawler's memory (thread markers, seen post hashes, runs): it is
always local SQLite, so incremental crawling never depends on a remote service.
``Sink`` receives posts and alerts: SQLite by default, Elasticsearch when configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from crawler.model import Alert, Post
from crawler.vocabulary import ALERT_STATUSES as ALERT_STATUSES  # the stores import it here

Novelty = Literal["new", "edited", "unchanged"]


class StoreError(Exception):
    """The local store cannot be used; the message is one actionable line for the operator."""


class ElasticsearchError(Exception):
    """Elasticsearch cannot be used as configured; the message is safe to log. Not a
    :class:`StoreError`: that one means the local store failed (and stops a crawl)."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or written at all (missing permission, path is a directory)."""


class StoreDamaged(StoreError):
    """The SQLite file is corrupt: reading it would give wrong answers (e.g. 'nothing new')."""


class StoreWriteFailed(StoreError):
    """A write failed mid-crawl (disk full, I/O error): nothing after it can be trusted to land."""


@dataclass(slots=True)
class ThreadState:
    forum: str
    thread_url: str  # canonical first-page URL: the thread's key
    marker: str  # what the board row showed last time (last post link/time/replies)
    last_page_url: str  # where the next crawl of this thread starts
    last_post_id: str | None = None
    last_post_time: str | None = None
    updated_at: str | None = None


@runtime_checkable
class Sink(Protocol):
    """Everything a crawl calls on its sink; a sink with nothing to do for a call makes it a no-op."""

    @property
    def is_state_store(self) -> bool:
        """True when the sink is the local state store itself (SQLite without Elasticsearch):
        ``store_post`` already wrote post, alerts and incident, and the crawl closes the store."""
        ...

    def write_posts(self, posts: Sequence[Post]) -> None: ...
    def write_raw(self, posts: Sequence[Post]) -> None:
        """Clear-text copies to a restricted index (``store_raw``); a no-op for other sinks."""
        ...
    def write_alerts(self, alerts: Sequence[Alert]) -> None: ...
    def write_incident(self, incident: Any, related: Any = None, with_status: bool = False) -> None:
        """The incident's full current state (``incidents.model.Incident``), after the post that
        changed it was stored; ``related`` as ``IncidentStore.related`` gives it, or None."""
        ...
    def incident_statuses(self) -> dict[str, dict[str, Any]]:
        """Incident id -> triage fields analysts set on the sink's side ({} when none can be)."""
        ...
    def flush(self) -> object:
        """Deliver what is buffered; what it returns is the sink's own (Elasticsearch: a
        ``ReplayResult``), the crawl ignores it."""
        ...
    def pending(self) -> int:
        """Documents written but not delivered yet (spooled); 0 for a local sink."""
        ...
    def close(self) -> None: ...


@runtime_checkable
class StateStore(Protocol):
    def classify(self, post: Post) -> Novelty:
        """Compare with what was stored before and remember the new hash."""
        ...

    def store_post(self, post: Post, alerts: Sequence[Alert] = ()) -> object:
        """The post and its alerts in one transaction (novelty must never outrun the alerts).

        Returns what the post did to its thread's incident (``incidents.sqlite.Change``) or None."""
        ...

    def get_thread(self, forum: str, thread_url: str) -> ThreadState | None: ...
    def put_thread(self, state: ThreadState) -> None: ...
    def start_run(self, forum: str) -> int: ...
    def finish_run(self, run_id: int, status: str, stats: dict[str, Any]) -> None: ...
    def iter_posts(self, forum: str | None = None, since: str | None = None) -> Iterator[Post]: ...
    def close(self) -> None: ...




@runtime_checkable
class AlertIndex(Protocol):
    """Triage view of alerts: implemented by the SQLite store and the Elasticsearch sink."""

    def list_alerts(
        self,
        status: str | None = None,
        min_level: str | None = None,
        since: str | None = None,  # ISO 8601 UTC lower bound on ``created``
        limit: int = 100,
    ) -> list[Alert]: ...

    def set_alert_status(self, alert_id: str, status: str, note: str | None = None) -> bool:
        """False when no alert has that id."""
        ...
