"""Compile every rule once into one multi-pattern matcher, then evaluate rules per document.

* Keywords: one Aho-Corasick automaton (pyahocorasick, C) per folding mode, over folded text;
  word boundaries are checked on the folded text (RE2's ``\\b`` is ASCII-only, wrong next to
  French letters) and offsets mapped back to the original.
* Regexes: RE2 (linear time, no backtracking on hostile input). An ``RE2::Set`` tells which
  regexes match at all; only those are run again for offsets. Text is encoded to UTF-8 once per
  document (google-re2 would re-encode a ``str`` on every call) and byte offsets mapped back.
* Detectors: the built-in identifier finders registered in :mod:`crawler.rules.detectors`
  (``fr-nir``...), over the same UTF-8 bytes.

Identical patterns shared by several rules (the NIR detector used by three rules) run once.

A summary scan of a dump (``Matcher.arrays``: nothing is printed) takes keyword and detector hits
as arrays (:class:`HitArray`, :class:`SpanArray`): a leak has a lab name, an insurer and a NIR on
every row, and one Python object per match cost more than finding it. Its keywords come from
:mod:`crawler.rules.literals` (Hyperscan's literal compiler when installed), its NIRs from
:func:`crawler.rules.nirfast.find_arrays`. The hits are the same
(``tests/rules/test_keyword_arrays.py``, ``tests/rules/test_nirfast.py``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ahocorasick
import re2

from crawler.rules import nirbulk
from crawler.rules.detectors import DETECTORS, Detector
from crawler.rules.loader import LoadedRule
from crawler.rules.mask import mask_generic
from crawler.rules.normalize import fold, fold_keyword, is_word_char, word_bounded
from crawler.rules.re2_options import RE2_OPTIONS
from crawler.rules.schema import Pattern
from crawler.rules.validators import VALIDATORS

if TYPE_CHECKING:  # numpy is imported where a dump scan uses it: a crawl never needs it
    import numpy as np

_RE2_OPTIONS = RE2_OPTIONS


@dataclass(slots=True)
class Hit:
    start: int  # character offsets in the field text
    end: int
    canonical: str  # what the fingerprint is computed on
    masked: str
    value: str  # the clear matched text: in memory only, shown only with reveal


class HitArray:
    """Keyword hits of one pattern as arrays (summary scans: a dump has ~2 per row).

    A dump scan that prints nothing needs counts, the distinct keywords and positions, not one
    ``Hit`` object per match. Iterating still gives ``Hit`` objects (canonical = the folded
    keyword, no clear value, no mask: nothing is printed) for the few consumers that want them.
    """

    __slots__ = ("starts", "ends", "kws", "words")

    def __init__(self, starts: np.ndarray, ends: np.ndarray, kws: np.ndarray,
                 words: list[str]) -> None:
        self.starts, self.ends, self.kws, self.words = starts, ends, kws, words

    def __len__(self) -> int:
        return len(self.starts)

    def __bool__(self) -> bool:
        return len(self.starts) > 0

    def __iter__(self) -> Iterator[Hit]:
        w = self.words
        for s, e, k in zip(self.starts.tolist(), self.ends.tolist(), self.kws.tolist(),
                           strict=True):
            yield Hit(s, e, w[k], "", "")

    def where(self, keep: np.ndarray) -> HitArray:
        return HitArray(self.starts[keep], self.ends[keep], self.kws[keep], self.words)

    def distinct(self) -> set[str]:
        import numpy as np

        w = self.words
        return {w[k] for k in np.unique(self.kws).tolist()}

    def canonicals(self) -> list[str]:
        w = self.words
        return [w[k] for k in self.kws.tolist()]


class SpanArray:
    """Detector hits of one pattern as arrays (summary scans: a dump window holds thousands of
    NIRs): positions, and the canonical characters as a ``(n, width)`` uint8 array; the strings
    are made only for the few consumers that want them."""

    __slots__ = ("starts", "ends", "chars", "_canon")

    def __init__(self, starts: np.ndarray, ends: np.ndarray, chars: np.ndarray) -> None:
        self.starts, self.ends, self.chars = starts, ends, chars
        self._canon: list[str] | None = None

    def __len__(self) -> int:
        return len(self.starts)

    def __bool__(self) -> bool:
        return len(self.starts) > 0

    @property
    def canon(self) -> list[str]:
        if self._canon is None:
            self._canon = nirbulk.as_strings(self.chars)
        return self._canon

    def iter_canon(self) -> Iterator[str]:
        """The canonical strings one by one, for a consumer that stops early (a count cap)."""
        if self._canon is not None:
            yield from self._canon
            return
        for row in self.chars:
            yield row.tobytes().decode("ascii")

    def __iter__(self) -> Iterator[Hit]:
        for s, e, c in zip(self.starts.tolist(), self.ends.tolist(), self.iter_canon(),
                           strict=True):
            yield Hit(s, e, c, "", "")

    def where(self, keep: np.ndarray) -> SpanArray:
        if keep.all():
            return self
        return SpanArray(self.starts[keep], self.ends[keep], self.chars[keep])

    def distinct(self) -> set[str]:
        return set(self.canon)

    def canonicals(self) -> list[str]:
        return self.canon


def _to_original(folded: Any, pos: np.ndarray, end: bool) -> np.ndarray:
    """``Folded.to_original`` over an array of folded offsets."""
    import numpy as np

    ns = np.asarray(folded.nstarts, dtype=np.int64)
    nl = np.asarray(folded.nlens, dtype=np.int64)
    orig = np.asarray(folded.origs, dtype=np.int64)
    k = np.searchsorted(ns, pos, side="right") - 1
    kk = np.maximum(k, 0)
    s, ln, o = ns[kk], nl[kk], orig[kk]
    inside = pos < s + ln
    out = np.where(inside, o + ((pos > s) if end else 0), o + 1 + (pos - s - ln))
    return np.where(k < 0, pos, out)


def _codes(text: str) -> np.ndarray:
    """The code points of ``text`` as an array (one byte each when it is ASCII)."""
    import numpy as np

    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    try:  # a French window: Latin-1 characters, one byte each (a copy, no per-character work)
        return np.frombuffer(text.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:
        return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _byte_offset(text: str, data: bytes, c: int) -> int:
    """Byte offset in ``data`` (``text`` encoded as UTF-8, "replace") of character ``c``, by
    encoding the shorter side: a window's edges sit near its start or its end."""
    if c <= len(text) // 2:
        return len(text[:c].encode("utf-8", "replace"))
    return len(data) - len(text[c:].encode("utf-8", "replace"))


