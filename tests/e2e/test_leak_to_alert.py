"""From a leak posted on an onion forum to the team's channels, end to end, nothing mocked.

Private Tor network + the fixture forum as an onion service (``tor_lab``), a real Elasticsearch
node, real SMTP (aiosmtpd) and webhook receivers on loopback, the real CLI in child processes:

1. a baseline ``darkwatch crawl`` (Tor mode) of the onion forum into SQLite + Elasticsearch with
   the alert channels configured; its alerts and notifications are recorded, then the receivers
   are cleared;
2. a new thread is posted through the running forum's admin API (loopback, not the onion): a
   dump of 200 valid NIRs in ``name;address;birth date;NIR;blood group`` lines, naming a lab
   network (Cerballiance) and its lab software (Dedalus Hexalis); ``t0`` is taken;
3. one more ``darkwatch crawl``, while Elasticsearch and the receivers are polled to measure
   the post-to-alert and post-to-incident latencies.

The post fires several rules of rules/fr-health, two of them critical: ``fr-nir-bulk`` (>= 5
distinct valid NIRs) and ``fr-health-leak`` (a lab or lab-software vendor within 300 chars of a
NIR or health field). ``fr-health-leak`` outranks the others (``supersedes``), so the thread has
exactly one critical alert, naming the other rules as related; the thread is exactly one
critical incident in Elasticsearch, and the team gets exactly one notification per channel
(``alerts.notify: incident``, the default): the incident's.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from stdnum.fr import nir as stdnum_nir

from crawler.rules import nir as dw_nir
from tests.support.cli import REPO, darkwatch
from tests.support.figures import figure

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_NIRS = 200
LATENCY_BOUND = 120.0  # seconds, post -> alert in ES and -> notification received
FINGERPRINT_KEY = "e2e-fingerprint-key-0123456789abcdef"
LAB_NAME = "Cerballiance"
VENDOR = "Dedalus Hexalis"
CRITICAL_RULES = {  # name -> id, from rules/fr-health/*.yml: the one alert of this incident
    "fr-health-leak": "efa989a1-5387-4d00-a034-aab38645a04f",
}
RELATED = {"fr-nir-bulk", "fr-nir", "fr-medical-lab"}  # outranked: named, not alerted
SKIN = "phpbb"
LEAK_BOARD = 2
# How an alert may show a NIR: sex, year, month, then stars, then the key (crawler/rules/nir.py).
MASKED_NIR = re.compile(r"^[1-478] \d\d \d\d \*\* \*\*\* \*\*\* \d\d$")


# --------------------------------------------------------------------------- the leak
FIRST = ["Jean", "Marie", "Pierre", "Sophie", "Luc", "Camille", "Nicolas", "Julie", "Thomas", "Léa",
         "Antoine", "Chloé", "Hugo", "Manon", "Louis", "Emma", "Paul", "Inès", "Arthur", "Sarah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue Pasteur",
           "place de la Mairie", "chemin des Vignes", "rue du Moulin", "allée des Tilleuls"]
CITIES = [("69003", "Lyon"), ("75011", "Paris"), ("13005", "Marseille"), ("31000", "Toulouse"),
          ("33000", "Bordeaux"), ("59000", "Lille"), ("44000", "Nantes"), ("67000", "Strasbourg")]
BLOOD = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]


def make_nirs(rng: random.Random, n: int) -> list[tuple[str, int, int]]:
    """``n`` distinct valid NIRs (sex 1/2, real month, department 01-95, key by mod 97):
    (nir, birth year, birth month)."""
    out: dict[str, tuple[str, int, int]] = {}
    while len(out) < n:
        sex = rng.choice("12")
        year = rng.randint(1940, 2005)
        month = rng.randint(1, 12)
        dept = rng.choice([d for d in range(1, 96) if d != 20])
        body = f"{sex}{year % 100:02d}{month:02d}{dept:02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
        nir = body + stdnum_nir.calc_check_digits(body)
        assert stdnum_nir.is_valid(nir) and dw_nir.parse_value(nir) is not None, nir
        out[nir] = (nir, year, month)
    return list(out.values())


def leak_text(nirs: list[tuple[str, int, int]], rng: random.Random) -> str:
    lines = [
        f"Dump complet du labo {LAB_NAME} (export {VENDOR}, serveur SIL), {len(nirs)} patients.",
        "Échantillon gratuit ci-dessous, le reste (480k lignes) contre BTC, escrow accepté.",
        "nom;prénom;adresse;date de naissance;nir;groupe sanguin",
    ]
    for nir, year, month in nirs:
        zip_code, city = rng.choice(CITIES)
        lines.append(f"{rng.choice(LAST).upper()};{rng.choice(FIRST)};{rng.randint(1, 120)} "
                     f"{rng.choice(STREETS)} {zip_code} {city};{rng.randint(1, 28):02d}/{month:02d}/{year};"
                     f"{nir};{rng.choice(BLOOD)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- plumbing
def admin_post(base_url: str, call: str, payload: dict) -> dict:
    req = urllib.request.Request(f"{base_url}/__admin/{call}", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback fixture forum)
        assert resp.status == 201, resp.status
        return json.loads(resp.read())


def compact(s: str) -> str:
    """Text with the separators a NIR can be written with removed, to find one in any form."""
    return re.sub(r"[\s.\-/;,\"'()]", "", s)


def clear_nirs_in(blob: str, nirs: list[str]) -> list[str]:
    """Clear NIRs (full, or their 13-digit body) found in ``blob``."""
    c = compact(blob)
    return [n for n in nirs if n in c or n[:13] in c]


def clear_inbox(inbox) -> None:
    with inbox.cond:
        inbox.items.clear()


def message_text(item: dict) -> str:
    """What a receiver got, as text: the webhook's JSON or the mail's raw source + decoded parts."""
    return item.get("raw", "") + "\n" + item.get("body", "") + "\n" + item.get("html", "")


@dataclass
class Scenario:
    cfg_path: Path
    prefix: str
    es: Any
    onion: str
    thread_id: int
    thread_url: str
    title: str
    nirs: list[str]
    t0_wall: datetime
    baseline_alerts: list[dict]
    baseline_sqlite_alerts: list[dict]
    baseline_messages: list[str]
    baseline_report: dict
    baseline_tids: set[int]
    report: dict
    crawl_seconds: float
    mails: list[dict] = field(default_factory=list)
    hooks: list[dict] = field(default_factory=list)
    latency_es: float | None = None
    latency_mail: float | None = None
    latency_hook: float | None = None
    latency_incident: float | None = None


def es_client(es_node):
    from crawler.config.store import ElasticsearchConfig
    from crawler.sinks.es_client import make_client

    return make_client(ElasticsearchConfig(url=es_node.url, username=es_node.username,
                                           password=es_node.password, request_timeout=30))


def search(es, index: str, query: dict, size: int = 100) -> list[dict]:
    es.options(ignore_status=404).indices.refresh(index=index, allow_no_indices=True)
    resp = es.options(ignore_status=404).search(index=index, query=query, size=size)
    return [h["_source"] for h in resp.get("hits", {}).get("hits", [])]


def thread_alerts(es, prefix: str, thread_url: str, **extra_terms: str) -> list[dict]:
    filters = [{"term": {"darkwatch.thread.url": thread_url}}]
    filters += [{"term": {k: v}} for k, v in extra_terms.items()]
    return search(es, f"{prefix}-alerts", {"bool": {"filter": filters}})


def thread_incidents(es, prefix: str, thread_url: str, **extra_terms: str) -> list[dict]:
    filters = [{"term": {"darkwatch.thread.url": thread_url}}]
    filters += [{"term": {k: v}} for k, v in extra_terms.items()]
    return search(es, f"{prefix}-incidents", {"bool": {"filter": filters}})


def crawl_cmd(cfg: Path, report: Path) -> list[str]:
    return [sys.executable, "-m", "crawler", "crawl", "--config", str(cfg), "-q", "--report", str(report)]


def decoded(item: dict) -> str:
    """The notification's text as the analyst reads it (webhook JSON message, decoded mail body)."""
    doc = item.get("json")
    if isinstance(doc, dict):
        return f"{doc.get('title', '')}\n{doc.get('message', '')}"
    return f"{item.get('subject', '')}\n{item.get('body', '')}"


