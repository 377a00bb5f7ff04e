"""Pure incident logic: evidence from a post, aggregation, title, lifecycle rules."""

from __future__ import annotations

from crawler.incidents import lifecycle
from crawler.incidents.evidence import claimed_size, from_post, labs_named
from crawler.incidents.model import MAX_SAMPLES, incident_id
from tests.support.incidents import leak_text, nirs

NOW = "2026-12-06T00:00:00Z"


def test_incident_id_is_stable_per_thread_and_differs_between_threads():
    a = incident_id("f1", "http://x/t?1")
    assert a == incident_id("f1", "http://x/t?1")
    assert a != incident_id("f2", "http://x/t?1") != incident_id("f1", "http://x/t?2")


def test_evidence_takes_fingerprints_labs_and_masked_samples_from_the_rules(maker):
    sample = nirs(3)
    post = maker.post(leak_text("Eurofins Biomnis", "Medasys", sample + [sample[0]]))
    ev = from_post(post, post.alerts)
    assert ev is not None and len(ev.fingerprints) == 3  # the repeated NIR counts once
    # "Eurofins" inside "Eurofins Biomnis" is the same mention, not a second lab.
    assert ev.labs == ["Eurofins Biomnis", "Medasys"]
    assert ev.claimed_size == 120_000
    assert all("*" in s for s in ev.samples)
    blob = repr(ev.to_dict()).replace(" ", "").replace(".", "")
    assert not any(n.replace(" ", "").replace(".", "") in blob for n in sample)


def test_no_alert_no_evidence(maker):
    post = maker.post("Quel wallet XMR conseillez-vous ?")
    assert post.alerts == [] and from_post(post, post.alerts) is None


def test_labs_are_canonical_whatever_the_case():
    m = [{"rule": {"name": "fr-medical-lab"}, "pattern": "lab", "field": "text", "start": 0,
          "end": 6, "masked": "INOVIE"},
         {"rule": {"name": "fr-medical-lab"}, "pattern": "lab", "field": "title", "start": 3,
          "end": 9, "masked": "inovie"}]
    assert labs_named(m) == ["Inovie"]


def test_claimed_size_reads_the_usual_shapes():
    assert claimed_size("Format CSV, 120k lignes.") == 120_000
    assert claimed_size("512 000 patients, 3 lignes") == 512_000
    assert claimed_size("aucune taille") is None


def _incident(maker, text, **kw):
    post = maker.post(text, **kw)
    ev = from_post(post, post.alerts)
    inc = lifecycle.new_incident(incident_id(post.forum, post.thread_url), ev, NOW)
    events = lifecycle.add_evidence(inc, ev, len(ev.fingerprints), NOW, created=True)
    return inc, events


def test_title_says_size_nirs_and_labs(maker):
    inc, events = _incident(maker, leak_text("Inovie", "Dedalus", nirs(9), lines="512k"))
    assert [e.kind for e in events] == ["created", "evidence"]
    assert inc.level == "critical" and inc.nir_distinct == 9
    assert inc.title == "≈512,000-patient lab database offered — 9 NIRs shown, Inovie, Dedalus"


def test_higher_level_evidence_escalates_and_reopens_an_acknowledged_incident(maker):
    inc, _ = _incident(maker, "Qui a un dump frais ? fullz dispo en MP")
    low = inc.level
    lifecycle.set_status(inc, "acknowledged", "alice", "seen", NOW)
    post = maker.post(leak_text("Synlab", "Medasys", nirs(5)))
    events = lifecycle.add_evidence(inc, from_post(post, post.alerts), 5, NOW)
    kinds = [e.kind for e in events]
    assert kinds == ["evidence", "escalated", "reopened"]
    assert events[1].data == {"from": low, "to": "critical"}
    assert inc.status == "open" and inc.status_by == "darkwatch" and "acknowledged" in inc.status_note


