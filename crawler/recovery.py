"""Recovery journal: posts fetched but not stored because the store failed mid-crawl.

A full disk or an I/O error must not cost the posts already in memory (a leak post may be
deleted by moderators before the next crawl). They are appended with their alerts to a JSONL
journal beside the store or, when the store's disk is the one that is full, to a private
directory under the system temp dir; the next crawl stores them before it fetches anything.

Appends and replays take ``flock`` on the journal, so a replay never deletes a line that a
concurrent crawl is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from crawler.model import Alert, Post

logger = logging.getLogger(__name__)

SUFFIX = ".recovery.jsonl"
_POST_FIELDS = tuple(f.name for f in fields(Post) if f.name != "alerts")


def journal_paths(store_path: str) -> list[Path]:
    """Beside the store first; the temp-dir fallback is keyed by the store's absolute path."""
    store = Path(os.path.abspath(store_path))
    key = hashlib.sha256(str(store).encode()).hexdigest()[:16]
    fallback = Path(tempfile.gettempdir()) / f"darkwatch-recovery-{os.getuid()}" / f"{key}{SUFFIX}"
    return [store.with_name(store.name + SUFFIX), fallback]


def encode(post: Post, alerts: Sequence[Alert]) -> bytes:
    record = {"post": {k: getattr(post, k) for k in _POST_FIELDS},
              "alerts": [a.to_dict() for a in alerts]}
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def decode(line: bytes) -> tuple[Post, list[Alert]]:
    record = json.loads(line)
    alerts = [Alert(**a) for a in record["alerts"]]
    post = Post(**record["post"])
    post.alerts = alerts
    return post, alerts


def _private_dir(path: Path) -> None:
    # /tmp is shared: refuse a directory (or symlink) another user planted there.
    path.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(errno.EPERM, f"{path} is not a private directory of this user")


def _append(path: Path, data: bytes) -> None:
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink == 0:
                continue  # replayed and removed while we waited: write to a fresh file
            size = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # never leave half a record behind
                    if size == 0:
                        os.unlink(path)
                raise
            return
        finally:
            os.close(fd)


class RecoveryJournal:
    """Where the posts of a failed store go; ``append`` raises OSError when no place takes it."""

    def __init__(self, store_path: str) -> None:
        self.paths = journal_paths(store_path)
        self.used: set[Path] = set()
        self.records = 0

    def append(self, post: Post, alerts: Sequence[Alert]) -> Path:
        data = encode(post, alerts)
        last: OSError | None = None
        for i, path in enumerate(self.paths):
            try:
                if i:
                    _private_dir(path.parent)
                _append(path, data)
            except OSError as exc:
                last = exc
                continue
            self.used.add(path)
            self.records += 1
            return path
        assert last is not None
        raise last


@dataclass
class Replayed:
    posts: int = 0
    alerts: int = 0
    unreadable: int = 0
    journals: list[str] = field(default_factory=list)


def pending(store_path: str) -> dict[str, int]:
    """Journal path -> records waiting (for `store check`)."""
    out = {}
    for path in journal_paths(store_path):
        with contextlib.suppress(FileNotFoundError):
            out[str(path)] = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    return out


def replay(store_path: str, apply: Callable[[Post, list[Alert]], None]) -> Replayed:
    """Apply every journaled record (idempotent upserts), then remove the journal.

    If ``apply`` raises, the journal is kept whole and the error propagates: nothing is lost.
    Lines that cannot be decoded are kept in ``<journal>.unreadable`` rather than deleted.
    """
    done = Replayed()
    for path in journal_paths(store_path):
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.warning("recovery journal %s is being written by another crawl; "
                               "it is replayed by the next one", path)
                continue
            with os.fdopen(os.dup(fd), "rb") as fh:
                lines = fh.read().splitlines()
            bad: list[bytes] = []
            for line in lines:
                if not line.strip():
                    continue
                try:
                    post, alerts = decode(line)
                except (ValueError, TypeError, KeyError):
                    bad.append(line)
                    continue
                apply(post, alerts)
                done.posts += 1
                done.alerts += len(alerts)
            if bad:
                keep = path.with_name(path.name + ".unreadable")
                with open(keep, "ab") as fh:
                    fh.write(b"\n".join(bad) + b"\n")
                done.unreadable += len(bad)
                logger.error("recovery journal %s: %d unreadable line(s) kept in %s",
                             path, len(bad), keep)
            os.unlink(path)  # under the lock: a writer waiting on it re-opens a new file
            done.journals.append(str(path))
        finally:
            os.close(fd)
    return done
