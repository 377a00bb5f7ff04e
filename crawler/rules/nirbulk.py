"""Settle the NIRs of a dump written as 15 plain characters, thousands at a time (numpy).

A lab dump holds one NIR per row, most often as 15 plain digits between CSV delimiters
(``;185057800608436;``), Corsica's ``2A``/``2B`` included, or in the official spaced layout.
Checking each in Python (slice, int, mod 97, a tuple) costs several microseconds: the bulk of a
scan. Here those shapes are found and checked with the same rules as
:func:`crawler.rules.nir._check` (mod-97 key with 2A/2B as 19/18, the structure, and the Luhn
test that tells an Amex card or IMEI from a 34/35/37 NIR) as whole-array operations, and they
are blanked (characters -> ``x``) in a copy of the data, so the per-match path only sees the
rest.

Why this cannot change a result (``tests/rules/test_nirfast.py`` checks it against
:func:`crawler.rules.nir.find`): a candidate holds exactly 15 digit (or 2A/2B) characters and
ends before a word boundary. One that started before a settled run and overlapped it would hold
more than 15, or end inside the run where there is no boundary; so the run's own match is the
only one there. An invalid plain run is blanked too: the per-match path would find nothing in it
(no word starts inside, where a hidden NIR could begin); an invalid spaced one is not (its groups
are word starts). Runs next to ``_``, ``.``, ``-``, ``/``, a letter or a non-ASCII byte are left
to the per-match path, which knows those rules. Blanking keeps word characters word characters,
so ``\\b`` around the rest is unchanged.
"""

from __future__ import annotations

from typing import Any

_np: Any = None
_NEIGHBOUR_OK: Any = None  # per byte: may sit next to a settled run
_SEP: Any = None  # per byte: a separator the NIR pattern accepts between groups
_POW13: Any = None
_PLAIN_POS: Any = None
_SPACED_POS: Any = None
_SEX_OK: Any = None  # per first digit: 1/2, 3/4 and 7/8 begin a NIR


def lazy_numpy() -> Any:
    """numpy, imported on first use: a crawl scanning forum posts never needs it."""
    global _np, _NEIGHBOUR_OK, _SEP, _POW13, _PLAIN_POS, _SPACED_POS, _SEX_OK
    if _np is None:
        import numpy as np

        ok = np.zeros(256, dtype=bool)
        for b in range(128):
            ch = chr(b)
            ok[b] = not (ch.isalnum() or ch in "_.-/")
        sep = np.zeros(256, dtype=bool)
        sep[list(b" \t.-/")] = True
        _NEIGHBOUR_OK, _SEP = ok, sep
        _POW13 = 10 ** np.arange(12, -1, -1, dtype=np.int64)
        _PLAIN_POS = np.arange(15)
        _SPACED_POS = np.array([0, 2, 3, 5, 6, 8, 9, 11, 12, 13, 15, 16, 17, 19, 20])
        _SEX_OK = np.isin(np.arange(10), (1, 2, 3, 4, 7, 8))
        _np = np
    return _np


_SPACED = (1, 2, 2, 2, 3, 3, 2)  # the official layout "1 85 05 78 006 084 36": digit groups


class Settled:
    """NIRs settled in bulk, in order: byte ``starts`` and ``ends`` (int64) and ``chars``, the
    canonical characters of each as a ``(n, 15)`` uint8 array (``2A``/``2B`` upper case; 13
    wide for keyless bodies)."""

    __slots__ = ("starts", "ends", "chars")

    def __init__(self, starts: Any, ends: Any, chars: Any) -> None:
        self.starts, self.ends, self.chars = starts, ends, chars

    def __len__(self) -> int:
        return len(self.starts)

    def canonicals(self) -> list[str]:
        return as_strings(self.chars)

    def tuples(self) -> list[tuple[int, int, str]]:
        """(start, end, canonical) of each."""
        return list(zip(self.starts.tolist(), self.ends.tolist(), self.canonicals(), strict=True))


def as_chars(canonicals: list[str]) -> Any:
    """Equal-width ASCII strings as a ``(n, width)`` uint8 array of their characters."""
    np = lazy_numpy()
    blob = "".join(canonicals).encode("ascii")
    return np.frombuffer(blob, dtype=np.uint8).reshape(len(canonicals), -1)


