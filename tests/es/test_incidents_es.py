"""Incidents in a real Elasticsearch (issue 11, point 5): one document per thread whatever is
re-crawled or replayed, the same counts as the SQLite record, no fingerprint, statuses set in
Kibana respected by the CLI and by the crawl, Elasticsearch down while an incident changes."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

from crawler.sinks.sqlite import SqliteStore
from tests.support.cli import REPO, darkwatch, write_config
from tests.support.forum_lab import running_forum
from tests.support.incidents import nirs

pytestmark = pytest.mark.integration
KEY_ENV = {"DARKWATCH_FINGERPRINT_KEY": "es-incident-key-0123456789"}
# What the CLI and the ES document must agree on (the aggregates, kept current by the crawl).
SAME = ("level", "posts", "alerts", "nir_distinct", "labs", "rules", "authors", "samples",
        "thread_url", "forum", "first_seen", "last_seen", "title")


@pytest.fixture
def lab():
    with running_forum("phpbb", "mybb") as forum:  # the same threads on two engines
        yield forum


@pytest.fixture
def setup(lab, es_node, tmp_path):
    from elasticsearch import Elasticsearch

    prefix = f"t{uuid.uuid4().hex[:10]}"
    cfg = write_config(
        tmp_path / "darkwatch.yml", [lab.forum_config("phpbb"), lab.forum_config("mybb")],
        rules={"paths": [str(REPO / "rules")]},
        store={"sqlite": str(tmp_path / "darkwatch.db"),
               "elasticsearch": {"url": es_node.url, "username": es_node.username,
                                 "password": es_node.password, "index_prefix": prefix,
                                 "spool_dir": str(tmp_path / "spool"), "replicas": 0,
                                 "retry_interval": 0, "request_timeout": 5}})
    auth = (es_node.username, es_node.password) if es_node.username else None
    es = Elasticsearch(es_node.url, basic_auth=auth, request_timeout=30)
    yield cfg, prefix, es
    es.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
    for kind in ("posts", "alerts", "incidents", "raw"):
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")
    es.close()


def _crawl(cfg, code: int = 0):
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", env=KEY_ENV)
    assert res.returncode == code, res.stdout + res.stderr
    return res


def _es_incidents(es, prefix) -> dict[str, dict]:
    es.indices.refresh(index=f"{prefix}-incidents")
    hits = es.search(index=f"{prefix}-incidents", size=10_000, query={"match_all": {}})["hits"]["hits"]
    assert len(hits) == len({h["_id"] for h in hits})
    return {h["_id"]: h["_source"] for h in hits}


def _cli_incidents(cfg) -> tuple[dict[str, dict], str]:
    res = darkwatch("incidents", "list", "-c", str(cfg), "--format", "jsonl", "--limit", "10000")
    assert res.returncode == 0, res.stdout + res.stderr
    return {d["id"]: d for d in map(json.loads, res.stdout.splitlines())}, res.stderr


def _local(db) -> dict[str, object]:
    store = SqliteStore(str(db))
    try:
        return {i.id: i for i in store.incidents.list(merged=True)}
    finally:
        store.close()


def _assert_same(es_docs: dict[str, dict], cli: dict[str, dict]) -> None:
    assert sorted(es_docs) == sorted(cli)
    for inc_id, d in cli.items():
        doc = es_docs[inc_id]
        got = doc["darkwatch"]["incident"]
        for f in SAME:
            es_value = {"thread_url": doc["darkwatch"]["thread"]["url"],
                        "forum": doc["darkwatch"]["forum"]}.get(f, got.get(f))
            assert es_value == d[f], (inc_id, f, es_value, d[f])
        assert doc["event"]["kind"] == "alert" and doc["event"]["dataset"] == "darkwatch.incident"
        assert doc["url"]["full"] == d["thread_url"] and doc["message"] == d["title"]
        assert got["status"] == d["status"], inc_id


def _assert_related(es_docs: dict[str, dict], cli: dict[str, dict]) -> None:
    """Incidents sharing NIRs name each other in Elasticsearch with the CLI's counts."""
    for inc_id, d in cli.items():
        want = {r["id"]: r["shared_fingerprints"] for r in d["related"] if r["shared_fingerprints"]}
        got = {r["id"]: r["shared_fingerprints"]
               for r in es_docs[inc_id]["darkwatch"]["incident"].get("related", [])
               if r["shared_fingerprints"]}
        assert got == want, inc_id


def _thread_id(lab, thread_url: str) -> int:
    return next(p["thread_id"] for p in lab.server.truth(private=False) if p["thread_url"] == thread_url)


