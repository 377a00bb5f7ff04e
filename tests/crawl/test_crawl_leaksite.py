"""Issue 16: a ransomware leak site crawled with the documented `engine: custom` recipe.

Real CLI against the fixture's leak-site skin: every victim stored once with its state; a
French lab/hospital/health-IT victim is a critical incident; the countdown -> published
change is re-read (the victim stays one post, now edited) and recorded on the incident.
"""

from __future__ import annotations

import json

import pytest

from darkwatch_lab.forum import FixtureForum
from darkwatch_lab.forum_leaksite import LEAKSITE_SELECTORS
from tests.support.cli import REPO, darkwatch, export, write_config

pytestmark = pytest.mark.integration

FR_HEALTH = {"Biolab Rhône Analyses", "Clinique Saint-Aubin", "MediSoft Santé SAS"}


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    with FixtureForum(seed=2, skins=("leaksite",)) as server:
        skin = server.skins["leaksite"]
        cfg = write_config(tmp_path / "darkwatch.yml", [{
            "name": "owl_leaks", "engine": "custom", "delay": 0, "timeout": 20,
            "start_urls": [server.base_url + skin.board_page_url()],
            "selectors": dict(LEAKSITE_SELECTORS),
        }], rules={"paths": [str(REPO / "rules")]})
        yield server, skin, cfg


def crawl(cfg, report):
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", "--report", str(report))
    assert res.returncode == 0, res.stdout + res.stderr
    (row,) = json.loads(report.read_text())["forums"]
    return row


def incidents(cfg) -> list[dict]:
    out = darkwatch("incidents", "list", "--config", str(cfg), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_every_victim_once_with_state_and_french_health_victims_are_critical(site, tmp_path):
    server, skin, cfg = site
    row = crawl(cfg, tmp_path / "r.json")
    truth = {t["post_id"]: t for t in server.truth(engine="leaksite")}
    assert len(truth) == 23 and len({t["state"] for t in truth.values()}) == 2
    stored = export(cfg)
    assert sorted(p["post_id"] for p in stored) == sorted(truth)  # each victim once
    wrong = [(p["post_id"], f) for p in stored for f in ("thread_title", "author", "published", "text")
             if p[f] != truth[p["post_id"]][f]]
    assert wrong == []
    for p in stored:  # the state is part of what was stored
        want = "PUBLISHED" if truth[p["post_id"]]["state"] == "published" else "countdown running"
        assert want in p["text"]
    assert row["posts_new"] == 23 and row["status"] == "ok"

    incs = incidents(cfg)
    critical = {i["thread_title"] for i in incs if i["level"] == "critical"}
    assert critical == FR_HEALTH  # not the French builder, not the US hospital


def test_publication_of_a_french_lab_victim_is_recorded_on_its_incident(site, tmp_path):
    server, skin, cfg = site
    crawl(cfg, tmp_path / "r1.json")
    lab = next(v for v in skin.victims.values() if v.name == "Biolab Rhône Analyses")
    assert lab.state == "countdown"
    (before,) = [i for i in incidents(cfg) if i["thread_title"] == lab.name]
    assert before["rules"] == ["ransomware-victim-fr-health"]

    skin.publish(lab.vid)
    row = crawl(cfg, tmp_path / "r2.json")
    assert row["posts_new"] == 0 and row["threads_changed"] == 1  # only that card changed
    stored = [p for p in export(cfg) if p["post_id"] == str(lab.vid)]
    assert len(stored) == 1 and "ALL AVAILABLE DATA PUBLISHED" in stored[0]["text"]
    (after,) = [i for i in incidents(cfg) if i["thread_title"] == lab.name]
    assert after["id"] == before["id"] and after["level"] == "critical"
    assert "ransomware-data-published-fr-health" in after["rules"]
    # Publication escalates the incident although its level was already critical: the new rule
    # outranks (supersedes) the one it had; one escalation, said in the history.
    shown = darkwatch("incidents", "show", after["id"], "--config", str(cfg), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    escalations = [e for e in json.loads(shown.stdout)["history"] if e["kind"] == "escalated"]
    assert len(escalations) == 1, escalations
    assert escalations[0]["data"]["outranks"] == {
        "ransomware-data-published-fr-health": ["ransomware-victim-fr-health"]}
    # A re-crawl with nothing new escalates nothing more.
    crawl(cfg, tmp_path / "r3.json")
    again = darkwatch("incidents", "show", after["id"], "--config", str(cfg), "--format", "json")
    assert [e["kind"] for e in json.loads(again.stdout)["history"]].count("escalated") == 1