def _surely_inside(folded: Any, text: str, starts: np.ndarray, ends: np.ndarray,
                   before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Matches ``word_bounded`` would refuse, decided in bulk: an ASCII letter or digit glued
    to one side, with no CamelCase break possible there (the original character at that edge
    is an ASCII character that is not a capital). The others are left to ``word_bounded``."""
    import numpy as np

    codes = _codes(text)
    n = len(codes)

    def alnum(c: np.ndarray) -> np.ndarray:
        return (((c >= 48) & (c <= 57)) | ((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122)))

    def no_camel(i: np.ndarray) -> np.ndarray:  # camel_break(text, i) is surely False
        inside = (i > 0) & (i < n)
        c = codes[np.clip(i, 0, n - 1)].astype(np.int64)
        return ~inside | ((c < 128) & ~((c >= 65) & (c <= 90)))

    o_start = _to_original(folded, starts, False) if folded.nstarts else starts
    o_end = _to_original(folded, ends, True) if folded.nstarts else ends
    left = (starts > 0) & alnum(before) & no_camel(o_start)
    right = alnum(after) & no_camel(o_end)
    return left | right


@dataclass(slots=True)
class _Compiled:
    pid: int
    pattern: Pattern
    mask: bool


def _pattern_key(p: Pattern) -> tuple:
    return (tuple(p.keywords or ()), p.regex, p.detector, p.validator, p.case, p.accents, p.word)


def _char_offsets(data: bytes, text: str, offsets: set[int]) -> dict[int, int]:
    """Byte offsets (at character boundaries) of UTF-8 ``data`` -> character offsets."""
    if len(data) == len(text):
        return {o: o for o in offsets}
    if len(offsets) > 256:  # a dump window: count continuation bytes in bulk (numpy)
        return nirbulk.char_offsets(data, offsets)
    out: dict[int, int] = {}
    last_b = last_c = 0
    for b in sorted(offsets):
        last_c += len(data[last_b:b].decode("utf-8", "replace"))
        last_b = b
        out[b] = last_c
    return out


_ASCII_BREAKS = frozenset(chr(c) for c in range(128) if not chr(c).isalnum())


class Matcher:
    """All distinct patterns of a rule set; ``scan(text)`` returns hits per pattern id."""

    def __init__(self, keep_values: bool = True) -> None:
        # keep_values=False: hits do not keep the clear matched text (big dumps, no reveal).
        self.keep_values = keep_values
        # lean: a summary only (no match is printed): NIR hits carry no masked form
        self.lean = False
        self.patterns: list[_Compiled] = []
        self._by_key: dict[tuple, int] = {}
        self._automata: dict[tuple[bool, bool], ahocorasick.Automaton] = {}
        self._kw: dict[tuple[bool, bool], dict[str, list[tuple[int, bool]]]] = defaultdict(dict)
        self._regexes: list[tuple[int, re2._Regexp, str | None]] = []
        self._set: re2.Set | None = None
        self._detectors: list[tuple[int, Detector]] = []
        self._masks: list[bool] = []  # per pid: mask the matched text
        # arrays: keyword hits come as HitArray (a summary scan; set by the dump Scanner)
        self.arrays = False
        self.hyperscan = True  # the arrays lane may use Hyperscan when installed (tests compare)
        self._indexed: dict[tuple[bool, bool], tuple[Any, ...]] = {}

    def add(self, p: Pattern) -> int:
        key = _pattern_key(p)
        if key in self._by_key:
            return self._by_key[key]
        pid = len(self.patterns)
        mask = p.mask if p.mask is not None else p.keywords is None
        self.patterns.append(_Compiled(pid, p, mask))
        self._masks.append(mask)
        self._by_key[key] = pid
        if p.keywords is not None:
            mode = (p.case == "insensitive", p.accents == "insensitive")
            table = self._kw[mode]
            for kw in p.keywords:
                folded = fold_keyword(kw, *mode)
                entry = (pid, p.word)
                if entry not in table.setdefault(folded, []):
                    table[folded].append(entry)
        elif p.regex is not None:
            src = p.regex
            if p.case == "insensitive":  # the schema's default, as for keywords
                src = "(?i)" + src
            self._regexes.append((pid, re2.compile(src, _RE2_OPTIONS), p.validator))
        else:
            self._detectors.append((pid, DETECTORS[p.detector or ""]))
        return pid

    def build(self) -> None:
        for mode, table in self._kw.items():
            a = ahocorasick.Automaton()
            for word, entries in table.items():
                a.add_word(word, (len(word), tuple(entries)))
            a.make_automaton()
            self._automata[mode] = a
        if len(self._regexes) > 1:
            s = re2.Set.SearchSet(_RE2_OPTIONS)
            for _pid, rx, _v in self._regexes:
                s.Add(rx.pattern)
            s.Compile()
            self._set = s

    def scan(self, text: str, limit: int | None = None, window: tuple[int, int, dict] | None = None,
             ) -> dict[int, list[Hit]]:
        """Hits per pattern id; ``limit`` caps the hits kept per pattern (hostile posts).

        ``window`` = (pos, endpos, starts) when ``text`` is a window of a larger file: regexes
        match only in ``[pos, endpos)`` (pid ``p`` not before ``starts[p]``, where its previous
        match ended) and see the text around as context, so ``^``, ``$`` and ``\\b`` hold only
        where they hold in the whole file.
        """
        hits: dict[int, list[Hit]] = defaultdict(list)
        if not text:
            return hits
        data = text.encode("utf-8", "replace")
        for mode, automaton in self._automata.items():
            if self.arrays:
                self._scan_keywords_arrays(text, mode, hits, limit, data)
            else:
                self._scan_keywords(text, mode, automaton, hits, limit, data)
        if self._regexes or self._detectors:
            self._scan_bytes(text, data, hits, limit, window)
        return hits

    def _scan_keywords(self, text: str, mode: tuple[bool, bool], automaton, hits,
                       limit: int | None, data: bytes | None = None) -> None:
        folded = fold(text, *mode, utf8=data)
        ft = folded.text
        n = len(ft)
        # the hot loop of a dump scan: ASCII neighbours are looked up in a set, offsets map
        # back only when folding changed lengths, and the clear value is sliced only if kept
        breaks, irregular, masks = _ASCII_BREAKS, bool(folded.nstarts), self._masks
        keep = self.keep_values
        to_orig = folded.to_original
        for end_idx, (length, entries) in automaton.iter(ft):
            start, end = end_idx - length + 1, end_idx + 1
            bounded = None
            for pid, word in entries:
                if word:
                    if bounded is None:
                        before = ft[start - 1] if start else " "
                        after = ft[end] if end < n else " "
                        bounded = ((before in breaks or (before >= "\x80" and not is_word_char(before)))
                                   and (after in breaks or (after >= "\x80" and not is_word_char(after)))
                                   or word_bounded(folded, start, end, text))
                    if not bounded:
                        continue
                bucket = hits[pid]
                if limit is not None and len(bucket) >= limit:
                    continue
                if irregular:
                    s, e = to_orig(start), to_orig(end, end=True)
                else:
                    s, e = start, end
                if masks[pid]:
                    value = text[s:e]
                    bucket.append(Hit(s, e, ft[start:end], mask_generic(value), value if keep else ""))
                else:
                    value = text[s:e] if keep else ""
                    bucket.append(Hit(s, e, ft[start:end], value or text[s:e], value))

    def _keyword_index(self, mode: tuple[bool, bool]) -> tuple[Any, ...]:
        """The keywords of ``mode`` as :class:`crawler.rules.literals.Literals`, whose matches
        come out as arrays without a Python object per match, and each pattern's keywords."""
        import numpy as np

        from crawler.rules.literals import Literals

        got = self._indexed.get(mode)
        if got is None:
            table = self._kw[mode]
            words = list(table)
            a = Literals(words, self.hyperscan, lowercase=mode[0])
            lens = a.lengths
            by_pid: dict[int, tuple[np.ndarray, bool]] = {}
            for i, w in enumerate(words):
                for pid, word in table[w]:
                    member = by_pid.get(pid, (np.zeros(len(words), dtype=bool), word))[0]
                    member[i] = True
                    by_pid[pid] = (member, word)
            got = self._indexed[mode] = (a, words, lens, by_pid)
        return got

    def _scan_keywords_arrays(self, text: str, mode: tuple[bool, bool], hits, limit: int | None,
                              data: bytes | None = None) -> None:
        """``_scan_keywords`` for a summary: the same hits (same order, same word boundaries,
        same cap), as HitArray."""
        import numpy as np

        literals, words, lens, by_pid = self._keyword_index(mode)
        folded = fold(text, *mode, utf8=data, ascii_case=literals.caseless)
        ft = folded.text
        ends, kws = literals.matches(ft)
        if not ends.size:
            return
        starts = ends - lens[kws]
        present = np.zeros(len(words), dtype=bool)
        present[kws] = True
        bounded: np.ndarray | None = None
        for pid, (member, word) in by_pid.items():
            if not (member & present).any():
                continue
            sel = member[kws]
            if word:
                if bounded is None:
                    bounded = self._bounded(folded, text, starts, ends)
                sel &= bounded
            idx = np.flatnonzero(sel)
            if limit is not None:
                idx = idx[:max(0, limit - len(hits.get(pid, ())))]
            if not idx.size:
                continue
            s, e = starts[idx], ends[idx]
            if folded.nstarts:
                s, e = _to_original(folded, s, False), _to_original(folded, e, True)
            hits[pid] = HitArray(s, e, kws[idx], words)

    @staticmethod
    def _bounded(folded: Any, text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Word boundaries of every match, as ``_scan_keywords`` decides them: the folded
        neighbours in bulk, ``word_bounded`` (CamelCase breaks) for the rest."""
        import numpy as np

        ft = folded.text
        n = len(ft)
        codes = _codes(ft)
        before = np.where(starts > 0, codes[np.maximum(starts - 1, 0)].astype(np.int64), 32)
        after = np.where(ends < n, codes[np.minimum(ends, n - 1)].astype(np.int64), 32)
        both = np.concatenate((before, after))
        table = np.zeros(128, dtype=bool)
        table[[ord(c) for c in _ASCII_BREAKS]] = True
        breaks = np.zeros(both.shape, dtype=bool)
        low = both < 128
        breaks[low] = table[both[low]]
        if not low.all():
            wide = np.unique(both[~low])
            wide_breaks = np.array([not is_word_char(chr(c)) for c in wide.tolist()], dtype=bool)
            breaks[~low] = wide_breaks[np.searchsorted(wide, both[~low])]
        ok = breaks[:len(before)] & breaks[len(before):]
        rest = np.flatnonzero(~ok)
        if rest.size:  # "labo" in "labosud": settled here unless a CamelCase break may save it
            rest = rest[~_surely_inside(folded, text, starts[rest], ends[rest],
                                        before[rest], after[rest])]
        for i in rest.tolist():
            ok[i] = word_bounded(folded, int(starts[i]), int(ends[i]), text)
        return ok

    def _scan_bytes(self, text: str, data: bytes, hits, limit: int | None,
                    window: tuple[int, int, dict] | None = None) -> None:
        raw: list[tuple[int, int, int, str | None, object]] = []  # pid, bstart, bend, validator, nir
        if self._regexes:
            if self._set is not None:
                idx = self._set.Match(data) or []
                todo = [self._regexes[i] for i in sorted(idx)]
            else:
                todo = self._regexes
            ascii_ = len(data) == len(text)
            to_b = (lambda c: c) if ascii_ else (lambda c: _byte_offset(text, data, c))
            pos, endpos, starts = window or (0, len(text), {})
            bend = to_b(endpos)
            for pid, rx, validator in todo:
                for m in rx.finditer(data, to_b(max(pos, starts.get(pid, 0))), bend):
                    if m.end() > m.start():
                        raw.append((pid, m.start(), m.end(), validator, None))
        if self._detectors:
            self._scan_detectors(text, data, hits, limit)
        if not raw:
            return
        ascii_ = len(data) == len(text)  # byte offsets are character offsets
        conv = None if ascii_ else _char_offsets(data, text, {o for r in raw for o in (r[1], r[2])})
        for pid, bs, be, validator, _n in raw:
            if limit is not None and len(hits[pid]) >= limit:
                continue
            s, e = (bs, be) if ascii_ else (conv[bs], conv[be])
            value = text[s:e]
            if validator:
                res = VALIDATORS[validator](value)
                if res is None:
                    continue
                canonical, masked = res
            else:
                canonical = value
                masked = mask_generic(value) if self.patterns[pid].mask else value
            hits[pid].append(Hit(s, e, canonical, masked, value if self.keep_values else ""))


    def _scan_detectors(self, text: str, data: bytes, hits, limit: int | None) -> None:
        """Detector hits (crawler.rules.detectors), built per detector: a dump window holds
        thousands of NIRs."""
        shared: dict[str, Any] = {}
        keep, lean = self.keep_values, self.lean
        for pid, det in self._detectors:
            bucket = hits[pid]
            if self.arrays and lean and not bucket and det.find_arrays is not None:
                # a summary: arrays, no object or string per hit
                got = det.find_arrays(data, shared)
                take = len(got) if limit is None else max(0, limit - len(bucket))
                if not len(got) or not take:
                    continue
                s_arr, e_arr = got.starts[:take], got.ends[:take]
                if len(data) != len(text):  # byte -> character offsets (valid UTF-8 bytes)
                    cont = shared.get("_continuations")
                    if cont is None:
                        cont = shared["_continuations"] = nirbulk.continuations(data)
                    s_arr, e_arr = nirbulk.to_chars(cont, s_arr), nirbulk.to_chars(cont, e_arr)
                hits[pid] = SpanArray(s_arr, e_arr, got.chars[:take])
                continue
            found = det.find(data, shared)
            if limit is not None:
                found = found[:max(0, limit - len(bucket))]
            if not found:
                continue
            if len(data) == len(text):  # byte offsets are character offsets
                spans = [(s, e) for s, e, _c in found]
            else:
                conv = _char_offsets(data, text, {o for s, e, _c in found for o in (s, e)})
                spans = [(conv[s], conv[e]) for s, e, _c in found]
            canon = [c for _s, _e, c in found]
            masked = [""] * len(found) if lean else [det.mask(c) for c in canon]
            rows = zip(spans, canon, masked, strict=True)
            if keep:
                bucket.extend(Hit(s, e, c, m, text[s:e]) for (s, e), c, m in rows)
            else:
                bucket.extend(Hit(s, e, c, m, "") for (s, e), c, m in rows)


@dataclass(slots=True)
class CompiledRule:
    loaded: LoadedRule
    patterns: dict[str, int]  # pattern name -> pid
    exclude: dict[str, int]
    fields: tuple[str, ...]


@dataclass(slots=True)
class Firing:
    """A rule that fired on a document: its hits as (field, pattern name, hit)."""

    rule: CompiledRule
    hits: list[tuple[str, str, Hit]] = field(default_factory=list)


class _Ctx:
    def __init__(self, per_field: dict[str, dict[str, list[Hit]]]) -> None:
        self.per_field = per_field
        self._counts: dict[str, int] = {}

    def count(self, name: str) -> int:
        c = self._counts.get(name)
        if c is None:
            c = self._counts[name] = len({h.canonical for hs in self.per_field.values()
                                          for h in hs.get(name, ())})
        return c

    def near(self, a: str, b: str, within: int) -> bool:
        for hs in self.per_field.values():
            ha, hb = hs.get(a), hs.get(b)
            if not ha or not hb:
                continue
            hb = sorted(hb, key=lambda h: h.start)
            starts = [h.start for h in hb]
            longest = max(h.end - h.start for h in hb)
            for h in ha:
                lo = bisect_left(starts, h.start - within - longest)
                hi = bisect_right(starts, h.end + within)
                for x in hb[lo:hi]:
                    if max(h.start, x.start) - min(h.end, x.end) <= within:
                        return True
        return False


class RuleSet:
    """Compiled rules, ready to evaluate documents (dicts of field name -> text)."""

    def __init__(self, rules: list[LoadedRule], keep_values: bool = True) -> None:
        self.matcher = Matcher(keep_values)
        self.rules: list[CompiledRule] = []
        for lr in rules:
            if not lr.rule.enabled:
                continue
            det = lr.rule.detection
            self.rules.append(CompiledRule(
                lr, {n: self.matcher.add(p) for n, p in det.patterns.items()},
                {n: self.matcher.add(p) for n, p in det.exclude.items()}, tuple(det.fields)))
        self.matcher.build()
        self.fields = sorted({f for r in self.rules for f in r.fields})

    def scan_fields(self, doc: dict[str, str], limit: int | None = None) -> dict[str, dict[int, list[Hit]]]:
        return {f: self.matcher.scan(doc.get(f) or "", limit) for f in self.fields if doc.get(f)}

    def evaluate(self, doc: dict[str, str],
                 scanned: dict[str, dict[int, list[Hit]]] | None = None) -> list[Firing]:
        scanned = scanned if scanned is not None else self.scan_fields(doc)
        firings: list[Firing] = []
        for cr in self.rules:
            per_field: dict[str, dict[str, list[Hit]]] = {}
            excluded = False
            for f in cr.fields:
                hits = scanned.get(f)
                if not hits:
                    continue
                if any(hits.get(pid) for pid in cr.exclude.values()):
                    excluded = True
                    break
                named = {n: hits[pid] for n, pid in cr.patterns.items() if hits.get(pid)}
                if named:
                    per_field[f] = named
            if excluded or not per_field:
                if not excluded and cr.loaded.condition.evaluate(_Ctx({})):
                    firings.append(Firing(cr))  # e.g. "not x": fires on documents without x
                continue
            if cr.loaded.condition.evaluate(_Ctx(per_field)):
                fr = Firing(cr)
                for f, named in per_field.items():
                    for n, hs in named.items():
                        fr.hits.extend((f, n, h) for h in hs)
                fr.hits.sort(key=lambda t: (t[0], t[2].start, t[2].end))
                firings.append(fr)
        return firings
