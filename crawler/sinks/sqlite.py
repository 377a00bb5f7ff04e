"""The embedded default store: one SQLite file for posts, alerts, thread state and runs.

Stdlib ``sqlite3`` in WAL mode: one writer (the crawl) and concurrent readers (export,
triage) without a server. The file is created 0600: it holds crawled text.

Failures surface as ``StoreError`` subclasses with one actionable line: a full disk or an
I/O error is ``StoreWriteFailed``, a corrupt file ``StoreDamaged`` (never "nothing new").
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from crawler.incidents import sqlite as incidents_sql
from crawler.model import Alert, Post, utcnow_iso
from crawler.sinks.base import (
    ALERT_STATUSES,
    Novelty,
    StoreDamaged,
    StoreError,
    StoreUnavailable,
    StoreWriteFailed,
    ThreadState,
)
from crawler.vocabulary import check_level

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    forum TEXT NOT NULL,
    post_id TEXT NOT NULL,
    thread_url TEXT NOT NULL,
    thread_title TEXT NOT NULL,
    author TEXT NOT NULL,
    published TEXT,
    text TEXT NOT NULL,
    quoted_text TEXT NOT NULL,
    url TEXT NOT NULL,
    crawled_at TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    edited INTEGER NOT NULL DEFAULT 0,
    matches TEXT NOT NULL DEFAULT '[]',
    first_seen TEXT NOT NULL,
    PRIMARY KEY (forum, post_id)
);
CREATE INDEX IF NOT EXISTS posts_crawled ON posts (crawled_at);
CREATE TABLE IF NOT EXISTS threads (
    forum TEXT NOT NULL,
    thread_url TEXT NOT NULL,
    marker TEXT NOT NULL,
    last_page_url TEXT NOT NULL,
    last_post_id TEXT,
    last_post_time TEXT,
    updated_at TEXT,
    PRIMARY KEY (forum, thread_url)
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    level_rank INTEGER NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    forum TEXT NOT NULL,
    doc TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts (created);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forum TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT,
    stats TEXT
);
"""

_POST_COLS = (
    "forum", "post_id", "thread_url", "thread_title", "author", "published", "text",
    "quoted_text", "url", "crawled_at", "content_sha256", "edited", "matches",
)


# Primary SQLite result codes (``sqlite_errorcode & 0xff``).
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_CANNOT_WRITE = {8, 10, 13, 14}  # SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN


def damaged_message(path: str, why: object) -> str:
    return (f"store {path} is damaged ({why}): run `darkwatch store check`, then "
            "`darkwatch store repair` or restore a backup")


