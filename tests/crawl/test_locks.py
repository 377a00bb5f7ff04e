"""Cron safety: overlapping runs never crawl the same forum twice; stale locks are taken over."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from crawler.locks import ForumLock
from tests.support.cli import REPO, darkwatch, write_config

pytestmark = pytest.mark.integration


def test_overlapping_runs_skip_the_busy_forum(forum, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("mybb", delay=0.1)])
    first = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--config", str(cfg),
                              "--direct", "-q"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(forum.server.requests) < 3:
            time.sleep(0.1)
        assert forum.server.requests, "the first crawl never started"
        second = darkwatch("crawl", "--config", str(cfg), "--direct", "-q",
                           "--report", str(tmp_path / "r2.json"))
        assert first.poll() is None, "the first crawl ended before the overlap was tested"
    finally:
        out, err = first.communicate(timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "skipped, another crawl holds its lock (pid" in second.stderr
    (row,) = json.loads((tmp_path / "r2.json").read_text())["forums"]
    assert row["status"] == "skipped" and row["pages"] == 0
    assert first.returncode == 0, out + err
    assert "mybb: ok" in out


def test_stale_lock_from_a_killed_run_is_taken_over(forum, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")])
    # A run killed with SIGKILL leaves its lock file behind, but not its flock.
    victim = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from crawler.locks import ForumLock;"
        f"l = ForumLock({str(tmp_path / '.darkwatch-locks')!r}, 'phpbb'); "
        "assert l.acquire(); print('locked', flush=True); time.sleep(60)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert victim.stdout.readline().strip() == "locked"
    held = ForumLock(tmp_path / ".darkwatch-locks", "phpbb")
    assert not held.acquire()  # really held while the process lives
    victim.kill()
    victim.wait()
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "phpbb: ok" in res.stdout and "skipped" not in res.stdout
