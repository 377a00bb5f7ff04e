"""Incidents in the embedded SQLite store, written in the transaction of each post.

Tables: ``incidents`` (one bounded document each), ``incident_threads`` (grouping key ->
incident, repointed by a merge), ``incident_evidence`` (one row per post: idempotent on
re-crawl and replay), ``incident_fingerprints`` / ``incident_authors`` (the full sets, which
can be large, and the join keys of ``related``), ``incident_events`` (the history).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from crawler.incidents import lifecycle, notice
from crawler.incidents.evidence import Evidence, from_post
from crawler.incidents.model import LEVELS, Event, Incident, incident_id, level_rank
from crawler.model import Alert, Post, utcnow_iso


class StoreHandle(Protocol):
    """What incidents need of the SQLite store (:class:`crawler.sinks.sqlite.SqliteStore`): its
    connection, its lock and its write transaction. Typed by shape: the store writes incidents
    in each post's transaction, so ``crawler.sinks`` imports this package, not the reverse."""

    _db: sqlite3.Connection
    _lock: Any

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    forum TEXT NOT NULL,
    thread_url TEXT NOT NULL,
    status TEXT NOT NULL,
    level_rank INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    last_seen TEXT,
    nir_distinct INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_threads (
    forum TEXT NOT NULL,
    thread_url TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (forum, thread_url)
);
CREATE TABLE IF NOT EXISTS incident_evidence (
    forum TEXT NOT NULL,
    post_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (forum, post_id)
);
CREATE INDEX IF NOT EXISTS incident_evidence_inc ON incident_evidence (incident_id);
CREATE TABLE IF NOT EXISTS incident_fingerprints (
    incident_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (incident_id, fingerprint)
);
CREATE INDEX IF NOT EXISTS incident_fingerprints_fp ON incident_fingerprints (fingerprint);
CREATE TABLE IF NOT EXISTS incident_authors (
    incident_id TEXT NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (incident_id, author)
);
CREATE INDEX IF NOT EXISTS incident_authors_author ON incident_authors (author);
CREATE TABLE IF NOT EXISTS incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    by TEXT NOT NULL,
    note TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_events_inc ON incident_events (incident_id, seq);
