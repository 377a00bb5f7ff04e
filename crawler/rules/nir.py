"""French NIR (numéro de sécurité sociale): find, validate, canonicalise, mask.

Finding. One RE2 expression (linear time) proposes candidates in the forms seen in dumps:
``185057800608436``, ``1 85 05 78 006 084 36``, dots/dashes/slashes/(narrow) no-break spaces
between the official groups, the key apart (``1850578006084 36``, ``... clé 36``, ``... key: 36``,
``(36)``, a CSV column ``1850578006084;36`` or ``"1850578006084","36"``) and Corsica ``2A``/``2B``.
Separators are only accepted between the official groups (1-2-2-2-3-3 + key): phones (2-digit
groups), IBANs and cards (4-digit groups) and SIRETs (3-3-3-5) cannot line up with them.

Boundaries. ``\\b`` on both ends: a NIR glued to letters or digits (inside a longer digit run, an
IBAN, a hash) is not a NIR; neither is one glued to more digits by ``.``, ``-`` or ``/``
(``12.185057800608436``, a decimal; ``...436-12``). A space then more digits is accepted: it is how
tables and CSVs sit side by side (``185057800608436 0612345678``).

Validation. ``stdnum.fr.nir`` (length, 2A/2B, mod-97 key) plus the structure checks it lacks:
sex 1/2/3/4/7/8, month 01-12/20-42/50-99, department 01-96, 2A/2B, 97x/98x (2-digit commune) or
99 (foreign country code), commune/country and order number not 000. A compact 15-digit number
starting with 34, 35 or 37 that also passes Luhn is rejected: that is an Amex card or an IMEI
(TAC 35...), whose key matches one time in 97; a real NIR starting so (sex digit 3, rare) passes
Luhn one time in ten, so this costs very little recall.

No key, no NIR: a 13-digit body alone cannot be checked (EAN-13 barcodes and order numbers share
its shape), so ``fr-nir`` never reports one; the shipped rule ``fr-nir-nokey`` reports a
structurally valid 13-digit body only next to NIR vocabulary ("sécurité sociale", "NIR", ...).
"""

from __future__ import annotations

from typing import NamedTuple

import re2
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from crawler.rules.re2_options import RE2_OPTIONS

_SEP = r"[ \t.\-/\x{a0}\x{202f}]{0,2}"
_SP = r"[ \t\x{a0}\x{202f}]{0,3}"
_KEYSEP = (
    _SP + r"(?:[.\-/;,|:]|\"" + _SP + r"[;,]" + _SP + r"\"|'" + _SP + r"[;,]" + _SP
    + r"'|(?i:cl[eé]|key|cle\.)" + _SP + r"[:=]?)?" + _SP
)
_BODY = (
    r"[1-478]" + _SEP + r"\d\d" + _SEP + r"\d\d" + _SEP + r"(?:\d\d|2[AaBb])" + _SEP
    + r"\d\d\d" + _SEP + r"\d\d\d"
)
# The key: "(36)" (closing parenthesis included in the span) or after a separator. No capture
# groups: RE2 then finds candidates with its DFA alone; the digits are read back from the span.
# "_" counts as a boundary (file names: scan_185057800608491.pdf); it is trimmed from the span.
CANDIDATE = (r"(?:\b|_)" + _BODY + r"(?:" + _SP + r"\(" + _SP + r"(?:(?i:cl[eé]|key)[ :=]{0,3})?\d\d"
             + _SP + r"\)|" + _KEYSEP + r"\d\d(?:\b|_))")
BODY_ONLY = r"\b" + _BODY + r"\b"

