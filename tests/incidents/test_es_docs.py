"""The incident as an Elasticsearch document (pure): full state, no fingerprint, and the crawl's
update leaves the analyst's status fields alone unless it changed the status itself."""

from __future__ import annotations

import json

from crawler.incidents.model import Incident
from crawler.sinks.es_docs import INCIDENT_TRIAGE_OWNED, incident_to_doc, incident_update_action


def _inc() -> Incident:
    return Incident(id="0123456789abcdef", forum="f1", thread_url="http://127.0.0.1/t?1",
                    thread_title="[LEAK] base", status="acknowledged", level="critical",
                    title="≈120,000-patient lab database offered — 3 NIRs shown, Inovie",
                    created="2026-12-01T10:00:00Z", updated="2026-12-01T10:05:00Z",
                    first_seen="2026-11-30T09:00:00Z", last_seen="2026-11-30T11:00:00Z", posts=2,
                    alerts=3, nir_distinct=3, labs=["Inovie"], rules=["fr-nir-bulk"],
                    authors=["d4rk"], samples=["1 84 ** ** *** *** 12"], status_by="alice",
                    status_at="", linked=["fedcba9876543210"])


def test_document_is_ecs_with_counts_and_no_fingerprints():
    related = [{"id": "fedcba9876543210", "forum": "f2", "thread_url": "http://127.0.0.1/t?9",
                "status": "open", "level": "high", "title": "x", "shared_fingerprints": 3,
                "shared_authors": []}]
    doc = incident_to_doc(_inc(), related)
    assert doc["event"] == {"kind": "alert", "dataset": "darkwatch.incident", "module": "darkwatch",
                            "created": "2026-12-01T10:00:00Z", "severity": 99,
                            "start": "2026-11-30T09:00:00Z", "end": "2026-11-30T11:00:00Z"}
    assert doc["@timestamp"] == "2026-11-30T09:00:00Z" and doc["url"]["full"] == "http://127.0.0.1/t?1"
    inc = doc["darkwatch"]["incident"]
    assert (inc["nir_distinct"], inc["posts"], inc["alerts"], inc["labs"]) == (3, 2, 3, ["Inovie"])
    assert inc["status_at"] is None  # "" is not a date: Elasticsearch would reject the document
    assert inc["related"] == [{"id": "fedcba9876543210", "forum": "f2",
                               "thread_url": "http://127.0.0.1/t?9", "shared_fingerprints": 3,
                               "shared_authors": []}]
    assert inc["related_ids"] == ["fedcba9876543210"]
    assert "linked" not in inc and "fingerprints" not in json.dumps(doc).replace("shared_fingerprints", "")
    # Not recomputed: the field is left out, so an update keeps what the document has.
    assert "related" not in incident_to_doc(_inc())["darkwatch"]["incident"]


def test_crawl_update_keeps_the_status_set_in_kibana_unless_it_changed_it():
    crawl = incident_update_action("p-incidents", _inc())
    assert crawl["_id"] == "0123456789abcdef" and crawl["_op_type"] == "update"
    assert not set(INCIDENT_TRIAGE_OWNED) & set(crawl["doc"]["darkwatch"]["incident"])
    assert crawl["upsert"]["darkwatch"]["incident"]["status"] == "acknowledged"  # first sight
    reopen = incident_update_action("p-incidents", _inc(), with_status=True)
    assert reopen["doc"]["darkwatch"]["incident"]["status"] == "acknowledged"
    assert reopen["doc"]["darkwatch"]["incident"]["status_by"] == "alice"


def test_updates_of_one_incident_in_one_bulk_fold_like_elasticsearch_applies_them():
    """The sink sends one action per document per bulk: a reopen (status) then a crawl update
    (no status, no related) must keep the reopen's status and the earlier related."""
    from crawler.sinks.elasticsearch import _fold_updates
    from crawler.sinks.spool import encode

    def record(action):
        meta = {k: action[k] for k in ("_op_type", "_index", "_id")}
        return encode(meta, {"doc": action["doc"], "upsert": action["upsert"]})

    first = _inc()
    first.status, first.status_by, first.status_note = "open", "darkwatch", "reopened: ..."
    later = _inc()
    later.status, later.nir_distinct, later.posts = "open", 9, 3
    related = [{"id": "fedcba9876543210", "forum": "f2", "thread_url": "u", "shared_fingerprints": 3}]
    folded = json.loads(_fold_updates(
        record(incident_update_action("p-incidents", first, related, with_status=True)),
        record(incident_update_action("p-incidents", later))).body)
    doc, upsert = folded["doc"]["darkwatch"]["incident"], folded["upsert"]["darkwatch"]["incident"]
    assert (doc["status"], doc["status_note"], doc["nir_distinct"], doc["posts"]) == (
        "open", "reopened: ...", 9, 3)
    assert doc["related_ids"] == upsert["related_ids"] == ["fedcba9876543210"]
    assert upsert["nir_distinct"] == 9
