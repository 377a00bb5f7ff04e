"""``darkwatch exposure``: a controller's fingerprints against a dump and against incidents.

The controller's list is made as documented (``darkwatch fingerprint`` reading NIRs on stdin,
same key); a known part of it is planted in the dump (and in an incident store): exactly that
part must be reported, nothing else, and no clear NIR may be printed.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import sqlite3
import subprocess
import sys

import pytest

from crawler.incidents.sqlite import SCHEMA
from tests.support.dumps import _valid_nir, write_dump

KEY = "controller-shared-key-0123456789abcdef"
ENV = {**os.environ, "DARKWATCH_FINGERPRINT_KEY": KEY}


def dw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler", *args], input=stdin, capture_output=True,
                          text=True, env=ENV, timeout=300)


def fingerprints(nirs: list[str]) -> list[str]:
    out = dw("fingerprint", stdin="\n".join(nirs) + "\n")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("exposure")
    truth = write_dump(d / "dump.csv", 2000, seed=21)
    rng = random.Random(5)
    inside = sorted(rng.sample(sorted(truth.nirs), 25))
    outside = []
    while len(outside) < 40:
        n = _valid_nir(rng)
        if n not in truth.nirs:
            outside.append(n)
    fps_in, fps_out = fingerprints(inside), fingerprints(outside)
    listing = d / "controller.txt"
    listing.write_text("# our patients\n" + "\n".join(fps_in + fps_out) + "\n")
    return d, truth, inside, fps_in, fps_out, listing


def test_exposure_in_a_dump_finds_exactly_the_planted_overlap(planted):
    d, _truth, inside, fps_in, _fps_out, listing = planted
    (d / "dump.csv.gz").write_bytes(gzip.compress((d / "dump.csv").read_bytes()))
    for target in ("dump.csv", "dump.csv.gz"):
        out = dw("exposure", "--fingerprints", str(listing), "--dump", str(d / target),
                 "--format", "json")
        assert out.returncode == 1, out.stderr  # exposure found
        res = json.loads(out.stdout)
        assert res["fingerprints"] == 65 and res["found"] == 25
        assert res["found_fingerprints"] == sorted(fps_in)
        assert not any(n in out.stdout + out.stderr for n in inside)  # no clear number
    text = dw("exposure", "-F", str(listing), "--dump", str(d / "dump.csv"))
    assert text.stdout.startswith("25 of 65 fingerprints appear in the dump")


def test_exposure_under_another_key_finds_nothing(planted):
    d, *_rest, listing = planted
    out = subprocess.run([sys.executable, "-m", "crawler", "exposure", "-F", str(listing), "--dump",
                          str(d / "dump.csv"), "--format", "json"], capture_output=True, text=True,
                         env={**ENV, "DARKWATCH_FINGERPRINT_KEY": "another-key-0123456789abcdef"})
    assert out.returncode == 0 and json.loads(out.stdout)["found"] == 0


def test_exposure_in_incidents_finds_exactly_the_planted_overlap(planted, tmp_path):
    _d, _truth, _inside, fps_in, fps_out, listing = planted
    store = tmp_path / "darkwatch.db"
    db = sqlite3.connect(store)
    db.executescript(SCHEMA)
    others = [f"{i:064x}" for i in range(30)]  # fingerprints of other people
    rows = ([("inc-a", fp) for fp in fps_in[:10] + others[:20]]
            + [("inc-b", fp) for fp in fps_in[5:13] + others[20:]]
            + [("inc-c", fp) for fp in others[:5]])
    db.executemany("INSERT INTO incident_fingerprints VALUES (?, ?)", rows)
    db.commit()
    db.close()
    out = dw("exposure", "-F", str(listing), "--incidents", "--store", str(store), "--format", "json")
    assert out.returncode == 1, out.stderr
    res = json.loads(out.stdout)
    assert res["found_fingerprints"] == sorted(fps_in[:13])
    assert res["incidents"] == [{"id": "inc-a", "found": 10}, {"id": "inc-b", "found": 8}]
    assert not set(res["found_fingerprints"]) & set(fps_out)


def test_bad_inputs_are_one_line_errors(planted, tmp_path):
    d, *_rest, listing = planted
    bad = tmp_path / "bad.txt"
    bad.write_text("1 85 05 78 006 084 91\n")  # a clear NIR, not a fingerprint
    out = dw("exposure", "-F", str(bad), "--dump", str(d / "dump.csv"))
    assert out.returncode == 2 and out.stderr.strip() == (
        f"error: {bad}:1: not a fingerprint (64 hex characters, as `darkwatch fingerprint` prints them)")
    empty_store = tmp_path / "empty.db"
    sqlite3.connect(empty_store).close()
    out = dw("exposure", "-F", str(listing), "--incidents", "--store", str(empty_store))
    assert out.returncode == 2 and "no incidents in this store" in out.stderr
    assert "Traceback" not in out.stderr
    no_key = {k: v for k, v in ENV.items() if k != "DARKWATCH_FINGERPRINT_KEY"}
    out = subprocess.run([sys.executable, "-m", "crawler", "exposure", "-F", str(listing), "--dump",
                          str(d / "dump.csv")], capture_output=True, text=True, env=no_key,
                         cwd=tmp_path)
    assert out.returncode == 2 and "no fingerprint key" in out.stderr


def test_chunk_edges_lose_and_double_nothing(planted, monkeypatch):
    from crawler.rules import exposure
    from crawler.rules.fingerprint import fingerprint

    d, truth, *_rest = planted
    wanted = {fingerprint(KEY.encode(), n) for n in truth.nirs}
    for size in (4096, 333, 1 << 20):  # windows cut inside NIRs, lines and UTF-8 characters
        monkeypatch.setattr(exposure, "READ", size)
        res = exposure.check_dump([str(d / "dump.csv")], KEY.encode(), wanted)
        assert res.nirs == sum(truth.nir_counts.values())
        assert len(res.found) == truth.nir_distinct
