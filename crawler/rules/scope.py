"""The scope of a dump in bounded memory: records, distinct NIRs, labs named, columns, rules fired.

``darkwatch scan --summary`` answers "how many people, which labs, which fields" without keeping
matches: :class:`Scope` sees each window's hits (:class:`crawler.rules.scan.Scanner` ``observe``)
and keeps counters only. Distinct NIRs are counted by keyed 8-byte digests (a keyed bijection
drawn per run; never the clear number): exact up to ``Distinct.EXACT_LIMIT`` values (~60 MB),
then a HyperLogLog estimate (about 1% error, 16 KB) flagged as such, so a dump of any size fits
in memory.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from crawler.rules import nir, nirbulk
from crawler.rules.engine import Hit, HitArray, RuleSet, SpanArray
from crawler.rules.scan import FileStat

MAX_SAMPLES = 10
_HLL_P = 14


class Distinct:
    """Count distinct NIRs by keyed digest: exact, then HyperLogLog beyond ``EXACT_LIMIT``.

    A canonical NIR (15 characters of ``0-9AB``) packs into 64 bits; a keyed bijection of
    64-bit words (xor and an odd multiplier drawn per run, kept in memory only, then MurmurHash3's
    finaliser) turns that into the digest. Being a bijection it never merges two NIRs, so the
    exact count is exact; being keyed, the set holds no number in clear. Computed on whole arrays
    (a dump window's NIRs at once), as is the estimate's register update.
    """

    EXACT_LIMIT = 1_000_000

    def __init__(self) -> None:
        self._set: set[int] | None = set()
        self._hll: np.ndarray | None = None
        k0, k1 = np.frombuffer(secrets.token_bytes(16), dtype=np.uint64)
        self._keys = (k0, k1 | np.uint64(1))

    @property
    def exact(self) -> bool:
        return self._hll is None

    def add_many(self, values: list[str]) -> None:
        """Canonical NIRs (equal widths, up to 16 characters of ``0-9A-F``)."""
        if values:
            self.add_chars(nirbulk.as_chars(values))

    def add_chars(self, chars: np.ndarray) -> None:
        """Canonical NIRs as a ``(n, width)`` uint8 array of their characters."""
        d = self._digests(chars)
        if self._set is not None:
            self._set.update(d.tolist())
            if len(self._set) > self.EXACT_LIMIT:
                self._hll = np.zeros(1 << _HLL_P, dtype=np.uint8)
                self._hll_add(np.fromiter(self._set, dtype=np.uint64, count=len(self._set)))
                self._set = None
            return
        self._hll_add(d)

    def _digests(self, chars: np.ndarray) -> np.ndarray:
        # the key, then MurmurHash3's 64-bit finaliser: each step a bijection (uint64 arithmetic
        # wraps; odd multipliers), and every input bit reaches every output bit, as the
        # estimate's register index (top bits) and rank (leading zeros) need
        x = (_packed(chars) ^ self._keys[0]) * self._keys[1]
        x ^= x >> np.uint64(33)
        x = x * np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x = x * np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
        return x

    def _hll_add(self, d: np.ndarray) -> None:
        idx = (d >> np.uint64(64 - _HLL_P)).astype(np.int64)
        rest = d & np.uint64((1 << (64 - _HLL_P)) - 1)
        # bit length of values below 2**50: exact through float64's exponent
        bits = np.frexp(rest.astype(np.float64))[1]
        rank = ((64 - _HLL_P) - bits + 1).astype(np.uint8)
        np.maximum.at(self._hll, idx, rank)

    def __len__(self) -> int:
        if self._set is not None:
            return len(self._set)
        m = 1 << _HLL_P
        regs = self._hll.astype(np.float64)
        est = (0.7213 / (1 + 1.079 / m)) * m * m / float(np.sum(2.0 ** -regs))
        zeros = int(np.count_nonzero(self._hll == 0))
        if est <= 2.5 * m and zeros:
            est = m * math.log(m / zeros)
        return round(est)


def _packed(chars: np.ndarray) -> np.ndarray:
    """Canonical NIRs (rows of 15 characters, ``2A``/``2B`` only in the 7th) -> distinct 64-bit
    words: the low nibble of each byte, 8 bytes to 32 bits by shifts, plus a bit that tells
    ``A``/``B`` from ``1``/``2`` (bit 6 of the 7th byte). A few whole-array operations."""
    if chars.shape[1] != 15:  # any other width: one nibble per character, the slow way
        nibbles = np.where(chars >= 65, chars - 55, chars - 48).astype(np.uint64)
        shifts = np.arange(4 * (chars.shape[1] - 1), -1, -4, dtype=np.uint64)
        return np.bitwise_or.reduce(nibbles << shifts, axis=1)
    buf = np.zeros((len(chars), 16), dtype=np.uint8)
    buf[:, :15] = chars
    w = buf.view("<u8").astype(np.uint64, copy=False)  # bytes 0-7, 8-15 (the 16th is 0)
    letter = (w[:, 0] >> np.uint64(54)) & np.uint64(1)
    x = w & np.uint64(0x0F0F0F0F0F0F0F0F)
    x = (x | (x >> np.uint64(4))) & np.uint64(0x00FF00FF00FF00FF)
    x = (x | (x >> np.uint64(8))) & np.uint64(0x0000FFFF0000FFFF)
    x = (x | (x >> np.uint64(16))) & np.uint64(0x00000000FFFFFFFF)
    # the 16th byte's nibble (always 0) lands in bits 60-63: the letter bit takes bit 63
    return x[:, 0] | (x[:, 1] << np.uint64(32)) | (letter << np.uint64(63))


# Column kinds from header names (folded: lowercase, no accents, separators as spaces).
_KINDS = [
    ("nir", r"\b(nir|nss|secu|securite sociale|insee|ssn|num ss|n ss)\b"),
    ("first_name", r"\b(prenom|first ?name|given ?name|firstname)\b"),
    ("last_name", r"\b(nom|name|last ?name|surname|nom de famille|lastname)\b"),
    ("birth_date", r"\b(naissance|ddn|birth|dob|date de naissance|birthdate|ne le)\b"),
    ("blood_group", r"\b(groupe sanguin|sang|blood|rhesus|groupe_sanguin)\b"),
    ("gp", r"\b(medecin|docteur|doctor|gp|praticien)\b"),
    ("insurer", r"\b(mutuelle|insurer|assurance|complementaire|caisse|amc)\b"),
    ("lab", r"\b(labo|laboratoire|lab|laboratory)\b"),
    ("notes", r"\b(commentaire|comment|comments|notes?|remarques?|observations?)\b"),
    ("phone", r"\b(tel|telephone|phone|mobile|portable)\b"),
    ("email", r"\b(e ?mail|courriel|mail)\b"),
    ("address", r"\b(adresse|address|rue|ville|city|code postal|cp|zip)\b"),
]
_KINDS_RX = [(k, re.compile(rx)) for k, rx in _KINDS]
_DELIMS = ";,\t|"


def _fold(name: str) -> str:
    s = unicodedata.normalize("NFKD", name.strip().strip('"\'').lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", s).split())


def column_kind(name: str) -> str:
    """What a column holds, from its header name (``unknown`` if the name says nothing)."""
    f = _fold(name)
    for kind, rx in _KINDS_RX:
        if rx.search(f):
            return kind
    return "unknown"


def sniff_header(head: list[str]) -> list[str] | None:
    """Column names if the first line looks like a CSV/TSV header (delimited, no long digit run,
    at least one name that says what it holds), else None."""
    if not head or not head[0].strip():
        return None
    first = head[0].rstrip("\r")
    if re.search(r"\d{5}", first):
        return None  # a data row, not a header
    best = max(_DELIMS, key=first.count)
    n = first.count(best)
    if n == 0 or (len(head) > 1 and head[1] and head[1].count(best) < n):
        return None
    names = [c.strip().strip('"')[:64] for c in first.split(best)]
    # a first data row is not a header: printing it would print a person's name in clear
    return names if any(column_kind(n) != "unknown" for n in names) else None


_VALUE_RX = [  # what a cell holds, from its value (checked in this order)
    ("birth_date", re.compile(r"(0?[1-9]|[12]\d|3[01])[/.-](0?[1-9]|1[0-2])[/.-](19|20)\d\d"
                              r"|(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")),
    ("blood_group", re.compile(r"(?i)(a|b|ab|o|0)\s?(\+|-|pos|neg|rh\+|rh-)")),
    ("email", re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")),
    ("phone", re.compile(r"(\+33\s?|0)[1-9]([ .-]?\d\d){4}")),
    ("gp", re.compile(r"(?i)(dr|docteur|pr|doctor)\.?\s+\S.*")),
    ("last_name", re.compile(r"[A-ZÀ-Ý][A-ZÀ-Ý' -]+")),
    ("first_name", re.compile(r"[A-ZÀ-Ý][a-zà-ÿ]+([ '-][A-ZÀ-Ý]?[a-zà-ÿ]+)?")),
]
# Insurers as dumps write them (first word), beyond the pack's keyword rule: the national funds
# and the largest complementary insurers in France.
_INSURER_WORDS = frozenset([
    "cpam", "msa", "mgen", "harmonie", "ag2r", "maaf", "swiss", "axa", "allianz", "macif", "maif",
    "malakoff", "humanis", "generali", "groupama", "april", "alan", "apicil", "ociane", "probtp",
    "mnt", "mgefi", "interiale", "viamedis", "almerys", "vyv", "mutualia", "matmut", "smeno", "lmde",
    "cnmss", "camieg"])
_INSURER_RX = re.compile(r"\b(mutuelle|sante|prevoyance|assurance maladie)\b")
_FREE_TEXT = re.compile(r"(?<![A-Za-zÀ-ÿ])[a-zà-ÿ]{3,}")  # a lowercase word: prose, not a name
VALUE_SHARE = 0.6  # a column is of a kind when this share of its non-empty sampled cells is
HEALTH_KINDS = ("nir", "blood_group", "gp", "insurer", "lab", "notes")


def value_kind(value: str, names: dict[str, str]) -> str | None:
    """What one cell holds (``names``: folded lab/insurer names -> kind), or None."""
    v = value.strip().strip('"\'').strip()
    if not v:
        return None
    if 13 <= len(v) <= 40 and nir.find(v.encode()):
        return "nir"
    folded = _fold(v)
    kind = names.get(folded)
    if kind:
        return kind
    if folded.split(" ")[0] in _INSURER_WORDS or _INSURER_RX.search(folded):
        return "insurer"
    for k, rx in _VALUE_RX:
        if rx.fullmatch(v):
            return k
    return "notes" if _FREE_TEXT.search(v) else "unknown"


def column_kinds(head: list[str], names: dict[str, str]) -> tuple[list[dict[str, str]], bool]:
    """Columns of a delimited dump from its header AND its first rows' values; and whether the
    first line is a header. A column's ``kind`` is the header's when it names one, else what
    VALUE_SHARE of its cells hold; ``from`` says which (``header``, ``values``, ``both``)."""
    header = sniff_header(head)
    rows = head[1:] if header else head
    delim = _delimiter(head[0] if header else (rows[0] if rows else ""), rows)
    if delim is None:
        return [], bool(header)
    width = len(header) if header else rows[0].count(delim) + 1
    if width > 1000:  # a very wide table: the header's kinds only (values would cost the time)
        return ([{"name": n, "kind": column_kind(n), "from": "header"} for n in header]
                if header else [], bool(header))
    votes: list[Counter[str]] = [Counter() for _ in range(width)]
    for line in rows:
        cells = line.rstrip("\r").split(delim)
        for i, cell in enumerate(cells[:width]):
            k = value_kind(cell, names)
            if k:
                votes[i][k] += 1
    cols = []
    for i in range(width):
        name = header[i] if header else f"column {i + 1}"
        by_name = column_kind(name) if header else "unknown"
        total = sum(votes[i].values())
        by_values = "unknown"
        if total:
            k, n = votes[i].most_common(1)[0]
            by_values = k if n >= VALUE_SHARE * total else "unknown"
        if by_name != "unknown":
            col = {"name": name, "kind": by_name,
                   "from": "both" if by_values == by_name else "header"}
            if by_values not in ("unknown", by_name):
                col["values"] = by_values  # the cells say otherwise: shown, not hidden
        else:
            col = {"name": name, "kind": by_values, "from": "values"}
        cols.append(col)
    return cols, bool(header)


def _delimiter(first: str, rows: list[str]) -> str | None:
    """The delimiter of a CSV/TSV: the most frequent of ``;,\t|`` in the first line, used the
    same number of times in the next lines."""
    first = first.rstrip("\r")
    best = max(_DELIMS, key=first.count)
    n = first.count(best)
    if n == 0 or any(r.count(best) != n for r in rows[:20] if r.strip()):
        return None
    return best


def _names_of(ruleset: RuleSet, pids: set[int]) -> set[str]:
    m = ruleset.matcher
    out: set[str] = set()
    for pid in pids:
        for kw in m.patterns[pid].pattern.keywords or ():
            out.add(_fold(kw))
    return out


class Scope:
    """Aggregates of one ``darkwatch scan`` run: what the summary prints."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        m = ruleset.matcher
        self.nir_pids = {c.pid for c in m.patterns if c.pattern.detector == "fr-nir"}
        self.lab_pids: set[int] = set()
        self.vendor_pids: set[int] = set()
        # names: keyword patterns called lab/lab_* (vendor/vendor_*) of rules tagged sector.lab
        # (sector.software); their context words are not names
        for cr in ruleset.rules:
            tags = set(cr.loaded.rule.tags)
            for name, pid in cr.patterns.items():
                if m.patterns[pid].pattern.keywords is None:
                    continue
                if "sector.lab" in tags and name.split("_")[0] == "lab":
                    self.lab_pids.add(pid)
                if "sector.software" in tags and name.split("_")[0] == "vendor":
                    self.vendor_pids.add(pid)
        self.levels = {cr.loaded.rule.name: cr.loaded.rule.level for cr in ruleset.rules}
        insurer_pids = {pid for cr in ruleset.rules for name, pid in cr.patterns.items()
                        if name.split("_")[0] == "insurer" and m.patterns[pid].pattern.keywords}
        self.cell_names = {**{n: "insurer" for n in _names_of(ruleset, insurer_pids)},
                           **{n: "lab" for n in _names_of(ruleset, self.lab_pids)}}
        # from the NIR itself, over the valid NIRs found (a duplicate counts each time)
        self.sexes: Counter[str] = Counter()
        self.years: Counter[str] = Counter()
        self.depts: Counter[str] = Counter()
        self.nirs = Distinct()
        self.nir_matches = 0
        self.labs: Counter[str] = Counter()
        self.vendors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.files: list[FileStat] = []
        self.records = 0
        self.columns: list[dict[str, str]] = []
        self.rules: dict[str, dict[str, int]] = {}
        self.partial = False
        # fed each window's valid NIRs (canonical) when they must be fingerprinted (--incident)
        self.on_nirs: Callable[[list[str]], None] | None = None
        self._reach = [-1, -1]  # end of the last name counted (labs, vendors) in this file

    def observe(self, base: int, owned: dict[int, list[Hit]]) -> None:
        """One window's owned hits (offsets from ``base``), in file order."""
        for pid in self.nir_pids:
            hs = owned.get(pid)
            if hs:
                self.nir_matches += len(hs)
                spans = isinstance(hs, SpanArray)
                chars = hs.chars if spans else nirbulk.as_chars([h.canonical for h in hs])
                self.nirs.add_chars(chars)
                if self.on_nirs is not None:
                    self.on_nirs(hs.canon if spans else [h.canonical for h in hs])
                _count_columns(self.sexes, chars, 0, 1)  # all derivable from the NIR itself
                _count_columns(self.years, chars, 1, 3)
                _count_columns(self.depts, chars, 5, 7)
                for h in (hs if len(self.samples) < MAX_SAMPLES else ()):
                    masked = h.masked or nir.mask_canonical(h.canonical)  # lean hits: no mask
                    if masked not in self.samples:
                        self.samples.append(masked)
                        if len(self.samples) >= MAX_SAMPLES:
                            break
        for i, (pids, counter) in enumerate(((self.lab_pids, self.labs),
                                             (self.vendor_pids, self.vendors))):
            groups = [owned[pid] for pid in pids if owned.get(pid)]
            if groups and all(isinstance(g, HitArray) and g.words is groups[0].words  # type: ignore[union-attr]
                              for g in groups):
                self._reach[i] = _outermost_arrays(groups, base, self._reach[i], counter)
                continue
            hs = [h for g in groups for h in g]
            if hs:
                names, self._reach[i] = _outermost(hs, base, self._reach[i])
                counter.update(names)

    def new_file(self) -> None:
        self._reach = [-1, -1]

    def add_file(self, st: FileStat) -> None:
        self.files.append(st)
        if st.error and not st.bytes:
            return  # nothing read; a stream cut by damage or a bound counts what was read
        if st.format == "sql":
            self.records += st.records
            cols, has_header = [], False
        else:
            cols, has_header = ([], False) if st.format.startswith("json") else column_kinds(
                st.head, self.cell_names)
            self.records += max(0, st.lines - (1 if has_header else 0))
        known = {c["name"] for c in self.columns}
        for c in cols:
            if c["name"] not in known:
                known.add(c["name"])
                self.columns.append(c)
        for name, matches in st.fired.items():
            r = self.rules.setdefault(name, {"level": self.levels.get(name, ""), "matches": 0,
                                             "files": 0})
            r["matches"] += matches
            r["files"] += 1

    def to_dict(self, elapsed: float) -> dict[str, Any]:
        scanned = sum(f.bytes for f in self.files)
        return {
            "files": [{"path": f.path, "bytes": f.bytes, "lines": f.lines,
                       **({"error": f.error} if f.error else {}),
                       **({"warnings": f.warnings} if f.warnings else {}),
                       **({"encoding": f.encoding} if f.encoding != "utf-8" else {}),
                       **({"format": f.format} if f.format != "text" else {}),
                       **({"records": f.records} if f.format == "sql" else {}),
                       **({"partial": True} if f.partial else {}),
                       **({"hits_capped": True} if f.capped else {})} for f in self.files],
            "bytes": scanned, "lines": sum(f.lines for f in self.files), "records": self.records,
            "nir_matches": self.nir_matches, "nir_distinct": len(self.nirs),
            "nir_distinct_exact": self.nirs.exact,
            "nir_duplicates": self.nir_matches - len(self.nirs),
            "sex": _by_sex(self.sexes),
            "birth_years": _by_decade(self.years),
            "birth_departments": dict(self.depts.most_common(20)),
            "labs": dict(self.labs.most_common()), "vendors": dict(self.vendors.most_common()),
            "columns": self.columns,
            "health_fields": sorted({c["kind"] for c in self.columns} & set(HEALTH_KINDS)),
            "rules": dict(sorted(self.rules.items(), key=lambda kv: -kv[1]["matches"])),
            "samples": list(self.samples), "partial": self.partial,
            "elapsed_s": round(elapsed, 3),
            "mb_per_s": round(scanned / 1e6 / elapsed, 2) if elapsed > 0 else None,
        }


def _count_columns(counter: Counter[str], chars: np.ndarray, lo: int, hi: int) -> None:
    """Count the strings ``chars[:, lo:hi]`` (one or two characters) of every row."""
    keys = chars[:, lo].astype(np.int64)
    if hi - lo == 2:
        keys = (keys << 8) | chars[:, lo + 1]
    counts = np.bincount(keys)
    for k in np.flatnonzero(counts).tolist():
        key = chr(k) if hi - lo == 1 else chr(k >> 8) + chr(k & 0xFF)
        counter[key] += int(counts[k])


# sex digit: 1/2 born in France or abroad, 3/4 (rare) and 7/8 temporary numbers
_SEXES = {"1": "male", "3": "male", "7": "male", "2": "female", "4": "female", "8": "female"}


def _by_sex(sexes: Counter[str]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for digit, n in sexes.items():
        out[_SEXES.get(digit, "unknown")] += n
    return dict(sorted(out.items()))


def _by_decade(years: Counter[str]) -> dict[str, int]:
    """Two-digit birth years (the NIR has no century) grouped by decade: ``"80s": 1234``."""
    out: Counter[str] = Counter()
    for yy, n in years.items():
        out[f"{yy[0]}0s"] += n
    return dict(sorted(out.items()))


def _outermost(hits: list[Hit], base: int, reach: int) -> tuple[list[str], int]:
    """Names of the hits not inside a longer one ("biomnis" inside "eurofins biomnis"), also
    across the previous window (``reach``: end of the last name counted); and the new reach."""
    out: list[str] = []
    for h in sorted(hits, key=lambda h: (h.start, -h.end)):
        end = base + h.end
        if end <= reach:
            continue
        out.append(h.canonical)
        reach = end
    return out, reach


def _outermost_arrays(groups: list[HitArray], base: int, reach: int,
                      counter: Counter[str]) -> int:
    """``_outermost`` over keyword hit arrays, counted into ``counter``; the new reach.

    In (start, -end) order a hit is kept when it ends past every earlier one (and ``reach``):
    a skipped hit never ends past the running reach, so the running maximum over all earlier
    ends equals the loop's reach over the kept ones.
    """
    starts = np.concatenate([g.starts for g in groups])
    ends = np.concatenate([g.ends for g in groups]) + base
    kws = np.concatenate([g.kws for g in groups])
    order = np.lexsort((-ends, starts))
    ends, kws = ends[order], kws[order]
    before = np.maximum.accumulate(np.concatenate(([reach], ends[:-1])))
    kept = kws[ends > before]
    words = groups[0].words
    for k, n in zip(*(a.tolist() for a in np.unique(kept, return_counts=True)), strict=True):
        counter[words[k]] += n
    return max(reach, int(ends.max()))


def render_text(d: dict[str, Any]) -> str:
    """The human scope summary (what a terminal shows by default)."""
    n_files = len(d["files"])
    ok = [f for f in d["files"] if "error" not in f]
    lines = [f"scanned {len(ok)} of {n_files} file{'s' if n_files != 1 else ''}: "
             f"{d['bytes'] / 1e6:,.1f} MB, {d['lines']:,} lines, {d['records']:,} records "
             f"in {d['elapsed_s']:.1f} s ({d['mb_per_s'] or 0:.1f} MB/s)"]
    if d["partial"]:
        lines.append("PARTIAL: interrupted before the end; the figures cover what was read")
    if d["columns"]:
        lines.append("columns: " + ", ".join(
            f"{c['name']} ({c['kind']}{', by values' if c.get('from') == 'values' else ''})"
            for c in d["columns"][:60]) + (" ..." if len(d["columns"]) > 60 else ""))
    approx = "" if d["nir_distinct_exact"] else "about "
    lines.append(f"valid NIRs: {d['nir_matches']:,} found, {approx}{d['nir_distinct']:,} distinct "
                 f"people")
    if d["nir_matches"]:
        lines.append(f"  duplicates: {d['nir_duplicates']:,}; sex: "
                     + ", ".join(f"{k} {v:,}" for k, v in d["sex"].items())
                     + "; born in the " + ", ".join(f"{k} {v:,}" for k, v in d["birth_years"].items()))
        lines.append("  birth departments (top): "
                     + ", ".join(f"{k} {v:,}" for k, v in list(d["birth_departments"].items())[:10]))
    if d["health_fields"]:
        lines.append("health fields present: " + ", ".join(d["health_fields"]))
    for key, label in (("labs", "labs named"), ("vendors", "lab-software vendors named")):
        if d[key]:
            lines.append(f"{label}: " + ", ".join(f"{k} {v:,}" for k, v in d[key].items()))
    if d["rules"]:
        lines.append("rules fired:")
        width = max(len(n) for n in d["rules"])
        for name, r in d["rules"].items():
            lines.append(f"  {name:<{width}}  {r['level']:<13} {r['matches']:>12,} matches in "
                         f"{r['files']:,} file{'s' if r['files'] != 1 else ''}")
    else:
        lines.append("no rule fired")
    if d["samples"]:
        lines.append("samples (masked): " + "; ".join(d["samples"]))
    return "\n".join(lines) + "\n"