def about_thread(items: list[dict], thread_url: str) -> list[dict]:
    return [i for i in items if thread_url in message_text(i)]


# --------------------------------------------------------------------------- the scenario
@pytest.fixture(scope="module")
def scenario(tor_lab, es_node, smtp_server, webhook_server, tmp_path_factory):
    assert tor_lab.forum is not None, tor_lab.forum_error
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    tmp = tmp_path_factory.mktemp("e2e")
    prefix = f"e2e{uuid.uuid4().hex[:10]}"
    lab_cfg = yaml.safe_load(tor_lab.config.read_text())
    cfg = {
        "store": {"sqlite": str(tmp / "darkwatch.db"),
                  "elasticsearch": {"url": es_node.url, "username": es_node.username,
                                    "password": es_node.password, "index_prefix": prefix,
                                    "spool_dir": str(tmp / "spool"), "replicas": 0}},
        "tor": lab_cfg["tor"],
        "rules": {"paths": [str(REPO / "rules")], "fingerprint_key": FINGERPRINT_KEY},
        "alerts": {"channels": [f"json://127.0.0.1:{hook_port}/hook",
                                f"mailto://127.0.0.1:{smtp_port}?to=soc@example.test"
                                "&from=darkwatch@example.test"],
                   "min_level": "critical", "throttle": "1h"},
        "forums": [f for f in lab_cfg["forums"] if f["engine"] == SKIN],
    }
    assert len(cfg["forums"]) == 1 and ".onion" in cfg["forums"][0]["start_urls"][0], cfg["forums"]
    cfg_path = tmp / "darkwatch.yml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    es = es_client(es_node)
    try:
        # 1. baseline
        res = darkwatch("crawl", "--config", str(cfg_path), "-q", "--report", str(tmp / "r0.json"),
                        timeout=900)
        assert res.returncode == 0, res.stdout + res.stderr
        baseline_report = json.loads((tmp / "r0.json").read_text())
        baseline_alerts = search(es, f"{prefix}-alerts", {"match_all": {}}, size=10_000)
        db = sqlite3.connect(tmp / "darkwatch.db")
        baseline_sqlite = [json.loads(d) for (d,) in db.execute("SELECT doc FROM alerts")]
        db.close()
        # Let the baseline's notifications land, then forget them.
        time.sleep(1)
        baseline_messages = [message_text(i) for i in mails.items + hooks.items]
        clear_inbox(mails)
        clear_inbox(hooks)
        baseline_tids = set(tor_lab.forum.content.threads)

        # 2. the leak, through the forum's admin API on loopback
        rng = random.Random(20210223)
        nir_rows = make_nirs(rng, N_NIRS)
        text = leak_text(nir_rows, rng)
        nirs = [n for n, _, _ in nir_rows]
        assert len(dw_nir.find(text.encode())) == N_NIRS  # the test data itself is what it says
        title = f"[VENTE] Base patients {LAB_NAME} — NIR + groupe sanguin, {N_NIRS} lignes"
        tid = int(admin_post(tor_lab.forum.base_url, "threads",
                             {"board_id": LEAK_BOARD, "title": title, "author": "vendeur_lyon",
                              "text": text})["thread_id"])
        thread_url = tor_lab.state.onion_url + tor_lab.forum.skin(SKIN).thread_url(tid)
        t0_wall = datetime.now(UTC).replace(microsecond=0)
        t0 = time.monotonic()

        # 3. one crawl; poll Elasticsearch and the receivers meanwhile
        # Output to files, not pipes: nobody reads them while polling, a full pipe would block.
        out_f, err_f = open(tmp / "crawl1.out", "w+"), open(tmp / "crawl1.err", "w+")  # noqa: SIM115
        proc = subprocess.Popen(crawl_cmd(cfg_path, tmp / "r1.json"), cwd=REPO, text=True,
                                stdout=out_f, stderr=err_f,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lat_es = lat_mail = lat_hook = lat_inc = None
        done_at = None
        try:
            while True:
                now = time.monotonic()
                if lat_es is None and thread_alerts(es, prefix, thread_url,
                                                    **{"darkwatch.alert.level": "critical"}):
                    lat_es = time.monotonic() - t0
                if lat_inc is None and thread_incidents(es, prefix, thread_url,
                                                        **{"darkwatch.incident.level": "critical"}):
                    lat_inc = time.monotonic() - t0
                if lat_mail is None and about_thread(list(mails.items), thread_url):
                    lat_mail = time.monotonic() - t0
                if lat_hook is None and about_thread(list(hooks.items), thread_url):
                    lat_hook = time.monotonic() - t0
                if done_at is None and proc.poll() is not None:
                    done_at = now
                if done_at is not None and (None not in (lat_es, lat_inc, lat_mail, lat_hook)
                                            or now - done_at > 30):
                    break
                if now - t0 > 900:
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=60)
            out_f.close()
            err_f.close()
        out, err = (tmp / "crawl1.out").read_text(), (tmp / "crawl1.err").read_text()
        crawl_seconds = (done_at or time.monotonic()) - t0
        assert proc.returncode == 0, out + err
        time.sleep(1)  # anything sent late (a duplicate would show up here)
        yield Scenario(
            cfg_path=cfg_path, prefix=prefix, es=es, onion=tor_lab.onion, thread_id=tid,
            thread_url=thread_url, title=title, nirs=nirs, t0_wall=t0_wall,
            baseline_alerts=baseline_alerts, baseline_sqlite_alerts=baseline_sqlite,
            baseline_messages=baseline_messages, baseline_report=baseline_report,
            baseline_tids=baseline_tids,
            report=json.loads((tmp / "r1.json").read_text()), crawl_seconds=crawl_seconds,
            mails=list(mails.items), hooks=list(hooks.items),
            latency_es=lat_es, latency_mail=lat_mail, latency_hook=lat_hook,
            latency_incident=lat_inc,
        )
    finally:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
        for kind in ("posts", "alerts", "incidents", "raw"):
            es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")
        es.close()


