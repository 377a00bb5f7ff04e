"""Salvage the readable rows of a damaged store into a new file, and online backups.

Repair never writes to the damaged file: rows are read by rowid ranges on a read-only
connection, a range that hits a damaged page is split until the damaged rows are isolated,
and everything readable is inserted into a fresh store. The operator swaps the files.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

TABLES = ("posts", "alerts", "threads", "runs")
CHUNK = 4096


def open_ro(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=10)


@dataclass
class Salvage:
    copied: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)  # row ids that could not be read
    rescan: int = 0  # posts removed so that the next crawl re-runs the rules on them


def _max_rowid(src: sqlite3.Connection, table: str) -> int:
    try:
        return int(src.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0)
    except sqlite3.DatabaseError:
        # Rightmost page damaged: bound the search by the file's size instead.
        pages = src.execute("PRAGMA page_count").fetchone()[0]
        return int(pages) * 256


def _copy_range(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, lo: int, hi: int,
                out: Salvage) -> None:
    try:
        rows = src.execute(f"SELECT * FROM {table} WHERE rowid BETWEEN ? AND ?", (lo, hi)).fetchall()
    except sqlite3.DatabaseError:
        if lo == hi:
            out.unreadable[table] = out.unreadable.get(table, 0) + 1
            return
        mid = (lo + hi) // 2
        _copy_range(src, dst, table, lo, mid, out)
        _copy_range(src, dst, table, mid + 1, hi, out)
        return
    if rows:
        marks = ",".join("?" * len(rows[0]))
        dst.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
        out.copied[table] = out.copied.get(table, 0) + len(rows)


def _forget_for_rescan(dst: sqlite3.Connection) -> int:
    """Lost rows must come back: a post without its thread state or alerts would stay lost.

    Clearing thread states makes the next crawl read every thread (stored posts are found
    unchanged); a post with matches but no alert left is removed so that it is found new and
    its alerts are raised again.
    """
    dst.execute("DELETE FROM threads")
    cur = dst.execute(
        "DELETE FROM posts WHERE matches != '[]' AND NOT EXISTS (SELECT 1 FROM alerts a"
        " WHERE a.forum = posts.forum AND json_extract(a.doc, '$.post_id') = posts.post_id)")
    return cur.rowcount


def salvage(damaged: str, new_path: str, progress: Callable[[str], None] = lambda s: None) -> Salvage:
    """Copy every readable row of ``damaged`` into a new store at ``new_path``."""
    from crawler.incidents.sqlite import TABLES as INCIDENT_TABLES
    from crawler.sinks.sqlite import SqliteStore

    src = open_ro(damaged)
    try:
        src.execute("SELECT name FROM sqlite_master").fetchall()  # the schema must be readable
        SqliteStore(new_path).close()  # the current schema, private file mode
        dst = sqlite3.connect(new_path, isolation_level=None)
        try:
            out = Salvage()
            dst.execute("BEGIN")
            present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for table in TABLES + tuple(t for t in INCIDENT_TABLES if t in present):
                out.copied.setdefault(table, 0)
                top = _max_rowid(src, table)
                for lo in range(1, top + 1, CHUNK):
                    _copy_range(src, dst, table, lo, min(lo + CHUNK - 1, top), out)
                progress(f"{table}: {out.copied[table]} row(s) recovered"
                         + (f", {out.unreadable[table]} unreadable" if out.unreadable.get(table) else ""))
            if out.unreadable.get("posts") or out.unreadable.get("alerts"):
                out.rescan = _forget_for_rescan(dst)
                progress("thread states cleared: the next crawl reads every thread again and "
                         f"re-detects the alerts of {out.rescan} post(s) whose alerts may be lost")
            dst.execute("COMMIT")
        finally:
            dst.close()
    finally:
        src.close()
    return out


def backup(src_path: str, dest: str, progress: Callable[[int, int], None] | None = None) -> None:
    """SQLite's online backup API: consistent while a crawl writes; written to a temp name first."""
    tmp = f"{dest}.partial-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds crawled text
    os.close(fd)
    try:
        src = open_ro(src_path)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst, pages=1024,
                       progress=(lambda _s, remaining, total: progress(total - remaining, total))
                       if progress else None)
        finally:
            dst.close()
            src.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.link(tmp, dest)  # never replaces a file that appeared meanwhile
        os.unlink(tmp)
    except BaseException:
        for leftover in (tmp, f"{tmp}-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise
