"""NIR detection: written forms, structure checks, decoys, exact spans on a generated corpus."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.rules import nir
from tests.support.nir_corpus import document, fmt, key_of, random_nir, score

VALID = "185057800608491"  # 1 85 05 78 006 084, key 91


def spans(text: str) -> list[tuple[int, int]]:
    return [(s, e) for s, e, _n in nir.find(text.encode())]


@pytest.mark.parametrize("text", [
    VALID, "1 85 05 78 006 084 91", "1.85.05.78.006.084.91", "1-85-05-78-006-084-91",
    "1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a091", "1850578006084 clé 91",
    "1850578006084 Clé: 91", "1850578006084 (91)", "1850578006084;91", '"1850578006084","91"',
    "1850578006084/91", "185 05 78 006 084 91", "1850578006084 (clé 91)", "scan_185057800608491.pdf",
])
def test_written_forms(text):
    found = nir.find(text.encode())
    assert len(found) == 1 and found[0][2].canonical == VALID


def test_corsica_and_overseas():
    corsica = "185052A006084" + key_of("185052A006084")
    assert [n.canonical for *_x, n in nir.find(f"né à Ajaccio {corsica.lower()}".encode())] == [corsica]
    dom = "1620897101045" + key_of("1620897101045")
    assert len(nir.find(dom.encode())) == 1


@pytest.mark.parametrize("text", [
    "185057800608492",  # wrong key
    "5850578006084" + key_of("5850578006084"),  # sex 5
    "1851578006084" + key_of("1851578006084"),  # month 15
    "1850500006084" + key_of("1850500006084"),  # department 00
    "1850578006000" + key_of("1850578006000"),  # order 000
    "9" + VALID, VALID + "1", "x" + VALID, "12." + VALID, VALID + "-12",
    "06 12 34 56 78", "+33 6 12 34 56 78", "73282932000074", "FR76 3000 6000 0112 3456 7890 189",
    "490154203237518", "4970 1012 3456 7890", "1850578006084",
])
def test_decoys(text):
    assert spans(text) == []


def test_imei_and_amex_shapes_rejected_even_with_a_matching_key():
    rng = random.Random(5)
    from stdnum import luhn
    hits = 0
    for _ in range(20000):
        body = "35" + "".join(rng.choice("0123456789") for _ in range(11))
        cand = body + key_of(body)
        if luhn.is_valid(cand) and nir.parse_value(cand):
            hits += 1
            assert spans(cand) == []
    assert hits > 0  # the case exists and was exercised


def test_neighbouring_numbers_do_not_hide_a_nir():
    text = f"7 {VALID} 0612345678 1 85 05 78 006 084 12 {VALID}"
    last = text.rindex(VALID)
    assert spans(text) == [(2, 17), (last, last + 15)]


def test_masked_and_canonical():
    (s, e, n), = nir.find(b"2 85 05 2A 006 084 " + key_of("285052A006084").encode())
    assert n.masked == f"2 85 05 ** *** *** {key_of('285052A006084')}"
    assert n.canonical.startswith("285052A")


def test_generated_corpus_exact_spans(nir_ruleset):
    rng = random.Random(20261128)
    docs = [document(rng, rng.randint(0, 6), rng.randint(0, 8)) for _ in range(1500)]
    found = []
    for d in docs:
        got = set()
        for firing in nir_ruleset.evaluate({"text": d.text}):
            got |= {(h.start, h.end) for _f, _p, h in firing.hits}
        found.append(got)
    tp, fp, fn = score(found, docs)
    assert tp > 3000
    assert fp == 0
    assert fn <= tp * 0.002  # only 34/35/37-prefixed NIRs that also pass Luhn (IMEI/Amex shapes)


def test_scan_cli_reports_exactly_the_valid_nirs(tmp_path):
    rng = random.Random(7)
    expected = []
    folder = tmp_path / "dump"
    folder.mkdir()
    for i in range(5):
        d = document(rng, 8, 10)
        path = folder / f"part{i}.csv"
        path.write_text(d.text, encoding="utf-8")
        expected += [(str(path), s, e) for s, e in d.spans]
    env = dict(os.environ, DARKWATCH_FINGERPRINT_KEY="test-key")
    out = subprocess.run([sys.executable, "-m", "crawler", "scan", str(folder), "--format", "jsonl"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    got = sorted((r["file"], r["start"], r["end"]) for r in rows if r["rule"]["name"] == "fr-nir")
    assert got == sorted(expected)
    for r in rows:
        assert set(r) >= {"file", "start", "end", "rule", "pattern", "masked", "fingerprint"}
        assert "value" not in r
    # Masked values and fingerprints only: no clear NIR in the output.
    for f, s, e in expected[:20]:
        clear = Path(f).read_text(encoding="utf-8")[s:e]
        assert clear not in out.stdout


def test_fmt_styles_cover_the_key_forms():
    rng = random.Random(1)
    n = random_nir(rng)
    for style in ("cle", "paren", "key-space", "narrow"):
        assert [x.canonical for *_a, x in nir.find(fmt(n, style).encode())] == [n.upper()]
