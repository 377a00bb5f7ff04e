"""Incidents in the SQLite store: idempotence, edits, related, merge, ids, scale, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from crawler.incidents.model import incident_id
from crawler.incidents.sqlite import IncidentNotFound
from crawler.model import Alert, Post
from crawler.sinks.sqlite import SqliteStore
from tests.support.incidents import leak_text, nirs


def _store(store, post):
    return store.store_post(post, post.alerts)


def test_one_incident_per_thread_and_storing_a_post_again_changes_nothing(store, maker):
    a = maker.post(leak_text("Inovie", "Dedalus", nirs(3)))
    b = maker.post("+1 merci pour le dump, fullz dispo ?", author="n0b0dy")
    assert _store(store, a).created
    assert not _store(store, b).created
    before = store.incidents.list()
    history = store.incidents.history(before[0].id)
    assert len(before) == 1 and before[0].posts == 2 and before[0].nir_distinct == 3
    assert _store(store, a) is None and _store(store, b) is None  # replay / re-crawl
    assert [i.to_dict() for i in store.incidents.list()] == [i.to_dict() for i in before]
    assert len(store.incidents.history(before[0].id)) == len(history)


def test_an_edit_with_more_nirs_is_recounted_not_added(store, maker):
    sample = nirs(6)
    _store(store, maker.post(leak_text("Inovie", "Dedalus", sample[:2]), post_id="10"))
    ch = _store(store, maker.post(leak_text("Inovie", "Dedalus", sample), post_id="10"))
    inc = ch.incident
    assert inc.posts == 1 and inc.nir_distinct == 6 and inc.alerts == 1
    assert "evidence-updated" in [e.kind for e in ch.events]


def test_same_sample_on_two_forums_gives_two_incidents_that_name_each_other(store, maker):
    shared = nirs(4)
    one = _store(store, maker.post(leak_text("Synlab", "Medasys", shared), forum="forum_a",
                                   thread="http://127.0.0.1/a?t=1")).incident
    two = _store(store, maker.post(leak_text("Synlab", "Medasys", shared[:3] + nirs(2, seed=3)),
                                   forum="forum_b", thread="http://127.0.0.1/b?t=9",
                                   author="someone_else")).incident
    assert one.id != two.id
    rel_one, rel_two = store.incidents.related(one.id), store.incidents.related(two.id)
    assert [(r["id"], r["forum"], r["shared_fingerprints"]) for r in rel_one] == [(two.id, "forum_b", 3)]
    assert [(r["id"], r["thread_url"], r["shared_fingerprints"]) for r in rel_two] == [
        (one.id, "http://127.0.0.1/a?t=1", 3)]
    for inc in (one, two):
        linked = [e for e in store.incidents.history(inc.id) if e.kind == "linked"]
        assert len(linked) == 1 and linked[0].data["shared_fingerprints"] == 3


def test_resolve_unknown_invalid_and_ambiguous_ids(store, maker):
    inc = _store(store, maker.post(leak_text("Inovie", "Dedalus", nirs(1)))).incident
    assert store.incidents.resolve(inc.id[:8].upper()) == inc.id
    with pytest.raises(IncidentNotFound, match="no incident"):
        store.incidents.resolve("ffffffffffff0000")
    with pytest.raises(IncidentNotFound, match="at least 6 hex"):
        store.incidents.resolve("abc")
    doc = json.dumps(inc.to_dict())
    for fake in ("abcdef0000000001", "abcdef0000000002"):
        store._db.execute("INSERT INTO incidents (id, forum, thread_url, status, level_rank, created,"
                          " updated, doc) VALUES (?, 'f', ?, 'open', 1, 'x', 'x', ?)", (fake, fake, doc))
    with pytest.raises(IncidentNotFound, match="ambiguous"):
        store.incidents.resolve("abcdef")


def test_merge_joins_evidence_and_sets_and_refuses_itself(store, maker):
    a = _store(store, maker.post(leak_text("Inovie", "Dedalus", nirs(2)), thread="http://127.0.0.1/t?1")).incident
    b = _store(store, maker.post(leak_text("Synlab", "Medasys", nirs(3, seed=5)),
                                 thread="http://127.0.0.1/t?2", author="Mistral")).incident
    with pytest.raises(ValueError, match="itself"):
        store.incidents.merge(a.id, a.id, "alice")
    kept = store.incidents.merge(a.id, b.id, "alice", "same seller")
    assert kept.posts == 2 and kept.nir_distinct == 5 and set(kept.labs) >= {"Inovie", "Synlab"}
    gone = store.incidents.get(b.id)
    assert gone.merged_into == a.id and gone.status == "closed" and gone.status_by == "alice"
    assert [i.id for i in store.incidents.list()] == [a.id]
    # New posts of the merged thread land on the incident that stayed.
    c = _store(store, maker.post(leak_text("Synlab", "Medasys", nirs(1, seed=11)),
                                 thread="http://127.0.0.1/t?2"))
    assert c.incident.id == a.id and c.incident.nir_distinct == 6


def _synthetic_post(forum: str, thread: str, pid: int, fps: list[str]) -> Post:
    """A post as the rules leave it, with ``fps`` NIR fingerprints (scale test: no text to scan)."""
    rule = {"id": "r-nir", "name": "fr-nir-bulk", "title": "NIR dump", "level": "critical"}
    p = Post(forum=forum, thread_url=thread, thread_title="dump", post_id=str(pid), author="bulk",
             published=f"2024-03-01T00:00:{pid % 60:02d}Z", text="", quoted_text="", url=thread)
    p.matches = [{"rule": rule, "pattern": "nir", "field": "text", "start": 0, "end": 1,
                  "masked": f"1 ** ** ** *** *** {i % 100:02d}", "fingerprint": fp}
                 for i, fp in enumerate(fps)]
    p.alerts = [Alert(rule=rule, forum=forum, thread_url=thread, thread_title="dump", post_id=str(pid),
                      post_url=thread, published=p.published, counts={"nir": len(fps)}, masked=[],
                      fingerprints=[], snippet="")]
    return p


def test_a_huge_thread_keeps_the_incident_document_bounded(store):
    per_post, posts = 10_000, 10
    t0 = time.monotonic()
    for k in range(posts):
        fps = [f"{k:02d}{i:062d}" for i in range(per_post)]
        store.store_post(_synthetic_post("big", "http://127.0.0.1/t?big", k, fps),
                         _synthetic_post("big", "http://127.0.0.1/t?big", k, []).alerts)
    elapsed = time.monotonic() - t0
    inc_id = incident_id("big", "http://127.0.0.1/t?big")
    inc = store.incidents.get(inc_id)
    assert inc.nir_distinct == per_post * posts and inc.posts == posts
    assert len(store.incidents.fingerprints(inc_id)) == per_post * posts
    doc = store._db.execute("SELECT length(doc) FROM incidents WHERE id=?", (inc_id,)).fetchone()[0]
    assert doc < 8_000, doc
    assert elapsed < 60, elapsed


def _writer(path: str, worker: int, n: int) -> None:
    store = SqliteStore(path)
    try:
        for i in range(n):
            fp = f"{worker}{i:063d}"
            p = _synthetic_post("f", "http://127.0.0.1/t?1", worker * 1000 + i, [fp])
            store.store_post(p, p.alerts)
    finally:
        store.close()


def _acker(path: str, inc_id: str, n: int) -> None:
    store = SqliteStore(path)
    try:
        for i in range(n):
            store.incidents.set_status(inc_id, "acknowledged", "analyst", f"ack {i}")
    finally:
        store.close()


def test_two_writers_and_an_analyst_at_once_leave_one_exact_incident(tmp_path):
    path = str(tmp_path / "darkwatch.db")
    _writer(path, 9, 1)
    inc_id = incident_id("f", "http://127.0.0.1/t?1")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 60)) for w in (1, 2)]
    procs.append(ctx.Process(target=_acker, args=(path, inc_id, 20)))
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = SqliteStore(path)
    try:
        incs = store.incidents.list()
        assert [i.id for i in incs] == [inc_id]
        assert incs[0].posts == 121 and incs[0].nir_distinct == 121 and incs[0].alerts == 121
        acks = [e for e in store.incidents.history(inc_id) if e.kind == "status"]
        assert len(acks) == 20 and all(e.by == "analyst" for e in acks)
    finally:
        store.close()


def test_store_repair_salvages_incidents_with_their_sets_and_history(store, maker, tmp_path):
    from crawler.store_repair import salvage

    shared = nirs(3)
    a = _store(store, maker.post(leak_text("Inovie", "Dedalus", shared), forum="fa")).incident
    _store(store, maker.post(leak_text("Inovie", "Dedalus", shared), forum="fb"))
    store.incidents.set_status(a.id, "acknowledged", "alice", "seen")
    out = salvage(store.path, str(tmp_path / "repaired.db"))
    assert out.copied["incident_fingerprints"] == 6 and not out.unreadable
    fixed = SqliteStore(str(tmp_path / "repaired.db"))
    try:
        assert [i.to_dict() for i in fixed.incidents.list()] == [i.to_dict() for i in store.incidents.list()]
        assert fixed.incidents.related(a.id) == store.incidents.related(a.id)
        assert [e.to_dict() for e in fixed.incidents.history(a.id)] == [
            e.to_dict() for e in store.incidents.history(a.id)]
    finally:
        fixed.close()
