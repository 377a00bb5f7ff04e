"""Scan files (a leaked dump, a folder of pastes) with a rule set, in bounded memory.

A file is one document whose content is the ``text`` field. It is decoded as UTF-8 with
replacement (invalid bytes and NULs never stop a scan) and matched window by window: each window
overlaps the previous one by ``OVERLAP`` characters so identifiers at a window edge keep their
context, and a hit belongs to the window where it starts. Conditions (``nir >= 5``, ``near``)
are evaluated once per file over all its hits, with offsets into the whole decoded text.
"""

from __future__ import annotations

import codecs
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crawler.rules.engine import Firing, Hit, RuleSet

READ_BYTES = 4 << 20
OVERLAP = 1024
# Hits kept per pattern and window: a NIR takes >= 16 characters, so a 4 MB window never holds
# this many identifiers; only a hostile keyword storm ("aaaa..." for a short keyword) is cut.
WINDOW_HIT_LIMIT = 300_000


@dataclass(slots=True)
class FileResult:
    path: str
    firings: list[Firing]
    lines: dict[int, tuple[int, int]]  # hit start offset -> (line, column), 1-based
    error: str | None = None


def iter_files(paths: list[str]) -> Iterator[tuple[str, str | None]]:
    """(path, error) for every regular file under ``paths``; errors for missing paths."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    f = os.path.join(root, name)
                    if os.path.isfile(f):
                        yield f, None
        elif p.is_file():
            yield str(p), None
        else:
            yield str(p), "no such file or directory"


def _windows(path: str) -> Iterator[tuple[int, str, bool]]:
    """(global offset of the window, window text, last window?)"""
    dec = codecs.getincrementaldecoder("utf-8")("replace")
    base, buf = 0, ""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(READ_BYTES)
            eof = not chunk
            buf += dec.decode(chunk, final=eof)
            if eof or len(buf) >= READ_BYTES:
                yield base, buf, eof
                if eof:
                    return
                keep = 2 * OVERLAP
                base += len(buf) - keep
                buf = buf[-keep:]


def scan_file(ruleset: RuleSet, path: str, want_lines: bool = False) -> FileResult:
    merged: dict[int, list[Hit]] = defaultdict(list)
    lines: dict[int, tuple[int, int]] = {}
    line_no, line_start = 1, 0  # newlines counted up to ``counted``
    counted = 0
    owned_from = 0
    try:
        for base, text, last in _windows(path):
            owned_to = base + len(text) if last else base + len(text) - OVERLAP
            hits = ruleset.matcher.scan(text, WINDOW_HIT_LIMIT)
            starts: list[int] = []
            for pid, hs in hits.items():
                for h in hs:
                    g = base + h.start
                    if owned_from <= g < owned_to:
                        merged[pid].append(Hit(g, base + h.end, h.canonical, h.masked, h.value))
                        starts.append(g)
            if want_lines:
                for g in sorted(set(starts)):
                    local_from, local_to = counted - base, g - base
                    n = text.count("\n", local_from, local_to)
                    if n:
                        line_no += n
                        line_start = base + text.rindex("\n", local_from, local_to) + 1
                    counted = g
                    lines[g] = (line_no, g - line_start + 1)
                n = text.count("\n", counted - base, owned_to - base)
                if n:
                    line_no += n
                    line_start = base + text.rindex("\n", counted - base, owned_to - base) + 1
                counted = owned_to
            owned_from = owned_to
    except OSError as exc:
        return FileResult(path, [], {}, f"cannot read: {exc.strerror or exc}")
    for hs in merged.values():
        hs.sort(key=lambda h: h.start)
    scanned = {"text": dict(merged)} if merged else {}
    firings = [f for f in ruleset.evaluate({"text": "-"}, scanned) if "text" in f.rule.fields]
    return FileResult(path, firings, lines)
