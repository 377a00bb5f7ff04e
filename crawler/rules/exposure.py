"""Exposure check: which of a data controller's keyed NIR fingerprints appear in a dump or in
the incidents darkwatch recorded, without a clear number ever leaving the controller's side.

The controller fingerprints its own patients' NIRs offline (``darkwatch fingerprint``, same key)
and hands over only those HMACs. Here each valid NIR of the dump is fingerprinted under the
same key and looked up in that set; only matching fingerprints are kept (memory is bounded by
the controller's list, not by the dump). Incidents are matched in SQL on the store's
``incident_fingerprints`` table.
"""

from __future__ import annotations

import codecs
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from crawler.dumps.sources import _DAMAGE, damage, open_sources
from crawler.rules import nirfast
from crawler.rules.fingerprint import fingerprint
from crawler.rules.scan import _ERRORS, FileStat, _sniff_encoding, iter_files

_HEX64 = re.compile(r"[0-9a-f]{64}")
READ = 1 << 20
CONTEXT = 128  # bytes kept from the previous chunk: a NIR (<= 80 bytes) and its boundary


class FingerprintFileError(ValueError):
    """A line of the controller's file is not a fingerprint."""


def read_fingerprints(lines: Iterable[str], name: str) -> set[str]:
    """The set of fingerprints of a controller's file (one per line, ``#`` comments)."""
    out: set[str] = set()
    for no, raw in enumerate(lines, 1):
        line = raw.strip().lower()
        if not line or line.startswith("#"):
            continue
        if not _HEX64.fullmatch(line):
            raise FingerprintFileError(
                f"{name}:{no}: not a fingerprint (64 hex characters, as `darkwatch fingerprint` "
                "prints them)")
        out.add(line)
    return out


@dataclass
class DumpExposure:
    files: list[dict[str, Any]] = field(default_factory=list)
    nirs: int = 0  # valid NIRs read (occurrences)
    found: dict[str, int] = field(default_factory=dict)  # controller fingerprint -> occurrences


def check_dump(paths: list[str], key: bytes, wanted: set[str],
               on_file: Callable[[dict[str, Any]], None] | None = None) -> DumpExposure:
    """Fingerprint every valid NIR under ``paths`` (archives read as streams) and keep those in
    ``wanted``."""
    res = DumpExposure()
    memo: dict[str, str | None] = {}  # canonical -> wanted fingerprint or None (bounded below)
    for path, error in iter_files(paths):
        entries = ([{"path": path, "error": error}] if error else _check_path(path, key, wanted,
                                                                               res, memo))
        for e in entries:
            res.files.append(e)
            if on_file:
                on_file(e)
    return res


def _check_path(path: str, key: bytes, wanted: set[str], res: DumpExposure,
                memo: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    try:
        for src in open_sources(path):
            if src.error or src.stream is None:
                yield {"path": src.name, "error": src.error or "nothing to read"}
                continue
            entry: dict[str, Any] = {"path": src.name, "nirs": 0}
            try:
                _check_stream(src.stream, key, wanted, res, memo, entry)
            except _DAMAGE as exc:
                entry["error"] = damage(exc)
            cut = src.cut()
            if cut and "error" not in entry:
                entry["error"] = cut
            yield entry
    except _DAMAGE as exc:
        yield {"path": path, "error": damage(exc)}


def _check_stream(fh: IO[bytes], key: bytes, wanted: set[str], res: DumpExposure,
                  memo: dict[str, str | None], entry: dict[str, Any]) -> None:
    dec = None
    carry, skip = b"", 0  # skip: bytes of carry whose NIR starts were owned by the last chunk
    while True:
        chunk = fh.read(READ)
        if dec is None:
            enc = _sniff_encoding(FileStat(entry["path"]), chunk)
            dec = codecs.getincrementaldecoder(enc)(_ERRORS)
        eof = not chunk
        buf = carry + dec.decode(chunk, final=eof).encode("utf-8")
        cut = len(buf) if eof else max(len(buf) - CONTEXT, 0)
        for s, _e, n in nirfast.find(buf):
            if s < skip or s >= cut:
                continue
            entry["nirs"] += 1
            res.nirs += 1
            c = n.canonical
            fp = memo.get(c, "")
            if fp == "":
                fp = fingerprint(key, c)
                fp = fp if fp in wanted else None
                if len(memo) < 200_000:
                    memo[c] = fp
            if fp is not None:
                res.found[fp] = res.found.get(fp, 0) + 1
        if eof:
            return
        # keep CONTEXT//2 bytes of context before the first start still to own
        keep_from = max(cut - CONTEXT // 2, 0)
        carry, skip = buf[keep_from:], cut - keep_from


def check_incidents(db_path: str, wanted: set[str]) -> dict[str, list[str]]:
    """Incident id -> the wanted fingerprints it holds (read-only on the store)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                          "name='incident_fingerprints'").fetchone():
            raise LookupError(f"{db_path}: no incidents in this store (no incident_fingerprints "
                              "table: run a crawl with this darkwatch version first)")
        out: dict[str, list[str]] = {}
        items = sorted(wanted)
        for i in range(0, len(items), 500):
            batch = items[i:i + 500]
            q = ("SELECT incident_id, fingerprint FROM incident_fingerprints WHERE fingerprint IN "
                 f"({','.join('?' * len(batch))}) ORDER BY incident_id, fingerprint")
            for inc, fp in db.execute(q, batch):
                out.setdefault(inc, []).append(fp)
        return out
    finally:
        db.close()