def as_strings(chars: Any) -> list[str]:
    """:func:`as_chars` undone: one string per row."""
    w = chars.shape[1]
    blob = chars.tobytes().decode("ascii")
    return [blob[i:i + w] for i in range(0, len(blob), w)]


def of_found(found: list[tuple[int, int, Any]], width: int = 15) -> Settled:
    """(start, end, Nir or canonical string) tuples, in order, as :class:`Settled`."""
    if not found:
        return empty(width)
    np = lazy_numpy()
    starts, ends, nirs = zip(*found, strict=True)
    return Settled(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64),
                   as_chars([n if type(n) is str else n.canonical for n in nirs]))


def empty(width: int = 15) -> Settled:
    np = lazy_numpy()
    return Settled(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                   np.zeros((0, width), dtype=np.uint8))


def settle_plain(data: bytes) -> tuple[list[tuple[int, int, str]], bytes]:
    """:func:`settle` as (start, end, canonical) tuples."""
    settled, blanked = settle(data)
    return settled.tuples(), blanked


def settle(data: bytes) -> tuple[Settled, bytes]:
    """(the valid NIRs written as 15 plain characters or in the official spaced layout,
    Corsica's 2A/2B included; ``data`` with them blanked). Invalid 15-digit runs are blanked
    too: nothing can hide inside one."""
    np = lazy_numpy()
    a = np.frombuffer(data, dtype=np.uint8)
    digit = (a - 48) < 10  # uint8 arithmetic wraps below "0"
    edges = np.flatnonzero(digit[1:] != digit[:-1]) + 1
    if len(a) and digit[0]:
        edges = np.concatenate(([0], edges))
    if len(a) and digit[-1]:
        edges = np.concatenate((edges, [len(a)]))
    starts, ends = edges[0::2], edges[1::2]  # digit runs: each starts, then ends, in turn
    if not len(starts):
        return empty(), data
    n = len(a)
    lengths = ends - starts

    def spaced_at(widths: tuple[int, ...], letter_after: int) -> Any:
        """Starts of runs ``i..i+6`` of these widths, one space apart (after run
        ``letter_after``: 2A/2B then the space); -1: no letter. Narrowed run by run: most
        runs of a dump (dates, phone numbers) fail at the first or second."""
        k = len(starts) - 6
        if k <= 0:
            return starts[:0]
        c = np.flatnonzero(lengths[:k] == widths[0])
        for i, width in enumerate(widths):
            if i:
                c = c[lengths[c + i] == width]
            if i < 6:
                gap = ends[c + i]
                if i == letter_after:
                    ok = ((starts[c + i + 1] == gap + 2) & _corsica(a, gap, n)
                          & (a[np.minimum(gap + 1, n - 1)] == 32))
                else:
                    ok = (starts[c + i + 1] == gap + 1) & (a[np.minimum(gap, n - 1)] == 32)
                c = c[ok]
        return starts[c]

    # plain: a run of exactly 15 digits; Corsica: 6 digits ending in 2, A or B, 8 digits
    plain = starts[lengths == 15]
    glued = np.flatnonzero((lengths[:-1] == 6) & (lengths[1:] == 8) & (starts[1:] == ends[:-1] + 1))
    corsica = starts[glued[_corsica(a, ends[glued], n)]]
    found = []
    for first, width, pos, letter in ((plain, 15, _PLAIN_POS, False),
                                      (spaced_at(_SPACED, -1), 21, _SPACED_POS, False),
                                      (corsica, 15, _PLAIN_POS, True),
                                      (spaced_at((1, 2, 2, 1, 3, 3, 2), 3), 21, _SPACED_POS, True)):
        if not len(first):
            continue
        last = first + width
        before = np.where(first > 0, _NEIGHBOUR_OK[a[np.maximum(first - 1, 0)]], True)
        # the spaced layout joins earlier digits through a separator: not after a space or tab
        if width == 21:
            before &= np.where(first > 0, ~_SEP[a[np.maximum(first - 1, 0)]], True)
        after = np.where(last < n, _NEIGHBOUR_OK[a[np.minimum(last, n - 1)]], True)
        first = first[before & after]
        if not len(first):
            continue
        idx = first[:, None] + pos
        chars = a[idx]
        d = chars.astype(np.int64) - 48
        if letter:  # the key of 2A/2B is computed with 19/18 for the department
            d[:, 5] = 1
            d[:, 6] = np.where((chars[:, 6] | 32) == 97, 9, 8)
            chars = np.where((chars >= 97) & (chars <= 98), chars - 32, chars)  # 2a -> 2A
        compact = width == 15 and not letter
        valid = _valid(np, d, compact)
        # an invalid plain run holds no NIR, and no word start where one could begin: blanked
        # with the valid ones
        found.append((first[valid], idx if compact else idx[valid], chars[valid], width))
    if not found:
        return empty(), data
    blanked = a.copy()
    for _first, idx, _chars, _width in found:
        blanked[idx.ravel()] = 120  # "x": word characters stay word characters
    # the shapes never share a start (their digit runs differ): one stable sort orders them
    first = np.concatenate([f[0] for f in found])
    order = np.argsort(first, kind="stable")
    ends = np.concatenate([f[0] + f[3] for f in found])[order]
    chars = np.concatenate([f[2].astype(np.uint8) for f in found])[order]
    return Settled(first[order], ends, chars), blanked.tobytes()


