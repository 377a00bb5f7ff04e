"""crawler.monitoring: a forum without a successful run for 3 intervals raises a high alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.monitoring import GAP_RULE, monitoring_gaps
from crawler.sinks.sqlite import SqliteStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(str(tmp_path / "darkwatch.db"))
    yield s
    s.close()


def add_run(store: SqliteStore, forum: str, status: str | None, ago: timedelta) -> None:
    """A run as the crawl records it, then dated ``ago`` before NOW."""
    run = store.start_run(forum)
    if status is not None:
        store.finish_run(run, status, {"forum": forum})
    t = NOW - ago
    store._db.execute("UPDATE runs SET started=?, finished=? WHERE id=?",
                      (iso(t - timedelta(minutes=2)), iso(t) if status else None, run))


H = timedelta(hours=1)


def test_gap_after_three_intervals_only(store):
    add_run(store, "ok-forum", "ok", 10 * H)
    add_run(store, "ok-forum", "ok", 1 * H)          # fine: last success 1 h ago
    add_run(store, "flaky", "ok", 2.5 * H)            # 2.5 intervals: not yet
    add_run(store, "flaky", "failed", 1.5 * H)
    add_run(store, "dead", "ok", 5 * H)               # 5 intervals: gap
    for k in (4, 3, 2, 1):
        add_run(store, "dead", "failed", k * H)
    alerts = monitoring_gaps(store, ["ok-forum", "flaky", "dead"], NOW)
    assert [a.forum for a in alerts] == ["dead"]
    (a,) = alerts
    assert a.rule["name"] == GAP_RULE and a.rule["id"] == GAP_RULE and a.level == "high"
    assert a.counts["failed_runs"] == 4 and a.counts["gap_seconds"] == 5 * 3600
    assert iso(NOW - 5 * H) in a.rule["description"] and "dead" in a.rule["title"]


def test_interval_per_forum_and_intervals_count(store):
    add_run(store, "slow", "ok", 5 * H)
    assert monitoring_gaps(store, ["slow"], NOW, interval={"slow": 2 * 3600}) == []   # 2.5 of 2 h
    assert len(monitoring_gaps(store, ["slow"], NOW, interval=1800)) == 1
    assert monitoring_gaps(store, ["slow"], NOW, intervals=6) == []

    class Forum:  # a config with per-forum schedules (``every``)
        name = "slow"
        every = "30m"

    assert len(monitoring_gaps(store, [Forum()], NOW)) == 1


def test_never_successful_forum_is_measured_from_its_first_attempt(store):
    add_run(store, "never", "failed", 4 * H)
    add_run(store, "never", "failed", 1 * H)
    add_run(store, "new", "failed", 1 * H)
    alerts = monitoring_gaps(store, ["never", "new", "not-yet-run"], NOW)
    assert [a.forum for a in alerts] == ["never"]
    assert "never crawled successfully" in alerts[0].rule["description"]


def test_a_running_crawl_is_not_a_failure(store):
    add_run(store, "busy", "ok", 2 * H)
    add_run(store, "busy", None, 0.5 * H)  # started, not finished
    assert monitoring_gaps(store, ["busy"], NOW) == []
    alerts = monitoring_gaps(store, ["busy"], NOW + 2 * H)
    assert len(alerts) == 1 and alerts[0].counts["failed_runs"] == 0


def test_same_gap_same_alert_id_new_gap_new_id(store):
    add_run(store, "f", "ok", 5 * H)
    first = monitoring_gaps(store, ["f"], NOW)[0]
    again = monitoring_gaps(store, ["f"], NOW + H)[0]
    assert first.id == again.id  # hourly re-checks do not flood the channels
    add_run(store, "f", "ok", -2 * H)  # recovered...
    assert monitoring_gaps(store, ["f"], NOW + 3 * H) == []
    later = monitoring_gaps(store, ["f"], NOW + 6 * H)[0]  # ...and failing again
    assert later.id != first.id


def test_alert_goes_into_the_store_like_rule_alerts(store):
    add_run(store, "dead", "failed", 4 * H)
    alerts = monitoring_gaps(store, ["dead"], NOW.timestamp())
    store.write_alerts(alerts)
    (listed,) = store.list_alerts(min_level="high")
    assert listed.rule["name"] == GAP_RULE and listed.forum == "dead"


@pytest.mark.integration
def test_gap_from_a_real_crawl(real_crawl):
    """The runs table a real ``darkwatch crawl`` wrote: the dead forum alerts 3 h later, not now."""
    store = SqliteStore(str(real_crawl["db"]))
    try:
        now = datetime.now(UTC)
        assert monitoring_gaps(store, ["mini", "dead"], now) == []
        later = monitoring_gaps(store, ["mini", "dead"], now + timedelta(hours=3, minutes=5))
    finally:
        store.close()
    assert {a.forum for a in later} == {"mini", "dead"}
    dead = next(a for a in later if a.forum == "dead")
    assert "never crawled successfully" in dead.rule["description"]


def test_gap_alerts_reach_a_real_channel_once_per_forum(store, tmp_path):
    """Through the real Notifier (apprise ``json://``) to a loopback HTTP endpoint: one message per
    forum in a gap, none again when the next hourly check finds the same gaps."""
    import http.server
    import json
    import threading

    from crawler.alerts.notify import Notifier
    from crawler.config.alerts import AlertsConfig
    from crawler.config.models import ForumConfig

    got: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    forums = [ForumConfig(name=n, engine="phpbb", start_urls=[f"http://{n}.example.onion/viewforum.php?f=1"])
              for n in ("alpha", "beta", "gamma")]
    add_run(store, "alpha", "failed", 4 * H)
    add_run(store, "beta", "ok", 7 * H)
    add_run(store, "gamma", "ok", 0.5 * H)
    cfg = AlertsConfig(channels=[f"json://127.0.0.1:{server.server_address[1]}/hook"], min_level="medium")
    try:
        for hour in (0, 1):
            notifier = Notifier(cfg, str(tmp_path / "alerts-state.db"))
            gaps = monitoring_gaps(store, forums, NOW + hour * H)
            assert sorted(a.forum for a in gaps) == ["alpha", "beta"]
            notifier.notify(gaps)
            notifier.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(got) == 2, got
    text = " ".join(m.get("title", "") + " " + m.get("message", "") for m in got)
    assert "alpha" in text and "beta" in text and "gamma" not in text
    assert "http://beta.example.onion/viewforum.php?f=1" in text
