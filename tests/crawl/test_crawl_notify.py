"""Within the crawl that finds a leak, the team's channels hear of it: once per incident (the
default, ``alerts.notify: incident``) or once per rule and thread (``notify: alert``), masked."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.support.cli import REPO, darkwatch, write_config

pytestmark = pytest.mark.integration
KEY = "test-key-0123456789abcdef"


def _config(tmp_path, forum, hook_port, smtp_port, **alerts):
    return write_config(
        tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{hook_port}/hook",
                             f"mailto://127.0.0.1:{smtp_port}?to=soc@example.test"
                             "&from=darkwatch@example.test"],
                "min_level": "critical", "throttle": "1h", **alerts})


def _no_clear_nir(forum, items) -> None:
    clear = set(forum.server.valid_nirs())
    blob = json.dumps([i["raw"] for i in items])
    compact = blob.replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in clear if n in compact]


def _text(item: dict) -> str:
    doc = item.get("json")
    if isinstance(doc, dict):
        return f"{doc.get('title', '')}\n{doc.get('message', '')}"
    return f"{item.get('subject', '')}\n{item.get('body', '')}"


def test_crawl_notifies_smtp_and_webhook_once_per_incident_by_default(
        forum, tmp_path, monkeypatch, smtp_server, webhook_server):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", KEY)
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    cfg = _config(tmp_path, forum, hook_port, smtp_port)
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    db = sqlite3.connect(tmp_path / "darkwatch.db")
    critical = {i for (i,) in db.execute("SELECT id FROM incidents WHERE level_rank = 4")}
    alerts = db.execute("SELECT COUNT(*) FROM alerts WHERE level_rank = 4").fetchone()[0]
    assert critical and alerts > len(critical), "the fixture must raise several critical alerts per incident"
    # One notice per critical incident (created): not one per alert, not one per rule; growth
    # held back by the throttle window is counted in at most one end-of-run digest.
    for inbox in (hooks, mails):
        got = inbox.wait_for(len(critical), timeout=30)
        notices = [m for m in got if "Incident id:" in _text(m)]
        ids = [re.search(r"^Incident id: ([0-9a-f]{16})", _text(m), re.M).group(1) for m in notices]
        assert sorted(ids) == sorted(critical)
        # created critical, or created lower (below min_level: not sent) and escalated
        assert all(re.match(r"\[darkwatch\] CRITICAL incident \((new incident|escalated)\)", _text(m))
                   for m in notices), [_text(m)[:80] for m in notices]
        rest = [_text(m) for m in got if m not in notices]
        assert len(rest) <= 1 and all(t.startswith("[darkwatch] digest") for t in rest), rest
    _no_clear_nir(forum, hooks.items + mails.items)
    # An unchanged re-crawl notifies nothing (the crawl returns once deliveries are done).
    before = (len(hooks.items), len(mails.items))
    assert darkwatch("crawl", "--config", str(cfg), "--direct", "-q").returncode == 0
    assert (len(hooks.items), len(mails.items)) == before


def test_notify_alert_still_sends_once_per_rule_and_thread(
        forum, tmp_path, monkeypatch, smtp_server, webhook_server):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", KEY)
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    cfg = _config(tmp_path, forum, hook_port, smtp_port, notify="alert")
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    db = sqlite3.connect(tmp_path / "darkwatch.db")
    pairs = {(json.loads(d)["rule"]["id"], json.loads(d)["thread_url"])
             for (d,) in db.execute("SELECT doc FROM alerts WHERE level_rank = 4")}
    assert pairs, "the fixture must raise critical alerts"
    # One notice per (rule, thread), plus at most one end-of-run digest of held-back matches.
    got_hooks = hooks.wait_for(len(pairs))
    got_mails = mails.wait_for(len(pairs))
    assert len(pairs) <= len(got_hooks) <= len(pairs) + 1
    assert len(pairs) <= len(got_mails) <= len(pairs) + 1
    assert not [m for m in got_hooks + got_mails if "Incident id:" in _text(m)]
    _no_clear_nir(forum, got_hooks + got_mails)


def test_a_channel_that_gives_up_is_said_not_silent(forum, tmp_path, monkeypatch, webhook_server):
    """A dead channel never blocks the crawl, and the operator is told how many messages it
    did not deliver (stderr and the report), with the alerts still in the store."""
    from crawler.netpolicy import free_ports

    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", KEY)
    (dead,) = free_ports(1)  # nothing listens there
    hook_port, hooks = webhook_server
    cfg = write_config(
        tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{dead}/hook", f"json://127.0.0.1:{hook_port}/hook"],
                "min_level": "critical", "throttle": "1h", "retries": 0, "close_timeout": 30})
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", "--report",
                    str(tmp_path / "report.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    delivered = hooks.wait_for(1, timeout=30)
    assert delivered, "the live channel must still get its notices"
    line = next(ln for ln in res.stderr.splitlines() if ln.startswith("alerts: "))
    # the channel is named with its path hidden (a webhook path often is the token)
    assert f"not delivered to json://127.0.0.1:{dead}/****" in line and "alerts list" in line
    report = json.loads((tmp_path / "report.json").read_text())
    (name, n), = report["alerts_undelivered"].items()
    assert name == f"json://127.0.0.1:{dead}/****" and n >= 1
    assert f"{n} message(s) not delivered" in line
    db = sqlite3.connect(tmp_path / "darkwatch.db")
    assert db.execute("SELECT COUNT(*) FROM alerts WHERE level_rank = 4").fetchone()[0] >= n