def test_same_level_evidence_keeps_a_closed_incident_closed(maker):
    inc, _ = _incident(maker, leak_text("Synlab", "Medasys", nirs(2)))
    lifecycle.set_status(inc, "closed", "alice", "handled", NOW)
    post = maker.post(leak_text("Synlab", "Medasys", nirs(2, seed=9)))
    events = lifecycle.add_evidence(inc, from_post(post, post.alerts), 2, NOW)
    assert [e.kind for e in events] == ["evidence"]
    assert inc.status == "closed" and inc.nir_distinct == 4


def test_false_positive_suppresses_the_same_rule_but_not_another(maker):
    inc, _ = _incident(maker, "Qui a un dump frais ? fullz dispo en MP")
    rules = list(inc.rules)
    event = lifecycle.set_status(inc, "false-positive", "bob", "forum banter", NOW)
    assert event.by == "bob" and event.note == "forum banter" and inc.suppressed_rules == rules
    same = maker.post("Encore un dump frais ? fullz dispo en MP")
    ev = from_post(same, same.alerts)
    events = lifecycle.add_evidence(inc, ev, 0, NOW)
    assert [e.kind for e in events] == ["suppressed"] and ev.ignored == rules
    assert inc.status == "false-positive" and inc.posts == 1
    other = maker.post(leak_text("Synlab", "Medasys", nirs(3)))
    events = lifecycle.add_evidence(inc, from_post(other, other.alerts), 3, NOW)
    assert "reopened" in [e.kind for e in events] and inc.status == "open"
    assert inc.level == "critical"


def test_samples_stay_capped(maker):
    inc, _ = _incident(maker, leak_text("Synlab", "Medasys", nirs(MAX_SAMPLES + 5)))
    assert inc.nir_distinct == MAX_SAMPLES + 5 and len(inc.samples) == MAX_SAMPLES


def test_a_rule_that_outranks_what_the_incident_had_escalates_at_the_same_level(maker):
    """A victim's countdown turning into "published": the level stays critical, the incident
    escalates once (and reopens if acknowledged), because the new rule supersedes the old."""
    inc, _ = _incident(maker, leak_text("Synlab", "Medasys", nirs(2)))
    lifecycle.set_status(inc, "acknowledged", "alice", "seen", NOW)
    post = maker.post(leak_text("Synlab", "Medasys", nirs(2, seed=9)))
    ev = from_post(post, post.alerts)
    ev.levels = {"published": inc.level}
    ev.outranks = {"published": [inc.rules[0], "not-in-the-incident"]}
    events = lifecycle.add_evidence(inc, ev, 2, NOW)
    assert [e.kind for e in events] == ["evidence", "escalated", "reopened"]
    assert events[1].data["outranks"] == {"published": [inc.rules[0]]}
    assert inc.status == "open"
    # The same rule again outranks nothing new.
    again = from_post(post, post.alerts)
    again.levels, again.outranks = {"published": inc.level}, {"published": [inc.rules[0]]}
    assert [e.kind for e in lifecycle.add_evidence(inc, again, 0, NOW)] == ["evidence"]


def test_a_notice_names_its_incident_even_when_the_id_looks_like_a_number():
    """Ids are hex digests; one with 11+ digits in a row was masked like a phone number, so the
    analyst got a notice naming no incident (seen on ~1 run in 6 of the notice test)."""
    from crawler.incidents.model import Incident
    from crawler.incidents.notice import format_incident

    inc = Incident(id="0479914759244364", forum="f", thread_url="http://x.onion/t?id=1850578006084",
                   level="critical", nir_distinct=1, title="dump 1 85 05 78 006 084 91")
    title, body = format_incident(inc, "created", kibana_url="https://kb/#/i?id={id}")
    assert "Incident id: 0479914759244364 " in body and "https://kb/#/i?id=0479914759244364" in body
    assert "1850578006084" not in body and "006 084 91" not in title + body  # crawled text masked
