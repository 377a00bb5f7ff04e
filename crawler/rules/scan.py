"""Scan files (a leaked dump, a folder of pastes) with a rule set, streaming, in bounded memory.

A file is one document whose content is the ``text`` field, decoded as UTF-8 with replacement
(invalid bytes and NULs never stop a scan) and matched window by window. Each window carries
``overlap`` characters of context on both sides and owns the hits that start in its middle, so a
match spanning a window edge is found once, whole; regexes see the context, so ``^``, ``$`` and
``\\b`` hold only where they hold in the whole file (exact for matches up to ``overlap`` long).

Memory is bounded by the window, not by the number of hits: rule conditions are evaluated on
per-file aggregates (distinct values per pattern, capped at what the conditions compare with;
``near`` settled window by window), matches are handed out as they are found, and only
aggregates are kept for the scope summary (:mod:`crawler.rules.scope`). A match is handed out
once its rule is known to fire; until then (a rule with ``exclude`` or ``not`` waits for the end
of the file) it is held rendered, and spilled to a temporary file beyond ``PENDING_IN_MEMORY``.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crawler.rules.condition import Node
from crawler.rules.engine import CompiledRule, Firing, Hit, HitArray, RuleSet, SpanArray, _Ctx

READ_BYTES = 512 << 10
OVERLAP = 1024
# Hits kept per pattern and window: one per HIT_SPACING characters. A NIR takes >= 16 characters,
# a CSV row far more, so only a hostile keyword storm ("aaaa..." for a short keyword) is cut, and
# the file is then flagged ``capped``.
HIT_SPACING = 14
EDGE = 128  # characters at each window edge whose hits may lack context
PENDING_IN_MEMORY = 10_000  # rendered matches held per undecided rule before spilling to disk
WRITE_BATCH = 5_000
HEAD_LINES = 201  # header + 200 rows sampled for column kinds


def _special_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def _path_error(p: Path) -> str | None:
    try:
        st = p.stat()
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
        return None
    return f"not a regular file ({_special_kind(st.st_mode)}): not scanned"


def iter_files(paths: list[str]) -> Iterator[tuple[str, str | None]]:
    """(path, error) for every regular file under ``paths``; an error for anything else
    (missing, unreadable folder, FIFO, socket, device): reported, never silently skipped."""
    for raw in paths:
        p = Path(raw)
        err = _path_error(p)
        if err:
            yield str(p), err
        elif p.is_dir():
            errors: list[OSError] = []
            for root, dirs, files in os.walk(p, onerror=errors.append):
                while errors:
                    e = errors.pop()
                    yield str(e.filename), f"cannot read: {e.strerror or e}"
                dirs.sort()
                for name in sorted(files):
                    f = os.path.join(root, name)
                    try:
                        mode = os.lstat(f).st_mode
                    except OSError as exc:
                        yield f, f"cannot read: {exc.strerror or exc}"
                        continue
                    if stat.S_ISLNK(mode):
                        err = _path_error(Path(f))
                        if err:
                            yield f, err
                            continue
                        mode = os.stat(f).st_mode
                    if stat.S_ISREG(mode):
                        yield f, None
                    elif not stat.S_ISDIR(mode):
                        yield f, f"not a regular file ({_special_kind(mode)}): not scanned"
            while errors:
                e = errors.pop()
                yield str(e.filename), f"cannot read: {e.strerror or e}"
        else:
            yield str(p), None


def _latin1_fallback(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8 are read as Latin-1: dumps mix encodings line by line."""
    return exc.object[exc.start:exc.end].decode("latin-1"), exc.end


_ERRORS = "darkwatch-latin1"
codecs.register_error(_ERRORS, _latin1_fallback)


# an SQL dump's rows: "VALUES (" opens the first tuple of an INSERT, "),(" each next one
_SQL_ROW = re.compile(rb"(?i:values)\s*\(|\)\s*,\s*\(")
_SQL_HEAD = re.compile(r"(?i)\binsert\s+into\b|^\s*create\s+table\b|^-- MySQL dump|^-- PostgreSQL")


def _sniff_format(head: list[str]) -> str:
    """sql (INSERT ... VALUES), jsonl (an object per line), json (an array), else text."""
    lines = [h.strip() for h in head if h.strip()]
    if not lines:
        return "text"
    if any(_SQL_HEAD.search(h) for h in lines[:50]):
        return "sql"
    if lines[0].startswith("{") and all(h.startswith("{") for h in lines[:50]):
        return "jsonl"
    return "json" if lines[0].startswith("[") else "text"


