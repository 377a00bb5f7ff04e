"""Settle the NIRs of a dump written as 15 plain digits, thousands at a time (numpy).

A lab dump holds one NIR per row, most often as 15 plain digits between CSV delimiters
(``;185057800608436;``). Checking each in Python (slice, int, mod 97, a tuple) costs several
microseconds: the bulk of a scan. Here digit runs of exactly 15 are found and checked with the
same rules as :func:`crawler.rules.nir._check` as whole-array operations, and the valid ones are
blanked (digits -> ``x``) in a copy of the data, so the per-match path only sees the rest.

Why this cannot change a result (``tests/rules/test_nirfast.py`` checks it against
:func:`crawler.rules.nir.find`): a candidate holds exactly 15 digit characters and ends before a
word boundary. One that started before a 15-digit run and overlapped it would hold more than 15
digits, or end inside the run where there is no boundary; so the run's own match is the only one
there. Runs next to ``_``, ``.``, ``-``, ``/``, a letter or a non-ASCII byte, and the Amex/IMEI
shape (34/35/37 + Luhn) are left to the per-match path, which knows those rules. Blanking keeps
word characters word characters, so ``\\b`` around the rest is unchanged.
"""

from __future__ import annotations

from typing import Any

_np: Any = None
_NEIGHBOUR_OK: Any = None  # per byte: may sit next to a settled run
_SEP: Any = None  # per byte: a separator the NIR pattern accepts between groups
_POW13: Any = None
_PLAIN_POS: Any = None
_SPACED_POS: Any = None


def _numpy() -> Any:
    """numpy, imported on first use: a crawl scanning forum posts never needs it."""
    global _np, _NEIGHBOUR_OK, _SEP, _POW13, _PLAIN_POS, _SPACED_POS
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
        _np = np
    return _np


_SPACED = (1, 2, 2, 2, 3, 3, 2)  # the official layout "1 85 05 78 006 084 36": digit groups


def settle_plain(data: bytes) -> tuple[list[tuple[int, int, str]], bytes]:
    """((start, end, canonical) of the valid NIRs written as 15 plain digits or in the official
    spaced layout, in order; ``data`` with their digits blanked), or ``([], data)``."""
    np = _numpy()
    a = np.frombuffer(data, dtype=np.uint8)
    digit = (a - 48) < 10  # uint8 arithmetic wraps below "0"
    edges = np.diff(digit.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    if not len(starts):
        return [], data
    n = len(a)
    lengths = ends - starts
    ok = _NEIGHBOUR_OK
    # plain: a run of exactly 15 digits
    plain = starts[lengths == 15]
    # spaced: 7 runs of 1,2,2,2,3,3,2 digits, one space between each
    k = len(starts) - 6
    spaced = plain[:0]
    if k > 0:
        m = np.ones(k, dtype=bool)
        for i, width in enumerate(_SPACED):
            m &= lengths[i:i + k] == width
            if i < 6:
                gap = ends[i:i + k]
                m &= (starts[i + 1:i + 1 + k] == gap + 1) & (a[np.minimum(gap, n - 1)] == 32)
        spaced = starts[:k][m]
    found = []
    for first, width, pos in ((plain, 15, _PLAIN_POS), (spaced, 21, _SPACED_POS)):
        if not len(first):
            continue
        last = first + width
        before = np.where(first > 0, ok[a[np.maximum(first - 1, 0)]], True)
        # the spaced layout joins earlier digits through a separator: not after a space or tab
        if width == 21:
            before &= np.where(first > 0, ~_SEP[a[np.maximum(first - 1, 0)]], True)
        after = np.where(last < n, ok[a[np.minimum(last, n - 1)]], True)
        first = first[before & after]
        if len(first):
            idx = first[:, None] + pos
            valid = _valid(np, a[idx].astype(np.int64) - 48)
            found.append((first[valid], idx[valid], width))
    if not found:
        return [], data
    blanked = a.copy()
    out: list[tuple[int, int, str]] = []
    for first, idx, width in found:
        if not len(first):
            continue
        blob = a[idx].tobytes().decode("ascii")
        s_list = first.tolist()
        out.extend(zip(s_list, [s + width for s in s_list],
                       [blob[i:i + 15] for i in range(0, len(blob), 15)], strict=True))
        blanked[idx.ravel()] = 120  # "x"
    if not out:
        return [], data
    out.sort()
    return out, blanked.tobytes()


def _valid(np: Any, d: Any) -> Any:
    """:func:`crawler.rules.nir._check`'s rules on rows of 15 digits (departments 2A/2B are not
    digits: those NIRs take the per-match path)."""
    sex, month = d[:, 0], d[:, 3] * 10 + d[:, 4]
    dept = d[:, 5] * 10 + d[:, 6]
    commune = d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    order = d[:, 10] * 100 + d[:, 11] * 10 + d[:, 12]
    overseas = (dept == 97) | (dept == 98)
    return (
        np.isin(sex, (1, 2, 3, 4, 7, 8))
        & (((month >= 1) & (month <= 12)) | ((month >= 20) & (month <= 42)) | (month >= 50))
        & (order != 0) & (dept != 0)
        & np.where(overseas, commune % 100 != 0, commune != 0)
        & (97 - (d[:, :13] @ _POW13) % 97 == d[:, 13] * 10 + d[:, 14])
        & ~((sex == 3) & np.isin(d[:, 1], (4, 5, 7)))  # Amex/IMEI shape: the Luhn test decides
    )


def char_offsets(data: bytes, offsets: set[int]) -> dict[int, int]:
    """Byte offsets at character boundaries of valid UTF-8 ``data`` -> character offsets: the
    byte offset less the continuation bytes (``10xxxxxx``) before it."""
    np = _numpy()
    a = np.frombuffer(data, dtype=np.uint8)
    before = np.concatenate(([0], np.cumsum((a & 0xC0) == 0x80, dtype=np.int64)))
    offs = np.fromiter(offsets, dtype=np.int64, count=len(offsets))
    return dict(zip(offs.tolist(), (offs - before[offs]).tolist(), strict=True))
