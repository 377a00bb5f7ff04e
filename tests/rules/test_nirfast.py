"""The Hyperscan NIR path gives exactly what the RE2 path gives (crawler.rules.nirfast).

Its shortcut (a start read from the layout of a match's last bytes) must never change a result:
checked on the generated leak dump, on the NIR corpus's documents (every separator style and
decoy), and on random mixes of NIR fragments, separators, ``clé``, ``_`` and glue.
"""

from __future__ import annotations

import random

import pytest

from crawler.rules import nir, nirfast
from crawler.rules.detectors import DETECTORS
from crawler.rules.detectors import outside as _outside
from tests.support.dumps import write_dump
from tests.support.nir_corpus import document

pytestmark = pytest.mark.skipif(not nirfast.available(), reason="hyperscan wheel not installed")

PIECES = [b"1850578006084", b"91", b" 1 85 05 78 006 084 91", b"2 85 05 2A 006 084 ", b"cl\xc3\xa9 ",
          b"key: ", b"(", b")", b"_", b"185057800608491", b"\xc2\xa0", b"\xe2\x80\xaf", b"\xff",
          b"2850519006084", b"1 85 05 78 006 084", b"\"1850578006084\";\"91\"",
          # Corsica (2A/2B, either case), plain and spaced; 34/35/37 shapes (the Luhn test)
          b"192052A00608480", b"285052b00608412", b"1 92 05 2A 006 084 80", b"2 85 05 2b 006 084 12",
          b"192052A00608481", b"350578006084", b"345"]
ALPHABET = list(b"0123456789") * 6 + list(b" _.-/;,|:()\"'AaBbcleky\n\t")


@pytest.fixture(autouse=True, params=["per-match", "bulk"])
def _lane(request, monkeypatch):
    """Every test runs twice: as a forum post is scanned, and with the bulk (numpy) lane that
    settles plain and spaced NIRs of dump windows (crawler.rules.nirbulk) forced on."""
    monkeypatch.setattr(nirfast, "BULK_MIN", 10**12 if request.param == "per-match" else 0)


def _same(data: bytes) -> None:
    expected = nir.find(data)
    assert nirfast.find(data) == expected, data
    full, bodies = nirfast.find_both(data)
    assert [(s, e, n if type(n) is str else n.canonical) for s, e, n in full] == [
        (s, e, n.canonical) for s, e, n in expected], data
    # bodies inside a full NIR are dropped by the engine (engine._outside); the bulk lane may
    # not report them at all
    assert _outside(bodies, full) == _outside(nir.find_bodies(data), expected), data
    # the summary scan's lane: the same NIRs as arrays, and the same bodies outside them
    settled, bodies_a = nirfast.find_arrays(data)
    assert settled.tuples() == [(s, e, n.canonical) for s, e, n in expected], data
    shared: dict = {}
    body_arrays = DETECTORS["fr-nir-body"].find_arrays(data, shared)
    assert body_arrays.tuples() == [(s, e, n.canonical) for s, e, n in
                                    _outside(nir.find_bodies(data), expected)], data


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


def test_bulk_lane_edges():
    """The shapes the bulk lane must leave to the per-match path, next to ones it settles."""
    valid = b"185057800608491"
    spaced = b"1 85 05 78 006 084 91"
    cases = [valid, spaced, b";" + valid + b";", b"x" + valid, valid + b"_", b"_" + valid,
             b"12." + valid, valid + b"-12", b"7 " + spaced, b"7\t" + spaced, b"7-" + spaced,
             spaced + b" 12", b"\xc3\xa9" + valid, b"(" + valid + b")", valid + b" (91)",
             b"1850578006084;91;" + valid, b"\"1850578006084\";\"91\";" + spaced,
             b"355057800608422", b"2850519006084" + b"91", b"1 85 05 2A 006 084 10",
             b"192052A00608480", b"192052a00608480", b"285052B00608412", b"192052A00608481",
             b"1 92 05 2A 006 084 80", b"2 85 05 2b 006 084 12", b"x192052A00608480",
             b"192052A00608480_", b"12.192052A00608480", b"2A00608480", b"185057800608492",
             b"1850578006084920", b"3" + valid[1:], b"345057800608491" + b"." + valid]
    for c in cases:
        for pad in (b"", b" ", b";", b"\n"):
            _same(pad + c + pad)
            _same(c + pad + c)


def test_bulk_lane_settles_corsica_and_spends_no_time_on_dead_runs():
    """What the bulk lane takes off the per-match path on a dump row: Corsican NIRs (plain and
    spaced, either case) are settled, and so is every plain 15-digit run, Amex/IMEI shapes
    included (Luhn in bulk): an invalid one is blanked, as nothing can hide inside it."""
    import numpy as np
    from stdnum import luhn

    from crawler.rules import nirbulk

    data = (b";192052A00608480;1 92 05 2a 006 084 80;285052B00608412;185057800608492;"
            b"355057800608422;378282246310005;")
    settled, blanked = nirbulk.settle_plain(data)
    assert [c for _s, _e, c in settled] == ["192052A00608480", "192052A00608480",
                                            "285052B00608412"] + [
        n.canonical for _s, _e, n in nir.find(b";355057800608422;")]
    assert not any(ch in blanked for ch in b"0123456789")
    _same(data)
    rows = np.random.default_rng(1).integers(0, 10, (5000, 15))
    assert nirbulk._luhn(rows).tolist() == [luhn.is_valid("".join(map(str, r))) for r in rows]