# --------------------------------------------------------------------------- the tests
def test_baseline_crawl_raised_nothing_for_the_thread_before_it_existed(scenario):
    s = scenario
    assert s.baseline_report["forums"][0]["status"] == "ok", s.baseline_report
    assert s.baseline_report["forums"][0]["posts_new"] > 0, "the baseline crawl stored nothing"
    # The baseline did alert (the fixture forum has leaks): the channels were live...
    assert s.baseline_alerts, "the baseline crawl put no alert in Elasticsearch"
    assert any(a["level"] == "critical" for a in
               (x["rule"] for x in s.baseline_sqlite_alerts)), "no critical alert in the baseline"
    assert s.baseline_messages, "the baseline's critical alerts reached no channel"
    # ...but not about the new thread, which did not exist yet.
    assert s.thread_id not in s.baseline_tids
    assert [a for a in s.baseline_alerts if a["darkwatch"]["thread"]["url"] == s.thread_url] == []
    assert [a for a in s.baseline_sqlite_alerts if a["thread_url"] == s.thread_url] == []
    assert [m for m in s.baseline_messages if s.thread_url in m] == []
    # The new thread's alerts were created by the second crawl, after the post.
    new = thread_alerts(s.es, s.prefix, s.thread_url)
    assert new, "no alert for the new thread"
    for doc in new:
        created = datetime.fromisoformat(doc["event"]["created"].replace("Z", "+00:00"))
        assert created >= s.t0_wall, (created, s.t0_wall)


