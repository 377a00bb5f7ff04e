"""Notifications through apprise to a real SMTP server and a real webhook on loopback."""

from __future__ import annotations

import logging
import re
import time

import pytest

from crawler.alerts.notify import Notifier
from crawler.config.alerts import AlertsConfig
from tests.support.alerts import NIR, make_alert

pytestmark = pytest.mark.integration


def mailto(port: int) -> str:
    # Plain SMTP on loopback: mailto:// is the no-TLS scheme; `to`/`from` as query parameters.
    return f"mailto://127.0.0.1:{port}?to=soc@example.test&from=darkwatch@example.test"


def cfg(*channels: str, **kw) -> AlertsConfig:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("retries", 1)
    kw.setdefault("close_timeout", 15.0)
    return AlertsConfig(channels=list(channels), **kw)


def leaky_alert(post_id: str, thread: str):
    """An alert carrying a clear NIR where hostile or buggy input could put one."""
    a = make_alert(post_id=post_id, thread=thread)
    a.thread_title = f'fuite CPAM {NIR} lot 3 <img src="http://evil.onion/x.png">'
    a.masked.append(f"{NIR[:1]} {NIR[1:3]} {NIR[3:5]} {NIR[5:7]} {NIR[7:10]} {NIR[10:13]} {NIR[13:]}")
    a.thread_url = f"http://forumxyz.onion/t/{thread}-{NIR}-leak"
    return a


def assert_no_nir(text: str) -> None:
    digits = re.sub(r"\D", "", text)
    assert NIR not in text
    assert NIR not in digits, "a NIR survived (possibly split by separators)"


def test_one_notice_per_rule_thread_window_on_mail_and_webhook(tmp_path, smtp_server, webhook_server):
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    n = Notifier(cfg(mailto(smtp_port), f"json://127.0.0.1:{hook_port}/hook", throttle="1h",
                     kibana_url="https://kibana.example.test/app/discover#/doc/dv/darkwatch-alerts-*?id={id}"),
                 str(tmp_path / "alerts-state.db"))
    first = leaky_alert("p1", "t1")
    n.notify([first])
    n.notify([first])  # the same alert again (re-crawl): nothing
    n.notify([leaky_alert("p2", "t1")])  # same rule + thread, new post: held back
    n.notify([leaky_alert("p3", "t2")])  # another thread: its own notice
    got_mail = mails.wait_for(2)
    got_hook = hooks.wait_for(2)
    time.sleep(0.5)  # would-be extra messages have time to arrive
    assert len(mails.items) == 2 and len(hooks.items) == 2
    assert n.stats["sent"] == 2 and n.stats["suppressed"] == 1 and n.stats["duplicate"] == 1
    n.close()
    # close(): the held-back match of thread t1 is reported in a digest, once per channel.
    got_mail = mails.wait_for(3)
    got_hook = hooks.wait_for(3)
    assert len(got_mail) == 3 and len(got_hook) == 3

    m = got_mail[0]
    assert m["to"] == ["soc@example.test"] and m["from"] == "darkwatch@example.test"
    assert "HIGH" in m["subject"] and "Rule nir-leak" in m["subject"] and "bf-fr" in m["subject"]
    assert "Forum: bf-fr" in m["body"] and "Matches: nir: 3" in m["body"]
    assert "1 85 05 ** *** *** 36" in m["body"]  # masked samples are kept
    assert f"kibana.example.test/app/discover#/doc/dv/darkwatch-alerts-*?id={first.id}" in m["body"]
    h = got_hook[0]
    assert h["path"] == "/hook" and h["json"]["type"] == "failure"
    assert "Rule nir-leak" in h["json"]["title"]
    assert "Thread URL: http://forumxyz.onion/t/" in h["json"]["message"]

    digest_mail, digest_hook = got_mail[2], got_hook[2]
    assert "digest" in digest_mail["subject"] and "1 held back" in digest_mail["subject"]
    assert "1 further match(es)" in digest_hook["json"]["message"]
    for item in got_mail:
        assert_no_nir(item["raw"])
        assert_no_nir(item["body"])
    # Hostile markup in a thread title stays inert: the mail is text/plain only, no HTML part.
    assert got_mail[0]["html"] == "" and got_mail[0]["raw"].startswith('Content-Type: text/plain')
    assert '<img src=3D"http://evil.onion' in got_mail[0]["raw"]
    for item in got_hook:
        assert_no_nir(item["raw"])


def test_window_is_shared_across_runs_and_reopens(tmp_path, webhook_server):
    hook_port, hooks = webhook_server
    state = str(tmp_path / "state.db")
    url = f"json://127.0.0.1:{hook_port}/hook"
    with Notifier(cfg(url, throttle="1h"), state) as n:
        n.notify([make_alert("p1", "t1")])
    assert len(hooks.wait_for(1)) == 1
    with Notifier(cfg(url, throttle="1h"), state) as n:  # next cron run, same window
        n.notify([make_alert("p2", "t1")])
        assert n.stats["suppressed"] == 1
    # That run's close() reported the held-back count as a digest.
    got = hooks.wait_for(2)
    assert len(got) == 2 and "1 further match(es)" in got[1]["json"]["message"]
    # Window 0 (throttling off): every new alert notifies.
    with Notifier(cfg(url, throttle="0"), state) as n:
        n.notify([make_alert("p3", "t1"), make_alert("p4", "t1")])
    assert len(hooks.wait_for(4)) == 4


def test_held_back_count_rides_on_next_notice_when_window_expires(tmp_path, webhook_server):
    hook_port, hooks = webhook_server
    state = str(tmp_path / "state.db")
    url = f"json://127.0.0.1:{hook_port}/hook"
    n = Notifier(cfg(url, throttle="1s"), state)
    n.notify([make_alert("p1", "t1")])
    n.notify([make_alert("p2", "t1"), make_alert("p3", "t1")])
    time.sleep(1.1)
    n.notify([make_alert("p4", "t1")])
    got = hooks.wait_for(2)
    assert len(got) == 2
    held = "Held back by throttling since the last notice for this rule and thread: 2"
    assert held in got[1]["json"]["message"]
    n.close()
    time.sleep(0.3)
    assert len(hooks.items) == 2  # nothing left to digest


def test_min_level_filters(tmp_path, webhook_server):
    hook_port, hooks = webhook_server
    with Notifier(cfg(f"json://127.0.0.1:{hook_port}/hook", min_level="high"), str(tmp_path / "s.db")) as n:
        n.notify([make_alert("p1", "t1", level="medium"), make_alert("p2", "t2", level="low"),
                  make_alert("p3", "t3", level="critical"), make_alert("p4", "t4", level="high")])
        assert n.stats["below_level"] == 2
    got = hooks.wait_for(2)
    time.sleep(0.3)
    assert len(hooks.items) == 2
    levels = sorted(g["json"]["title"].split(":")[0] for g in got)
    assert levels == ["[darkwatch] CRITICAL", "[darkwatch] HIGH"]


def test_digest_mode_sends_one_message_per_run(tmp_path, smtp_server, webhook_server):
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    n = Notifier(cfg(mailto(smtp_port), f"json://127.0.0.1:{hook_port}/hook", digest=True),
                 str(tmp_path / "s.db"))
    n.notify([leaky_alert("p1", "t1"), leaky_alert("p2", "t1"), leaky_alert("p3", "t2")])
    n.notify([make_alert("p4", "t3", level="critical", rule_id="lab-vendor")])
    time.sleep(0.5)
    assert mails.items == [] and hooks.items == []  # nothing before the end of the run
    n.close()
    got_mail, got_hook = mails.wait_for(1), hooks.wait_for(1)
    time.sleep(0.3)
    assert len(mails.items) == 1 and len(hooks.items) == 1
    body = got_hook[0]["json"]["message"]
    assert "3 new alert(s) (1 critical, 2 high) across 1 forum(s); 1 further match(es) held back" in body
    assert body.index("[critical]") < body.index("[high]")  # worst first
    assert "top level CRITICAL" in got_mail[0]["subject"]
    assert_no_nir(got_mail[0]["raw"])
    assert_no_nir(got_hook[0]["raw"])
    # Reported once: the next run has nothing to send.
    with Notifier(cfg(f"json://127.0.0.1:{hook_port}/hook", digest=True), str(tmp_path / "s.db")):
        pass
    time.sleep(0.3)
    assert len(hooks.items) == 1


def test_dead_channels_never_raise_nor_block_the_crawl(tmp_path, webhook_server, blackhole, caplog):
    from tests.support.receivers import free_port

    hook_port, hooks = webhook_server
    refused = f"json://user:S3cretPassw0rd@127.0.0.1:{free_port()}/hooks/T0KENabcdef123"
    hung = f"json://127.0.0.1:{blackhole}/hook"
    n = Notifier(cfg(refused, hung, f"json://127.0.0.1:{hook_port}/hook", timeout=1.0, retries=1,
                     close_timeout=20.0), str(tmp_path / "s.db"))
    caplog.set_level(logging.DEBUG)
    t0 = time.monotonic()
    n.notify([make_alert("p1", "t1"), make_alert("p2", "t2"), make_alert("p3", "t3")])
    assert time.monotonic() - t0 < 0.5, "notify() must not wait for the channels"
    assert len(hooks.wait_for(3)) == 3  # the live channel is not held up by the dead ones
    t0 = time.monotonic()
    n.close()
    elapsed = time.monotonic() - t0
    # Hung channel: first message 2 attempts x (<= 2 x 1 s) + 0.5 s backoff, then the channel is
    # marked down and each later message gets one attempt: well under close_timeout.
    assert elapsed < 15, elapsed
    refused_ch, hung_ch = n.channels[0], n.channels[1]
    assert refused_ch.sent == 0 and refused_ch.failed == 3 and refused_ch.down
    assert hung_ch.sent == 0 and hung_ch.failed == 3
    logs = caplog.text
    assert "gave up" in logs
    assert "S3cretPassw0rd" not in logs and "T0KENabcdef123" not in logs


def test_close_deadline_bounds_a_backlog(tmp_path, blackhole):
    n = Notifier(cfg(f"json://127.0.0.1:{blackhole}/hook", timeout=1.0, retries=0, close_timeout=2.0,
                     throttle="0"), str(tmp_path / "s.db"))
    n.notify([make_alert(f"p{i}", f"t{i}") for i in range(20)])  # 20 x 1 s+ of work queued
    t0 = time.monotonic()
    n.close()
    assert time.monotonic() - t0 < 4.0
    # The abandoned backlog is dropped, not delivered later behind the crawl's back.
    worker = n.channels[0]._thread
    worker.join(5)
    assert not worker.is_alive()
    assert n.channels[0].sent == 0 and n.channels[0].failed == 20


def test_no_channels_is_a_noop(tmp_path):
    n = Notifier(AlertsConfig(), str(tmp_path / "s.db"))
    n.notify([make_alert()])
    n.close()
    assert not (tmp_path / "s.db").exists()
