"""Streaming ``darkwatch scan``: window edges, bounded memory, scope summary, pipes and Ctrl-C."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.rules import scan as scan_mod
from crawler.rules.engine import RuleSet
from crawler.rules.loader import load_rules
from crawler.rules.scan import scan_file
from crawler.rules.scope import Distinct
from tests.support.dumps import write_dump, write_hit_dense
from tests.support.rules import write_rule

ENV = {**os.environ, "DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"}
ANCHORS = """id: 55555555-5555-4555-8555-555555555555
name: anchors
title: anchored regexes
level: low
detection:
  patterns:
    tail: {regex: 'a+$'}
    head: {regex: '^b+'}
    line: {regex: '(?m)^c\\d+'}
    mail: {regex: '[a-z]{3,}@[a-z]+\\.fr'}
  condition: any
"""


def dw(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler", "scan", *args]


def hits(res, pattern: str) -> list[tuple[int, int]]:
    return sorted((h.start, h.end) for fr in res.firings for _f, p, h in fr.hits if p == pattern)


@pytest.fixture(scope="module")
def anchors(tmp_path_factory):
    d = tmp_path_factory.mktemp("anchors")
    write_rule(d, "anchors.yml", ANCHORS)
    return RuleSet(load_rules([str(d)])[0])


@pytest.mark.parametrize("read_bytes", [4096, scan_mod.READ_BYTES])
def test_dollar_and_caret_hold_only_at_the_file_edges(tmp_path, anchors, monkeypatch, read_bytes):
    monkeypatch.setattr(scan_mod, "READ_BYTES", read_bytes)
    size = 3 * read_bytes + 123  # several windows
    f = tmp_path / "a.txt"
    f.write_text("a" * size + "!")  # ends in a non-matching character: no "a+$" anywhere
    assert hits(scan_file(anchors, str(f)), "tail") == []
    f.write_text("a" * size + "!aaa")  # the one match ends at the end of the file
    assert hits(scan_file(anchors, str(f)), "tail") == [(size + 1, size + 4)]
    f.write_text("bbb" + "\nbbbb" * (size // 5))  # "^" without (?m): the file's start only
    assert hits(scan_file(anchors, str(f)), "head") == [(0, 3)]


def test_matches_spanning_window_edges_are_found_once(tmp_path, anchors, shipped_rules,
                                                     monkeypatch):
    monkeypatch.setattr(scan_mod, "READ_BYTES", 4096)
    parts, mails, lines_c = [], [], []
    pos = 0
    for i in range(4000):  # items of varying length: every window edge cuts some of them
        piece = ["185057800608491 ", f"jean{'x' * (i % 7)}@poste.fr ", f"\nc{i}\n",
                 "Cerballiance ", "é" * (i % 5) + " "][i % 5]
        if "@" in piece:
            mails.append((pos, pos + len(piece) - 1))
        if piece.startswith("\nc"):
            lines_c.append((pos + 1, pos + len(piece) - 1))
        parts.append(piece)
        pos += len(piece)
    text = "".join(parts)
    f = tmp_path / "edges.txt"
    f.write_text(text)
    res = scan_file(anchors, str(f))
    assert hits(res, "mail") == mails
    assert hits(res, "line") == lines_c
    # the shipped pack (keywords, NIR detector, near conditions) gives what one pass gives
    rs = RuleSet(shipped_rules)
    chunked = scan_file(rs, str(f))
    whole = rs.evaluate({"text": text})
    key = lambda frs: sorted((fr.rule.loaded.rule.name, p, h.start, h.end) for fr in frs  # noqa: E731
                             for _f, p, h in fr.hits)
    assert key(chunked.firings) == key(whole)
    nirs = [(h.start, h.end) for fr in chunked.firings if fr.rule.loaded.rule.name == "fr-nir"
            for _f, _p, h in fr.hits]
    assert len(nirs) == len(set(nirs)) == 800


def _summary(path: Path, *extra: str) -> dict:
    out = subprocess.run(dw(str(path), "--summary", "--format", "json", *extra),
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return json.loads(out.stdout)


def test_summary_counts_equal_the_generator_truth(tmp_path):
    truth = write_dump(tmp_path / "dump.csv", 3000, seed=5)
    d = _summary(tmp_path / "dump.csv")
    assert d["records"] == truth.rows == 3000
    assert d["lines"] == 3001
    assert d["nir_distinct"] == truth.nir_distinct and d["nir_distinct_exact"] is True
    assert d["labs"] == dict(truth.labs)
    assert d["files"] == [{"path": str(tmp_path / "dump.csv"), "bytes": truth.bytes, "lines": 3001}]
    assert d["bytes"] == truth.bytes and d["partial"] is False and d["elapsed_s"] > 0
    kinds = {c["name"]: c["kind"] for c in d["columns"]}
    assert kinds == {"nir": "nir", "nom": "last_name", "prenom": "first_name",
                     "naissance": "birth_date", "groupe_sanguin": "blood_group",
                     "medecin_traitant": "gp", "mutuelle": "insurer", "labo": "lab",
                     "commentaire": "notes"}
    assert d["rules"]["fr-nir-bulk"]["matches"] == d["nir_matches"] >= truth.nir_distinct
    assert len(d["samples"]) == 10 and all("*" in s for s in d["samples"])
    # no clear NIR anywhere in the summary
    text = json.dumps(d)
    assert not any(n in text for n in list(truth.nirs)[:200])


def test_text_summary_names_the_scope(tmp_path):
    truth = write_dump(tmp_path / "dump.csv", 500, seed=6)
    out = subprocess.run(dw(str(tmp_path / "dump.csv"), "--summary"), capture_output=True,
                         text=True, env=ENV, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "500 records" in out.stdout
    assert f"{truth.nir_distinct:,} distinct people" in out.stdout
    assert "groupe_sanguin (blood_group)" in out.stdout and "labs named: " in out.stdout


@pytest.mark.slow
def test_peak_rss_is_bounded_by_the_window_not_the_hits(tmp_path):
    """20 MB of hits: a NIR or a lab name every ~15 bytes."""
    f = tmp_path / "dense.txt"
    write_hit_dense(f, 20)
    for fmt in ("json", "jsonl"):
        code = ("import resource, subprocess, sys; "
                "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
                "assert r.returncode == 0, r.stderr; "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        args = [str(f), "--format", fmt] + (["--summary"] if fmt == "json" else [])
        out = subprocess.run([sys.executable, "-c", code, *dw(*args)], capture_output=True,
                             text=True, env=ENV, timeout=900)
        assert out.returncode == 0, out.stderr
        rss_mb = int(out.stdout) / 1024
        print(f"peak RSS, 20 MB hit-dense, --format {fmt}: {rss_mb:.0f} MB")
        # the old scan took ~800 MB here; matches mode renders lines, so a little more
        assert rss_mb < (150 if fmt == "json" else 200), f"{fmt}: {rss_mb:.0f} MB"


def test_jsonl_streams_one_object_per_match(tmp_path):
    f = tmp_path / "dense.txt"
    write_hit_dense(f, 12)
    proc = subprocess.Popen(dw(str(f), "--format", "jsonl", "--rule", "fr-nir"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    try:
        first = json.loads(proc.stdout.readline())
        # the first match is out while the scan is still running: streamed, not collected
        assert proc.poll() is None
        assert first["rule"]["name"] == "fr-nir" and first["pattern"] == "nir"
        assert set(first) == {"file", "rule", "pattern", "start", "end", "masked", "fingerprint"}
        n = 1 + sum(1 for _ in proc.stdout)
        assert proc.wait(timeout=600) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # two NIRs per line of write_hit_dense
    assert n == 2 * f.read_text().count("\n")


def test_ctrl_c_prints_a_partial_summary(tmp_path):
    f = tmp_path / "dense.txt"
    write_hit_dense(f, 8)
    block = f.read_bytes()
    with f.open("ab") as fh:  # ~100 MB, several seconds of scanning: Ctrl-C lands mid-scan
        for _ in range(12):
            fh.write(block)
    master, slave = pty.openpty()  # stderr on a terminal: the progress line shows
    proc = subprocess.Popen(dw(str(f), "--summary", "--format", "json"), stdout=subprocess.PIPE,
                            stderr=slave, env=ENV)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 300
        while b"MB/s" not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 5)
            if r:
                seen += os.read(master, 4096)
        assert b"MB/s" in seen and b"ETA" in seen, seen
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    with open(master, "rb", closefd=True) as m:
        try:
            while select.select([m], [], [], 0.5)[0]:
                chunk = os.read(m.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        except OSError:
            pass  # EIO once the child is gone
    assert proc.returncode == 130
    assert b"Traceback" not in seen
    d = json.loads(out)
    assert d["partial"] is True
    assert 0 < d["bytes"] < f.stat().st_size
    assert d["files"][0]["partial"] is True


def test_closed_pipe_is_quiet(tmp_path):
    f = tmp_path / "dense.txt"
    write_hit_dense(f, 3)
    proc = subprocess.Popen(dw(str(f), "--format", "jsonl"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) in (0, 141)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_fifo_is_reported_as_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    out = subprocess.run(dw(str(fifo), "-f", "jsonl"), capture_output=True, text=True, env=ENV,
                         timeout=60)
    assert out.returncode == 2
    assert "not a regular file" in out.stderr and "FIFO" in out.stderr
    assert "Traceback" not in out.stderr
    # in a folder: reported, the other files still scanned
    (tmp_path / "d.txt").write_text("185057800608491\n")
    out = subprocess.run(dw(str(tmp_path), "-f", "jsonl", "--rule", "fr-nir"), capture_output=True,
                         text=True, env=ENV, timeout=60)
    assert out.returncode == 2 and f"{fifo}: not a regular file (a FIFO)" in out.stderr
    assert [json.loads(x)["file"] for x in out.stdout.splitlines()] == [str(tmp_path / "d.txt")]


def test_summary_and_jsonl_together_is_a_usage_error(tmp_path):
    (tmp_path / "d.txt").write_text("x\n")
    out = subprocess.run(dw(str(tmp_path / "d.txt"), "--summary", "-f", "jsonl"),
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "--format json" in out.stderr
    assert out.stderr.count("\n") == 1


def test_distinct_counts_nirs_that_differ_in_one_character_apart():
    """The packed digest is a bijection: 2A and 21, 2B and 22, any one digit changed, all count."""
    base = "185052A00608412"
    variants = {base, base.replace("2A", "21"), base.replace("2A", "2B"), base.replace("2A", "22")}
    variants |= {base[:i] + d + base[i + 1:] for i in range(15) if i != 6 for d in "0123456789"}
    d = Distinct()
    d.add_many(sorted(variants) * 3)  # duplicates count once
    assert d.exact and len(d) == len(variants)


def test_distinct_switches_to_an_estimate_beyond_the_exact_limit(monkeypatch):
    monkeypatch.setattr(Distinct, "EXACT_LIMIT", 5000)
    d = Distinct()
    d.add_many([f"{i:015d}" for i in range(4000)] * 2)
    assert d.exact and len(d) == 4000
    d.add_many([f"{i:015d}" for i in range(50_000, 100_000)])
    assert not d.exact
    assert abs(len(d) - 54_000) < 54_000 * 0.03



@pytest.mark.parametrize(("argv", "tty", "want"), [
    ([], True, (True, "text")),            # a terminal: the summary
    ([], False, (False, "text")),          # a pipe: one line per match, as before
    (["--matches"], True, (False, "text")),
    (["-f", "jsonl"], True, (False, "jsonl")),
    (["-f", "json"], False, (True, "json")),
    (["--summary"], False, (True, "text")),
])
def test_output_mode_defaults(monkeypatch, argv, tty, want):
    from crawler.cli import build_parser
    from crawler.cli.scan import _mode

    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    assert _mode(build_parser().parse_args(["scan", "x", *argv])) == want


EXCL = """id: 66666666-6666-4666-8666-666666666666
name: alpha-unless-omega
title: alpha, unless omega is anywhere in the file
level: low
detection:
  patterns:
    a: {keywords: [alpha]}
  exclude:
    o: {keywords: [omega]}
  condition: a
