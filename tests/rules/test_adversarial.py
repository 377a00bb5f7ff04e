"""Hostile content: huge digit runs, catastrophic-backtracking shapes, bad bytes, window edges."""

from __future__ import annotations

import time

import pytest

from crawler.rules import scan as scan_mod
from crawler.rules.engine import RuleSet
from crawler.rules.loader import load_rules
from crawler.rules.scan import scan_file
from tests.support.rules import write_rule

EVIL = """id: 44444444-4444-4444-8444-444444444444
name: evil
title: backtracking bait
level: low
detection:
  patterns:
    nested: {regex: '(a+)+b'}
    alt: {regex: '(a|aa)+c'}
    digits: {regex: '(\\d+\\s?)+x'}
    kw: {keywords: [aaa, "a a"], word: false}
"""

MB10 = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def all_rules(tmp_path_factory, shipped_rules):
    d = tmp_path_factory.mktemp("evil")
    write_rule(d, "evil.yml", EVIL)
    return RuleSet(shipped_rules + load_rules([str(d)])[0])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["digits", "a-run", "spaced-digits", "nir-like", "dotted-nirs"])
def test_10mb_adversarial_input_finishes(tmp_path, all_rules, kind):
    payload = {
        "digits": "1" + "8" * (MB10 - 1),
        "a-run": "a" * MB10,
        "spaced-digits": "1 " * (MB10 // 2),
        "nir-like": "185057800608491" * (MB10 // 15),
        "dotted-nirs": "1.85.05.78.006.084.91." * (MB10 // 22),
    }[kind]
    f = tmp_path / "evil.txt"
    f.write_text(payload)
    t0 = time.monotonic()
    res = scan_file(all_rules, str(f))
    elapsed = time.monotonic() - t0
    assert res.error is None
    assert elapsed < 120, f"{kind}: {elapsed:.1f}s"  # generous: linear time, not a benchmark
    assert not [fr for fr in res.firings if fr.rule.loaded.rule.name == "fr-nir"]


def test_post_sized_hostile_text_is_capped(all_rules):
    hits = all_rules.matcher.scan("a" * 200_000, limit=1000)
    assert all(len(v) <= 1000 for v in hits.values())


def test_invalid_utf8_and_nul_bytes(tmp_path, shipped_rules):
    rs = RuleSet(shipped_rules)
    f = tmp_path / "bin.csv"
    f.write_bytes(b"\xff\xfe\x00nir;\x00185057800608491\x00;\xc3(\n\x80Cerballiance\xed\xa0\x80")
    res = scan_file(rs, str(f), want_lines=True)
    text = f.read_bytes().decode("utf-8", "replace")
    nirs = [h for fr in res.firings if fr.rule.loaded.rule.name == "fr-nir" for _f, _p, h in fr.hits]
    assert [text[h.start:h.end] for h in nirs] == ["185057800608491"]
    assert res.lines[nirs[0].start] == (1, 9)


def test_windows_give_the_same_hits_as_one_pass(tmp_path, shipped_rules, monkeypatch):
    rs = RuleSet(shipped_rules)
    lines = []
    for i in range(3000):
        lines.append(["185057800608491", "1 85 05 78 006 084 91", "Cerballiance", "x" * (i % 50),
                      "2 93 02 75 123 456 68", "médecin traitant"][i % 6])
    text = "é ".join(lines)
    f = tmp_path / "dump.txt"
    f.write_text(text)
    monkeypatch.setattr(scan_mod, "READ_BYTES", 4096)
    monkeypatch.setattr(scan_mod, "OVERLAP", 256)
    chunked = scan_file(rs, str(f), want_lines=True)
    whole = rs.evaluate({"text": text})
    key = lambda frs: sorted((fr.rule.loaded.rule.name, p, h.start, h.end) for fr in frs  # noqa: E731
                             for _f, p, h in fr.hits)
    assert key(chunked.firings) == key(whole)
    for fr in chunked.firings:
        for _f, _p, h in fr.hits:
            line_no, col = chunked.lines[h.start]
            assert text.count("\n", 0, h.start) + 1 == line_no
            assert h.start - (text.rfind("\n", 0, h.start) + 1) + 1 == col