"""

# Salvaged by `darkwatch store repair` (rowid tables, in this order) when the damaged store has them.
TABLES = ("incidents", "incident_threads", "incident_evidence", "incident_fingerprints",
          "incident_authors", "incident_events")
MIN_PREFIX = 6
MAX_RELATED = 20
_CHUNK = 500  # host parameters per IN (...) list


class IncidentNotFound(LookupError):
    """Unknown or ambiguous incident id; the message says which and what to do."""


@dataclass(slots=True)
class Change:
    """What one stored post did to its incident: for notifications and the crawl summary."""

    incident: Incident
    events: list[Event]
    created: bool
    notify: str | None = None  # created | escalated | nir-growth: worth a notification


# -- inside the post's transaction --------------------------------------------------------
def _load(db: sqlite3.Connection, inc_id: str) -> Incident | None:
    row = db.execute("SELECT doc, status FROM incidents WHERE id=?", (inc_id,)).fetchone()
    if row is None:
        return None
    inc = Incident.from_dict(json.loads(row[0]))
    inc.status = row[1]
    return inc


def _save(db: sqlite3.Connection, inc: Incident) -> None:
    db.execute(
        "INSERT INTO incidents (id, forum, thread_url, status, level_rank, created, updated,"
        " last_seen, nir_distinct, doc) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
        " status=excluded.status, level_rank=excluded.level_rank, updated=excluded.updated,"
        " last_seen=excluded.last_seen, nir_distinct=excluded.nir_distinct, doc=excluded.doc",
        (inc.id, inc.forum, inc.thread_url, inc.status, inc.rank, inc.created, inc.updated,
         inc.last_seen, inc.nir_distinct, json.dumps(inc.to_dict())),
    )


def _log(db: sqlite3.Connection, inc_id: str, events: Sequence[Event]) -> None:
    db.executemany(
        "INSERT INTO incident_events (incident_id, at, kind, by, note, data) VALUES (?,?,?,?,?,?)",
        [(inc_id, e.at, e.kind, e.by, e.note, json.dumps(e.data)) for e in events],
    )


def _evidence(db: sqlite3.Connection, inc_id: str) -> Iterator[Evidence]:
    for (doc,) in db.execute("SELECT doc FROM incident_evidence WHERE incident_id=?"
                             " ORDER BY rowid", (inc_id,)):
        yield Evidence.from_dict(json.loads(doc))


def _nir_count(db: sqlite3.Connection, inc_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM incident_fingerprints WHERE incident_id=?",
                      (inc_id,)).fetchone()[0]


def _add_sets(db: sqlite3.Connection, inc_id: str, ev: Evidence) -> int:
    """Fingerprints and author of live evidence; returns how many fingerprints were new."""
    cur = db.executemany("INSERT OR IGNORE INTO incident_fingerprints VALUES (?, ?)",
                         [(inc_id, fp) for fp in ev.fingerprints])
    db.execute("INSERT OR IGNORE INTO incident_authors VALUES (?, ?)", (inc_id, ev.author))
    return max(cur.rowcount, 0)


def _shared(db: sqlite3.Connection, inc_id: str, fps: Sequence[str],
            into: dict[str, int] | None = None) -> dict[str, int]:
    """Other incidents holding any of ``fps``: incident id -> how many of them."""
    shared = into if into is not None else {}
    for i in range(0, len(fps), _CHUNK):
        part = fps[i:i + _CHUNK]
        for other, n in db.execute(
                f"SELECT incident_id, COUNT(*) FROM incident_fingerprints WHERE fingerprint IN"
                f" ({','.join('?' * len(part))}) AND incident_id != ? GROUP BY incident_id",
                (*part, inc_id)):
            shared[other] = shared.get(other, 0) + n
    return shared


def _link(db: sqlite3.Connection, inc: Incident, fps: Sequence[str], now: str,
          shared: dict[str, int] | None = None) -> list[Event]:
    """Announce, once per pair, incidents that now share NIR fingerprints with ``inc``."""
    if shared is None:
        shared = _shared(db, inc.id, fps)
    events = []
    for other_id, n in sorted(shared.items()):
        if other_id in inc.linked:
            continue
        other = _load(db, other_id)
        if other is None:
            continue
        inc.linked.append(other_id)
        events.append(Event(now, "linked", data={"incident": other_id, "forum": other.forum,
                                                 "thread_url": other.thread_url,
                                                 "shared_fingerprints": n}))
        if inc.id not in other.linked:
            other.linked.append(inc.id)
            _save(db, other)
            _log(db, other_id, [Event(now, "linked", data={
                "incident": inc.id, "forum": inc.forum, "thread_url": inc.thread_url,
                "shared_fingerprints": n})])
    return events


def record(db: sqlite3.Connection, post: Post, alerts: Sequence[Alert],
           growth: float = notice.DEFAULT_GROWTH) -> Change | None:
    """Attach a stored post's evidence to its thread's incident (call inside the post's
    transaction). Idempotent: the same post stored twice changes nothing."""
    ev = from_post(post, alerts)
    old_row = db.execute("SELECT doc, incident_id FROM incident_evidence WHERE forum=? AND"
                         " post_id=?", (post.forum, post.post_id)).fetchone()
    if ev is None and old_row is None:
        return None
    now = utcnow_iso()
    row = db.execute("SELECT incident_id FROM incident_threads WHERE forum=? AND thread_url=?",
                     (post.forum, post.thread_url)).fetchone()
    created = False
    inc = _load(db, row[0]) if row is not None else None
    if inc is None:
        if ev is None:
            return None
        inc = lifecycle.new_incident(incident_id(post.forum, post.thread_url), ev, now)
        db.execute("INSERT OR REPLACE INTO incident_threads VALUES (?,?,?)",
                   (post.forum, post.thread_url, inc.id))
        created = True
    if old_row is None:
        assert ev is not None
        events = lifecycle.add_evidence(inc, ev, 0, now, created=created)
        db.execute("INSERT INTO incident_evidence VALUES (?,?,?,?)",
                   (post.forum, post.post_id, inc.id, json.dumps(ev.to_dict())))
        if ev.live_level is not None:
            new = _add_sets(db, inc.id, ev)
            inc.nir_distinct += new
            inc.title = lifecycle.make_title(inc)
            for e in events:
                if e.kind == "evidence":
                    e.data["new_nirs"], e.data["nir_distinct"] = new, inc.nir_distinct
            events += _link(db, inc, ev.fingerprints, now)
    else:
        old = Evidence.from_dict(json.loads(old_row[0]))
        if ev is not None:
            # Arrival decisions stand: rules ignored then stay ignored; new rules face today's.
            ev.ignored = [r for r in ev.levels if r in old.ignored
                          or (r not in old.levels and r in inc.suppressed_rules)]
            if ev.to_dict() == old.to_dict():
                return None  # re-crawl or replay of the same post: nothing changes
            db.execute("UPDATE incident_evidence SET doc=? WHERE forum=? AND post_id=?",
                       (json.dumps(ev.to_dict()), post.forum, post.post_id))
            if ev.live_level is not None:
                _add_sets(db, inc.id, ev)
        else:  # an edit removed every detection: the post no longer counts
            db.execute("DELETE FROM incident_evidence WHERE forum=? AND post_id=?",
                       (post.forum, post.post_id))
        events = [Event(now, "evidence-updated", data={"post_id": post.post_id,
                                                        "alerts": len(ev.levels) if ev else 0})]
        events += lifecycle.refold(inc, list(_evidence(db, inc.id)), _nir_count(db, inc.id), now)
        if ev is not None and ev.live_level is not None:
            events += _link(db, inc, ev.fingerprints, now)
    why = notice.decide(inc, events, created, growth)
    _save(db, inc)
    _log(db, inc.id, events)
    return Change(inc, events, created, why)


# -- the analyst's side ------------------------------------------------------------------
class IncidentStore:
    """Incident queries and triage over the SQLite store (its lock and transactions)."""

    def __init__(self, store: StoreHandle) -> None:
        self.store = store

    def _read(self):
        return self.store._lock

    def resolve(self, ref: str) -> str:
        """Full id of ``ref`` (an id or a unique prefix); IncidentNotFound otherwise."""
        ref = ref.strip().lower()
        if len(ref) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in ref):
            raise IncidentNotFound(f"incident id {ref!r} is not valid: give the id or a unique "
                                   f"prefix of at least {MIN_PREFIX} hex characters "
                                   "(`darkwatch incidents list` shows them)")
        with self._read():
            rows = self.store._db.execute(
                "SELECT id FROM incidents WHERE id >= ? AND id < ? LIMIT 3",
                (ref, ref + "g")).fetchall()
        if not rows:
            raise IncidentNotFound(f"no incident {ref!r} (`darkwatch incidents list` shows them)")
        if len(rows) > 1:
            raise IncidentNotFound(f"incident id {ref!r} is ambiguous ({', '.join(r[0] for r in rows)}"
                                   "...): give more characters")
        return rows[0][0]

    def get(self, inc_id: str) -> Incident | None:
        with self._read():
            return _load(self.store._db, inc_id)

    def list(self, status: str | None = None, min_level: str | None = None,
             since: str | None = None, forum: str | None = None, merged: bool = False,
             limit: int | None = None) -> list[Incident]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if min_level:
            where.append("level_rank >= ?")
            args.append(level_rank(min_level))
        if since:
            where.append("COALESCE(last_seen, updated) >= ?")
            args.append(since)
        if forum:
            where.append("forum = ?")
            args.append(forum)
        if not merged:
            where.append("json_extract(doc, '$.merged_into') IS NULL")
        sql = "SELECT doc, status FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY level_rank DESC, nir_distinct DESC, COALESCE(last_seen, updated) DESC, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._read():
            rows = self.store._db.execute(sql, args).fetchall()
        out = []
        for doc, st in rows:
            inc = Incident.from_dict(json.loads(doc))
            inc.status = st
            out.append(inc)
        return out

    def fingerprints(self, inc_id: str) -> list[str]:
        with self._read():
            return [r[0] for r in self.store._db.execute(
                "SELECT fingerprint FROM incident_fingerprints WHERE incident_id=? ORDER BY 1",
                (inc_id,))]

    def related(self, inc_id: str, limit: int = MAX_RELATED) -> list[dict[str, Any]]:
        """Incidents sharing NIR fingerprints or an author handle, most shared numbers first."""
        db = self.store._db
        with self._read():
            fps = dict(db.execute(
                "SELECT b.incident_id, COUNT(*) FROM incident_fingerprints a JOIN"
                " incident_fingerprints b ON b.fingerprint = a.fingerprint"
                " WHERE a.incident_id = ? AND b.incident_id != ? GROUP BY b.incident_id",
                (inc_id, inc_id)).fetchall())
            authors: dict[str, list[str]] = {}
            for other, author in db.execute(
                    "SELECT b.incident_id, b.author FROM incident_authors a JOIN incident_authors b"
                    " ON b.author = a.author WHERE a.incident_id = ? AND b.incident_id != ?"
                    " ORDER BY b.author", (inc_id, inc_id)):
                authors.setdefault(other, []).append(author)
            ids = sorted(set(fps) | set(authors),
                         key=lambda i: (-fps.get(i, 0), -len(authors.get(i, [])), i))[:limit]
            out = []
            for other in ids:
                row = db.execute("SELECT forum, thread_url, status, level_rank, doc FROM incidents"
                                 " WHERE id=?", (other,)).fetchone()
                if row is None:
                    continue
                out.append({"id": other, "forum": row[0], "thread_url": row[1], "status": row[2],
                            "level": LEVELS[row[3]], "title": json.loads(row[4]).get("title", ""),
                            "shared_fingerprints": fps.get(other, 0),
                            "shared_authors": authors.get(other, [])})
        return out

    def history(self, inc_id: str) -> list[Event]:
        with self._read():
            rows = self.store._db.execute(
                "SELECT at, kind, by, note, data FROM incident_events WHERE incident_id=?"
                " ORDER BY seq", (inc_id,)).fetchall()
        return [Event(at, kind, by, note, json.loads(data)) for at, kind, by, note, data in rows]

    def evidence(self, inc_id: str) -> list[Evidence]:
        with self._read():
            evs = list(_evidence(self.store._db, inc_id))
        return sorted(evs, key=lambda e: (e.published or "", e.post_id))

    def set_status(self, inc_id: str, status: str, by: str, note: str = "") -> Incident:
        with self.store._tx() as db:
            inc = _load(db, inc_id)
            if inc is None:
                raise IncidentNotFound(f"no incident {inc_id!r}")
            event = lifecycle.set_status(inc, status, by, note, utcnow_iso())
            _save(db, inc)
            _log(db, inc.id, [event])
        return inc

    def merge(self, keep_id: str, gone_id: str, by: str, note: str = "") -> Incident:
        """Join ``gone`` into ``keep``: its threads, evidence and sets move; ``gone`` stays as a
        closed pointer so its id still resolves."""
        if keep_id == gone_id:
            raise ValueError("cannot merge an incident with itself")
        now = utcnow_iso()
        with self.store._tx() as db:
            keep, gone = _load(db, keep_id), _load(db, gone_id)
            if keep is None or gone is None:
                raise IncidentNotFound(f"no incident {keep_id if keep is None else gone_id!r}")
            if gone.merged_into:
                raise ValueError(f"incident {gone_id} was already merged into {gone.merged_into}")
            if keep.merged_into:
                raise ValueError(f"incident {keep_id} was merged into {keep.merged_into}: "
                                 "merge into that one")
            for table in ("incident_threads", "incident_evidence"):
                db.execute(f"UPDATE {table} SET incident_id=? WHERE incident_id=?", (keep_id, gone_id))
            for table in ("incident_fingerprints", "incident_authors"):
                db.execute(f"UPDATE OR IGNORE {table} SET incident_id=? WHERE incident_id=?",
                           (keep_id, gone_id))
                db.execute(f"DELETE FROM {table} WHERE incident_id=?", (gone_id,))
            keep.merged_from.append(gone_id)
            keep.suppressed_rules = sorted(set(keep.suppressed_rules) | set(gone.suppressed_rules))
            events = [Event(now, "merged", by=by, note=note, data={
                "from": gone_id, "forum": gone.forum, "thread_url": gone.thread_url})]
            events += lifecycle.refold(keep, list(_evidence(db, keep_id)), _nir_count(db, keep_id), now)
            gone.merged_into = keep_id
            gone_event = lifecycle.set_status(gone, "closed", by, note or f"merged into {keep_id}", now)
            gone_event.data["merged_into"] = keep_id
            # Other incidents pointing at ``gone`` now relate to ``keep`` through the moved sets.
            _save(db, keep)
            _save(db, gone)
            _log(db, keep_id, events)
            _log(db, gone_id, [gone_event])
        return keep

    def attach_dump(self, inc_id: str, batches: Iterable[Sequence[str]], scope: dict[str, Any],
                    by: str) -> tuple[Incident, int, list[Event]]:
        """Add a dump's NIR fingerprints (``batches`` of distinct keyed fingerprints) and its scope
        to an incident, in one transaction: the incident's NIR count grows by the new ones,
        incidents sharing them are linked (both ways), and a ``dump`` event keeps the scope.
        Returns (incident, fingerprints new to it, events)."""
        now = utcnow_iso()
        with self.store._tx() as db:
            inc = _load(db, inc_id)
            if inc is None:
                raise IncidentNotFound(f"no incident {inc_id!r}")
            if inc.merged_into:
                raise IncidentNotFound(f"incident {inc_id} was merged into {inc.merged_into}: "
                                       "attach the dump to that one")
            new = total = 0
            shared: dict[str, int] = {}
            for fps in batches:
                total += len(fps)
                _shared(db, inc_id, fps, shared)
                cur = db.executemany("INSERT OR IGNORE INTO incident_fingerprints VALUES (?, ?)",
                                     [(inc_id, fp) for fp in fps])
                new += max(cur.rowcount, 0)
            event = Event(now, "dump", by=by, data={**scope, "fingerprints": total,
                                                    "fingerprints_new": new})
            events = [event, *_link(db, inc, [], now, shared)]
            events += lifecycle.refold(inc, list(_evidence(db, inc_id)), _nir_count(db, inc_id), now)
            _save(db, inc)
            _log(db, inc_id, events)
        return inc, new, events

    def counts(self) -> dict[str, dict[str, int]]:
        """Open incidents per level and all incidents per status (summaries)."""
        with self._read():
            rows = self.store._db.execute(
                "SELECT status, level_rank, COUNT(*) FROM incidents"
                " WHERE json_extract(doc, '$.merged_into') IS NULL GROUP BY status, level_rank"
            ).fetchall()
        by_level: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for st, rank, n in rows:
            by_status[st] = by_status.get(st, 0) + n
            by_level[LEVELS[rank]] = by_level.get(LEVELS[rank], 0) + n
        return {"level": by_level, "status": by_status}