def test_leak_post_raises_one_critical_alert_one_incident_and_notifies_once(scenario, request):
    s = scenario
    report = s.report["forums"][0]
    assert report["status"] == "ok", report
    assert report["posts_new"] >= 1, report
    figure(request, f"\n[e2e] leak thread {s.thread_url} ({N_NIRS} NIRs); second crawl took "
                    f"{s.crawl_seconds:.1f}s")
    figure(request, f"[e2e] post-to-alert latency: Elasticsearch {s.latency_es and round(s.latency_es, 1)}s, "
                    f"webhook {s.latency_hook and round(s.latency_hook, 1)}s, "
                    f"SMTP {s.latency_mail and round(s.latency_mail, 1)}s (t0 = admin POST answered)")
    figure(request, f"[e2e] post-to-incident latency: critical incident in Elasticsearch "
                    f"{s.latency_incident and round(s.latency_incident, 1)}s")

    # --- Elasticsearch alerts: exactly one critical alert for the thread, with the right rule
    critical = thread_alerts(s.es, s.prefix, s.thread_url, **{"darkwatch.alert.level": "critical"})
    names = sorted(d["rule"]["name"] for d in critical)
    assert names == sorted(CRITICAL_RULES), names
    for name, rule_id in CRITICAL_RULES.items():
        hits = thread_alerts(s.es, s.prefix, s.thread_url, **{"rule.id": rule_id})
        assert len(hits) == 1, f"{name}: {len(hits)} alert docs for the thread"
        doc = hits[0]
        assert doc["rule"]["name"] == name
        assert doc["event"]["kind"] == "alert" and doc["event"]["severity"] == 99
        assert doc["darkwatch"]["alert"]["level"] == "critical"
        assert doc["darkwatch"]["alert"]["status"] == "open"
        assert doc["darkwatch"]["thread"]["url"] == s.thread_url
        assert doc["darkwatch"]["forum"] == "lab-phpbb"
        counts = doc["darkwatch"]["alert"]["counts"]
        assert counts.get("nir") == N_NIRS, (name, counts)
        # Masked samples: NIR samples in the masked form only; every NIR fingerprinted once.
        samples = doc["darkwatch"]["masked"]
        assert samples, f"{name}: no masked sample"
        nir_samples = [x for x in samples if re.search(r"\d", x)]
        assert nir_samples and all(MASKED_NIR.match(x) for x in nir_samples), (name, samples)
        assert len(samples) <= 10
        # The whole alert document: no clear NIR in any form, anywhere.
        assert clear_nirs_in(json.dumps(doc, ensure_ascii=False), s.nirs) == [], name
    leak = thread_alerts(s.es, s.prefix, s.thread_url, **{"rule.id": CRITICAL_RULES["fr-health-leak"]})[0]
    assert leak["darkwatch"]["alert"]["counts"].get("lab", 0) >= 1, leak["darkwatch"]["alert"]
    # Every NIR fingerprinted once (plus the lab/vendor/health keywords it also matched).
    assert len(set(leak["darkwatch"]["fingerprints"])) >= N_NIRS
    assert set(leak["darkwatch"]["alert"]["related_rules"]) >= RELATED, leak["darkwatch"]["alert"]
    # No alert at all for the outranked rules on this thread (their matches stay on the post).
    assert [d["rule"]["name"] for d in thread_alerts(s.es, s.prefix, s.thread_url)] == ["fr-health-leak"]

    # --- the local SQLite store holds the same single critical alert
    db = sqlite3.connect(s.cfg_path.parent / "darkwatch.db")
    local = [json.loads(d) for (d,) in db.execute("SELECT doc FROM alerts WHERE level_rank = 4")]
    db.close()
    assert sorted(a["rule"]["name"] for a in local if a["thread_url"] == s.thread_url) == sorted(
        CRITICAL_RULES)

    # --- Elasticsearch incidents: exactly one, critical, for the thread; no fingerprint
    incidents = thread_incidents(s.es, s.prefix, s.thread_url)
    assert len(incidents) == 1, incidents
    inc = incidents[0]["darkwatch"]["incident"]
    assert (inc["level"], inc["status"], inc["nir_distinct"], inc["posts"]) == (
        "critical", "open", N_NIRS, 1), inc
    assert LAB_NAME in inc["labs"] and "fr-health-leak" in inc["rules"], inc
    assert incidents[0]["event"]["severity"] == 99 and incidents[0]["url"]["full"] == s.thread_url
    assert "fingerprints" not in json.dumps(incidents[0]).replace("shared_fingerprints", "")
    assert clear_nirs_in(json.dumps(incidents[0], ensure_ascii=False), s.nirs) == []

    # --- channels: one notification per channel for the thread (its incident's), masked
    hooks, mails = about_thread(s.hooks, s.thread_url), about_thread(s.mails, s.thread_url)
    for channel, got in (("webhook", hooks), ("smtp", mails)):
        assert len(got) == 1, (channel, [message_text(m)[:400] for m in got])
        for m in got:
            text = message_text(m)
            assert clear_nirs_in(text, s.nirs) == [], channel
            body = decoded(m)
            assert "CRITICAL incident (new incident)" in body and "Masked samples:" in body, body
            assert f"Incident id: {incidents[0]['darkwatch']['incident']['id']}" in body, body
            assert re.search(rf"^Counts: .*\b{N_NIRS} distinct NIR", body, re.M), body
            assert re.search(rf"^Labs: .*{LAB_NAME}", body, re.M), body
    assert all(h["json"] is not None for h in hooks)
    assert all(m["to"] == ["soc@example.test"] for m in mails)
    # Nothing else was sent by the second crawl either.
    everything = "\n".join(message_text(m) for m in s.hooks + s.mails)
    assert clear_nirs_in(everything, s.nirs) == []

    # --- the post itself is searchable in the posts index (masked)
    posts = search(s.es, f"{s.prefix}-posts-*", {"bool": {
        "filter": [{"term": {"darkwatch.thread.url": s.thread_url}}],
        "must": [{"match": {"message": LAB_NAME}}]}})
    assert len(posts) == 1, posts
    assert posts[0]["darkwatch"]["thread"]["title"] == s.title
    assert clear_nirs_in(json.dumps(posts[0], ensure_ascii=False), s.nirs) == []
    by_title = search(s.es, f"{s.prefix}-posts-*", {"match_phrase": {"darkwatch.thread.title":
                                                                     f"Base patients {LAB_NAME}"}})
    assert [p["darkwatch"]["thread"]["url"] for p in by_title] == [s.thread_url]

    # --- latency
    assert s.latency_es is not None, "the alert never became visible in Elasticsearch"
    assert s.latency_hook is not None and s.latency_mail is not None, "a channel never got the alert"
    assert s.latency_es < LATENCY_BOUND
    assert s.latency_incident is not None and s.latency_incident < LATENCY_BOUND
    assert max(s.latency_hook, s.latency_mail) < LATENCY_BOUND
