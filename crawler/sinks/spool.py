"""A durable, append-only, write-ahead spool of bulk actions.

Why write-ahead: the crawl hands posts one at a time and the sink batches them; a document is
on disk (fsync'd) before ``write_posts`` returns, so neither Elasticsearch being down nor the
crawler being killed loses it. Layout under ``spool_dir``:

- ``seg-<seq>.jsonl``: one bulk action per line, ``<meta JSON>\t<body JSON>``: the meta
  (``_op_type``, ``_index``, ``_id``) is parsed on replay, the body is sent as stored (JSON
  never contains a raw tab, so the split is unambiguous and the body is serialised once).
  Written in order; the highest-numbered segment is the open one.
- ``dead-letter.jsonl``: actions Elasticsearch rejected for good (mapping conflict, too
  large), with the reason: kept for an operator, never retried automatically.
- ``.writers.lock``: a crawl's sink holds a shared ``flock`` on it from its first append to
  its close; a command that wants to replay while no crawl writes (``alerts ack``) takes it
  exclusively without waiting (:meth:`Spool.exclusive`), else leaves the spool to the crawl.

A segment is deleted only when every action in it was acknowledged or dead-lettered; a
partly-sent segment is atomically rewritten with what is left, so replays resume in order.
Replays are idempotent because every action carries a deterministic ``_id``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from crawler.model import utcnow_iso

logger = logging.getLogger(__name__)

_SEG = re.compile(r"^seg-(\d{12})\.jsonl$")
DEAD_LETTER = "dead-letter.jsonl"
MEM_LIMIT = 64 * 1024 * 1024  # bytes of spooled records also kept in memory for sending


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Record(NamedTuple):
    """One bulk action: ``meta`` has ``_op_type``, ``_index``, ``_id``; ``body`` is JSON bytes."""

    meta: dict[str, Any]
    body: bytes

    def line(self) -> bytes:
        m = self.meta
        head = (f'{{"_op_type":{_q(m["_op_type"])},"_index":{_q(m["_index"])},"_id":{_q(m["_id"])}}}'
                if len(m) == 3 else json.dumps(m, separators=(",", ":")))
        return head.encode("utf-8", "surrogatepass") + b"\t" + self.body + b"\n"

    def decoded(self) -> dict[str, Any]:
        return {**self.meta, "body": json.loads(self.body)}


_q = json.encoder.encode_basestring_ascii


_fast_dumps: Callable[[Any], bytes] | None
try:  # orjson (the Elasticsearch client's optional fast serializer) when installed: ~5x faster
    from orjson import dumps as _fast_dumps
except ImportError:  # pragma: no cover
    _fast_dumps = None


def encode(meta: dict[str, Any], body: Any) -> Record:
    if _fast_dumps is not None:
        try:
            return Record(meta, _fast_dumps(body))
        except TypeError:
            pass  # lone surrogates or exotic types: the stdlib encoder copes
    return Record(meta, json.dumps(body, ensure_ascii=False, separators=(",", ":"))
                  .encode("utf-8", "surrogatepass"))


@dataclass
class SpoolStatus:
    directory: str
    segments: int
    pending: int
    bytes: int
    dead_letters: int
    oldest: str | None


class Spool:
    """Thread-safe; one writer process at a time (the crawl lock serialises runs)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.RLock()
        self._fh: Any = None
        self._open_seq: int | None = None
        # Records of the segments this process wrote, so a flush does not read back what it
        # just fsync'd; bounded (older segments are read from disk).
        self._mem: dict[str, list[Record]] = {}
        self._mem_bytes = 0
        self._writer_fd: int | None = None

    def _lock_fd(self) -> int:
        return os.open(self.dir / ".writers.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def _hold_writer(self) -> None:
        if self._writer_fd is None:
            fd = self._lock_fd()
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._writer_fd = fd

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """``True`` inside when no other process is writing to this spool (and none starts)."""
        fd = self._lock_fd()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                alone = True
            except BlockingIOError:
                alone = False
            yield alone
        finally:
            os.close(fd)

    def count_op(self, op_type: str) -> int:
        """Spooled actions of one ``_op_type`` (e.g. queued triage status changes)."""
        needle = f'"_op_type":{_q(op_type)}'.encode()
        n = 0
        for _, p in self._segments():
            with contextlib.suppress(FileNotFoundError), open(p, "rb") as fh:
                n += sum(1 for line in fh if line.startswith(b"{" + needle))
        return n

    # -- writing -------------------------------------------------------------------------
    def _segments(self) -> list[tuple[int, Path]]:
        out = []
        for p in self.dir.iterdir():
            m = _SEG.match(p.name)
            if m:
                out.append((int(m.group(1)), p))
        return sorted(out)

    def append(self, records: Iterable[Record]) -> int:
        """Write records to the open segment and fsync; returns how many were written."""
        records = list(records)
        lines = [r.line() for r in records]
        if not lines:
            return 0
        data = b"".join(lines)
        with self._lock:
            if self._fh is None:
                self._hold_writer()
                segs = self._segments()
                self._open_seq = (segs[-1][0] + 1) if segs else 1
                path = self.dir / f"seg-{self._open_seq:012d}.jsonl"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                self._fh = os.fdopen(fd, "ab", buffering=0)
                _fsync_dir(self.dir)
                self._mem[path.name] = []
            self._fh.write(data)
            os.fsync(self._fh.fileno())
            mem = self._mem.get(f"seg-{self._open_seq:012d}.jsonl")
            if mem is not None:
                mem.extend(records)
                self._mem_bytes += sum(len(r.body) for r in records)
                while self._mem_bytes > MEM_LIMIT and len(self._mem) > 1:
                    oldest = next(iter(self._mem))
                    self._mem_bytes -= sum(len(r.body) for r in self._mem.pop(oldest))
        return len(lines)

    def append_segment(self, records: Iterable[Record]) -> Path:
        """Write ``records`` as a new, already sealed segment after every existing one.

        For another process than the crawl's writer (``darkwatch alerts ack`` while
        Elasticsearch is down): the file appears complete (written aside, fsync'd, then linked
        in; a link never replaces a segment another process numbered the same)."""
        data = b"".join(r.line() for r in records)
        tmp = self.dir / f".seg-{os.getpid()}-{threading.get_ident()}.tmp"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            with self._lock:
                for _ in range(1000):
                    segs = self._segments()
                    seq = max([segs[-1][0] if segs else 0, self._open_seq or 0]) + 1
                    path = self.dir / f"seg-{seq:012d}.jsonl"
                    try:
                        os.link(tmp, path)
                    except FileExistsError:
                        continue  # another process took this number meanwhile
                    _fsync_dir(self.dir)
                    return path
            raise OSError(f"spool {self.dir}: could not number a new segment")
        finally:
            tmp.unlink(missing_ok=True)

    def seal(self) -> None:
        """Close the open segment: the next append starts a new one."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
                self._open_seq = None

    def close(self) -> None:
        """Seal, and let other processes replay again (the writer's shared lock is released)."""
        with self._lock:
            self.seal()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None

    # -- reading / acknowledging -----------------------------------------------------------
    def sealed_segments(self) -> list[Path]:
        with self._lock:
            return [p for seq, p in self._segments() if seq != self._open_seq]

    def read(self, path: Path) -> list[Record]:
        """Records of a segment; a torn last line (crash mid-append, never acknowledged) is skipped."""
        with self._lock:
            mem = self._mem.get(path.name)
            if mem is not None and path.name != f"seg-{self._open_seq or 0:012d}.jsonl":
                return list(mem)
        out = []
        with open(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                if not raw.endswith(b"\n"):
                    logger.warning("spool %s:%d: incomplete last line ignored (crash while appending)",
                                   path, n)
                    break
                meta, sep, body = raw[:-1].partition(b"\t")
                try:
                    if not sep:
                        raise ValueError("no tab")
                    out.append(Record(json.loads(meta), body))
                except ValueError:
                    logger.error("spool %s:%d: unreadable line moved to the dead letters", path, n)
                    self_dead = path.parent / DEAD_LETTER
                    _append_line(self_dead, {"at": utcnow_iso(), "reason": "unreadable spool line",
                                             "segment": path.name, "line": n,
                                             "text": raw.decode("utf-8", "replace")})
        return out

    def _forget(self, path: Path) -> None:
        recs = self._mem.pop(path.name, None)
        if recs:
            self._mem_bytes -= sum(len(r.body) for r in recs)

    def done(self, path: Path) -> None:
        with self._lock:
            self._forget(path)
            path.unlink(missing_ok=True)
            _fsync_dir(self.dir)

    def rewrite(self, path: Path, remaining: list[Record]) -> None:
        """Atomically replace a segment by the actions still to send (same name keeps order)."""
        if not remaining:
            self.done(path)
            return
        with self._lock:
            self._forget(path)
        tmp = path.with_suffix(".tmp")
        # 0600 like the segments it replaces (open() would leave the mode to the umask).
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            for r in remaining:
                fh.write(r.line())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.dir)

    def dead_letter(self, record: Record, status: int | None, reason: str) -> None:
        _append_line(self.dir / DEAD_LETTER, {
            "at": utcnow_iso(), "index": record.meta.get("_index"), "id": record.meta.get("_id"),
            "status": status, "reason": reason, "action": record.decoded()})

    def iter_dead_letters(self) -> Iterator[dict[str, Any]]:
        path = self.dir / DEAD_LETTER
        if not path.exists():
            return
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def status(self) -> SpoolStatus:
        with self._lock:
            segs = self._segments()
            pending = size = 0
            for _, p in segs:
                size += p.stat().st_size
                with open(p, "rb") as fh:
                    pending += sum(1 for line in fh if line.endswith(b"\n"))
            oldest = None
            if segs:
                from datetime import UTC, datetime

                mtime = segs[0][1].stat().st_mtime
                oldest = datetime.fromtimestamp(mtime, UTC).replace(microsecond=0).isoformat()
            return SpoolStatus(str(self.dir), len(segs), pending, size,
                               sum(1 for _ in self.iter_dead_letters()), oldest)


def _append_line(path: Path, record: dict[str, Any]) -> None:
    data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8", "surrogatepass")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
