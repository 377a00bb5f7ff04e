"""Acceptance on the fixture forum: one incident per thread, counts equal to the fixture's
truth, re-crawl idempotent, escalation and reopen on new evidence, cross-forum correlation."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest

from crawler.sinks.sqlite import SqliteStore
from tests.support.cli import REPO, darkwatch, write_config
from tests.support.figures import figure
from tests.support.incidents import crawl_direct, incidents_of, jsonl, nirs, thread_truth

pytestmark = pytest.mark.integration


def _show(cfg, inc_id) -> dict:
    res = darkwatch("incidents", "show", inc_id, "-c", str(cfg), "--format", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _history_lengths(db) -> dict[str, int]:
    store = SqliteStore(str(db))
    try:
        return {i.id: len(store.incidents.history(i.id)) for i in store.incidents.list()}
    finally:
        store.close()


def test_one_incident_per_thread_matching_the_truth_idempotent_and_escalating(lab, tmp_path,
                                                                            request):
    cfg = write_config(tmp_path / "darkwatch.yml", [lab.forum_config("phpbb")],
                       rules={"paths": [str(REPO / "rules")]})
    crawl_direct(cfg)
    alerts = jsonl(darkwatch("alerts", "list", "-c", str(cfg), "--format", "jsonl",
                              "--limit", "100000"))
    incidents = incidents_of(cfg)
    truth = thread_truth(lab.public_truth("phpbb"))

    # Exactly one incident per thread with evidence, and all its alerts attached.
    per_thread = defaultdict(list)
    for a in alerts:
        per_thread[a["thread_url"]].append(a)
    assert sorted(i["thread_url"] for i in incidents) == sorted(per_thread)
    assert len(alerts) > len(incidents) > 5
    for inc in incidents:
        t = truth[inc["thread_url"]]
        assert inc["alerts"] == len(per_thread[inc["thread_url"]]), inc["title"]
        assert inc["posts"] == len({a["post_id"] for a in per_thread[inc["thread_url"]]})
        assert inc["nir_distinct"] == len(t["nirs"]), inc["title"]
        assert set(inc["labs"]) == t["labs"], inc["title"]
        assert inc["status"] == "open" and inc["level"] == max(
            (a["rule"]["level"] for a in per_thread[inc["thread_url"]]),
            key=("informational", "low", "medium", "high", "critical").index)
        for field in ("id", "title", "forum", "thread_title", "first_seen", "last_seen",
                      "authors", "rules", "samples", "related"):
            assert field in inc
    assert any(i["nir_distinct"] >= 5 and i["labs"] for i in incidents)

    # A re-crawl changes nothing: same documents, same history.
    histories = _history_lengths(tmp_path / "darkwatch.db")
    crawl_direct(cfg)
    assert incidents_of(cfg) == incidents
    assert _history_lengths(tmp_path / "darkwatch.db") == histories

    # An analyst acknowledges a low thread; a 200-NIR dump posted there later escalates the
    # same incident and reopens it, saying so in its history.
    low = next(i for i in incidents if i["nir_distinct"] == 0 and i["level"] in ("informational", "low"))
    res = darkwatch("incidents", "ack", low["id"][:10], "-c", str(cfg), "--by", "alice",
                    "--note", "chatter, watching")
    assert res.returncode == 0, res.stderr
    dump = nirs(200, seed=42)
    t0 = time.monotonic()
    lab.server.add_post(truth[low["thread_url"]]["id"], "data_broker",
                        "Dump complet Synlab, extraction SIL Medasys : nom, prénom, NIR, mutuelle, "
                        "carte vitale. " + " ; ".join(dump))
    crawl_direct(cfg)
    after = {i["id"]: i for i in incidents_of(cfg)}
    latency = time.monotonic() - t0
    assert len(after) == len(incidents)  # the same incident, not a new one
    up = after[low["id"]]
    figure(request, f"[incidents] post-to-incident latency (post added -> escalated incident "
                    f"listed, one incremental crawl): {latency:.1f}s; {len(alerts)} alerts -> "
                    f"{len(incidents)} incidents")
    assert up["level"] == "critical" and up["nir_distinct"] == 200 and up["status"] == "open"
    assert up["posts"] == low["posts"] + 1 and "Synlab" in up["labs"]
    history = _show(cfg, low["id"])["history"]
    kinds = [e["kind"] for e in history]
    assert kinds.count("escalated") == 1 and kinds.count("reopened") == 1
    ack = next(e for e in history if e["kind"] == "status")
    assert (ack["by"], ack["note"], ack["data"]["to"]) == ("alice", "chatter, watching", "acknowledged")
    esc = next(e for e in history if e["kind"] == "escalated")
    assert esc["data"] == {"from": low["level"], "to": "critical"}
    # The other incidents keep their evidence (their `related` may now name the new author).
    def strip(i):
        return {k: v for k, v in i.items() if k != "related"}

    unchanged = {k: strip(v) for k, v in after.items() if k != low["id"]}
    assert unchanged == {i["id"]: strip(i) for i in incidents if i["id"] != low["id"]}


def test_same_sample_on_two_engines_gives_two_incidents_that_name_each_other(lab, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml",
                       [lab.forum_config("phpbb", name="lab_phpbb"),
                        lab.forum_config("mybb", name="lab_mybb")],
                       rules={"paths": [str(REPO / "rules")]})
    crawl_direct(cfg)
    incidents = incidents_of(cfg)
    by_forum = {f: {i["thread_title"]: i for i in incidents if i["forum"] == f}
                for f in ("lab_phpbb", "lab_mybb")}
    assert set(by_forum["lab_phpbb"]) == set(by_forum["lab_mybb"])
    leaks = [t for t, i in by_forum["lab_phpbb"].items() if i["nir_distinct"]]
    assert len(leaks) >= 5
    for title in leaks:
        a, b = by_forum["lab_phpbb"][title], by_forum["lab_mybb"][title]
        assert a["id"] != b["id"] and a["nir_distinct"] == b["nir_distinct"]
        ra = {r["id"]: r for r in a["related"]}
        rb = {r["id"]: r for r in b["related"]}
        assert ra[b["id"]]["shared_fingerprints"] == a["nir_distinct"]
        assert ra[b["id"]]["forum"] == "lab_mybb" and ra[b["id"]]["thread_url"] == b["thread_url"]
        assert rb[a["id"]]["shared_fingerprints"] == a["nir_distinct"]
    # The text view names the other forum's incident with the count of shared numbers.
    title = leaks[0]
    a, b = by_forum["lab_phpbb"][title], by_forum["lab_mybb"][title]
    shown = darkwatch("incidents", "show", a["id"], "-c", str(cfg))
    assert shown.returncode == 0, shown.stderr
    assert f"{b['id']}" in shown.stdout and f"{a['nir_distinct']} shared NIR fingerprint" in shown.stdout


def test_cli_refuses_unknown_ids_and_self_merge_with_one_line(lab, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [lab.forum_config("phpbb")],
                       rules={"paths": [str(REPO / "rules")]})
    crawl_direct(cfg)
    inc = incidents_of(cfg)[0]
    for args in (("show", "0000000000000000"), ("ack", "zz"), ("merge", inc["id"], inc["id"][:8]),
                 ("close", "deadbeefdeadbeef")):
        res = darkwatch("incidents", *args, "-c", str(cfg))
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr
    res = darkwatch("incidents", "false-positive", inc["id"], "-c", str(cfg), "--note", "test data")
    assert res.returncode == 0, res.stderr
    fp = jsonl(darkwatch("incidents", "list", "-c", str(cfg), "--format", "jsonl",
                          "--status", "false-positive"))
    assert [i["id"] for i in fp] == [inc["id"]] and fp[0]["status_note"] == "test data"
    assert fp[0]["status_by"]  # the OS user by default
    assert fp[0]["suppressed_rules"] == sorted(inc["rules"])