def _utf16_text(chunk: bytes) -> bool:
    """A UTF-16 BOM followed by mostly Latin text (a third of the high bytes NUL), not just
    invalid bytes that happen to start like a BOM."""
    sample = chunk[2:4098]
    high = sample[1::2] if chunk.startswith(b"\xff\xfe") else sample[0::2]
    return len(high) >= 2 and high.count(0) * 3 >= len(high)


def _sniff_encoding(st: FileStat, chunk: bytes) -> str:
    """UTF-16 by its BOM, else UTF-8 (bad bytes as Latin-1); warns on binary content."""
    if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_text(chunk):
        st.encoding = "utf-16"
    elif chunk.startswith(b"\xef\xbb\xbf"):
        st.encoding = "utf-8-sig"
    else:
        sample = chunk[:65536]
        nuls = sample.count(0)
        if sample and nuls * 100 > len(sample):
            st.warnings.append(f"binary content ({nuls * 100 // len(sample)}% NUL bytes in the "
                               "first 64 KB), not a text dump: scanned for text runs")
    return st.encoding


def _monotone(node: Node) -> bool:
    """True if the condition can only turn from false to true as hits accumulate."""
    if node.kind in ("or", "and"):
        return all(_monotone(n) for n in node.args)
    if node.kind == "count":
        return node.args[1] in (">=", ">")
    return node.kind in ("near", "of")


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if node.kind in ("or", "and", "not"):
        for n in node.args:
            yield from _walk(n)


@dataclass(slots=True)
class _Rule:
    cr: CompiledRule
    name: str
    patterns: list[tuple[str, int]]  # (pattern name, pid)
    exclude: list[int]
    near: list[tuple[str, str, int]]
    early: bool  # may be decided before the end of the file


class _Aggregates:
    """What a rule condition needs to know about one whole file, in bounded memory."""

    def __init__(self, caps: dict[int, int]) -> None:
        self.caps = caps
        self.distinct: dict[int, set[str]] = {}
        self.seen: set[int] = set()
        self.near: set[tuple[str, str, str, int]] = set()  # (rule, a, b, within) that held

    def add(self, pid: int, hits: list[Hit]) -> None:
        self.seen.add(pid)
        cap = self.caps.get(pid)
        if cap is None:
            return
        s = self.distinct.setdefault(pid, set())
        if len(s) >= cap:
            return
        if isinstance(hits, HitArray):  # a few distinct keywords, many hits
            for c in sorted(hits.distinct()):
                if len(s) >= cap:
                    break
                s.add(c)
            return
        if isinstance(hits, SpanArray):
            for c in hits.iter_canon():
                if len(s) >= cap:
                    break
                s.add(c)
            return
        for h in hits:
            if len(s) >= cap:
                break
            s.add(h.canonical)


class _RuleCtx:
    def __init__(self, agg: _Aggregates, r: _Rule) -> None:
        self.agg, self.names = agg, dict(r.patterns)
        self.rule = r.name

    def count(self, name: str) -> int:
        return len(self.agg.distinct.get(self.names[name], ()))

    def near(self, a: str, b: str, within: int) -> bool:
        return (self.rule, a, b, within) in self.agg.near


@dataclass(slots=True)
class FileStat:
    """One scanned file: what the summary lists."""

    path: str
    bytes: int = 0
    lines: int = 0
    head: list[str] = field(default_factory=list)  # first lines: CSV header and column values
    fired: dict[str, int] = field(default_factory=dict)  # rule name -> matches
    error: str | None = None
    partial: bool = False
    capped: bool = False  # a pattern hit more than once per HIT_SPACING characters: hits cut
    encoding: str = "utf-8"
    format: str = "text"  # text (CSV/TSV included), sql, jsonl, json: how records are counted
    records: int = 0  # sql: VALUES tuples counted in the stream
    warnings: list[str] = field(default_factory=list)  # binary content, archive traps


Render = Callable[[CompiledRule, str, Hit, int, int], object]