def _corsica(a: Any, at: Any, n: int) -> Any:
    """``a[at]`` is A/B (either case) right after a "2": a Corsican department."""
    np = _np
    at = np.minimum(at, n - 1)
    return (((a[at] | 32) == 97) | ((a[at] | 32) == 98)) & (a[np.maximum(at - 1, 0)] == 50) & (at > 0)


def _amex_shape(d: Any) -> Any:
    """Rows that :func:`crawler.rules.nir._check` sends to the Luhn test (34/35/37)."""
    return (d[:, 0] == 3) & ((d[:, 1] == 4) | (d[:, 1] == 5) | (d[:, 1] == 7))


def _luhn(d: Any) -> Any:
    """``stdnum.luhn.is_valid`` on rows of digits: every second digit from the right doubled."""
    doubled = d[:, -2::-2] * 2
    total = d[:, ::-2].sum(axis=1) + (doubled - 9 * (doubled > 9)).sum(axis=1)
    return total % 10 == 0


def _valid(np: Any, d: Any, compact: bool) -> Any:
    """:func:`crawler.rules.nir._check`'s rules on rows of 15 digits (2A/2B given as 19/18);
    ``compact``: written as 15 plain digits, where an Amex/IMEI shape that passes Luhn is not a
    NIR."""
    sex, month = d[:, 0], d[:, 3] * 10 + d[:, 4]
    dept = d[:, 5] * 10 + d[:, 6]
    commune = d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    order = d[:, 10] * 100 + d[:, 11] * 10 + d[:, 12]
    overseas = (dept == 97) | (dept == 98)
    ok = (
        _SEX_OK[sex]
        & (((month >= 1) & (month <= 12)) | ((month >= 20) & (month <= 42)) | (month >= 50))
        & (order != 0) & (dept != 0)
        & np.where(overseas, commune % 100 != 0, commune != 0)
        & (97 - (d[:, :13] @ _POW13) % 97 == d[:, 13] * 10 + d[:, 14])
    )
    if compact:
        amex = np.flatnonzero(ok & _amex_shape(d))  # few rows: Luhn only for those
        ok[amex[_luhn(d[amex])]] = False
    return ok


def continuations(data: bytes) -> Any:
    """Offsets of the continuation bytes (``10xxxxxx``) of UTF-8 ``data``, ascending: a dump has
    few, so searching them beats a running count over every byte."""
    np = lazy_numpy()
    a = np.frombuffer(data, dtype=np.uint8)
    return np.flatnonzero((a & 0xC0) == 0x80)


def to_chars(cont: Any, offsets: Any) -> Any:
    """Byte offsets at character boundaries -> character offsets: each less the continuation
    bytes before it (``cont`` from :func:`continuations`)."""
    return offsets - lazy_numpy().searchsorted(cont, offsets)


def char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Byte offsets at character boundaries of valid UTF-8 ``data`` -> character offsets."""
    np = lazy_numpy()
    offs = np.fromiter(offsets, dtype=np.int64, count=len(offsets))
    return dict(zip(offs.tolist(), to_chars(continuations(data), offs).tolist(), strict=True))
