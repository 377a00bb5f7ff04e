"""Notification windows per (rule, thread), shared by every run through a small SQLite file.

Cron starts a new process per run, so the window state cannot live in memory. Each decision is
one ``BEGIN IMMEDIATE`` transaction: two overlapping runs never both notify the same window.
Alert ids already handled are remembered, so a re-crawled or edited post never notifies twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from crawler.model import Alert

Decision = Literal["send", "suppressed", "duplicate"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    rule_id TEXT NOT NULL,
    thread_url TEXT NOT NULL,
    forum TEXT NOT NULL,
    thread_title TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    level TEXT NOT NULL,
    last_sent REAL,             -- epoch seconds of the last notification for this key
    pending INTEGER NOT NULL DEFAULT 0,  -- matches held back since the last report
    pending_since REAL,
    last_alert_id TEXT,
    PRIMARY KEY (rule_id, thread_url)
);
CREATE TABLE IF NOT EXISTS seen (
    alert_id TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS digest_queue (
    alert_id TEXT PRIMARY KEY,
    queued REAL NOT NULL,
    held_back INTEGER NOT NULL,  -- suppressed matches reported along with this alert
    doc TEXT NOT NULL
);
"""

SEEN_RETENTION = 90 * 86400.0


@dataclass(slots=True)
class Pending:
    """Matches held back by throttling for one (rule, thread), not yet reported."""

    rule_id: str
    thread_url: str
    forum: str
    thread_title: str
    rule_title: str
    level: str
    count: int
    since: float


class ThrottleState:
    def __init__(self, path: str, window: float) -> None:
        self.path = path
        self.window = float(window)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per decision, still consistent
        self._db.executescript(_SCHEMA)
        self._db.execute("DELETE FROM seen WHERE at < ?", (time.time() - SEEN_RETENTION,))

    def decide(self, alert: Alert, now: float | None = None) -> tuple[Decision, int]:
        """``("send", held_back)`` opens a new window (reporting ``held_back`` earlier matches);
        ``("suppressed", 0)`` counts the alert into the open window; ``("duplicate", 0)`` an
        alert id already handled."""
        now = time.time() if now is None else now
        rule_id = str(alert.rule.get("id", ""))
        rule_title = str(alert.rule.get("title") or alert.rule.get("name") or rule_id)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO seen (alert_id, at) VALUES (?, ?)", (alert.id, now))
                if cur.rowcount == 0:
                    self._db.execute("COMMIT")
                    return "duplicate", 0
                row = self._db.execute(
                    "SELECT last_sent, pending FROM windows WHERE rule_id=? AND thread_url=?",
                    (rule_id, alert.thread_url),
                ).fetchone()
                if row and row[0] is not None and self.window > 0 and now - row[0] < self.window:
                    self._db.execute(
                        "UPDATE windows SET pending = pending + 1,"
                        " pending_since = COALESCE(pending_since, ?), last_alert_id=?,"
                        " thread_title=?, level=? WHERE rule_id=? AND thread_url=?",
                        (now, alert.id, alert.thread_title, alert.level, rule_id, alert.thread_url),
                    )
                    decision: tuple[Decision, int] = ("suppressed", 0)
                else:
                    held = int(row[1]) if row else 0
                    self._db.execute(
                        "INSERT INTO windows (rule_id, thread_url, forum, thread_title, rule_title,"
                        " level, last_sent, pending, pending_since, last_alert_id)"
                        " VALUES (?,?,?,?,?,?,?,0,NULL,?) ON CONFLICT(rule_id, thread_url) DO UPDATE"
                        " SET last_sent=excluded.last_sent, pending=0, pending_since=NULL,"
                        " last_alert_id=excluded.last_alert_id, thread_title=excluded.thread_title,"
                        " rule_title=excluded.rule_title, level=excluded.level",
                        (rule_id, alert.thread_url, alert.forum, alert.thread_title, rule_title,
                         alert.level, now, alert.id),
                    )
                    decision = ("send", held)
                self._db.execute("COMMIT")
                return decision
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def forget(self, alert_id: str) -> None:
        """Undo the ``seen`` mark of an alert (its notification could not be queued)."""
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE alert_id=?", (alert_id,))

    # -- held-back counts ----------------------------------------------------------------
    def pending(self) -> list[Pending]:
        with self._lock:
            rows = self._db.execute(
                "SELECT rule_id, thread_url, forum, thread_title, rule_title, level, pending,"
                " pending_since FROM windows WHERE pending > 0 ORDER BY pending_since"
            ).fetchall()
        return [Pending(*r) for r in rows]

    def mark_reported(self, items: list[Pending]) -> None:
        """Subtract what a digest reported (more may have arrived meanwhile)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for p in items:
                self._db.execute(
                    "UPDATE windows SET pending = MAX(pending - ?, 0),"
                    " pending_since = CASE WHEN pending - ? > 0 THEN pending_since END"
                    " WHERE rule_id=? AND thread_url=?",
                    (p.count, p.count, p.rule_id, p.thread_url),
                )
            self._db.execute("COMMIT")

    # -- digest mode: alerts waiting for the end-of-run message --------------------------
    def enqueue(self, alert: Alert, held_back: int, now: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO digest_queue (alert_id, queued, held_back, doc) VALUES (?,?,?,?)",
                (alert.id, time.time() if now is None else now, held_back, json.dumps(alert.to_dict())),
            )

    def queued(self) -> list[tuple[Alert, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc, held_back FROM digest_queue ORDER BY queued").fetchall()
        return [(Alert(**json.loads(doc)), int(held)) for doc, held in rows]

    def dequeue(self, alert_ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM digest_queue WHERE alert_id=?", [(i,) for i in alert_ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()
