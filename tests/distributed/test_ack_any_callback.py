"""A worker acks every request it popped, whatever callback or errback handled it: a spider
subclass with callbacks no darkwatch code names (one reading a board, one raising, one errback)
still empties the round's in-flight hash. Real redis-server and fixture forum; the worker runs
in its own process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import redis
import yaml

from crawler.distributed import codec, keys
from crawler.distributed.queue import round_pending
from darkwatch_lab.forum import FixtureForum

REPO = Path(__file__).resolve().parents[2]


def seed(client: redis.Redis, forum: str, url: str, callback: str) -> None:
    client.sadd(keys.seen(forum), url)
    client.incr(keys.pages(forum))
    client.lpush(keys.queue(forum), codec.dumps({
        "url": url, "callback": callback, "errback": "on_error", "method": "GET",
        "headers": {}, "body": b"", "cookies": {}, "meta": {"darkwatch_kind": "board"},
        "encoding": "utf-8", "priority": 0, "dont_filter": False, "flags": [], "cb_kwargs": {},
    }))


def test_requests_of_new_callbacks_are_acked(redis_server, tmp_path):
    server = FixtureForum(seed=1, skins=("mybb",))
    server.start()
    try:
        boards = [server.base_url + server.board_page_path("mybb", b)
                  for b in server.board_ids(private=False)]
        assert len(boards) >= 2
        forum = {"name": "mybb", "engine": "mybb", "start_urls": boards, "delay": 0.01,
                 "concurrency": 2, "timezone": "Europe/Paris", "timeout": 20}
        db = tmp_path / "darkwatch.db"
        cfg = tmp_path / "darkwatch.yml"
        cfg.write_text(yaml.safe_dump({"store": {"sqlite": str(db)}, "rules": {"enabled": False},
                                       "forums": [forum]}, sort_keys=False))
        client = redis.Redis.from_url(redis_server.url)
        seed(client, "mybb", boards[0], "parse_custom")
        seed(client, "mybb", boards[1], "parse_boom")
        probe = subprocess.run(
            [sys.executable, "-m", "tests.distributed.ack_probe", str(cfg), redis_server.url,
             "mybb"], cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            capture_output=True, text=True, timeout=180)
    finally:
        server.stop()
    assert probe.returncode == 0, probe.stderr[-3000:]
    stats = json.loads(probe.stdout.strip().splitlines()[-1])
    assert stats.get("darkwatch/probe_custom") == 1 and stats.get("darkwatch/probe_boom") == 1
    assert stats.get("darkwatch/errors/page-error") == 1  # the raising callback is an error
    assert stats.get("darkwatch/probe_custom_error") == 1  # the new errback ran
    # The custom callback's output went through: its threads were read and their posts stored.
    assert stats.get("darkwatch/pages_thread", 0) > 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts WHERE forum = 'mybb'").fetchone()[0] > 0
    # Every popped request was acked: nothing is left queued or in flight.
    assert client.hlen(keys.inflight("mybb")) == 0
    assert round_pending(client, "mybb") == 0