def test_incidents_indexed_once_per_thread_and_kibana_statuses_respected(lab, setup, tmp_path):
    cfg, prefix, es = setup
    _crawl(cfg)
    docs = _es_incidents(es, prefix)
    cli, _ = _cli_incidents(cfg)
    assert len(cli) > 5
    _assert_same(docs, cli)
    # Fingerprints stay in the analyst's store; no clear NIR leaves either.
    blob = json.dumps(docs)
    fps = [r[0] for r in sqlite3.connect(tmp_path / "darkwatch.db").execute(
        "SELECT fingerprint FROM incident_fingerprints")]
    assert len(fps) > 10 and not [fp for fp in fps if fp in blob]
    assert '"fingerprints"' not in blob
    compact = blob.replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in lab.server.valid_nirs() if n in compact]
    # A thread seen on both engines: two incidents naming each other with the shared count.
    assert sum(1 for d in cli.values() for r in d["related"] if r["shared_fingerprints"]) >= 10
    _assert_related(docs, cli)

    # An analyst acknowledges one incident in Kibana (edits the status field only): the CLI
    # shows it, and the local history says where it came from.
    by_level = sorted(cli.values(), key=lambda d: (-d["nir_distinct"], d["id"]))
    acked = by_level[-1]
    closed = next(d for d in reversed(by_level) if d["thread_title"] != acked["thread_title"])
    index = f"{prefix}-incidents"
    es.update(index=index, id=acked["id"], refresh=True,
              doc={"darkwatch": {"incident": {"status": "acknowledged"}}})
    cli, err = _cli_incidents(cfg)
    assert cli[acked["id"]]["status"] == "acknowledged", err
    assert "warning" not in err
    show = darkwatch("incidents", "show", acked["id"], "-c", str(cfg), "--format", "json")
    event = [e for e in json.loads(show.stdout)["history"] if e["kind"] == "status"][-1]
    assert (event["by"], event["data"]["to"]) == ("kibana", "acknowledged")

    # Another is closed in Kibana; the next crawl adopts it before deciding anything, and its
    # updates overwrite neither status; nothing is added or doubled.
    es.update(index=index, id=closed["id"], refresh=True,
              doc={"darkwatch": {"incident": {"status": "closed"}}})
    _crawl(cfg)
    assert _local(tmp_path / "darkwatch.db")[closed["id"]].status == "closed"
    after = _es_incidents(es, prefix)
    assert after[acked["id"]]["darkwatch"]["incident"]["status"] == "acknowledged"
    assert after[closed["id"]]["darkwatch"]["incident"]["status"] == "closed"
    cli2, _ = _cli_incidents(cfg)
    _assert_same(after, cli2)
    assert {k: {f: v[f] for f in SAME} for k, v in cli2.items()} == {
        k: {f: v[f] for f in SAME} for k, v in cli.items()}

    # New evidence of a higher level in the thread acknowledged in Kibana: the same incident
    # escalates and reopens, in Elasticsearch too (the crawl's own status change).
    lab.server.add_post(_thread_id(lab, acked["thread_url"]), "data_broker",
                        "Dump complet Synlab, extraction SIL Medasys : nom, prénom, NIR, mutuelle. "
                        + " ; ".join(nirs(200, seed=43)))
    _crawl(cfg)
    final = _es_incidents(es, prefix)
    assert sorted(final) == sorted(after)
    up = final[acked["id"]]["darkwatch"]["incident"]
    assert (up["status"], up["level"]) == ("open", "critical")
    assert up["nir_distinct"] == acked["nir_distinct"] + 200
    assert up["status_by"] == "darkwatch" and "reopened" in up["status_note"]
    assert final[closed["id"]]["darkwatch"]["incident"]["status"] == "closed"
    cli3, _ = _cli_incidents(cfg)
    _assert_same(final, cli3)
    _assert_related(final, cli3)  # the twin on the other engine now shares the 200 more
    twin = next(r for r in cli3[acked["id"]]["related"] if r["forum"] != acked["forum"]
                and r["thread_url"] != acked["thread_url"] and r["shared_fingerprints"] >= 200)
    assert twin["id"] in up["related_ids"]


def test_elasticsearch_down_while_an_incident_changes(lab, setup, es_node, tmp_path):
    if es_node.port is None:
        pytest.fail("this test must own the Elasticsearch node (unset DARKWATCH_ES_URL)")
    cfg, prefix, es = setup
    _crawl(cfg)
    before, _ = _cli_incidents(cfg)
    target = min(before.values(), key=lambda d: (d["nir_distinct"], d["id"]))
    lab.server.add_post(_thread_id(lab, target["thread_url"]), "data_broker",
                        "Extraction Cerballiance, NIR : " + " ; ".join(nirs(30, seed=44)))
    es_node.kill()
    try:
        # The crawl stores locally and spools the incident's new state.
        res = _crawl(cfg, code=4)
        assert "document(s) kept in the spool" in res.stderr, res.stderr
        # Triage while down: saved locally, queued, said so; list falls back with one warning.
        ack = darkwatch("incidents", "ack", target["id"], "-c", str(cfg), "--note", "seen",
                        "--by", "alice")
        assert ack.returncode == 0, ack.stderr
        assert "queued for Elasticsearch" in ack.stderr and "Traceback" not in ack.stderr
        down, err = _cli_incidents(cfg)
        assert down[target["id"]]["status"] == "acknowledged"
        assert err.count("warning:") == 1 and "Kibana meanwhile are not shown" in err
    finally:
        es_node.start()
    replay = darkwatch("spool", "replay", "--config", str(cfg))
    assert replay.returncode == 0, replay.stdout + replay.stderr
    docs = _es_incidents(es, prefix)
    cli, err = _cli_incidents(cfg)
    assert "warning" not in err
    _assert_same(docs, cli)  # still one document per thread, counts not doubled
    _assert_related(docs, cli)
    got = docs[target["id"]]["darkwatch"]["incident"]
    assert got["nir_distinct"] == target["nir_distinct"] + 30
    assert (got["status"], got["status_by"], got["status_note"]) == ("acknowledged", "alice", "seen")
    # A second replay and a re-crawl change nothing.
    assert darkwatch("spool", "replay", "--config", str(cfg)).returncode == 0
    _crawl(cfg)
    assert _es_incidents(es, prefix) == docs
    n = sqlite3.connect(tmp_path / "darkwatch.db").execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
    assert n == len(docs)
