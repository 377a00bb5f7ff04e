"""The hostile-page corpus: one crawl over every misbehaving route of the fixture forum.

Board 99 of the fixture (``darkwatch_lab/forum_faults.py``) serves bombs, endless and dripping
bodies, redirect loops, pathological HTML, binary bodies, block pages and regex bait, next to
a healthy forum in the same run. For each page: the crawl finishes, the failure is in the
report with a readable reason naming the page, and the healthy forum loses nothing. The
crawl's peak RSS over the whole corpus is measured (getrusage of the child) and printed.
A login that never accepts is covered by ``test_crawl_faults.test_wrong_password_is_reported``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from darkwatch_lab.forum import FixtureForum
from darkwatch_lab.forum_content import FAULT_BOARD
from darkwatch_lab.forum_faults import FAULTS, bomb
from tests.support.cli import REPO, write_config
from tests.support.figures import figure
from tests.support.forum_lab import Lab

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RSS_LIMIT_MB = 500
# fault -> the error kind its page must be reported with (None: its post must be stored)
EXPECTED = {
    "retry": None, "notfound": "http-404", "slow": "timeout", "offsite": "offsite",
    "binary": "not-html", "image": "not-html", "huge": "too-large", "selfnext": None,
    "cycle": None, "gzipbomb": "too-large", "deflatebomb": "too-large", "chunked": "too-large",
    "drip": "timeout", "redirectloop": "redirect-loop", "nested": "too-deep", "badenc": None,
    "millionlinks": "too-complex", "imgashtml": "binary-body", "htmlaspng": "not-html",
    "ddos": "anti-bot", "jsonly": "js-only", "regex": None,
}
MEASURE = ("import resource, subprocess, sys\n"
           "rc = subprocess.call(sys.argv[1:])\n"
           "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
           "sys.exit(rc)\n")


def test_every_fault_has_an_expectation():
    assert set(EXPECTED) == set(FAULTS)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("hostile")
    bomb("gzip"), bomb("deflate")  # built once (about a second each) before the clock starts
    server = FixtureForum(seed=1, skins=("phpbb", "mybb"), slow_delay=10.0)
    server.start()
    lab = Lab(server)
    try:
        hostile = {"name": "hostile", "engine": "phpbb", "delay": 0, "timeout": 3,
                   "concurrency": 4, "max_pages": 200,
                   "start_urls": [lab.base + server.board_page_path("phpbb", FAULT_BOARD)]}
        cfg = write_config(tmp / "darkwatch.yml", [hostile, lab.forum_config("mybb")],
                           rules={"paths": [str(REPO / "rules")]})
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "DARKWATCH_FINGERPRINT_KEY": "hostile-corpus-key-0123456789abcdef"}
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-c", MEASURE, sys.executable, "-m", "crawler", "crawl", "--config",
             str(cfg), "--direct", "-q", "--report", str(tmp / "report.json")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        seconds = time.monotonic() - t0
        rss_mb = int(res.stderr.rsplit("peak-rss-kb", 1)[1].split()[0]) / 1024
        figure(request, f"\n[hostile corpus] {len(FAULTS)} hostile pages + a healthy forum: crawl "
                        f"finished in {seconds:.1f}s, exit {res.returncode}, peak RSS {rss_mb:.0f} MB "
                        f"(limit {RSS_LIMIT_MB} MB)")
        report = {f["forum"]: f for f in json.loads((tmp / "report.json").read_text())["forums"]}
        db = sqlite3.connect(tmp / "darkwatch.db")
        stored = db.execute("SELECT forum, thread_url, post_id, text FROM posts").fetchall()
        db.close()
        yield {"res": res, "rss_mb": rss_mb, "report": report, "stored": stored, "lab": lab,
               "seconds": seconds}
    finally:
        server.stop()


def tid(lab: Lab, fault: str) -> int:
    return next(t.tid for t in lab.server.content.boards[FAULT_BOARD].threads if t.fault == fault)


def test_the_crawl_finishes_partial_with_bounded_memory(corpus):
    res = corpus["res"]
    assert res.returncode == 1, res.stdout + res.stderr[-3000:]  # partial: the hostile forum failed
    assert "Traceback" not in res.stdout
    assert corpus["rss_mb"] < RSS_LIMIT_MB


def test_the_healthy_forum_lost_nothing(corpus):
    lab = corpus["lab"]
    good = corpus["report"]["mybb"]
    assert good["status"] == "ok" and not good["errors"]
    got = {pid for forum, _u, pid, _t in corpus["stored"] if forum == "mybb"}
    assert got == {t["post_id"] for t in lab.public_truth("mybb")}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_each_hostile_page_is_survived_and_reported(corpus, fault):
    lab, bad = corpus["lab"], corpus["report"]["hostile"]
    assert bad["status"] == "failed"
    thread = tid(lab, fault)
    kind = EXPECTED[fault]
    if kind is None:  # readable content despite the abuse: its posts are stored
        posts = [p for f, url, p, _t in corpus["stored"] if f == "hostile" and f"t={thread}" in url]
        assert posts, f"{fault}: no post stored"
        return
    assert bad["errors"].get(kind), (fault, bad["errors"])
    samples = [s for s in bad["error_samples"] if s["kind"] == kind]
    mine = [s for s in samples if f"t={thread}" in s["message"]
            or (fault == "offsite" and "example.invalid" in s["message"])]
    assert mine, (fault, samples)
    assert len(mine[0]["message"]) > 30  # a reason a human can act on, not a bare class name


def test_regex_bait_and_bad_encodings_are_stored_readably(corpus):
    lab = corpus["lab"]
    texts = {url: text for f, url, _p, text in corpus["stored"] if f == "hostile"}
    regex = next(t for u, t in texts.items() if f"t={tid(lab, 'regex')}" in u)
    assert len(regex) > 500_000 and "rules-error" not in corpus["report"]["hostile"]["errors"]
    badenc = next(t for u, t in texts.items() if f"t={tid(lab, 'badenc')}" in u)
    assert "fault:badenc" in badenc and "\ufffd" in badenc  # invalid bytes replaced, text kept
