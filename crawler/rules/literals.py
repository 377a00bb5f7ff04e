"""Every occurrence of many literal strings in a text, as arrays (summary scans of dumps).

A dump has a lab name and an insurer on every row: about a million keyword occurrences in a
500,000-row file. pyahocorasick yields a tuple per occurrence to Python; Hyperscan's literal
compiler (5.2+) finds them in C and calls back once per occurrence with plain ints, which costs
about half as much (0.063 s against 0.13 s per 8 MB of the bench dump). Without the optional
``hyperscan`` wheel, pyahocorasick's stream is used as is.

Both report every occurrence, overlapping ones included. The order is pyahocorasick's (by end,
then the longest first), which the per-match lane and its caps follow: Hyperscan leaves the order
of matches that end at one offset unspecified, so they are sorted.
"""

from __future__ import annotations

import threading
from itertools import chain
from typing import Any

import ahocorasick

from crawler.rules import hscache, nirbulk

try:  # optional, as in crawler.rules.nirfast
    import hyperscan
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    hyperscan = None  # type: ignore[assignment]


class Literals:
    """The occurrences of ``words`` (non-empty, distinct) in a text.

    ``lowercase``: the words are folded to lower case and so is the text, except perhaps for
    ASCII capitals (:func:`crawler.rules.normalize.fold` ``ascii_case``): with Hyperscan the
    words then match ASCII letters in either case (``caseless`` says so), which spares the
    caller a ``lower()`` pass over the text."""

    def __init__(self, words: list[str], use_hyperscan: bool = True,
                 lowercase: bool = False) -> None:
        np = nirbulk.lazy_numpy()
        self.words = words
        self.lengths = np.array([len(w) for w in words], dtype=np.int64)
        self._longest = int(self.lengths.max()) if words else 0
        self._len_bits = self._longest.bit_length()
        self.caseless = False
        self._db = None
        self._local = threading.local()
        if hyperscan is not None and use_hyperscan and words:
            self.caseless = lowercase and all(w == w.lower() for w in words)
            self._db = hscache.database(hyperscan, [w.encode("utf-8") for w in words],
                                        list(range(len(words))), literal=True,
                                        flags=hyperscan.HS_FLAG_CASELESS if self.caseless else 0)
            return
        self._automaton = ahocorasick.Automaton()
        for i, w in enumerate(words):
            self._automaton.add_word(w, i)
        self._automaton.make_automaton()

    def matches(self, text: str) -> tuple[Any, Any]:
        """(end character offsets, exclusive; word indexes) of every occurrence, int64."""
        np = nirbulk.lazy_numpy()
        if self._db is None:
            if not self.words:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            flat = np.fromiter(chain.from_iterable(self._automaton.iter(text)), dtype=np.int64)
            return flat[0::2] + 1, flat[1::2]
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        data = text.encode("utf-8", "surrogatepass")
        out: list[int] = []
        add = out.append

        def on_match(word: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            add(end)
            add(word)

        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        flat = np.fromiter(out, dtype=np.int64, count=len(out))
        ends, kws = flat[0::2], flat[1::2]
        if len(data) != len(text):  # a literal's UTF-8 bytes end on a character boundary
            ends = nirbulk.to_chars(nirbulk.continuations(data), ends)
        # by end, the longest first: one key, and a stable sort that is linear on the runs
        # Hyperscan hands over already in end order
        key = (ends << self._len_bits) | (self._longest - self.lengths[kws])
        order = np.argsort(key, kind="stable")
        return ends[order], kws[order]
