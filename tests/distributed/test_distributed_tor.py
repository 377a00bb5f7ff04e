"""Scale-out through Tor: two workers crawl the onion fixture forum from one Redis queue.

The private Tor lab (``tor_lab``) serves the fixture forum as an onion service; the workers run
in Tor mode (no ``--direct``), so every page goes through the lab's Tor client. Every post of
the truth is stored exactly once and the onion served each thread page once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from darkwatch_lab.redis_server import RedisServer
from tests.support.cli import REPO, export
from tests.support.distributed import worker_pool
from tests.support.tor_crawl import check_against_truth, lab_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_tor_workers_share_an_onion_crawl(tor_lab, tmp_path):
    cfg_path, cfg = lab_config(tor_lab, tmp_path, delay=0.05, concurrency=2)
    tor_lab.forum.reset_requests()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with RedisServer(str(tmp_path)) as redis, worker_pool(redis.url, cfg_path, tmp_path,
                                                          ids=("tor1", "tor2"), direct=False):
        res = subprocess.run(
            [sys.executable, "-m", "crawler", "crawl", "--distributed", redis.url, "-c",
             str(cfg_path), "--report", str(tmp_path / "r.json"), "--round-timeout", "300"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
        assert res.returncode == 0, res.stdout + res.stderr
    check_against_truth(tor_lab, cfg, export(cfg_path))
    report = json.loads((tmp_path / "r.json").read_text())
    assert all(f["status"] == "ok" for f in report["forums"]), report
    pages = Counter(p for m, p in tor_lab.forum.requests if m == "GET")
    assert [p for p, n in pages.items() if n > 1] == []
    logs = "".join((tmp_path / f"tor{i}.log").read_text() for i in (1, 2))
    busy = [line for line in logs.splitlines()
            if " pages, " in line and not line.endswith(": 0 pages, 0 new posts")]
    assert {line.split(":")[0] for line in busy} == {"worker tor1", "worker tor2"}, logs[-2000:]
