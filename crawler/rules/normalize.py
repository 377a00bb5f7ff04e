"""Case/accent folding with a map from folded offsets back to the original text.

Aho-Corasick matches exact strings, so keywords and text are folded the same way. Folding works
character by character (compatibility decomposition, optional removal of combining marks,
optional case fold) so every folded character knows the original character it came from. Most
characters fold to exactly one character (``é`` -> ``e``), so the map only records the few that
do not (``ß`` -> ``ss``, a stripped combining accent -> nothing) and is looked up by bisection:
memory stays proportional to those exceptions, not to the text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Line breaks, tabs, "_" and "-" become spaces (same length), so "médecin\ntraitant",
# "dump_cerba_healthcare.sql" and "Cerba-Healthcare" all match the keyword "cerba healthcare".
_TABLES: dict[tuple[bool, bool], dict[str, str]] = {}


def fold_char(ch: str, case_insensitive: bool, strip_accents: bool) -> str:
    """The folded form of one character (possibly empty or longer than one)."""
    out = unicodedata.normalize("NFKD", ch)
    if strip_accents:
        out = "".join(c for c in out if not unicodedata.combining(c))
    if case_insensitive:
        out = out.casefold()
        if strip_accents:  # casefold can reintroduce decomposable characters
            out = "".join(c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c))
    return out


def fold_keyword(word: str, case_insensitive: bool, strip_accents: bool) -> str:
    """Fold a keyword exactly as text is folded (whitespace runs become one space)."""
    return " ".join(fold(word, case_insensitive, strip_accents).text.split())


@dataclass(slots=True)
class Folded:
    text: str
    # Irregular characters: parallel lists of folded start, folded length, original index.
    nstarts: list[int] = field(default_factory=list)
    nlens: list[int] = field(default_factory=list)
    origs: list[int] = field(default_factory=list)

    def to_original(self, pos: int, end: bool = False) -> int:
        """Original offset of folded offset ``pos`` (``end``: an exclusive end offset)."""
        if not self.nstarts:
            return pos
        k = bisect_right(self.nstarts, pos) - 1
        if k < 0:
            return pos
        ns, nl, orig = self.nstarts[k], self.nlens[k], self.origs[k]
        if pos < ns + nl:  # inside the expansion of one original character
            return orig + 1 if end and pos > ns else orig
        return orig + 1 + (pos - ns - nl)


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_FRENCH_MARKS = ("\u0301", "\u0300", "\u0302", "\u0308", "\u0327")  # ´ ` ^ ¨ ¸
_REGULAR: dict[tuple[bool, bool], dict[str, bool]] = {}


def _spaces(s: str) -> str:
    # str.replace runs in C on any string; str.translate is per-character on non-ASCII text.
    if "_" in s:
        s = s.replace("_", " ")
    if "-" in s:
        s = s.replace("-", " ")
    if "\n" in s or "\t" in s or "\r" in s:
        s = s.replace("\n", " ").replace("\t", " ").replace("\r", " ")
    if "\x0b" in s or "\x0c" in s:
        s = s.replace("\x0b", " ").replace("\x0c", " ")
    return s


def _whole_string(text: str, case_insensitive: bool) -> str:
    """Fold with whole-string C calls: right only when every character folds to one character."""
    s = text.casefold() if case_insensitive else text
    s = unicodedata.normalize("NFKD", s)
    for mark in _FRENCH_MARKS:  # str.replace (C) is much faster than re.sub on dense accents
        if mark in s:
            s = s.replace(mark, "")
    return _COMBINING.sub("", s) if _COMBINING.search(s) else s


def _all_regular(text: str, mode: tuple[bool, bool]) -> bool:
    """True if each distinct non-ASCII character folds to exactly one character, the same way
    character by character and with the whole-string calls (the fast path is then exact)."""
    if not mode[1]:
        return False
    known = _REGULAR.setdefault(mode, {})
    for ch in set(text):
        if ch < "\x80":
            continue
        ok = known.get(ch)
        if ok is None:
            f = fold_char(ch, *mode)
            ok = known[ch] = len(f) == 1 and _whole_string(ch, mode[0]) == f
        if not ok:
            return False
    return True


_ASCII_BYTES = bytes(range(128))
_ONE_TO_ONE: dict[tuple[bool, bool], dict[str, str | None]] = {}


def _by_replacement(text: str, utf8: bytes, mode: tuple[bool, bool],
                    ascii_case: bool = False) -> str | None:
    """Fold mostly-ASCII text with C-level passes: ``lower()`` then one ``str.replace`` per
    distinct non-ASCII character (a French dump holds a dozen: é, è, à, ç...). Exact when each of
    them folds to one character the same way before and after ``lower()`` and folding it again
    changes nothing; None otherwise (the caller takes the general path). ~6x faster than
    normalising the whole window, the largest cost of a dump scan before this."""
    if not mode[1]:
        return None
    table = _ONE_TO_ONE.setdefault(mode, {})
    distinct = set(utf8.translate(None, _ASCII_BYTES).decode("utf-8", "replace"))
    if len(distinct) > 64:
        return None  # a non-Latin text: the whole-string calls are cheaper than many passes
    pairs: list[tuple[str, str]] = []
    for ch in distinct:
        if ch not in table:
            f = fold_char(ch, *mode)
            low = ch.lower() if mode[0] else ch
            ok = (len(f) == 1 and len(low) == 1 and fold_char(low, *mode) == f
                  and fold_char(f, *mode) == f
                  # lower() in context equals lower() alone (not so for Σ at a word's end)
                  and (not mode[0] or ("a" + ch).lower()[1:] == low == (ch + "a").lower()[:1]))
            table[ch] = f if ok else None
        folded = table[ch]
        if folded is None:
            return None
        pairs.append((ch.lower() if mode[0] and not ascii_case else ch, folded))
    s = text.lower() if mode[0] and not ascii_case else text
    for low, f in pairs:
        if low != f and low in s:
            s = s.replace(low, f)
    return s


def fold(text: str, case_insensitive: bool = True, strip_accents: bool = True,
         utf8: bytes | None = None, ascii_case: bool = False) -> Folded:
    """``utf8``: the text already encoded, if the caller has it (a dump window).

    ``ascii_case``: the caller matches ASCII letters without regard to case (Hyperscan's
    caseless literals), so ASCII capitals may be left as they are where that saves the
    ``lower()`` pass over a whole window; every other character is folded as usual."""
    if text.isascii():
        return Folded(_spaces(text.lower() if case_insensitive and not ascii_case else text))
    if utf8 is not None:
        fast = _by_replacement(text, utf8, (case_insensitive, strip_accents), ascii_case)
        if fast is not None:
            return Folded(_spaces(fast))
    if _all_regular(text, (case_insensitive, strip_accents)):
        return Folded(_spaces(_whole_string(text, case_insensitive)))
    table = _TABLES.setdefault((case_insensitive, strip_accents), {})
    parts: list[str] = []
    out = Folded("")
    last = npos = 0
    for m in _NON_ASCII.finditer(text):
        s, e = m.span()
        if s > last:
            seg = text[last:s]
            parts.append(seg.lower() if case_insensitive else seg)
            npos += s - last
        for i in range(s, e):
            ch = text[i]
            f = table.get(ch)
            if f is None:
                f = table[ch] = fold_char(ch, case_insensitive, strip_accents)
            parts.append(f)
            if len(f) != 1:
                out.nstarts.append(npos)
                out.nlens.append(len(f))
                out.origs.append(i)
            npos += len(f)
        last = e
    if last < len(text):
        seg = text[last:]
        parts.append(seg.lower() if case_insensitive else seg)
    out.text = _spaces("".join(parts))
    return out


def is_word_char(ch: str) -> bool:
    """Letters, digits and combining marks continue a word (so ``cafe`` does not end inside ``café``).
    ``_`` does not: leaks are named ``dump_biogroup_2021.sql``."""
    return ch.isalnum() or bool(unicodedata.combining(ch))


def camel_break(text: str, i: int) -> bool:
    """True if ``text`` has a CamelCase break between ``text[i-1]`` and ``text[i]``: a lowercase
    letter then a capital (``LeakCerba``), or a capital then a capitalised word (``SQLCerba``).
    Forum handles and file names glue names this way."""
    if i <= 0 or i >= len(text):
        return False
    a, b = text[i - 1], text[i]
    if not b.isupper():
        return False
    return a.islower() or (a.isupper() and i + 1 < len(text) and text[i + 1].islower())


def word_bounded(folded: Folded, start: int, end: int, original: str) -> bool:
    """Is folded ``[start, end)`` a whole word: no letter/digit next to it in the folded text,
    or a CamelCase break in the original text at that side."""
    ft = folded.text
    if start > 0 and is_word_char(ft[start - 1]) \
            and not camel_break(original, folded.to_original(start)):
        return False
    return end >= len(ft) or not is_word_char(ft[end]) \
        or camel_break(original, folded.to_original(end, end=True))
