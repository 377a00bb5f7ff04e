"""A dump's NIR fingerprints, gathered during ``darkwatch scan PATH --incident ID``.

The incident must learn which people a dump exposes (so incidents on other forums that share
them are linked), but a dump can hold millions of NIRs: the keyed fingerprints of its distinct
NIRs are deduplicated in a temporary SQLite file beside nothing else (memory stays bounded, and
the file holds fingerprints only, never a clear number), then streamed into the incident in
batches by :meth:`crawler.incidents.sqlite.IncidentStore.attach_dump`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator

from crawler.rules.fingerprint import fingerprint

BATCH = 50_000


class DumpFingerprints:
    """Distinct keyed fingerprints of the NIRs seen in a scan (fed canonical NIRs per window)."""

    def __init__(self, key: bytes, directory: str | None = None) -> None:
        self._key = key
        fd, self.path = tempfile.mkstemp(prefix="darkwatch-dump-", suffix=".db", dir=directory)
        os.close(fd)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE fps (fp TEXT PRIMARY KEY) WITHOUT ROWID")
        self._pending: set[str] = set()

    def add(self, canonicals: Iterable[str]) -> None:
        self._pending.update(canonicals)
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            key = self._key
            self._db.executemany("INSERT OR IGNORE INTO fps VALUES (?)",
                                 [(fingerprint(key, c),) for c in self._pending])
            self._pending.clear()

    def __len__(self) -> int:
        self._flush()
        return self._db.execute("SELECT COUNT(*) FROM fps").fetchone()[0]

    def batches(self, size: int = 5_000) -> Iterator[list[str]]:
        """The fingerprints, sorted, ``size`` at a time."""
        self._flush()
        cur = self._db.execute("SELECT fp FROM fps ORDER BY fp")
        while True:
            rows = cur.fetchmany(size)
            if not rows:
                return
            yield [r[0] for r in rows]

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def __enter__(self) -> DumpFingerprints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