def translate_error(path: str, exc: BaseException) -> StoreError | None:
    """The operator's view of a storage exception, or None for a bug-shaped one."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError):
        return StoreWriteFailed(f"store {path}: write failed ({exc.strerror or exc})")
    if isinstance(exc, sqlite3.DatabaseError):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in _CORRUPT:
            return StoreDamaged(damaged_message(path, exc))
        if code in _CANNOT_WRITE:
            return StoreWriteFailed(f"store {path}: write failed ({exc})")
    return None


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        err = translate_error(path, exc)
        if err is None:
            raise
        raise err from exc


def _private_file(path: str) -> None:
    if path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        # A store that already exists (restored backup, made by the sqlite3 shell) keeps its
        # mode on open: the evidence copy holds clear identifiers, so make it private again.
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SqliteStore:
    """Implements ``Sink``, ``StateStore`` and ``AlertIndex``."""

    #: As a sink it is the state store itself: ``store_post`` already wrote everything.
    is_state_store = True

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.incident_growth = 10.0  # alerts.incident_growth: nir_distinct factor worth a notice
        try:
            _private_file(path)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreUnavailable(f"cannot open the store {path}: {why} (store.sqlite must be "
                                   "a writable file path)") from None
        try:
            with _translated(path):
                self._db.execute("PRAGMA busy_timeout=10000")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._db.executescript(incidents_sql.SCHEMA)
        except StoreWriteFailed as exc:  # read-only file or directory, full disk at creation
            self._db.close()
            raise StoreUnavailable(f"cannot open the store {path}: {exc.__cause__} "
                                   "(store.sqlite must be a writable file path)") from None
        except BaseException:
            self._db.close()
            raise

    def _rollback(self) -> None:
        # SQLite rolls back by itself on SQLITE_FULL/IOERR: a second ROLLBACK would raise
        # "no transaction is active" and hide the real error.
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; storage failures come out as ``StoreError``."""
        with self._lock, _translated(self.path):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    # -- StateStore -------------------------------------------------------------------
    def classify(self, post: Post) -> Novelty:
        with self._lock, _translated(self.path):
            row = self._db.execute(
                "SELECT content_sha256 FROM posts WHERE forum=? AND post_id=?", post.key
            ).fetchone()
        if row is None:
            return "new"
        return "unchanged" if row[0] == post.content_sha256 else "edited"

    def get_thread(self, forum: str, thread_url: str) -> ThreadState | None:
        with self._lock, _translated(self.path):
            row = self._db.execute(
                "SELECT forum, thread_url, marker, last_page_url, last_post_id, last_post_time,"
                " updated_at FROM threads WHERE forum=? AND thread_url=?",
                (forum, thread_url),
            ).fetchone()
        return ThreadState(*row) if row else None

    def put_thread(self, state: ThreadState) -> None:
        state.updated_at = utcnow_iso()
        with self._tx():
            self._db.execute(
                "INSERT INTO threads VALUES (?,?,?,?,?,?,?) ON CONFLICT(forum, thread_url) DO UPDATE"
                " SET marker=excluded.marker, last_page_url=excluded.last_page_url,"
                " last_post_id=excluded.last_post_id, last_post_time=excluded.last_post_time,"
                " updated_at=excluded.updated_at",
                tuple(getattr(state, f.name) for f in fields(ThreadState)),
            )

    def start_run(self, forum: str) -> int:
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO runs (forum, started) VALUES (?, ?)", (forum, utcnow_iso())
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE runs SET finished=?, status=?, stats=? WHERE id=?",
                (utcnow_iso(), status, json.dumps(stats, default=str), run_id),
            )

    def last_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, forum, started, finished, status, stats FROM runs"
                " ORDER BY id DESC LIMIT ?", (limit,),
            ).fetchall()
        keys = ("id", "forum", "started", "finished", "status", "stats")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def iter_posts(self, forum: str | None = None, since: str | None = None) -> Iterator[Post]:
        sql = f"SELECT {', '.join(_POST_COLS)} FROM posts"
        where, args = [], []
        if forum:
            where.append("forum = ?")
            args.append(forum)
        if since:
            # Posts published since, or (undated) crawled since.
            where.append("COALESCE(published, crawled_at) >= ?")
            args.append(since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY forum, COALESCE(published, crawled_at), CAST(post_id AS INTEGER), post_id"
        # A separate connection: export can run while a crawl writes.
        db = sqlite3.connect(self.path) if self.path != ":memory:" else self._db
        try:
            with _translated(self.path):
                for row in db.execute(sql, args):
                    d = dict(zip(_POST_COLS, row, strict=True))
                    d["edited"] = bool(d["edited"])
                    d["matches"] = json.loads(d["matches"])
                    yield Post(**d)
        finally:
            if db is not self._db:
                db.close()

    def count_posts(self, forum: str | None = None) -> int:
        with self._lock, _translated(self.path):
            if forum:
                return int(self._db.execute(
                    "SELECT COUNT(*) FROM posts WHERE forum=?", (forum,)
                ).fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])

    # -- Sink ---------------------------------------------------------------------------
    def store_post(self, post: Post, alerts: Sequence[Alert] = ()) -> incidents_sql.Change | None:
        """The post row, its alerts and its incident's evidence in one transaction.

        Novelty is decided by the post row: a row committed without its alerts would make the
        next crawl see the post as unchanged and its alerts would be lost for good. Returns what
        the post did to its thread's incident (None: nothing).
        """
        with self._tx():
            self._upsert_posts([post])
            self._upsert_alerts(alerts)
            return incidents_sql.record(self._db, post, alerts, self.incident_growth)

    @property
    def incidents(self) -> incidents_sql.IncidentStore:
        """Incident queries and triage (``darkwatch incidents``)."""
        return incidents_sql.IncidentStore(self)

    def write_posts(self, posts: Sequence[Post]) -> None:
        with self._tx():
            self._upsert_posts(posts)

    def write_alerts(self, alerts: Sequence[Alert]) -> None:
        with self._tx():
            self._upsert_alerts(alerts)

    def write_incident(self, incident: Any, related: Any = None, with_status: bool = False) -> None:
        """No-op: ``store_post`` already recorded the incident in the post's transaction."""

    def write_raw(self, posts: Sequence[Post]) -> None:
        """No-op: the local store keeps the clear text already (there is no raw index)."""

    def incident_statuses(self) -> dict[str, dict[str, Any]]:
        """{}: SQLite is where statuses are set; there is nothing to adopt from elsewhere."""
        return {}

    def pending(self) -> int:
        """0: nothing is buffered."""
        return 0

    def _upsert_posts(self, posts: Sequence[Post]) -> None:
        now = utcnow_iso()
        rows = [
            (*(getattr(p, c) if c not in ("edited", "matches") else None for c in _POST_COLS[:11]),
             int(p.edited), json.dumps(p.matches), now)
            for p in posts
        ]
        self._db.executemany(
            f"INSERT INTO posts ({', '.join(_POST_COLS)}, first_seen) VALUES"
            f" ({', '.join('?' * (len(_POST_COLS) + 1))})"
            " ON CONFLICT(forum, post_id) DO UPDATE SET"
            " thread_url=excluded.thread_url, thread_title=excluded.thread_title,"
            " author=excluded.author, published=excluded.published, text=excluded.text,"
            " quoted_text=excluded.quoted_text, url=excluded.url,"
            " crawled_at=excluded.crawled_at, content_sha256=excluded.content_sha256,"
            " edited=MAX(posts.edited, excluded.edited), matches=excluded.matches",
            rows,
        )

    def _upsert_alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            # Re-detection must not reopen an alert an analyst already triaged.
            self._db.execute(
                "INSERT INTO alerts (id, level_rank, status, created, forum, doc)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET doc=json_set("
                " excluded.doc, '$.status', alerts.status, '$.created', alerts.created)",
                (a.id, _rank(a.level), a.status, a.created, a.forum, json.dumps(a.to_dict())),
            )

    def flush(self) -> None:
        """Writes are committed per batch; nothing is buffered."""

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- AlertIndex --------------------------------------------------------------------
    def list_alerts(
        self,
        status: str | None = None,
        min_level: str | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        where: list[str] = []
        args: list[str | int] = []
        if status:
            where.append("status = ?")
            args.append(status)
        if min_level:
            where.append("level_rank >= ?")
            args.append(_rank(min_level))
        if since:
            where.append("created >= ?")
            args.append(since)
        sql = "SELECT doc, status FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, level_rank DESC LIMIT ?"
        args.append(limit)
        with self._lock, _translated(self.path):
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for doc, st in rows:
            d = json.loads(doc)
            d["status"] = st
            out.append(Alert(**d))
        return out

    def set_alert_status(self, alert_id: str, status: str, note: str | None = None) -> bool:
        if status not in ALERT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALERT_STATUSES)}")
        with self._tx():
            row = self._db.execute("SELECT notes FROM alerts WHERE id=?", (alert_id,)).fetchone()
            if row is None:
                return False
            notes = json.loads(row[0])
            if note:
                notes.append({"at": utcnow_iso(), "status": status, "note": note})
            self._db.execute(
                "UPDATE alerts SET status=?, notes=?, doc=json_set(doc, '$.status', ?) WHERE id=?",
                (status, json.dumps(notes), status, alert_id),
            )
        return True


def _rank(level: str) -> int:
    return check_level(level)
