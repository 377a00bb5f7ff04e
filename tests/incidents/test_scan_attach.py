"""``darkwatch scan DUMP --incident ID``: the dump's scope and NIR fingerprints join the incident,
and the incident on another forum that shares people with the dump is linked to it."""

from __future__ import annotations

import json
import os
import sqlite3

import yaml

from crawler.rules.fingerprint import fingerprint
from tests.support.cli import darkwatch
from tests.support.dumps import write_dump
from tests.support.incidents import KEY, leak_text, nirs


def _spaced(n: str) -> str:
    return " ".join([n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:]])


def _setup(tmp_path, store, maker):
    truth = write_dump(tmp_path / "dump.csv", 3000, seed=9)
    in_dump = sorted(truth.nirs)[:4]
    pa = maker.post(leak_text("Synlab", "Medasys", nirs(3, seed=21)), forum="forum_a",
                    thread="http://127.0.0.1/a?t=1")
    pb = maker.post(leak_text("Synlab", "Medasys", [_spaced(n) for n in in_dump]),
                    forum="forum_b", thread="http://127.0.0.1/b?t=2", author="other")
    a = store.store_post(pa, pa.alerts).incident
    b = store.store_post(pb, pb.alerts).incident
    cfg = {"store": {"sqlite": store.path}, "rules": {"fingerprint_key": KEY.decode()},
           "forums": [{"name": "loop", "engine": "phpbb",
                       "start_urls": ["http://127.0.0.1:9/viewforum.php?f=2"]}]}
    (tmp_path / "darkwatch.yml").write_text(yaml.safe_dump(cfg))
    return truth, in_dump, a, b


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "DARKWATCH_FINGERPRINT_KEY"}


def test_dump_fingerprints_join_the_incident_and_link_the_other_forum(tmp_path, store, maker):
    truth, in_dump, a, b = _setup(tmp_path, store, maker)
    before = set(store.incidents.fingerprints(a.id))
    store.close()
    res = darkwatch("scan", str(tmp_path / "dump.csv"), "--summary", "--format", "json",
                    "--incident", a.id[:8], "--config", str(tmp_path / "darkwatch.yml"), env=_env())
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["incident"]["id"] == a.id
    assert d["incident"]["fingerprints"] == truth.nir_distinct
    assert d["incident"]["fingerprints_new"] == truth.nir_distinct  # none was in incident A
    assert d["incident"]["linked"] == [{"id": b.id, "forum": "forum_b", "shared_fingerprints": 4}]
    assert f"attached to incident {a.id}" in res.stderr and "4 shared" in res.stderr

    db = sqlite3.connect(tmp_path / "darkwatch.db")
    fps = {r[0] for r in db.execute(
        "SELECT fingerprint FROM incident_fingerprints WHERE incident_id=?", (a.id,))}
    assert fps == before | {fingerprint(KEY, n) for n in truth.nirs}
    doc = json.loads(db.execute("SELECT doc FROM incidents WHERE id=?", (a.id,)).fetchone()[0])
    assert doc["nir_distinct"] == len(fps) and b.id in doc["linked"]
    doc_b = json.loads(db.execute("SELECT doc FROM incidents WHERE id=?", (b.id,)).fetchone()[0])
    assert a.id in doc_b["linked"]
    (kind, data), = db.execute("SELECT kind, data FROM incident_events WHERE incident_id=? AND "
                               "kind='dump'", (a.id,)).fetchall()
    scope = json.loads(data)
    assert scope["records"] == truth.rows and scope["nir_distinct"] == truth.nir_distinct
    assert {"nir", "blood_group", "gp", "insurer", "lab"} <= set(scope["health_fields"])
    # the store and the event hold fingerprints and counts, never a clear NIR
    dumped = "\n".join(db.iterdump())
    assert not any(n in dumped for n in in_dump) and not any(_spaced(n) in data for n in in_dump)

    # `incidents show` tells the analyst
    show = darkwatch("incidents", "show", a.id, "--config", str(tmp_path / "darkwatch.yml"),
                     env=_env())
    assert show.returncode == 0 and "dump" in show.stdout and b.id in show.stdout

    # the same dump again adds nothing new and links nothing twice
    again = darkwatch("scan", str(tmp_path / "dump.csv"), "--summary", "--format", "json",
                      "--incident", a.id, "--config", str(tmp_path / "darkwatch.yml"), env=_env())
    assert again.returncode == 0, again.stderr
    d2 = json.loads(again.stdout)["incident"]
    assert d2["fingerprints_new"] == 0 and d2["linked"] == []


def test_unknown_incident_or_missing_key_is_refused_before_scanning(tmp_path, store, maker):
    _setup(tmp_path, store, maker)
    store.close()
    res = darkwatch("scan", str(tmp_path / "dump.csv"), "--summary", "--incident", "abcdef12",
                    "--config", str(tmp_path / "darkwatch.yml"), env=_env())
    assert res.returncode == 2 and "no incident 'abcdef12'" in res.stderr
    assert res.stdout == "" and "Traceback" not in res.stderr
    cfg = yaml.safe_load((tmp_path / "darkwatch.yml").read_text())
    del cfg["rules"]
    (tmp_path / "nokey.yml").write_text(yaml.safe_dump(cfg))
    res = darkwatch("scan", str(tmp_path / "dump.csv"), "--summary", "--incident", "abcdef12",
                    "--config", str(tmp_path / "nokey.yml"), env=_env())
    assert res.returncode == 2 and "no fingerprint key" in res.stderr and "darkwatch init" in res.stderr


def test_an_interrupted_scan_attaches_nothing(tmp_path, store, maker):
    from crawler.cli import scan as scan_cli
    from crawler.incidents.dumps import DumpFingerprints

    _truth, in_dump, a, _b = _setup(tmp_path, store, maker)
    target = scan_cli._Target(None, store, a.id, KEY)
    target.fingerprints.close()  # made in the system's temp dir: gone with close(), as in a scan
    target.fingerprints = DumpFingerprints(KEY, str(tmp_path))
    target.fingerprints.add(in_dump)
    before = store.incidents.fingerprints(a.id)
    assert scan_cli._attach(target, {"partial": True}) == 130
    assert store.incidents.fingerprints(a.id) == before
    assert [e.kind for e in store.incidents.history(a.id)].count("dump") == 0
    target.fingerprints.close()
    assert not os.path.exists(target.fingerprints.path)
