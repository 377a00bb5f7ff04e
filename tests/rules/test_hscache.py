"""Hyperscan databases cached between runs (crawler.rules.hscache): the same matches, and a
damaged or unwritable cache costs a compile, never a wrong database or a crash."""

from __future__ import annotations

import os
import stat

import pytest

from crawler.rules import hscache, nirfast

hyperscan = pytest.importorskip("hyperscan")  # a dependency on x86-64/arm64: present in CI

DATA = b"x 185057800608491 y 1 85 05 78 006 084 91 z 2850519006084"


def _ends(db) -> list[tuple[int, int]]:
    got: list[tuple[int, int]] = []
    db.scan(DATA, match_event_handler=lambda i, _s, e, _f, _c: got.append((i, e)))
    return got


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "darkwatch" / "hyperscan"


def _fresh() -> list[tuple[int, int]]:
    db = hyperscan.Database()
    db.compile(expressions=[nirfast.HS_CANDIDATE, nirfast.HS_BODY], ids=[0, 1], flags=0)
    return _ends(db)


def test_a_cached_database_matches_like_a_fresh_one(cache):
    first = hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    files = list(cache.iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    again = hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    assert _ends(first) == _ends(again) == _fresh() and _fresh()
    # other patterns, another file
    hscache.database(hyperscan, [nirfast.HS_BODY], [1])
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_file_is_compiled_again_and_replaced(cache):
    hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    (path,) = cache.iterdir()
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    db = hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    assert _ends(db) == _fresh()
    assert path.read_bytes() == good
    path.write_bytes(b"")  # truncated to nothing
    assert _ends(hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])) \
        == _fresh()


def test_an_unwritable_cache_still_gives_a_database(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir under a file fails (as root too)
    db = hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    assert _ends(db) == _fresh()
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    assert os.path.isfile(blocker)


def test_a_keyword_literal_database_is_cached_apart_and_matches_the_same(cache):
    from crawler.rules.literals import Literals

    words = ["biolab", "fuite", "nir"]
    text = "FUITE chez BioLab: les NIR de 500 000 patients"
    lit = Literals(words, lowercase=True)
    assert lit.caseless and len(list(cache.iterdir())) == 1
    again = Literals(words, lowercase=True)  # loaded from the file
    fresh_ends, fresh_ids = lit.matches(text)
    ends, ids = again.matches(text)
    assert list(ends) == list(fresh_ends) and list(ids) == list(fresh_ids) == [1, 0, 2]
    # literal flag and case flag are part of the key: the same words as regexes, or case-
    # sensitive, are other databases
    Literals(words, lowercase=False)
    hscache.database(hyperscan, [w.encode() for w in words], [0, 1, 2], literal=False)
    assert len(list(cache.iterdir())) == 3


def test_no_cache_compiles_and_writes_nothing(cache, monkeypatch):
    monkeypatch.setenv("DARKWATCH_NO_CACHE", "1")
    db = hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    assert _ends(db) == _fresh() and not cache.exists()
    monkeypatch.setenv("DARKWATCH_NO_CACHE", "0")
    hscache.database(hyperscan, [nirfast.HS_CANDIDATE, nirfast.HS_BODY], [0, 1])
    assert len(list(cache.iterdir())) == 1