_OPTIONS = RE2_OPTIONS
CANDIDATE_RX = re2.compile(CANDIDATE, _OPTIONS)
BODY_RX = re2.compile(BODY_ONLY, _OPTIONS)
_GLUE = b".-/"
_IMEI_AMEX = ("34", "35", "37")
# bytes.translate table deleting everything but digits and A/B (2A/2B): what is left of a
# candidate span is its 15 (or 13) characters; "clé", "key", separators and quotes disappear.
_KEEP = set(b"0123456789AaBb")
_DELETE = bytes(b for b in range(256) if b not in _KEEP)
_WORD = set(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
MAX_CANDIDATE = 80  # bytes: longer than any candidate the regex can produce


class Nir(NamedTuple):  # a tuple: built ~10x faster than a frozen dataclass (millions per dump)
    sex: str
    year: str
    month: str
    dept: str
    commune: str
    order: str
    key: str

    @property
    def canonical(self) -> str:
        return f"{self.sex}{self.year}{self.month}{self.dept}{self.commune}{self.order}{self.key}"

    @property
    def masked(self) -> str:
        return f"{self.sex} {self.year} {self.month} ** *** *** {self.key or '**'}"


def from_canonical(c: str) -> Nir:
    """The :class:`Nir` of a canonical 15-character string (already validated)."""
    return Nir(c[0], c[1:3], c[3:5], c[5:7], c[7:10], c[10:13], c[13:15])


def mask_canonical(c: str) -> str:
    """:attr:`Nir.masked` of a canonical string, without building the tuple."""
    return f"{c[0]} {c[1:3]} {c[3:5]} ** *** *** {c[13:15] or '**'}"


def check_key(body13: str) -> str:
    n = int(body13.upper().replace("2A", "19").replace("2B", "18"))
    return f"{97 - n % 97:02d}"


def structure_ok(sex: str, month: str, dept: str, commune: str, order: str) -> bool:
    """darkwatch's checks on top of stdnum's: what a real NIR body can hold."""
    if sex not in "123478":
        return False
    m = int(month)
    if not (1 <= m <= 12 or 20 <= m <= 42 or 50 <= m <= 99):
        return False
    if order == "000":
        return False
    if dept in ("2A", "2B"):
        return commune != "000"
    d = int(dept)
    if d == 0:
        return False
    if d in (97, 98):  # overseas: 3-digit department, 2-digit commune
        return commune[1:] != "00"
    return commune != "000"  # 01-96 (20 before 1976) or 99 + country code


def parse(sex: str, year: str, month: str, dept: str, commune: str, order: str,
          key: str) -> Nir | None:
    dept = dept.upper()
    if not structure_ok(sex, month, dept, commune, order):
        return None
    nir = Nir(sex, year, month, dept, commune, order, key)
    if stdnum_nir.calc_check_digits(nir.canonical) != key:  # stdnum's mod-97 key
        return None
    return nir


def parse_value(value: str) -> Nir | None:
    """A NIR from free text holding one (any separators, ``clé``); None if not a valid NIR."""
    s = "".join(c for c in value.upper().replace("CLÉ", "").replace("CLE", "").replace("KEY", "")
                if c.isalnum())
    if len(s) != 15 or not s.isascii():
        return None
    return parse(s[0], s[1:3], s[3:5], s[5:7], s[7:10], s[10:13], s[13:15])


def _glued(data: bytes, start: int, end: int) -> bool:
    """Digits attached by '.', '-' or '/' on either side: part of a longer number."""
    if start >= 2 and data[start - 1] in _GLUE and 48 <= data[start - 2] <= 57:
        return True
    return end + 1 < len(data) and data[end] in _GLUE and 48 <= data[end + 1] <= 57


def _trim(data: bytes, start: int, end: int) -> tuple[int, int]:
    if data[start] == 95:  # "_"
        start += 1
    if data[end - 1] == 95:
        end -= 1
    return start, end


_SEXES = frozenset("123478")
_MONTHS = frozenset(f"{m:02d}" for m in (*range(1, 13), *range(20, 43), *range(50, 100)))


def _check(data: bytes, start: int, end: int) -> Nir | None:
    """``parse`` of the span's characters, inlined: this runs once per candidate in a dump."""
    if (start >= 2 and data[start - 1] in _GLUE and 48 <= data[start - 2] <= 57) or (
            end + 1 < len(data) and data[end] in _GLUE and 48 <= data[end + 1] <= 57):
        return None  # _glued, inlined
    s = data[start:end].translate(None, _DELETE).decode("ascii")
    if not s.isdigit():
        s = s.upper()  # 2a/2b
    if len(s) != 15 or s[0] not in _SEXES or s[3:5] not in _MONTHS or s[10:13] == "000":
        return None
    dept, commune = s[5:7], s[7:10]
    if dept == "2A" or dept == "2B":
        if commune == "000":
            return None
        body = s[:5] + ("19" if dept == "2A" else "18") + s[7:13]
    else:
        d = int(dept)
        if d == 0 or (commune[1:] == "00" if d in (97, 98) else commune == "000"):
            return None
        body = s[:13]
    if not s[13:].isdigit() or 97 - int(body) % 97 != int(s[13:]):  # stdnum's mod-97 key
        return None
    if end - start == 15 and s[:2] in _IMEI_AMEX and luhn.is_valid(s):
        return None  # IMEI (TAC 35...) or Amex (34/37) shape
    return Nir(s[0], s[1:3], s[3:5], dept, commune, s[10:13], s[13:15])


def find(data: bytes) -> list[tuple[int, int, Nir]]:
    """Valid NIRs in UTF-8 ``data``: (byte start, byte end, Nir). Linear in ``len(data)``."""
    out: list[tuple[int, int, Nir]] = []
    resume = 0
    for m in CANDIDATE_RX.finditer(data):
        start, end = _trim(data, *m.span())
        if start >= resume:
            resume = take(data, start, end, out, resume)
    return out


def take(data: bytes, start: int, end: int, out: list, resume: int) -> int:
    """Check one (trimmed) candidate span and append what it holds to ``out``; returns the new
    ``resume`` offset (candidates starting before it are inside a NIR already taken)."""
    nir = _check(data, start, end)
    if nir is not None:
        out.append((start, end, nir))
        return resume
    # A rejected candidate may hide a real NIR starting at one of its later word starts:
    # look again inside it (a bounded window, so this stays linear).
    n = len(data)
    limit = min(n, end + MAX_CANDIDATE)
    pos = start + 1
    while pos < end:
        m2 = CANDIDATE_RX.search(data, pos, limit)
        if m2 is None or m2.start() >= end - 1:
            break
        s2, e2 = _trim(data, *m2.span())
        if (e2 < n and data[e2] in _WORD) or (e2 == limit and limit < n):
            pos = s2 + 1  # cut by the window: not a real end
            continue
        nir = _check(data, s2, e2)
        if nir is not None:
            out.append((s2, e2, nir))
            return e2
        pos = s2 + 1
    return resume


def find_bodies(data: bytes) -> list[tuple[int, int, Nir]]:
    """Structurally valid 13-character NIR bodies with no key (for context-gated rules)."""
    out: list[tuple[int, int, Nir]] = []
    for m in BODY_RX.finditer(data):
        take_body(data, *m.span(), out)
    return out


def take_body(data: bytes, start: int, end: int, out: list) -> None:
    """Append the body at ``[start, end)`` to ``out`` if it is one (not glued, valid structure)."""
    if _glued(data, start, end):
        return
    s = data[start:end].translate(None, _DELETE).decode("ascii").upper()
    if len(s) == 13 and structure_ok(s[0], s[3:5], s[5:7], s[7:10], s[10:13]):
        out.append((start, end, Nir(s[0], s[1:3], s[3:5], s[5:7], s[7:10], s[10:13], "")))
