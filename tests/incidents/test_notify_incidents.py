"""Notifications per incident (alerts.notify: incident) to real SMTP and webhook receivers:
one notice per incident on creation, one on escalation, none on a re-crawl; growth rule."""

from __future__ import annotations

import json
import re

from crawler.incidents.model import Event, Incident
from crawler.incidents.notice import decide
from tests.support.cli import REPO, write_config
from tests.support.incidents import crawl_direct, incidents_of, nirs, thread_truth

KIBANA = "https://kibana.example.test/app/discover#/incidents?id={id}"


def _ids(messages: list[str]) -> list[str]:
    return [m for msg in messages for m in re.findall(r"^Incident id: ([0-9a-f]{16})", msg, re.M)]


def test_crawl_notifies_once_per_incident_and_again_on_escalation(
        lab, tmp_path, smtp_server, webhook_server):
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    cfg = write_config(
        tmp_path / "darkwatch.yml", [lab.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{hook_port}/hook",
                             f"mailto://127.0.0.1:{smtp_port}?to=soc@example.test"
                             "&from=darkwatch@example.test"],
                "min_level": "critical", "throttle": "1h", "notify": "incident",
                "incident_growth": 1000, "kibana_url": KIBANA})
    crawl_direct(cfg)
    incidents = incidents_of(cfg)
    critical = {i["id"]: i for i in incidents if i["level"] == "critical"}
    assert len(critical) >= 5
    got = hooks.wait_for(len(critical), timeout=60)  # the crawl has exited: all were sent
    texts = [h["json"]["title"] + "\n" + h["json"]["message"] for h in got]
    # One notice per critical incident, not one per post or per alert.
    assert sorted(_ids(texts)) == sorted(critical), texts[:2]
    assert len(mails.wait_for(len(critical), timeout=60)) == len(critical)
    # The notice describes the incident as it stood when it became critical.
    biggest = max(critical.values(), key=lambda i: i["nir_distinct"])
    text = next(t for t in texts if f"Incident id: {biggest['id']}" in t)
    assert "CRITICAL incident" in text and "lab database offered" in text
    assert f"Thread URL: {biggest['thread_url']}" in text and "Forum: phpbb" in text
    assert re.search(r"^Counts: \d+ post\(s\) with evidence, \d+ alert\(s\), [1-9]\d* distinct NIR",
                     text, re.M)
    labs = re.search(r"^Labs: (.*)$", text, re.M).group(1).split(", ")
    assert labs and set(labs) <= set(biggest["labs"])
    assert f"Kibana: {KIBANA.replace('{id}', biggest['id'])}" in text
    assert re.search(r"^Masked samples: .*\*", text, re.M)
    clear = set(lab.server.valid_nirs())
    blob = json.dumps([h["raw"] for h in got] + [m["raw"] for m in mails.items])
    compact = blob.replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in clear if n in compact]

    # A re-crawl sends nothing.
    before = (len(hooks.items), len(mails.items))
    crawl_direct(cfg)
    assert (len(hooks.items), len(mails.items)) == before

    # A 200-NIR dump in a low thread escalates its incident: exactly one more notice, about it.
    low = next(i for i in incidents if i["level"] != "critical" and i["nir_distinct"] == 0)
    truth = thread_truth(lab.public_truth("phpbb"))
    lab.server.add_post(truth[low["thread_url"]]["id"], "data_broker",
                        "Dump complet Synlab, extraction SIL Medasys : nom, prénom, NIR, mutuelle, "
                        "carte vitale. " + " ; ".join(nirs(200, seed=43)))
    crawl_direct(cfg)
    new = hooks.wait_for(before[0] + 1)[before[0]:]
    assert len(new) == 1, new
    msg = new[0]["json"]["title"] + "\n" + new[0]["json"]["message"]
    assert _ids([msg]) == [low["id"]] and "escalated" in msg and "200 distinct NIR(s)" in msg
    assert "200 NIRs shown" in msg and "Synlab" in msg
    assert len(mails.wait_for(before[1] + 1)) == before[1] + 1


def test_growth_rule_notifies_at_each_factor_and_never_for_a_false_positive():
    inc = Incident(id="x", forum="f", thread_url="u", level="critical", nir_distinct=3)
    assert decide(inc, [Event("t", "created")], created=True) == "created"
    for n, want in ((20, None), (29, None), (30, "nir-growth"), (250, None), (300, "nir-growth")):
        inc.nir_distinct = n
        assert decide(inc, [Event("t", "evidence")], created=False) == want, n
    inc.level = "critical"
    inc.status = "false-positive"
    inc.nir_distinct = 10_000
    assert decide(inc, [Event("t", "escalated")], created=False) is None


def test_nir_growth_by_the_configured_factor_notifies_once_on_real_channels(
        lab, tmp_path, webhook_server):
    """A thread whose distinct NIRs grow x10 gets one "more patients exposed" notice (throttle
    off so it goes out at once); growth below the factor sends nothing."""
    hook_port, hooks = webhook_server
    cfg = write_config(
        tmp_path / "darkwatch.yml", [lab.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{hook_port}/hook"], "min_level": "critical",
                "throttle": "0", "notify": "incident", "incident_growth": 10})
    crawl_direct(cfg)
    first = hooks.wait_for(1, timeout=60)
    assert first
    incidents = incidents_of(cfg)
    small = min((i for i in incidents if i["level"] == "critical" and i["nir_distinct"] >= 1),
                key=lambda i: i["nir_distinct"])
    n = small["nir_distinct"]
    truth = thread_truth(lab.public_truth("phpbb"))
    tid = truth[small["thread_url"]]["id"]
    time_settled = len(hooks.items)
    # Below the factor: more NIRs, no notice.
    lab.server.add_post(tid, "data_broker", "encore quelques lignes : " + " ; ".join(nirs(n, seed=71)))
    crawl_direct(cfg)
    assert len(hooks.items) == time_settled
    # Past x10 of the last notified count: exactly one growth notice, about this incident.
    lab.server.add_post(tid, "data_broker", "le reste du fichier : " + " ; ".join(nirs(10 * n, seed=72)))
    crawl_direct(cfg)
    new = hooks.wait_for(time_settled + 1, timeout=60)[time_settled:]
    assert len(new) == 1, new
    msg = new[0]["json"]["title"] + "\n" + new[0]["json"]["message"]
    assert _ids([msg]) == [small["id"]] and "more patients exposed" in msg
    assert f"{n + n + 10 * n} distinct NIR(s)" in msg
