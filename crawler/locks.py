"""One crawl per forum at a time, across processes (cron overlap).

``fcntl.flock`` locks die with their process, so a run killed with SIGKILL never leaves a
lock that blocks the next one: a stale lock file is simply taken over. The file records
who holds it, for the log line of the run that skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

from crawler.model import utcnow_iso


class ForumLock:
    def __init__(self, directory: str | os.PathLike[str], forum: str) -> None:
        self.path = Path(directory) / f"{forum}.lock"
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "since": utcnow_iso()}).encode())
        self.fd = fd
        return True

    def holder(self) -> str:
        """Who holds the lock, for humans ("pid 123 since ...")."""
        try:
            info = json.loads(self.path.read_text() or "{}")
            return f"pid {info.get('pid', '?')} since {info.get('since', '?')}"
        except (OSError, ValueError):
            return "another process"

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
