"""Pure logic: durations, levels, throttle windows, scrubbing, URL redaction, channel lint."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

import pytest

from crawler.alerts.channels import validate_channels
from crawler.alerts.message import format_alert
from crawler.alerts.throttle import ThrottleState
from crawler.config.alerts import AlertsConfig
from crawler.config.duration import parse_duration, parse_since
from crawler.privacy import SecretFilter, clean, redact_url, scrub
from crawler.vocabulary import at_least, level_rank
from tests.support.alerts import NIR, make_alert


@pytest.mark.parametrize("text,seconds", [
    ("30m", 1800), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("45s", 45), ("2w", 1209600),
    ("0", 0), ("90", 90), (" 1H ", 3600), ("1.5h", 5400), (120, 120),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "1x", "h1", "1h foo", "-5m", "1h-", True])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_parse_since():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == "2026-11-27T12:00:00Z"
    assert parse_since("2026-11-01T10:00:00+01:00", now) == "2026-11-01T09:00:00Z"
    assert parse_since("2026-11-01", now) == "2026-11-01T00:00:00Z"
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("yesterday", now)


def test_config_rejects_bad_throttle_and_kibana_template():
    with pytest.raises(ValueError, match="not a duration"):
        AlertsConfig(throttle="often")
    with pytest.raises(ValueError, match=r"\{id\} placeholder"):
        AlertsConfig(kibana_url="https://kibana.example.test/app/discover")
    assert AlertsConfig(throttle=900).throttle == "900"


def test_level_order():
    assert [level_rank(x) for x in ("informational", "low", "medium", "high", "critical")] == [0, 1, 2, 3, 4]
    assert at_least("high", "medium") and not at_least("low", "medium")
    assert not at_least("bogus", "low")  # unknown never promoted


def test_throttle_window(tmp_path):
    st = ThrottleState(str(tmp_path / "t.db"), window=3600)
    a1, a2, a3 = make_alert("p1", "t1"), make_alert("p2", "t1"), make_alert("p3", "t1")
    other_thread, other_rule = make_alert("p4", "t2"), make_alert("p1", "t1", rule_id="lab")
    assert st.decide(a1, now=1000) == ("send", 0)
    assert st.decide(a1, now=1001) == ("duplicate", 0)
    assert st.decide(a2, now=1500) == ("suppressed", 0)
    assert st.decide(other_thread, now=1500) == ("send", 0)
    assert st.decide(other_rule, now=1500) == ("send", 0)
    [p] = st.pending()
    assert (p.rule_id, p.count, p.since) == ("nir-leak", 1, 1500)
    # Window over: next match is sent and carries the held-back count.
    assert st.decide(a3, now=1000 + 3600) == ("send", 1)
    assert st.pending() == []


def test_throttle_state_persists_and_reports_once(tmp_path):
    path = str(tmp_path / "t.db")
    t0 = time.time()
    st = ThrottleState(path, window=3600)
    st.decide(make_alert("p1", "t1"), now=t0)
    st.decide(make_alert("p2", "t1"), now=t0 + 10)
    st.decide(make_alert("p3", "t1"), now=t0 + 20)
    st.close()
    st = ThrottleState(path, window=3600)  # the next cron run
    assert st.decide(make_alert("p1", "t1"), now=t0 + 30) == ("duplicate", 0)
    assert st.decide(make_alert("p4", "t1"), now=t0 + 30) == ("suppressed", 0)
    [p] = st.pending()
    assert p.count == 3 and p.since == t0 + 10
    st.decide(make_alert("p5", "t1"), now=t0 + 40)  # arrives while the digest is being sent
    st.mark_reported([p])
    [left] = st.pending()
    assert left.count == 1


def test_digest_queue_round_trip(tmp_path):
    st = ThrottleState(str(tmp_path / "t.db"), window=0)
    a = make_alert("p1", "t1")
    st.enqueue(a, held_back=2)
    st.enqueue(a, held_back=2)
    [(back, held)] = st.queued()
    assert back == a and held == 2
    st.dequeue([a.id])
    assert st.queued() == []


def test_window_zero_disables_throttling(tmp_path):
    st = ThrottleState(str(tmp_path / "t.db"), window=0)
    assert st.decide(make_alert("p1", "t1"), now=1) == ("send", 0)
    assert st.decide(make_alert("p2", "t1"), now=1) == ("send", 0)


@pytest.mark.parametrize("leak", [
    NIR, "1 85 05 78 006 084 91", "1.85.05.78.006.084.91", "2 85 05 2A 006 084 91", "1850578006084",
    "4970101234567894", "+33 6 12 34 56 78 90 12",
])
def test_scrub_masks_identifiers(leak):
    out = scrub(f"leak: {leak} end")
    assert re.sub(r"\D", "", leak)[:9] not in re.sub(r"\D", "", out)
    assert out.startswith("leak: ") and out.endswith(" end")


@pytest.mark.parametrize("keep", [
    "post 1234567", "2026-11-28T23:13Z", "id b7017cb3d41e7a484f1c8d753e1aab0a", "1 85 05 ** *** *** 36",
    "http://forumxyz.onion/viewtopic.php?t=123456&p=98765",
])
def test_scrub_keeps_ordinary_text(keep):
    assert scrub(keep) == keep


def test_clean_neutralises_hostile_titles():
    s = clean("\x1b[31mURGENT\u202e @channel <!here> " + "x" * 500, limit=50)
    assert "\x1b" not in s and "\u202e" not in s and "@channel" not in s and "<!here>" not in s
    assert len(s) == 50


def test_message_never_carries_a_clear_nir():
    a = make_alert()
    a.thread_title = f"base CPAM {NIR}"
    a.masked = [NIR]
    a.counts = {f"nir {NIR}": 1}
    title, body = format_alert(a, 0, "https://kibana.example.test/x?id={id}")
    assert NIR not in re.sub(r"\D", "", title + body)


@pytest.mark.parametrize("url,shown,hidden", [
    ("mailto://bob:Pa55word!@smtp.example.org:587?to=soc@example.org",
     "mailto://****@smtp.example.org:587?to=soc@example.org", ["bob", "Pa55word"]),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#soc", "slack://****/****",
     ["T1JJ3T3L2", "TIiajk"]),
    ("json://127.0.0.1:8080/hooks/s3cr3tT0ken?-X-Api-Key=abcdef", "json://127.0.0.1:8080/****?-X-Api-Key=****",
     ["s3cr3tT0ken", "abcdef"]),
    ("notaurl", "****", ["notaurl"]),
])
def test_redact_url(url, shown, hidden):
    red = redact_url(url)
    assert red == shown
    for h in hidden:
        assert h not in red


def test_secret_filter_rewrites_records(caplog):
    f = SecretFilter()
    f.add_url("json://user:Hunter2Hunter2@127.0.0.1:9/hooks/T0kenT0ken")
    logger = logging.getLogger("crawler.alerts")
    logger.addFilter(f)
    try:
        with caplog.at_level(logging.INFO, logger="crawler.alerts"):
            logger.info("posting to %s", "json://user:Hunter2Hunter2@127.0.0.1:9/hooks/T0kenT0ken")
            logger.info("path /hooks/%s failed", "T0kenT0ken")
    finally:
        logger.removeFilter(f)
    assert "Hunter2Hunter2" not in caplog.text and "T0kenT0ken" not in caplog.text
    assert "posting to ****" in caplog.text


def test_validate_channels(caplog):
    good = ["mailto://127.0.0.1:2525?to=soc@example.test&from=dw@example.test", "json://127.0.0.1:8080/hook",
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#soc"]
    assert validate_channels(good) == []
    with caplog.at_level(logging.DEBUG):
        problems = validate_channels([*good, "nosuchscheme://Secr3tT0ken@host.example.org", "slack://OnlyOneT0ken",
                                      "", "just-text"])
    assert len(problems) == 4
    assert problems[0].startswith(
        "alerts.channels[3]: 'nosuchscheme://****@host.example.org': unknown apprise service 'nosuchscheme'")
    assert problems[1].startswith("alerts.channels[4]: 'slack://****' is not a valid apprise URL")
    assert problems[2].startswith("alerts.channels[5]: empty channel URL")
    assert problems[3].startswith("alerts.channels[6]: '****' is not a URL")
    text = "\n".join(problems) + caplog.text
    assert "Secr3tT0ken" not in text and "OnlyOneT0ken" not in text


def _decide_many(path: str, start: float, out) -> None:
    st = ThrottleState(path, window=3600)
    out.put([st.decide(make_alert(f"p{start}-{i}", "t1"), now=start + i)[0] for i in range(20)])


def test_concurrent_runs_share_one_window(tmp_path):
    """Two crawl processes on the same state file: exactly one notice for the (rule, thread)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    path = str(tmp_path / "t.db")
    now = time.time()
    procs = [ctx.Process(target=_decide_many, args=(path, now + k * 0.001, q)) for k in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    decisions = results[0] + results[1]
    assert decisions.count("send") == 1 and decisions.count("suppressed") == 39
    [pending] = ThrottleState(path, window=3600).pending()
    assert pending.count == 39
