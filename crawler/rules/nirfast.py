"""NIR finding at dump speed: Hyperscan proposes match ends, Python settles the common layouts.

:func:`crawler.rules.nir.find` runs RE2's ``finditer``, whose Python wrapper costs a few
microseconds per match: the bulk of a scan of a 500,000-row dump. Here one Hyperscan pass (no
start-of-match tracking, which is what makes Hyperscan slow) reports where candidate matches
end. A match whose last 15 bytes are digits (``185057800608491``), or whose last 21 bytes are
the official spaced layout (``1 85 05 78 006 084 91``), can only start there: exactly 15 digit
characters make a NIR and only ``_`` may precede them, so its start is known without a regex.
Every other end (separators, ``clé``, 2A/2B, overlaps, a start glued to a word) is handed to RE2
from the same position, as ``nir.find`` would, so the result is identical (tested against it);
both stay linear. Without the ``hyperscan`` package (it has wheels for x86-64 and arm64 Linux
and macOS only) the RE2 path is used as is.
"""

from __future__ import annotations

import threading
from operator import itemgetter

from crawler.rules import hscache, nir, nirbulk

try:  # optional: wheels for common platforms only; RE2 alone is exact, just slower
    import hyperscan
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    hyperscan = None

_D = rb"\d"
_SEP = rb"(?:[ \t./\-]|\xc2\xa0|\xe2\x80\xaf){0,2}"
_SP = rb"(?:[ \t]|\xc2\xa0|\xe2\x80\xaf){0,3}"
_CLE = rb"(?:[Cc][Ll](?:[Ee]|\xc3\xa9|\xc3\x89)|[Kk][Ee][Yy])"
_KEYSEP = (_SP + rb"(?:[.\-/;,|:]|\"" + _SP + rb"[;,]" + _SP + rb"\"|'" + _SP + rb"[;,]" + _SP
           + rb"'|(?:" + _CLE + rb"|[Cc][Ll][Ee]\.)" + _SP + rb"[:=]?)?" + _SP)
_BODY = (rb"[1-478]" + _SEP + rb"\d\d" + _SEP + rb"\d\d" + _SEP + rb"(?:\d\d|2[AaBb])" + _SEP
         + rb"\d\d\d" + _SEP + rb"\d\d\d")
# nir.CANDIDATE and nir.BODY_ONLY in bytes (no UTF-8 mode: any input bytes are fine)
HS_CANDIDATE = (rb"(?:\b|_)" + _BODY + rb"(?:" + _SP + rb"\(" + _SP + rb"(?:" + _CLE
                + rb"[ :=]{0,3})?\d\d" + _SP + rb"\)|" + _KEYSEP + rb"\d\d(?:\b|_))")
HS_BODY = rb"\b" + _BODY + rb"\b"

_ZERO = bytes(48 if 48 <= b <= 57 else b for b in range(256))  # digits -> "0"
_SPACED_NIR = b"0 00 00 00 000 000 00"
_SPACED_BODY = b"0 00 00 00 000 000"
_WORD = nir._WORD

BULK_MIN = 64 << 10  # bytes: below this (a forum post) numpy's per-call cost is not repaid
_local = threading.local()
_db = None
if hyperscan is not None:
    _db = hscache.database(hyperscan, [HS_CANDIDATE, HS_BODY], [0, 1])


def available() -> bool:
    return _db is not None


def _ends(data: bytes) -> tuple[list[int], list[int]]:
    """End offsets of candidate NIRs and of bodies, ascending (Hyperscan reports in end order)."""
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = hyperscan.Scratch(_db)
    full: list[int] = []
    body: list[int] = []
    add = (full.append, body.append)

    def on_match(pid: int, _s: int, end: int, _f: int, _c: object) -> None:
        add[pid](end)

    _db.scan(data, match_event_handler=on_match, scratch=scratch)
    return full, body


def _start(data: bytes, end: int, digits: int, spaced: bytes, prefix: bool) -> int:
    """Start of the only match that can end at ``end`` in a common layout, or -1 (ask RE2)."""
    if end >= digits and data[end - digits:end].isdigit():
        s = end - digits
    elif end >= len(spaced) and data[end - len(spaced):end].translate(_ZERO) == spaced:
        s = end - len(spaced)
    else:
        return -1
    if s == 0:
        return 0
    before = data[s - 1]
    if before == 95 and prefix:  # "_": the match starts on it (trimmed later)
        return s - 1
    return -1 if before in _WORD else s


def find(data: bytes) -> list[tuple[int, int, nir.Nir]]:
    """Same result as :func:`crawler.rules.nir.find`, faster on dumps."""
    if _db is None or not data:
        return nir.find(data)
    full, _bodies = find_both(data)
    return [(s, e, nir.from_canonical(n) if type(n) is str else n) for s, e, n in full]


def find_both(data: bytes) -> tuple[list, list]:
    """(``nir.find(data)``, ``nir.find_bodies(data)``) with one Hyperscan pass.

    A NIR of the first list is a :class:`crawler.rules.nir.Nir`, or, when it was written as 15
    plain digits between delimiters and settled in bulk (:mod:`crawler.rules.nirbulk`), its
    canonical string: building a tuple per NIR would cost as much as finding it."""
    if _db is None or not data:
        return nir.find(data), nir.find_bodies(data)
    settled: list = []
    if len(data) >= BULK_MIN:
        bulk, data = nirbulk.settle(data)
        settled = bulk.tuples()
    full, body = _ends(data)
    found = _find(data, full)
    if settled:
        settled.extend(found)
        settled.sort(key=itemgetter(0))  # two sorted runs: timsort merges them in one pass
        found = settled
    return found, _find_bodies(data, body)


def find_arrays(data: bytes) -> tuple[nirbulk.Settled, list]:
    """:func:`find_both` with the full NIRs as arrays (:class:`crawler.rules.nirbulk.Settled`:
    starts, ends, canonical characters), for a summary scan that counts them and keeps none."""
    if _db is None or len(data) < BULK_MIN:
        full, bodies = find_both(data)
        return nirbulk.of_found(full), bodies
    bulk, data = nirbulk.settle(data)
    full, body = _ends(data)
    rest = nirbulk.of_found(_find(data, full))
    if len(rest):
        np = nirbulk.lazy_numpy()
        starts = np.concatenate((bulk.starts, rest.starts))
        order = np.argsort(starts, kind="stable")
        bulk = nirbulk.Settled(starts[order], np.concatenate((bulk.ends, rest.ends))[order],
                               np.concatenate((bulk.chars, rest.chars))[order])
    return bulk, _find_bodies(data, body)


def _find(data: bytes, ends: list[int]) -> list:
    out: list = []
    pos = resume = 0
    search = nir.CANDIDATE_RX.search
    for e in ends:
        if e <= pos:
            continue  # RE2 resumes after its last match: this one started before
        s = _start(data, e, 15, _SPACED_NIR, True) if 47 < data[e - 1] < 58 else -1
        if s < pos:
            m = search(data, pos)
            if m is None:
                break
            s, e = m.span()
        pos = e
        start, end = nir._trim(data, s, e)
        if start >= resume:
            resume = nir.take(data, start, end, out, resume)
    return out


def _find_bodies(data: bytes, ends: list[int]) -> list:
    out: list = []
    pos = 0
    search = nir.BODY_RX.search
    for e in ends:
        if e <= pos:
            continue
        s = _start(data, e, 13, _SPACED_BODY, False) if 47 < data[e - 1] < 58 else -1
        if s < pos:
            m = search(data, pos)
            if m is None:
                break
            s, e = m.span()
        pos = e
        nir.take_body(data, s, e, out)
    return out
