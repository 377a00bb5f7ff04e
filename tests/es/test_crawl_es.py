"""Crawl of the fixture forum into a real Elasticsearch: ECS documents, masked text, no loss."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from tests.support.cli import REPO, darkwatch, write_config
from tests.support.forum_lab import running_forum

pytestmark = pytest.mark.integration

KEY = {"DARKWATCH_FINGERPRINT_KEY": "es-test-key-0123456789"}


@pytest.fixture
def lab():
    with running_forum() as forum:
        yield forum.server


def forums(lab, delay=0.0):
    return [{"name": f"es-{skin}", "engine": skin, "delay": delay, "timezone": "Europe/Paris",
             "start_urls": [lab.base_url + lab.board_page_path(skin, b)
                            for b in lab.board_ids(private=False)]}
            for skin in ("phpbb", "mybb")]


def es_config(tmp_path, lab, es_node, delay=0.0):
    prefix = f"t{uuid.uuid4().hex[:10]}"
    cfg = write_config(
        tmp_path / "darkwatch.yml", forums(lab, delay),
        rules={"paths": [str(REPO / "rules")]},
        store={"sqlite": str(tmp_path / "darkwatch.db"),
               "elasticsearch": {"url": es_node.url, "username": es_node.username,
                                 "password": es_node.password, "index_prefix": prefix,
                                 "spool_dir": str(tmp_path / "spool"), "replicas": 0,
                                 "retry_interval": 0, "request_timeout": 5}})
    return cfg, prefix


def es_client(es_node):
    from elasticsearch import Elasticsearch

    auth = (es_node.username, es_node.password) if es_node.username else None
    return Elasticsearch(es_node.url, basic_auth=auth, request_timeout=30)


def all_docs(es, index):
    es.indices.refresh(index=index)
    res = es.search(index=index, size=10_000, query={"match_all": {}})
    return [h for h in res["hits"]["hits"]]


def test_crawl_indexes_ecs_posts_and_alerts_with_identifiers_masked(lab, es_node, tmp_path, monkeypatch):
    for k, v in KEY.items():
        monkeypatch.setenv(k, v)
    cfg, prefix = es_config(tmp_path, lab, es_node)
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    es = es_client(es_node)
    posts = all_docs(es, f"{prefix}-posts-*")
    truth = lab.truth(private=False)
    assert len(posts) == len(truth)
    assert len({h["_id"] for h in posts}) == len(truth)
    doc = posts[0]["_source"]
    assert doc["event"]["kind"] == "event" and doc["url"]["full"] and "@timestamp" in doc
    assert doc["user"]["name"] and "message" in doc and doc["darkwatch"]["forum"].startswith("es-")
    clear = set(lab.valid_nirs())
    blob = json.dumps([h["_source"] for h in posts]).replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in clear if n in blob], "a clear NIR reached Elasticsearch"

    alerts = all_docs(es, f"{prefix}-alerts")
    local = sqlite3.connect(tmp_path / "darkwatch.db").execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    assert len(alerts) == local > 0
    nir = [a["_source"] for a in alerts if a["_source"]["rule"]["name"] == "fr-nir"]
    assert nir and all(a["event"]["kind"] == "alert" for a in nir)
    assert all(a["darkwatch"]["alert"]["status"] == "open" for a in nir)

    # A re-crawl adds nothing: deterministic ids, no duplicates.
    assert darkwatch("crawl", "--config", str(cfg), "--direct", "-q").returncode == 0
    assert len(all_docs(es, f"{prefix}-posts-*")) == len(truth)
    es.close()


def test_elasticsearch_killed_mid_crawl_loses_nothing(lab, es_node, tmp_path, monkeypatch):
    if es_node.port is None:
        pytest.fail("this test must own the Elasticsearch node (unset DARKWATCH_ES_URL)")
    for k, v in KEY.items():
        monkeypatch.setenv(k, v)
    cfg, prefix = es_config(tmp_path, lab, es_node, delay=0.05)
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", "--config", str(cfg),
                             "--direct", "-q"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    db = tmp_path / "darkwatch.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        except sqlite3.Error:
            continue
        if n >= 150:
            break
    es_node.kill()
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        es_node.start()
    # The store went down for good during the run: exit 4, documents kept in the spool.
    assert proc.returncode == 4, out + err
    assert "store unavailable" in err and "document(s) kept in the spool" in err
    status = darkwatch("spool", "status", "--config", str(cfg))
    assert status.returncode == 0, status.stderr
    replay = darkwatch("spool", "replay", "--config", str(cfg))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    es = es_client(es_node)
    posts = all_docs(es, f"{prefix}-posts-*")
    truth = lab.truth(private=False)
    assert sorted(h["_id"] for h in posts) == sorted({h["_id"] for h in posts})
    assert len(posts) == len(truth)
    local = sqlite3.connect(db).execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
    assert len(all_docs(es, f"{prefix}-alerts")) == local
    es.close()
