"""``darkwatch run``: schedule math (unit), then the real daemon against the fixture forum:
child crawl processes, /metrics over HTTP, config reloads (good and broken), SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.config.loader import ConfigError, parse_config
from crawler.config.schedule import cron_interval, forum_interval, next_cron, next_due
from crawler.daemon.metrics import is_loopback, parse_addr
from crawler.daemon.scheduler import Scheduler
from crawler.monitoring import monitoring_gaps
from crawler.sinks.sqlite import SqliteStore
from darkwatch_lab.forum import FixtureForum
from tests.support.cli import REPO, darkwatch, export, write_config

T0 = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC).timestamp()  # a Monday


def forums(text: str):
    return parse_config(textwrap.dedent(text), "d.yml").forums


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(textwrap.dedent(text), "d.yml")
    return [str(p) for p in exc.value.problems]


# --- config -------------------------------------------------------------------------------
def test_schedule_keys_default_and_validation():
    a, b, c = forums("""\
        forums:
          - {name: a, engine: phpbb, start_urls: ["http://127.0.0.1/"]}
          - {name: b, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 90s}
          - {name: c, engine: phpbb, start_urls: ["http://127.0.0.1/"], cron: "*/15  * * * *"}
        """)
    assert (a.every, a.cron) == ("1h", None)
    assert (b.every, b.cron) == ("90s", None)
    assert (c.every, c.cron) == (None, "*/15 * * * *")
    out = problems("""\
        forums:
          - name: a
            engine: phpbb
            start_urls: ["http://127.0.0.1/"]
            every: 30m
            cron: "0 * * * *"
          - name: b
            engine: phpbb
            start_urls: ["http://127.0.0.1/"]
            every: often
          - name: c
            engine: phpbb
            start_urls: ["http://127.0.0.1/"]
            cron: "0 0 * * * *"
        """)
    assert out[0] == "d.yml:6:5: forums[0].cron: 'every' and 'cron' are mutually exclusive: keep one of them"
    assert out[1].startswith("d.yml:10:5: forums[1].every: 'often' is not a duration")
    assert out[2].startswith("d.yml:14:5: forums[2].cron: '0 0 * * * *' is not a 5-field cron expression")


# --- schedule math ------------------------------------------------------------------------
def test_next_due_every_and_cron():
    every, cron = forums("""\
        forums:
          - {name: e, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 30m}
          - {name: c, engine: phpbb, start_urls: ["http://127.0.0.1/"], cron: "0 9 * * 1-5"}
        """)
    assert next_due(every, None, T0) == T0                    # never crawled: now
    assert next_due(every, T0 - 600, T0) == T0 + 1200         # 30 min after the last start
    assert next_due(every, T0 - 7200, T0) == T0 - 5400        # overdue: due at once (one catch-up)
    nine = datetime(2026, 3, 3, 9, 0, tzinfo=UTC).timestamp()
    assert next_due(cron, None, T0) == nine                   # next fire: Tuesday 09:00 UTC
    assert next_cron("0 9 * * 1-5", nine) == nine + 86400
    assert forum_interval(every) == 1800
    assert cron_interval("0 9 * * 1-5", T0) == 3 * 86400      # the weekend is the longest gap
    assert cron_interval("*/20 * * * *", T0) == 1200


def test_scheduler_due_running_and_reload_keeps_times():
    a, b = forums("""\
        forums:
          - {name: a, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 10s}
          - {name: b, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 20s}
        """)
    s = Scheduler()
    s.sync([a, b], T0, history={"b": T0 - 5})
    assert [f.name for f in s.due(T0)] == ["a"]               # b ran 5 s ago (store history)
    s.started("a", T0)
    assert s.due(T0 + 9) == [] and [f.name for f in s.due(T0 + 15)] == ["a", "b"]  # most overdue first
    assert [f.name for f in s.due(T0 + 15, running={"a"})] == ["b"]
    assert s.seconds_to_next(T0) == 10
    a2, b2, c2 = forums("""\
        forums:
          - {name: a, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 10s, delay: 5}
          - {name: b, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 1m}
          - {name: c, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 1m, enabled: false}
        """)
    s.sync([a2, b2, c2], T0 + 1)
    assert s.next_runs() == {"a": T0 + 10, "b": T0 + 55}     # a unchanged; b: new interval from its start
    assert s.entries["a"].forum.delay == 5                    # the new settings are used
    s.sync([a2], T0 + 2)
    assert list(s.next_runs()) == ["a"]


def test_monitoring_gap_uses_each_forums_schedule(tmp_path):
    fast, hourly = forums("""\
        forums:
          - {name: fast, engine: phpbb, start_urls: ["http://127.0.0.1/"], every: 10m}
          - {name: hourly, engine: phpbb, start_urls: ["http://127.0.0.1/"], cron: "5 * * * *"}
        """)
    store = SqliteStore(str(tmp_path / "d.db"))
    try:
        for name in ("fast", "hourly"):
            store.finish_run(store.start_run(name), "ok", {})
        now = time.time()
        assert monitoring_gaps(store, [fast, hourly], now + 20 * 60) == []
        gaps = monitoring_gaps(store, [fast, hourly], now + 40 * 60)   # 4 x 10 min, < 3 x 1 h
        assert [g.forum for g in gaps] == ["fast"] and "expected every 10m" in gaps[0].rule["description"]
        assert [g.forum for g in monitoring_gaps(store, [hourly], now + 3.1 * 3600)] == ["hourly"]
    finally:
        store.close()


def test_metrics_addr_parsing_and_loopback():
    assert parse_addr("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_addr("[::1]:9464") == ("::1", 9464)
    with pytest.raises(ValueError):
        parse_addr("9464")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_non_loopback_metrics_addr_is_refused(tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [
        {"name": "f", "engine": "phpbb", "start_urls": ["http://127.0.0.1:9/x"]}])
    res = darkwatch("run", "--daemon", "-c", str(cfg), "--direct", "--metrics-addr", "0.0.0.0:9464",
                    timeout=60)
    assert res.returncode == 2 and "not a loopback address" in res.stderr, res.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("forums:\n  - {name: f, engine: phpbb, start_urls: ['http://127.0.0.1:9/'], every: x}\n")
    res = darkwatch("run", "--daemon", "-c", str(bad), timeout=60)
    assert res.returncode == 2, res.stderr
    assert f"{bad}:2:67: forums[0].every: 'x' is not a duration" in res.stderr, res.stderr


# --- real processes -----------------------------------------------------------------------
@pytest.fixture
def fixture_forum():
    server = FixtureForum(seed=3, skins=("phpbb", "mybb"), retry_failures=0, big_board_threads=3)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def forum_entry(server: FixtureForum, skin: str, **extra) -> dict:
    boards = server.board_ids(private=False)
    return {"name": skin, "engine": skin, "delay": 0, "timeout": 20,
            "timezone": "Europe/Paris" if skin == "mybb" else "UTC",
            "start_urls": [server.base_url + server.board_page_path(skin, b) for b in boards], **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, f"daemon exited {proc.returncode}:\n{log.read_text()}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def finished(log: Path, forum: str, after: int = 0) -> int:
    return log.read_text()[after:].count(f"forum {forum}: crawl finished, exit 0")


def test_once_runs_due_forums_then_nothing_until_their_interval(fixture_forum, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry(fixture_forum, "phpbb", every="1h")])
    first = darkwatch("run", "--once", "--direct", "-c", str(cfg), timeout=120)
    assert first.returncode == 0, first.stderr
    assert "forum phpbb: crawl finished, exit 0, ok" in first.stderr
    again = darkwatch("run", "--once", "--direct", "-c", str(cfg), timeout=120)
    assert again.returncode == 0 and "crawl started" not in again.stderr, again.stderr  # ran < 1 h ago
    assert len(export(cfg)) == len(fixture_forum.truth(engine="phpbb", private=False))


@pytest.mark.integration
@pytest.mark.slow
def test_daemon_schedules_serves_metrics_reloads_and_stops(fixture_forum, tmp_path):
    cfg_path = tmp_path / "darkwatch.yml"
    entries = [forum_entry(fixture_forum, "phpbb", every="2s"),
               forum_entry(fixture_forum, "mybb", every="3s")]
    write_config(cfg_path, entries)
    port, log, prom = free_port(), tmp_path / "daemon.log", tmp_path / "darkwatch.prom"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "run", "--daemon", "--direct", "-c", str(cfg_path),
             "--metrics-addr", f"127.0.0.1:{port}", "--metrics-file", str(prom), "--stop-timeout", "20"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        # 1. both forums crawled at least twice, on their own schedules
        wait_for(lambda: finished(log, "phpbb") >= 2 and finished(log, "mybb") >= 2, 150,
                 "two crawls of each forum", proc, log)
        truth = {s: len(fixture_forum.truth(engine=s, private=False)) for s in ("phpbb", "mybb")}
        posts = export(cfg_path)
        assert len(posts) == sum(truth.values())                       # stored once
        assert len({(p["forum"], p["post_id"]) for p in posts}) == len(posts)

        # 2. /metrics: the textfile's names, fed by the child reports, plus daemon gauges
        m = scrape(port)
        for skin in ("phpbb", "mybb"):
            f = (("forum", skin),)
            assert m[("darkwatch_posts_new_total", f)] == truth[skin]   # later runs added 0
            assert m[("darkwatch_crawl_runs_total", (("forum", skin), ("status", "ok")))] >= 2
            assert time.time() - m[("darkwatch_last_success_timestamp_seconds", f)] < 120
            assert ("darkwatch_daemon_next_run_timestamp_seconds", f) in m
        assert ("darkwatch_daemon_running_crawls", ()) in m
        assert m[("darkwatch_daemon_config_valid", ())] == 1
        assert "darkwatch_posts_new_total{forum=\"phpbb\"}" in prom.read_text()

        # 3. a config edit is picked up: mybb disabled
        entries[1]["enabled"] = False
        write_config(cfg_path, entries)
        wait_for(lambda: "reload: config reloaded, 1 forum(s) scheduled: phpbb" in log.read_text(), 30,
                 "the reload", proc, log)
        mark = len(log.read_text())
        wait_for(lambda: finished(log, "phpbb", mark) >= 2, 90, "phpbb crawls after the reload", proc, log)
        assert "forum mybb: crawl started" not in log.read_text()[mark:]
        assert ("darkwatch_daemon_next_run_timestamp_seconds", (("forum", "mybb"),)) not in scrape(port)

        # 4. a broken edit: logged with the loader's file:line:col message, the daemon keeps going
        cfg_path.write_text(cfg_path.read_text().replace("every: 2s", "every: soon"))
        wait_for(lambda: "reload: invalid config, keeping the previous config" in log.read_text(), 30,
                 "the rejected reload", proc, log)
        text = log.read_text()
        assert re.search(rf"{re.escape(str(cfg_path))}:\d+:\d+: forums\[0\]\.every: 'soon' is not a duration",
                         text), text
        mark = len(text)
        wait_for(lambda: finished(log, "phpbb", mark) >= 1, 60, "a crawl with the previous config", proc, log)
        m = scrape(port)
        assert m[("darkwatch_daemon_config_valid", ())] == 0
        assert m[("darkwatch_daemon_config_reload_failures_total", ())] == 1

        # 5. SIGTERM (preferably while a crawl runs): exit 0, no child left behind
        started = log.read_text().count("forum phpbb: crawl started")
        wait_for(lambda: log.read_text().count("forum phpbb: crawl started") > started, 30,
                 "a crawl to start", proc, log)
        fetched = len(fixture_forum.requests)  # the child fetching: Scrapy handles its SIGTERM
        wait_for(lambda: len(fixture_forum.requests) > fetched, 60, "the crawl to fetch", proc, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    for pid in map(int, re.findall(r"crawl started \(pid (\d+)\)", text)):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "SIGTERM received: stopping" in text and "crawl finished, exit 1" not in text
    assert not list(tmp_path.glob(".darkwatch.yml.daemon-*"))   # the config snapshot is removed


def test_next_cron_is_strictly_after():
    assert next_cron("0 * * * *", T0 - 7 * 60 - 30) == T0 + 52 * 60 + 30
    assert next_cron("0 * * * *", T0) == T0 + timedelta(minutes=52, seconds=30).total_seconds()
