"""The Elasticsearch sink against a real node: ECS documents, idempotence, triage, faults."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time

import pytest

from crawler.sinks import es_docs
from crawler.sinks.elasticsearch import ElasticsearchSink
from crawler.sinks.es_setup import install
from tests.support.es import make_alert, make_post

pytestmark = pytest.mark.integration


def _count(client, index: str) -> int:
    client.indices.refresh(index=index, expand_wildcards="all", ignore_unavailable=True)
    return client.count(index=index, expand_wildcards="all")["count"]


def _ids(client, index: str) -> set[str]:
    client.indices.refresh(index=index, expand_wildcards="all")
    from elasticsearch import helpers

    hits = helpers.scan(client, index=index, query={"query": {"match_all": {}}}, _source=False,
                        expand_wildcards="all")
    ids = [h["_id"] for h in hits]
    assert len(ids) == len(set(ids)), "duplicate ids across indices"
    return set(ids)


def _write_config(tmp_path, cfg, **over) -> str:
    data = cfg.model_dump()
    data.update(over)
    es = "\n".join(f"    {k}: {json.dumps(v)}" for k, v in data.items() if v is not None)
    path = tmp_path / "darkwatch.yml"
    path.write_text(f"store:\n  sqlite: {tmp_path / 'dw.db'}\n  elasticsearch:\n{es}\nforums: []\n")
    return str(path)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True, text=True,
                          timeout=120)


def test_setup_twice_is_a_noop_the_second_time(es_cfg, es_client, tmp_path):
    first = install(es_client, es_cfg)
    assert f"index template {es_cfg.index_prefix}-posts" in first.installed
    assert f"index template {es_cfg.index_prefix}-alerts" in first.installed
    assert f"index template {es_cfg.index_prefix}-incidents" in first.installed
    second = install(es_client, es_cfg)
    assert second.installed == [] and len(second.unchanged) == 3
    # The CLI says so too.
    conf = _write_config(tmp_path, es_cfg)
    r = _cli("es", "setup", "--config", conf)
    assert r.returncode == 0, r.stderr
    assert "installed" not in r.stdout and "unchanged index template" in r.stdout
    assert "already up to date" in r.stderr
    tpl = es_client.indices.get_index_template(name=f"{es_cfg.index_prefix}-posts")
    props = tpl["index_templates"][0]["index_template"]["template"]["mappings"]["properties"]
    assert props["user"]["properties"]["name"]["type"] == "keyword"
    assert props["message"]["type"] == "text"


def test_posts_and_alerts_are_ecs_documents(es_cfg, es_client):
    sink = ElasticsearchSink(es_cfg)
    posts = [make_post(i) for i in range(5)]
    alert = make_alert(3, level="critical")
    sink.write_posts(posts)
    sink.write_alerts([alert])
    res = sink.flush()
    assert res.ok and res.sent == 6
    p = es_client.get(index=f"{es_cfg.index_prefix}-posts-2026.11", id="bf-fr:3")["_source"]
    assert p["@timestamp"] == posts[3].published
    assert p["event"]["kind"] == "event" and p["event"]["created"] == posts[3].crawled_at
    assert p["url"]["full"] == "http://abc.onion/p/3"
    assert p["user"]["name"] == "vendeur"
    assert p["message"] == posts[3].text
    assert p["darkwatch"]["forum"] == "bf-fr"
    assert p["darkwatch"]["thread"] == {"url": posts[3].thread_url, "title": posts[3].thread_title}
    assert p["darkwatch"]["post"]["id"] == "3"
    assert p["darkwatch"]["post"]["content_sha256"] == posts[3].content_sha256
    assert p["darkwatch"]["matches"][0]["masked"] == "1 ** ** ** *** *** 42"
    a = es_client.get(index=f"{es_cfg.index_prefix}-alerts", id=alert.id)["_source"]
    assert a["event"]["kind"] == "alert" and a["event"]["severity"] == 99
    assert a["rule"]["id"] == "fr-nir" and a["rule"]["name"] == "fr-nir"
    assert a["rule"]["author"] == ["darkwatch"] and a["rule"]["reference"] == ["https://example.org/nir"]
    assert a["darkwatch"]["alert"]["status"] == "open"
    assert a["darkwatch"]["masked"] == ["1 ** ** ** *** *** 42"]
    # The index got the template's mapping (not dynamic guesses).
    m = es_client.indices.get_mapping(index=f"{es_cfg.index_prefix}-alerts")
    props = next(iter(m.body.values()))["mappings"]["properties"]
    assert props["event"]["properties"]["severity"]["type"] == "long"
    assert props["darkwatch"]["properties"]["alert"]["properties"]["status"]["type"] == "keyword"
    sink.close()


def test_rewrites_and_replays_never_duplicate(es_cfg, es_client):
    sink = ElasticsearchSink(es_cfg)
    posts = [make_post(i, month=1 + i % 3) for i in range(30)]
    alerts = [make_alert(i) for i in range(0, 30, 5)]
    for _ in range(3):
        sink.write_posts(posts)
        sink.write_alerts(alerts)
        assert sink.flush().ok
    edited = make_post(7, month=2, text="edited text")
    edited.edited = True
    sink.write_posts([edited])
    assert sink.flush().ok
    assert _count(es_client, f"{es_cfg.index_prefix}-posts-*") == 30
    assert _count(es_client, f"{es_cfg.index_prefix}-alerts") == len(alerts)
    doc = es_client.get(index=f"{es_cfg.index_prefix}-posts-2026.02", id="bf-fr:7")["_source"]
    assert doc["message"] == "edited text" and doc["darkwatch"]["post"]["edited"] is True
    sink.close()


def test_triage_survives_redetection_and_filters(es_cfg, es_client):
    sink = ElasticsearchSink(es_cfg)
    a_hi = make_alert(1, level="high", created="2026-11-28T10:00:00Z")
    a_lo = make_alert(2, level="low", created="2026-11-20T10:00:00Z")
    a_crit = make_alert(3, level="critical", created="2026-11-28T11:00:00Z")
    sink.write_alerts([a_hi, a_lo, a_crit])
    assert sink.flush().ok
    es_client.indices.refresh(index=f"{es_cfg.index_prefix}-alerts")
    assert [a.id for a in sink.list_alerts()] == [a_crit.id, a_hi.id, a_lo.id]
    assert {a.id for a in sink.list_alerts(min_level="high")} == {a_hi.id, a_crit.id}
    assert [a.id for a in sink.list_alerts(since="2026-11-25T00:00:00Z", limit=1)] == [a_crit.id]
    assert sink.set_alert_status(a_hi.id, "ack", note="seen by SOC") is True
    assert sink.set_alert_status("0" * 32, "ack") is False
    with pytest.raises(ValueError):
        sink.set_alert_status(a_hi.id, "bogus")
    # Re-detected later: content refreshed, triage kept.
    again = make_alert(1, level="high", created="2026-11-29T09:00:00Z")
    again.counts = {"nir": 7}
    sink.write_alerts([again])
    assert sink.flush().ok
    es_client.indices.refresh(index=f"{es_cfg.index_prefix}-alerts")
    got = {a.id: a for a in sink.list_alerts()}
    assert got[a_hi.id].status == "ack" and got[a_hi.id].counts == {"nir": 7}
    assert got[a_hi.id].created == "2026-11-28T10:00:00Z"
    assert got[a_hi.id].rule["level"] == "high" and got[a_hi.id].rule["title"] == "NIR dans un post"
    assert [a.id for a in sink.list_alerts(status="open")] == [a_crit.id, a_lo.id]
    src = es_client.get(index=f"{es_cfg.index_prefix}-alerts", id=a_hi.id)["_source"]
    assert src["darkwatch"]["alert"]["notes"][0]["note"] == "seen by SOC"
    # A status set elsewhere (Kibana, another tool) is what the sink reports.
    es_client.update(index=f"{es_cfg.index_prefix}-alerts", id=a_crit.id, refresh=True,
                     doc={"darkwatch": {"alert": {"status": "false_positive"}}})
    assert [a.id for a in sink.list_alerts(status="false_positive")] == [a_crit.id]
    sink.close()


def test_mapping_conflict_is_reported_and_dead_lettered(es_cfg, es_client, caplog):
    install(es_client, es_cfg)
    # Someone created January's index with user.name as a number: "vendeur" cannot go in.
    es_client.indices.create(index=f"{es_cfg.index_prefix}-posts-2026.01",
                             mappings={"properties": {"user": {"properties": {"name": {"type": "long"}}}}})
    sink = ElasticsearchSink(es_cfg)
    sink.write_posts([make_post(1, month=1), make_post(2, month=2)])
    with caplog.at_level(logging.ERROR, logger="crawler.sinks.elasticsearch"):
        res = sink.flush()
    assert res.sent == 1 and res.dead == 1 and res.dead_ids == ["bf-fr:1"]
    assert any("bf-fr:1" in r.getMessage() and "failed to parse field [user.name]" in r.getMessage()
               for r in caplog.records)
    dead = list(sink.spool.iter_dead_letters())
    assert len(dead) == 1 and dead[0]["id"] == "bf-fr:1" and dead[0]["status"] == 400
    assert dead[0]["action"]["body"]["user"]["name"] == "vendeur"  # the document is kept whole
    assert sink.pending() == 0  # not retried forever
    assert _count(es_client, f"{es_cfg.index_prefix}-posts-2026.02") == 1
    sink.close()


def test_too_large_document_is_dead_lettered(es_cfg, es_client):
    cfg = es_cfg.model_copy(update={"max_doc_bytes": 20_000})
    sink = ElasticsearchSink(cfg)
    sink.write_posts([make_post(1, text="x" * 50_000), make_post(2)])
    res = sink.flush()
    assert res.ok and res.sent == 1
    dead = list(sink.spool.iter_dead_letters())
    assert [d["id"] for d in dead] == ["bf-fr:1"] and "too large" in dead[0]["reason"]
    sink.close()


def test_wrong_credentials_clear_error_no_secret(es_cfg, es_client, tmp_path, caplog):
    secret = "s3cret-Wrong-Passw0rd"
    bad = es_cfg.model_copy(update={"password": secret})
    sink = ElasticsearchSink(bad)
    sink.write_posts([make_post(1)])
    with caplog.at_level(logging.DEBUG):
        res = sink.flush()
    assert not res.ok and "401" in res.error and "darkwatch" in res.error
    assert secret not in res.error
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert sink.pending() == 1  # kept for when the credentials are fixed
    sink.spool.close()
    good = ElasticsearchSink(es_cfg.model_copy(update={"spool_dir": bad.spool_dir}))
    assert good.flush().ok and good.pending() == 0
    good.close()
    r = _cli("es", "setup", "--config", _write_config(tmp_path, bad))
    assert r.returncode == 4 and "rejected the credentials (401)" in r.stderr
    assert secret not in r.stderr + r.stdout


def test_elasticsearch_down_at_start_then_spool_cli(es_cfg, es_client, tmp_path):
    down = es_cfg.model_copy(update={"url": "http://127.0.0.1:1"})
    sink = ElasticsearchSink(down)
    sink.write_posts([make_post(i) for i in range(4)])
    sink.write_alerts([make_alert(1)])
    res = sink.flush()
    assert not res.ok and "unreachable" in res.error
    sink.close()
    conf = _write_config(tmp_path, es_cfg)
    r = _cli("spool", "status", "--config", conf, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pending"] == 5
    r = _cli("spool", "replay", "--config", conf)
    assert r.returncode == 0, r.stderr
    assert "sent 5" in r.stdout and "still spooled 0" in r.stdout
    assert _count(es_client, f"{es_cfg.index_prefix}-posts-*") == 4
    assert _count(es_client, f"{es_cfg.index_prefix}-alerts") == 1


def test_raw_text_only_with_store_raw(es_cfg, es_client):
    sink = ElasticsearchSink(es_cfg)
    sink.write_raw([make_post(1, text="NIR 1 84 12 75 123 456 78")])
    assert sink.flush().sent == 0
    sink.close()
    cfg = es_cfg.model_copy(update={"store_raw": True})
    sink = ElasticsearchSink(cfg)
    sink.write_raw([make_post(1, text="raw clear text")])
    sink.write_posts([make_post(1)])
    assert sink.flush().ok
    raw = es_client.get(index=f"{cfg.index_prefix}-raw-2026.11", id="bf-fr:1")["_source"]
    assert raw["message"] == "raw clear text"
    settings = es_client.indices.get_settings(index=f"{cfg.index_prefix}-raw-2026.11",
                                              expand_wildcards="all")
    assert next(iter(settings.body.values()))["settings"]["index"]["hidden"] == "true"
    # The masked post is where analysts look; the raw index stays out of `*` patterns.
    assert _count(es_client, f"{cfg.index_prefix}-posts-*") == 1
    sink.close()


def test_killed_mid_write_then_replay_exactly_once(es_node, es_cfg, es_client):
    """SIGKILL the node while a large flush is running; restart; replay: every doc once."""
    if es_node.port is None:
        pytest.fail("this test needs the node started by the test session (unset DARKWATCH_ES_URL)")
    n = 20_000
    cfg = es_cfg.model_copy(update={"batch_size": 500, "request_timeout": 5})
    sink = ElasticsearchSink(cfg)
    install(es_client, cfg)
    posts = [make_post(i, month=1 + i % 12) for i in range(n)]
    alerts = [make_alert(i) for i in range(0, n, 1000)]
    killed = threading.Event()

    def killer():
        from crawler.sinks.es_client import make_client

        c = make_client(cfg)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stats = c.indices.stats(index=f"{cfg.index_prefix}-posts-*", metric="indexing")
            if stats["_all"]["primaries"].get("indexing", {}).get("index_total", 0) >= 2000:
                es_node.kill()
                killed.set()
                return
            time.sleep(0.05)

    t = threading.Thread(target=killer)
    t.start()
    try:
        sink.write_posts(posts)  # batch_size reached: sends while the killer watches
        sink.write_alerts(alerts)
        res = sink.flush()
    finally:
        t.join()
        if not killed.is_set():
            es_node.kill()
    assert killed.is_set(), "the node was not killed mid-write (too fast?)"
    assert not res.ok and "unreachable" in (res.error or "")
    left = sink.pending()
    assert 0 < left <= n + len(alerts)
    sink.spool.close()
    es_node.start()
    # The next run: a new sink on the same spool replays before/with its own writes.
    sink2 = ElasticsearchSink(cfg)
    sink2.write_posts([make_post(n + 1)])
    assert sink2.flush().ok
    assert sink2.pending() == 0
    assert _count(es_client, f"{cfg.index_prefix}-posts-*") == n + 1
    expected = {es_docs.post_doc_id(p) for p in posts} | {f"bf-fr:{n + 1}"}
    assert _ids(es_client, f"{cfg.index_prefix}-posts-*") == expected
    assert _ids(es_client, f"{cfg.index_prefix}-alerts") == {a.id for a in alerts}
    sink2.close()


def test_alerts_cli_triages_elasticsearch_alerts(es_cfg, es_client, tmp_path):
    """`darkwatch alerts list|ack` (the triage CLI) reads and writes the Elasticsearch documents."""
    sink = ElasticsearchSink(es_cfg)
    a = make_alert(5, level="critical")
    sink.write_alerts([a, make_alert(6, level="low")])
    assert sink.flush().ok
    sink.close()
    es_client.indices.refresh(index=f"{es_cfg.index_prefix}-alerts")
    conf = _write_config(tmp_path, es_cfg)
    r = _cli("alerts", "list", "--config", conf, "--level", "high", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == [a.id] and rows[0]["status"] == "open"
    r = _cli("alerts", "ack", a.id[:12], "--config", conf, "--note", "on it")
    assert r.returncode == 0, r.stderr
    src = es_client.get(index=f"{es_cfg.index_prefix}-alerts", id=a.id)["_source"]
    assert src["darkwatch"]["alert"]["status"] == "ack"
    assert src["darkwatch"]["alert"]["notes"][0]["note"] == "on it"