"""


@pytest.mark.parametrize("tail", ["", "omega\n"])
def test_a_rule_known_only_at_the_end_holds_its_matches_on_disk(tmp_path, monkeypatch, tail):
    """``exclude`` can veto a rule at the last byte: its matches wait (spilled beyond
    PENDING_IN_MEMORY) and come out only if the rule fires."""
    monkeypatch.setattr(scan_mod, "READ_BYTES", 4096)
    monkeypatch.setattr(scan_mod, "PENDING_IN_MEMORY", 100)
    write_rule(tmp_path, "excl.yml", EXCL)
    rs = RuleSet(load_rules([str(tmp_path / "excl.yml")])[0])
    f = tmp_path / "d.txt"
    f.write_text("alpha beta\n" * 3000 + tail)
    out: list[str] = []
    spilled = []
    real_tf = scan_mod.tempfile.TemporaryFile
    monkeypatch.setattr(scan_mod.tempfile, "TemporaryFile",
                        lambda *a, **k: spilled.append(1) or real_tf(*a, **k))
    st = scan_mod.Scanner(rs, lambda cr, p, h, line, col: f"{h.start}:{line}\n", out.extend,
                          want_lines=True).scan_path(str(f))
    assert spilled  # the held matches went to a temporary file
    if tail:
        assert out == [] and st.fired == {}
    else:
        assert out == [f"{i * 11}:{i + 1}\n" for i in range(3000)]
        assert st.fired == {"alpha-unless-omega": 3000}


def test_a_first_data_row_is_not_taken_for_a_header():
    from crawler.rules.scope import sniff_header

    assert sniff_header(["Dupont;Jean;Paris;O+", "Martin;Luc;Lyon;A-"]) is None
    assert sniff_header(["nom;prenom;ville", "Dupont;Jean;Paris"]) == ["nom", "prenom", "ville"]
    assert sniff_header(["185057800608491;Jean", "x;y"]) is None
