"""Triage while Elasticsearch is down (issue 15): SQLite holds every alert, so the analyst can
list and change them; the changes reach Elasticsearch, in order, once it is back.

Against the real node of this session (tests/es/conftest.py), which the test kills and
restarts: the alerts are in both stores, the node is SIGKILLed, the CLI lists from SQLite and
queues two status changes, the node is restarted, and the next triage write applies the queue
before its own change.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import darkwatch, write_config
from tests.support.es import make_alert

pytestmark = pytest.mark.integration

PLANTED = "Wr0ngPlanted"


def _config(path: Path, es_cfg, **es) -> Path:
    section = {"url": es_cfg.url, "username": es_cfg.username, "password": es_cfg.password,
               "index_prefix": es_cfg.index_prefix, "spool_dir": es_cfg.spool_dir, "replicas": 0,
               "retry_interval": 0, "request_timeout": 5, **es}
    return write_config(path, [], store={"sqlite": str(path.parent / "darkwatch.db"),
                                         "elasticsearch": section})


@pytest.fixture
def triage(es_node, es_cfg, es_client, tmp_path):
    """Three open alerts in SQLite and in Elasticsearch, and a config for both."""
    from crawler.sinks.elasticsearch import ElasticsearchSink
    from crawler.sinks.sqlite import SqliteStore

    cfg = _config(tmp_path / "darkwatch.yml", es_cfg)
    alerts = [make_alert(i, created=f"2026-11-28T10:00:0{i}Z") for i in (1, 2, 3)]
    local = SqliteStore(str(tmp_path / "darkwatch.db"))
    local.write_alerts(alerts)
    local.close()
    sink = ElasticsearchSink(es_cfg)
    sink.write_alerts(alerts)
    assert sink.flush().ok
    sink.close()
    return cfg, tmp_path / "darkwatch.db", [a.id for a in alerts]


def _sqlite_status(db: Path, alert_id: str) -> str:
    return sqlite3.connect(db).execute("SELECT status FROM alerts WHERE id=?", (alert_id,)).fetchone()[0]


def _es_alert(es_client, es_cfg, alert_id: str) -> dict:
    doc = es_client.get(index=f"{es_cfg.index_prefix}-alerts", id=alert_id)["_source"]
    return doc["darkwatch"]["alert"]


def _clean(res) -> str:
    out = res.stdout + res.stderr
    assert "Traceback" not in out, out[-3000:]
    return out


def test_alerts_ack_with_elasticsearch_down_updates_sqlite_and_reaches_it_after(
        triage, es_node, es_cfg, es_client):
    if es_node.port is None:
        pytest.fail("this test must own the Elasticsearch node (unset DARKWATCH_ES_URL)")
    cfg, db, (a1, a2, a3) = triage
    c = ("--config", str(cfg))
    es_node.kill()
    try:
        ls = darkwatch("alerts", "list", *c)
        out = _clean(ls)
        assert ls.returncode == 0, out
        assert ls.stderr.count("is unreachable") == 1, out  # said once
        assert "alerts listed from the local store" in ls.stderr
        assert all(a in ls.stdout for a in (a1, a2, a3)), out

        ack = darkwatch("alerts", "ack", a1[:10], "--note", "triaged offline", *c)
        out = _clean(ack)
        assert ack.returncode == 0, out
        assert ack.stdout.startswith(f"{a1}: ack"), out
        assert "queued for Elasticsearch" in ack.stderr, out
        close = darkwatch("alerts", "close", a2, *c)
        assert close.returncode == 0, _clean(close)

        assert _sqlite_status(db, a1) == "ack" and _sqlite_status(db, a2) == "closed"
        acked = darkwatch("alerts", "list", "--status", "ack", "--format", "jsonl", *c)
        assert [json.loads(line)["id"] for line in acked.stdout.splitlines()] == [a1], _clean(acked)
        status = json.loads(darkwatch("spool", "status", "--format", "json", *c).stdout)
        assert status["pending"] == 2
    finally:
        es_node.start()

    # Back up: the queued changes wait in the spool until the next write (or replay or crawl).
    assert _es_alert(es_client, es_cfg, a1)["status"] == "open"
    reopen = darkwatch("alerts", "reopen", a2, *c)  # a write: the queue goes first, in order
    out = _clean(reopen)
    assert reopen.returncode == 0, out
    assert "queued" not in reopen.stderr, out
    first = _es_alert(es_client, es_cfg, a1)
    assert first["status"] == "ack"
    assert [n["note"] for n in first["notes"]] == ["triaged offline"]
    assert _es_alert(es_client, es_cfg, a2)["status"] == "open"  # closed, then reopened
    assert _es_alert(es_client, es_cfg, a3)["status"] == "open"
    assert _sqlite_status(db, a2) == "open"
    status = json.loads(darkwatch("spool", "status", "--format", "json", *c).stdout)
    assert status["pending"] == 0 and status["dead_letters"] == 0
    listed = darkwatch("alerts", "list", "--status", "ack", "--format", "jsonl", *c)
    assert listed.returncode == 0 and "unreachable" not in listed.stderr, _clean(listed)
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [a1]


def test_spool_replay_applies_queued_status_changes(triage, es_cfg, es_client):
    """The same queue, sent by `spool replay`: queued directly (as a down node leaves it)."""
    from crawler.sinks.elasticsearch import ElasticsearchSink

    cfg, _db, (a1, _a2, a3) = triage
    sink = ElasticsearchSink(es_cfg)
    sink.queue_status(a1, "false_positive", "test data")
    sink.queue_status(a3, "closed")
    sink.queue_status("0" * 32, "ack")  # not in Elasticsearch: dead-lettered, not retried forever
    sink.spool.close()
    res = darkwatch("spool", "replay", "--config", str(cfg))
    out = _clean(res)
    assert res.returncode == 0, out
    assert "sent 2, dead-lettered 1, still spooled 0" in res.stdout, out
    assert _es_alert(es_client, es_cfg, a1)["status"] == "false_positive"
    assert _es_alert(es_client, es_cfg, a3)["status"] == "closed"


def test_es_setup_with_a_wrong_password_in_the_url_prints_no_password(es_node, es_cfg, tmp_path):
    url = es_node.url.replace("://", f"://{es_node.username or 'elastic'}:{PLANTED}@", 1)
    cfg = _config(tmp_path / "darkwatch.yml", es_cfg, url=url, username=None, password=None)
    res = darkwatch("es", "setup", "--config", str(cfg))
    out = _clean(res)
    assert PLANTED not in out
    assert res.returncode == 4, out
    assert "rejected the credentials (401)" in res.stderr and "://****@127.0.0.1" in res.stderr, out


def test_the_sink_reports_each_state_change_once(es_cfg, es_client, caplog):
    """Down, still down (no new line), back up: one WARNING line per change, no traceback."""
    import logging

    from crawler.netpolicy import free_ports
    from crawler.sinks.elasticsearch import ElasticsearchSink
    from crawler.sinks.es_client import make_client

    (dead,) = free_ports(1)
    sink = ElasticsearchSink(es_cfg)
    sink._client = make_client(es_cfg.model_copy(update={"url": f"http://127.0.0.1:{dead}"}))
    with caplog.at_level(logging.INFO, logger="crawler.sinks.elasticsearch"):
        sink.write_alerts([make_alert(1), make_alert(2)])
        assert sink.flush().error
        sink.write_alerts([make_alert(3)])
        assert sink.flush().error
        sink._client.close()
        sink._client = make_client(es_cfg)  # the node is reachable again
        assert sink.flush().ok
        sink.close()
    mine = [r for r in caplog.records if r.name == "crawler.sinks.elasticsearch"]
    warnings = [r.getMessage() for r in mine if r.levelno >= logging.WARNING
                and not r.getMessage().startswith("Elasticsearch: ")]  # set-up notes of the node
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("Elasticsearch down: Elasticsearch at ")
    assert "is unreachable" in warnings[0] and "kept in the spool" in warnings[0]
    assert warnings[1] == "Elasticsearch reachable again: 3 spooled document(s) sent"
    assert [r.getMessage() for r in mine if r.levelno == logging.INFO].count(
        f"Elasticsearch: retrying the spool {sink.spool.dir}") == 2
    assert not [r for r in mine if r.levelno > logging.DEBUG and r.exc_info]
