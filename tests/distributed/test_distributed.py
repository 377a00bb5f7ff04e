"""Scale-out on a real redis-server: two `darkwatch worker` processes share one crawl round.

The fixture forum runs in this process; its request log (with arrival times) is the
ground truth for "each page once" and for the forum's request rate across both workers.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
import yaml

from tests.support.cli import REPO
from tests.support.distributed import ENV, coordinate, finish, worker_pool
from tests.support.figures import figure
from tests.support.forum_lab import Lab, running_forum

DELAY = 0.05  # seconds between two requests to one forum, across all workers
LOGIN_PATHS = ("/phpbb/ucp.php", "/phpbb/index.php")


@pytest.fixture
def lab():
    with running_forum("phpbb", "mybb") as forum:
        yield forum


def write_cfg(tmp_path: Path, lab: Lab, concurrency: int = 2) -> Path:
    forums = [
        lab.forum_config("phpbb", private=True, delay=DELAY, concurrency=concurrency,
                         auth={"login": {"url": lab.base + "/phpbb/ucp.php?mode=login",
                                         "username": "analyst", "password": "${DW_PASS}"}}),
        lab.forum_config("mybb", delay=DELAY, concurrency=concurrency),
    ]
    cfg = {"store": {"sqlite": str(tmp_path / "darkwatch.db")}, "rules": {"enabled": False},
           "forums": forums}
    path = tmp_path / "darkwatch.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def stored(cfg: Path) -> Counter:
    db = sqlite3.connect(str(Path(yaml.safe_load(cfg.read_text())["store"]["sqlite"])))
    try:
        return Counter(db.execute("SELECT forum, post_id FROM posts").fetchall())
    finally:
        db.close()


def assert_every_post_once(lab: Lab, cfg: Path) -> None:
    rows = stored(cfg)
    assert not [k for k, n in rows.items() if n > 1], "a post was stored twice"
    for skin in ("phpbb", "mybb"):
        truth = {t["post_id"] for t in lab.server.truth(engine=skin, private=skin == "phpbb")}
        got = {pid for (forum, pid) in rows if forum == skin}
        assert got == truth, f"{skin}: missing {len(truth - got)}, extra {len(got - truth)}"


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_two_workers_store_every_post_once_and_hold_the_forum_rate(redis_server, lab, tmp_path,
                                                                  request):
    cfg = write_cfg(tmp_path, lab)
    with worker_pool(redis_server.url, cfg, tmp_path):
        finish(coordinate(redis_server.url, cfg, tmp_path / "report.json"))
    assert_every_post_once(lab, cfg)

    report = json.loads((tmp_path / "report.json").read_text())
    by_forum = {f["forum"]: f for f in report["forums"]}
    for skin in ("phpbb", "mybb"):
        truth = lab.server.truth(engine=skin, private=skin == "phpbb")
        assert by_forum[skin]["status"] == "ok" and by_forum[skin]["posts_new"] == len(truth)

    # Each page fetched once across both workers (each worker logs in for its own session).
    gets = Counter(p for m, p in lab.server.requests if m == "GET" and not p.startswith(LOGIN_PATHS))
    assert not [p for p, n in gets.items() if n > 1]

    # Both workers crawled: the round was really shared.
    for i in (1, 2):
        log = (tmp_path / f"w{i}.log").read_text()
        pages = [int(x.split(" pages")[0].rsplit(" ", 1)[1]) for x in log.splitlines()
                 if x.startswith(f"worker w{i}: ") and " pages, " in x]
        assert pages and sum(pages) > 0, log

    # The forum's politeness held across both workers: at most one request per DELAY over any
    # window (grants are spaced by DELAY in Redis; the send can lag its grant by a few ms).
    for skin in ("phpbb", "mybb"):
        times = [t for (m, p), t in zip(lab.server.requests, lab.server.request_times, strict=True)
                 if p.startswith(f"/{skin}/")]
        window = 20 * DELAY
        peak = max_in_window(times, window)
        gaps = sorted(b - a for a, b in zip(sorted(times), sorted(times)[1:], strict=False))
        figure(request, f"[scale-out] {skin}: {len(times)} requests, peak {peak} per {window:.1f}s "
                        f"(limit {int(window / DELAY)}), smallest gap {gaps[0] * 1000:.1f} ms")
        assert peak <= window / DELAY
        # A shorter window too: bursts cannot hide inside a long one.
        # Bursts stay bounded in short windows too (one extra at most: a send may lag its grant).
        assert max_in_window(times, 5 * DELAY) <= 5 + 1


def test_a_killed_worker_loses_nothing(redis_server, lab, tmp_path):
    cfg = write_cfg(tmp_path, lab, concurrency=4)
    client = redis.Redis.from_url(redis_server.url)
    with worker_pool(redis_server.url, cfg, tmp_path) as (w1, _w2):
        coord = coordinate(redis_server.url, cfg, tmp_path / "report.json")
        # Kill w1 while it holds requests in flight (popped, not finished).
        deadline, held = time.monotonic() + 60, []
        while time.monotonic() < deadline and not held:
            for forum in ("phpbb", "mybb"):
                fields = client.hkeys(f"darkwatch:{forum}:inflight")
                held += [f for f in fields if f.startswith(b"w1|")]
            if not held:
                time.sleep(0.002)
        assert held, "w1 never held a request in flight"
        w1.send_signal(signal.SIGKILL)
        w1.wait(10)
        finish(coord)
    assert_every_post_once(lab, cfg)
    report = json.loads((tmp_path / "report.json").read_text())
    requeued = sum(f["warnings"].get("requeued", 0) for f in report["forums"])
    assert requeued >= 1, report
    assert all(f["status"] == "ok" for f in report["forums"]), report


def test_second_coordinator_skips_locked_forums(redis_server, lab, tmp_path):
    cfg = write_cfg(tmp_path, lab)
    client = redis.Redis.from_url(redis_server.url)
    client.set("darkwatch:mybb:lock", "someone-else", ex=60)
    with worker_pool(redis_server.url, cfg, tmp_path, ids=("w1",)):
        out, err = finish(coordinate(redis_server.url, cfg, tmp_path / "report.json"))
    assert "mybb: skipped" in out and "another round holds its lock" in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert {f["forum"]: f["status"] for f in report["forums"]} == {"phpbb": "ok", "mybb": "skipped"}
    assert client.get("darkwatch:mybb:lock") == b"someone-else"  # not ours to release
    assert client.get("darkwatch:phpbb:lock") is None  # ours, released


def test_redis_unreachable_is_a_clear_exit(tmp_path, lab):
    cfg = write_cfg(tmp_path, lab)
    from darkwatch_lab.redis_server import free_port

    r = subprocess.run([sys.executable, "-m", "crawler", "crawl", "--distributed",
                        f"redis://127.0.0.1:{free_port()}/0", "-c", str(cfg), "--direct"],
                       cwd=REPO, env={**ENV, "DARKWATCH_REDIS_WAIT": "2"}, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 5, r.stderr
    assert "Redis at redis://127.0.0.1" in r.stderr and "unavailable" in r.stderr
    assert lab.server.requests == []


def test_redis_outage_mid_round_loses_nothing(tmp_path, lab):
    """Redis stops mid-round and comes back (persistent, as deployed): workers and the
    coordinator wait and retry; the round ends with every post stored once."""
    from darkwatch_lab.redis_server import RedisServer

    server = RedisServer(str(tmp_path), persistent=True).start()
    cfg = write_cfg(tmp_path, lab)
    try:
        with worker_pool(server.url, cfg, tmp_path):
            coord = coordinate(server.url, cfg, tmp_path / "report.json")
            deadline = time.monotonic() + 60
            while len(lab.server.requests) < 40 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.stop()
            down_at = len(lab.server.requests)
            time.sleep(3)
            server.start()
            finish(coord)
    finally:
        server.stop()
    assert down_at < len(lab.server.requests), "the outage came after the round had finished"
    logs = "".join((tmp_path / f"w{i}.log").read_text() for i in (1, 2))
    # The workers met the outage (scheduler, rate limiter or heartbeat, whichever asked first).
    assert re.search(r"(Redis|rate limiter) unavailable|heartbeat failed", logs), logs[-2000:]
    assert_every_post_once(lab, cfg)
    # The report counts each post once too: a counter resent after the restart is not summed twice.
    report = json.loads((tmp_path / "report.json").read_text())
    by_forum = {f["forum"]: f for f in report["forums"]}
    for skin in ("phpbb", "mybb"):
        truth = lab.server.truth(engine=skin, private=skin == "phpbb")
        assert (by_forum[skin]["status"], by_forum[skin]["posts_new"]) == ("ok", len(truth)), report
