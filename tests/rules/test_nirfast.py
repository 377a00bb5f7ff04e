"""The Hyperscan NIR path gives exactly what the RE2 path gives (crawler.rules.nirfast).

Its shortcut (a start read from the layout of a match's last bytes) must never change a result:
checked on the generated leak dump, on the NIR corpus's documents (every separator style and
decoy), and on random mixes of NIR fragments, separators, ``clé``, ``_`` and glue.
"""

from __future__ import annotations

import random

import pytest

from crawler.rules import nir, nirfast
from tests.rules.dump_corpus import write_dump
from tests.rules.nir_corpus import document

pytestmark = pytest.mark.skipif(not nirfast.available(), reason="hyperscan wheel not installed")

PIECES = [b"1850578006084", b"91", b" 1 85 05 78 006 084 91", b"2 85 05 2A 006 084 ", b"cl\xc3\xa9 ",
          b"key: ", b"(", b")", b"_", b"185057800608491", b"\xc2\xa0", b"\xe2\x80\xaf", b"\xff",
          b"2850519006084", b"1 85 05 78 006 084", b"\"1850578006084\";\"91\""]
ALPHABET = list(b"0123456789") * 6 + list(b" _.-/;,|:()\"'AaBbcleky\n\t")


def _same(data: bytes) -> None:
    assert nirfast.find(data) == nir.find(data), data
    full, bodies = nirfast.find_both(data)
    assert full == nir.find(data), data
    assert bodies == nir.find_bodies(data), data


def test_dump_identical(tmp_path):
    truth = write_dump(tmp_path / "d.csv", 3000, seed=5)
    data = (tmp_path / "d.csv").read_bytes()
    found = nirfast.find(data)
    assert len({n.canonical for *_s, n in found}) == truth.nir_distinct
    _same(data)


def test_corpus_documents_identical():
    rng = random.Random(11)
    for _ in range(300):
        _same(document(rng, rng.randint(0, 6), rng.randint(0, 6)).text.encode())


def test_random_fragments_identical():
    rng = random.Random(3)
    for _ in range(6000):
        parts = [rng.choice(PIECES) if rng.random() < 0.5
                 else bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))
                 for _ in range(rng.randint(1, 12))]
        _same(b"".join(parts))


def test_without_hyperscan_falls_back(monkeypatch):
    data = b"x 185057800608491 y 1 85 05 78 006 084 91"
    expected = nir.find(data)
    monkeypatch.setattr(nirfast, "_db", None)
    assert nirfast.find(data) == expected and len(expected) == 2
    assert nirfast.find_both(data) == (expected, nir.find_bodies(data))