class Scanner:
    """Streams files through a rule set.

    ``render(rule, pattern, hit, line, col)`` turns a match into what ``write`` takes (an output
    line); with ``render=None`` no per-match work is done (summary only).
    ``observe(base, {pid: hits})`` sees the hits each window owns (offsets in that window, which
    starts at character ``base`` of the file), for the scope aggregates.
    """

    def __init__(self, ruleset: RuleSet, render: Render | None = None,
                 write: Callable[[list], None] | None = None, want_lines: bool = False,
                 observe: Callable[[int, dict[int, list[Hit]]], None] | None = None,
                 progress: Callable[[int], None] | None = None, spill: bool = True) -> None:
        self.ruleset = ruleset
        self.render, self.write = render, write
        self.want_lines = want_lines and render is not None
        self.observe, self.progress, self.spill = observe, progress, spill
        self.rules: list[_Rule] = []
        self.current: FileStat | None = None
        caps: dict[int, int] = {}
        max_within = 0
        for cr in ruleset.rules:
            if "text" not in cr.fields:
                continue
            cond = cr.loaded.condition
            near = []
            for n in _walk(cond):
                if n.kind == "near":
                    near.append(n.args)
                    max_within = max(max_within, n.args[2])
                elif n.kind == "count":
                    pid = cr.patterns[n.args[0]]
                    caps[pid] = max(caps.get(pid, 1), n.args[2] + 1)
                elif n.kind == "of":
                    for name in n.args[1]:
                        caps.setdefault(cr.patterns[name], 1)
            for name in cond.names():
                caps.setdefault(cr.patterns[name], 1)
            self.rules.append(_Rule(cr, cr.loaded.rule.name, list(cr.patterns.items()),
                                    list(cr.exclude.values()), near,
                                    early=not cr.exclude and _monotone(cond)))
        self.caps = caps
        # a "near" pair (within + both hits, a NIR is <= 80 bytes) must fit in the overlap,
        # away from the window edges (EDGE)
        self.overlap = max(OVERLAP, max_within + 512)
        self.regex_pids = {pid for pid, _rx, _v in ruleset.matcher._regexes}
        if render is None:
            ruleset.matcher.lean = True  # no match is printed: NIR hits need no masked form
            ruleset.matcher.arrays = True  # ...and keyword hits need no object each

    # ---- windows -----------------------------------------------------------------------------
    def _windows(self, fh, st: FileStat) -> Iterator[tuple[int, str, bool]]:
        """(global character offset of the window, window text, last window?)"""
        dec = None
        base, buf = 0, ""
        newlines = 0
        last_byte = b""
        tail = b""  # the end of the last chunk: an SQL row separator cut by the chunk edge
        while True:
            chunk = fh.read(READ_BYTES)
            eof = not chunk
            if dec is None:
                dec = codecs.getincrementaldecoder(_sniff_encoding(st, chunk))(_ERRORS)
            if chunk:
                st.bytes += len(chunk)
                newlines += chunk.count(b"\n")
                last_byte = chunk[-1:]
                if not st.head:
                    self._head(st, chunk)
                if st.format == "sql":  # records are the VALUES tuples, not the lines
                    st.records += (len(_SQL_ROW.findall(tail + chunk)) - len(_SQL_ROW.findall(tail)))
                    tail = chunk[-64:]
                if self.progress:
                    self.progress(len(chunk))
            buf += dec.decode(chunk, final=eof)
            if eof or len(buf) >= READ_BYTES:
                st.lines = newlines + (1 if st.bytes and last_byte != b"\n" else 0)
                yield base, buf, eof
                if eof:
                    return
                keep = 2 * self.overlap
                base += len(buf) - keep
                buf = buf[-keep:]

    @staticmethod
    def _head(st: FileStat, chunk: bytes) -> None:
        """The first lines (up to ``HEAD_LINES`` in the first 64 KB): a CSV header, and values
        enough to tell what each column holds."""
        parts = chunk[:65536].decode(st.encoding, _ERRORS).lstrip("\ufeff").split("\n", HEAD_LINES)
        st.head = parts[:-1] if len(parts) > 1 else parts  # a last line cut short is no sample
        st.format = _sniff_format(st.head)

    # ---- one file ----------------------------------------------------------------------------
    def scan_path(self, path: str) -> FileStat:
        """Scan one file; on Ctrl-C, ``current`` holds its figures so far (``partial``)."""
        st = self.current = FileStat(path)
        try:
            with open(path, "rb") as fh:
                self._scan(fh, st)
        except BrokenPipeError:  # stdout's reader went away (| head): the CLI ends quietly
            raise
        except OSError as exc:
            st.error = f"cannot read: {exc.strerror or exc}"
        return st

    def scan_stream(self, name: str, fh) -> FileStat:
        """Scan one stream (a decompressed file, an archive member: :mod:`crawler.dumps`); a
        stream cut by damage or a bound keeps what was read and says why in ``error``."""
        from crawler.dumps.sources import _DAMAGE, DumpLimit, damage

        st = self.current = FileStat(name)
        try:
            self._scan(fh, st)
        except BrokenPipeError:
            raise
        except (DumpLimit, *_DAMAGE) as exc:
            st.error = damage(exc)
        return st

    def _scan(self, fh, st: FileStat) -> None:
        agg = _Aggregates(self.caps)
        matcher = self.ruleset.matcher
        decided: dict[str, bool] = {r.name: False for r in self.rules}
        pending: dict[str, list] = {r.name: [] for r in self.rules}
        spills: dict[str, object] = {}
        counts: dict[int, int] = {}
        last_end: dict[int, int] = {}  # regex pid -> global end of its last owned match
        line_no, line_start, counted = 1, 0, 0
        owned_from = 0
        try:
            for base, text, last in self._windows(fh, st):
                owned_to = base + len(text) if last else base + len(text) - self.overlap
                pos = owned_from - base
                endpos = len(text) if last else len(text) - 1
                starts = {p: e - base for p, e in last_end.items() if e > owned_from}
                limit = max(1000, len(text) // HIT_SPACING)
                hits = matcher.scan(text, limit, (pos, endpos, starts))
                if not st.capped and any(len(hs) >= limit for hs in hits.values()):
                    st.capped = True
                owned: dict[int, list[Hit]] = {}  # window offsets
                lim = owned_to - base
                for pid, hs in hits.items():
                    if isinstance(hs, HitArray | SpanArray):
                        keep = hs.where((hs.starts >= pos) & (hs.starts < lim))
                    else:
                        keep = [h for h in hs if pos <= h.start < lim]
                    if keep:
                        owned[pid] = keep
                        counts[pid] = counts.get(pid, 0) + len(keep)
                        agg.add(pid, keep)
                        if pid in self.regex_pids:
                            last_end[pid] = base + keep[-1].end
                if self.observe is not None and owned:
                    self.observe(base, owned)
                # near pairs may straddle the owned edges; hits touching the window edges lack
                # their context (a keyword cut by the edge looks whole): leave them out
                lo, hi = (EDGE if base else 0), (len(text) if last else len(text) - EDGE)
                self._near(agg, hits, lo, hi)
                lines: dict[int, tuple[int, int]] = {}
                if self.want_lines:
                    starts_g = sorted({base + h.start for hs in owned.values() for h in hs})
                    for g in starts_g:
                        n = text.count("\n", counted - base, g - base)
                        if n:
                            line_no += n
                            line_start = base + text.rindex("\n", counted - base, g - base) + 1
                        counted = g
                        lines[g] = (line_no, g - line_start + 1)
                    n = text.count("\n", counted - base, owned_to - base)
                    if n:
                        line_no += n
                        line_start = base + text.rindex("\n", counted - base, owned_to - base) + 1
                    counted = owned_to
                if self.render is not None:
                    owned = {pid: [Hit(base + h.start, base + h.end, h.canonical, h.masked, h.value)
                                   for h in hs] for pid, hs in owned.items()}
                    self._emit_window(agg, owned, lines, decided, pending, spills)
                owned_from = owned_to
        except KeyboardInterrupt:
            st.partial = True
            raise
        finally:
            if not st.partial or self.render is None:
                self._finish(agg, counts, st, decided, pending, spills)
            for f in spills.values():
                f.close()

    def _near(self, agg: _Aggregates, hits: dict[int, list[Hit]], lo: int, hi: int) -> None:
        """Settle the ``a near b within N`` of every rule that this window makes true, from the
        hits inside ``[lo, hi)`` (filtered only for the patterns an unsettled pair needs)."""
        inside: dict[int, list[Hit]] = {}

        def get(pid: int) -> list[Hit]:
            hs = inside.get(pid)
            if hs is None:
                hs = inside[pid] = [h for h in hits.get(pid, ()) if h.start >= lo and h.end <= hi]
            return hs

        for r in self.rules:
            for a, b, within in r.near:
                key = (r.name, a, b, within)
                if key in agg.near:
                    continue
                names = dict(r.patterns)
                if not hits.get(names[a]) or not hits.get(names[b]):
                    continue
                ha, hb = get(names[a]), get(names[b])
                if ha and hb and _Ctx({"text": {a: ha, b: hb}}).near(a, b, within):
                    agg.near.add(key)

    def _fires(self, agg: _Aggregates, r: _Rule) -> bool:
        if any(pid in agg.seen for pid in r.exclude):
            return False
        return r.cr.loaded.condition.evaluate(_RuleCtx(agg, r))

    def _emit_window(self, agg, owned, lines, decided, pending, spills) -> None:
        out: list[tuple[int, int, str, str, _Rule, Hit]] = []
        for r in self.rules:
            mine = [(pattern, h) for pattern, pid in r.patterns for h in owned.get(pid, ())]
            if not decided[r.name] and r.early and self._fires(agg, r):
                decided[r.name] = True
                self._flush(r.name, pending, spills)
            if not mine:
                continue
            if decided[r.name]:
                out.extend((h.start, h.end, r.name, p, r, h) for p, h in mine)
            else:
                mine.sort(key=lambda t: (t[1].start, t[1].end))
                held = pending[r.name]
                for p, h in mine:
                    line, col = lines.get(h.start, (0, 0))
                    held.append(self.render(r.cr, p, h, line, col))
                if self.spill and len(held) > PENDING_IN_MEMORY:
                    f = spills.get(r.name)
                    if f is None:
                        f = spills[r.name] = tempfile.TemporaryFile(  # noqa: SIM115 - closed in _scan
                            "w+", encoding="utf-8")
                    f.writelines(held)
                    held.clear()
        if out:
            out.sort(key=lambda t: t[:4])
            render = self.render
            for i in range(0, len(out), WRITE_BATCH):  # rendered lines held: one batch at a time
                self.write([render(r.cr, p, h, *lines.get(s, (0, 0)))
                            for s, _e, _n, p, r, h in out[i:i + WRITE_BATCH]])

    def _flush(self, name: str, pending, spills) -> None:
        f = spills.pop(name, None)
        if f is not None:
            f.seek(0)
            while True:
                block = f.readlines(1 << 20)
                if not block:
                    break
                self.write(block)
            f.close()
        if pending[name]:
            self.write(pending[name])
            pending[name] = []

    def _finish(self, agg, counts, st: FileStat, decided, pending, spills) -> None:
        for r in self.rules:
            fires = decided[r.name] or self._fires(agg, r)
            if fires:
                st.fired[r.name] = sum(counts.get(pid, 0) for _p, pid in r.patterns)
                if self.render is not None and not decided[r.name]:
                    self._flush(r.name, pending, spills)


@dataclass(slots=True)
class FileResult:
    path: str
    firings: list[Firing]
    lines: dict[int, tuple[int, int]]  # hit start offset -> (line, column), 1-based
    error: str | None = None


def scan_file(ruleset: RuleSet, path: str, want_lines: bool = False) -> FileResult:
    """Scan one file and keep every match in memory (tests, small files); the CLI streams."""
    by_rule: dict[str, Firing] = {}
    lines: dict[int, tuple[int, int]] = {}

    def render(cr: CompiledRule, pattern: str, hit: Hit, line: int, col: int):
        if want_lines:
            lines[hit.start] = (line, col)
        return (cr, pattern, hit)

    def write(items: list) -> None:
        for cr, pattern, hit in items:
            by_rule.setdefault(cr.loaded.rule.name, Firing(cr)).hits.append(("text", pattern, hit))

    st = Scanner(ruleset, render, write, want_lines=want_lines, spill=False).scan_path(path)
    if st.error:
        return FileResult(path, [], {}, st.error)
    firings = []
    for cr in ruleset.rules:
        name = cr.loaded.rule.name
        if name in st.fired:
            fr = by_rule.get(name) or Firing(cr)
            fr.hits.sort(key=lambda t: (t[2].start, t[2].end))
            firings.append(fr)
    return FileResult(path, firings, lines)

