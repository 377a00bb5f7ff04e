"""The summary scan's keyword lane (HitArray) gives exactly what the per-match lane gives.

A summary scan takes keyword hits as arrays (no object per match). Every figure of the scope
(labs, vendors, rule matches, columns, near conditions) and every hit (offsets, order, cap,
word boundaries, CamelCase breaks, folding that changes lengths) must stay the same.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from crawler.rules import literals
from crawler.rules import scan as scan_mod
from crawler.rules.engine import HitArray, RuleSet
from crawler.rules.loader import load_rules
from crawler.rules.scan import Scanner
from crawler.rules.scope import Scope
from tests.support.dumps import write_dump

REPO = Path(__file__).resolve().parents[2]

# Folding that changes lengths (ß, ﬁ, combining marks), CamelCase glue, names inside words,
# non-ASCII neighbours, Cyrillic, separators that fold to spaces.
TRICKY = [
    "Fuite Cerballiance: dump_biogroup_2021.sql, LeakCerba et SQLCerba, Weißbiogroup ﬁchier",
    "labo Synlab;Eurofins Biomnis;biomnisX;cerbahealthcare Cerba-Healthcare Cerba_Healthcare",
    "Bioméd, BIOMED; Labosud et Laborizon; Inovie/Bioclinic; Unilabs-Biomnis; éuroﬁns biomnis",
    "база данных пациентов Cerballiance, слив Biogroup; Dedalus Kalisil Hexalis 2021 mutuelle",
    "Novabio\u0301 Cerbal\u0301liance MGEN Harmonie CPAM Alan; médecin traitant Dr Faure; labo Novabio",
]


def _tricky_file(path: Path, n: int, seed: int = 3) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            line = rng.choice(TRICKY)
            cut = rng.randrange(len(line))
            fh.write(f"{i};{line[cut:]} {line[:cut]}\n")
    return path


def _summary(ruleset: RuleSet, path: Path, arrays: bool) -> tuple[dict, dict]:
    scope = Scope(ruleset)
    scanner = Scanner(ruleset, None, None, observe=scope.observe)
    ruleset.matcher.arrays = arrays  # the Scanner turns it on for a summary
    st = scanner.scan_path(str(path))
    scope.add_file(st)
    d = scope.to_dict(1.0)
    return d, dict(st.fired)


@pytest.fixture(scope="module")
def shipped():
    return RuleSet(load_rules([str(REPO / "rules")])[0], keep_values=False)


@pytest.mark.parametrize("read_bytes", [4096, scan_mod.READ_BYTES])
def test_the_scope_is_the_same_with_and_without_arrays(tmp_path, shipped, monkeypatch, read_bytes):
    monkeypatch.setattr(scan_mod, "READ_BYTES", read_bytes)  # small windows: many edges
    dump = tmp_path / "dump.csv"
    write_dump(dump, 2500, seed=11)
    with dump.open("a", encoding="utf-8") as fh:
        fh.write(_tricky_file(tmp_path / "t.txt", 400).read_text(encoding="utf-8"))
    per_match, fired_a = _summary(shipped, dump, arrays=False)
    arrays, fired_b = _summary(shipped, dump, arrays=True)
    assert arrays["labs"] and arrays["vendors"]
    assert arrays == per_match
    assert fired_b == fired_a


@pytest.mark.parametrize("use_hyperscan", [True, False], ids=["hyperscan", "pyahocorasick"])
def test_each_keyword_hit_is_the_same(tmp_path, shipped, monkeypatch, use_hyperscan):
    """Both ways the arrays lane finds keywords (crawler.rules.literals) give the per-match hits,
    in the same order: Hyperscan's matches that end together are sorted as pyahocorasick
    reports them."""
    if use_hyperscan and literals.hyperscan is None:
        pytest.skip("hyperscan wheel not installed")  # the fallback is still compared
    text = _tricky_file(tmp_path / "t.txt", 300).read_text(encoding="utf-8")
    m = shipped.matcher
    monkeypatch.setattr(m, "hyperscan", use_hyperscan)
    monkeypatch.setattr(m, "_indexed", {})
    data = text.encode()
    for limit in (None, 3):
        for mode, automaton in m._automata.items():
            a: dict = defaultdict(list)
            b: dict = defaultdict(list)
            m._scan_keywords(text, mode, automaton, a, limit, data)
            m._scan_keywords_arrays(text, mode, b, limit, data)
            assert set(a) == set(b) and a
            for pid in a:
                assert isinstance(b[pid], HitArray)
                got = [(h.start, h.end, h.canonical) for h in b[pid]]
                assert got == [(h.start, h.end, h.canonical) for h in a[pid]], pid


def test_byte_offsets_from_either_end_agree_with_encoding_the_head():
    """engine._byte_offset encodes the shorter side of a window; UTF-8 ("replace") is additive
    per character, lone surrogates included, so both sides give the same offset."""
    from crawler.rules.engine import _byte_offset

    rng = random.Random(5)
    alphabet = ["a", "é", "ß", "€", "😀", "\ud800", "\n", "д", "1"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        data = text.encode("utf-8", "replace")
        for c in range(len(text) + 1):
            assert _byte_offset(text, data, c) == len(text[:c].encode("utf-8", "replace"))
