"""``darkwatch alerts``: list and triage against the real SQLite store selected by a config file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from crawler.cli import main
from crawler.cli.alerts import resolve_id
from crawler.sinks.sqlite import SqliteStore
from tests.support.alerts import make_alert


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def store_cfg(tmp_path):
    db = tmp_path / "dw.db"
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text(f"store:\n  sqlite: {db}\nalerts:\n  min_level: medium\n")
    store = SqliteStore(str(db))
    alerts = [
        make_alert("p1", "t1", level="critical", created=_iso(timedelta(hours=1))),
        make_alert("p2", "t1", level="medium", created=_iso(timedelta(hours=2))),
        make_alert("p3", "t2", level="high", created=_iso(timedelta(days=3))),
        make_alert("p4", "t3", level="low", created=_iso(timedelta(minutes=5))),
    ]
    store.write_alerts(alerts)
    store.close()
    return str(cfg), alerts, str(db)


def _jsonl(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_list_filters(store_cfg, capsys):
    cfg, alerts, _ = store_cfg
    assert main(["alerts", "list", "-c", cfg, "--format", "jsonl"]) == 0
    assert {d["post_id"] for d in _jsonl(capsys)} == {"p1", "p2", "p3", "p4"}
    assert main(["alerts", "list", "-c", cfg, "--format", "jsonl", "--level", "high"]) == 0
    assert {d["post_id"] for d in _jsonl(capsys)} == {"p1", "p3"}
    assert main(["alerts", "list", "-c", cfg, "--format", "jsonl", "--since", "24h"]) == 0
    assert {d["post_id"] for d in _jsonl(capsys)} == {"p1", "p2", "p4"}
    assert main(["alerts", "list", "-c", cfg, "--format", "jsonl", "--since", "24h",
                 "--level", "medium"]) == 0
    assert [d["post_id"] for d in _jsonl(capsys)] == ["p1", "p2"]  # newest first
    assert main(["alerts", "list", "-c", cfg]) == 0
    out = capsys.readouterr()
    assert alerts[0].id in out.out and "critical" in out.out and "4 alert(s)" in out.err


def test_triage_round_trip(store_cfg, capsys):
    cfg, alerts, db = store_cfg
    a1, a2, a3 = alerts[0], alerts[1], alerts[2]
    assert main(["alerts", "ack", a1.id, "-c", cfg, "--note", "looking"]) == 0
    assert main(["alerts", "false-positive", a2.id[:10], "-c", cfg]) == 0  # unique prefix
    assert main(["alerts", "close", a3.id, "-c", cfg, "--note", "reported to CNIL"]) == 0
    out = capsys.readouterr().out
    assert f"{a1.id}: ack (looking)" in out and f"{a2.id}: false_positive" in out
    assert main(["alerts", "list", "-c", cfg, "--status", "open", "--format", "jsonl"]) == 0
    assert [d["post_id"] for d in _jsonl(capsys)] == ["p4"]
    assert main(["alerts", "list", "-c", cfg, "--status", "false-positive", "--format", "jsonl"]) == 0
    assert [d["id"] for d in _jsonl(capsys)] == [a2.id]
    # The status lives in the store: a re-detection (crawl writes the alert again) keeps it.
    st = SqliteStore(db)
    st.write_alerts([make_alert("p1", "t1", level="critical")])
    assert st.list_alerts(status="ack")[0].id == a1.id
    st.close()
    assert main(["alerts", "reopen", a1.id, "-c", cfg]) == 0


def test_triage_errors(store_cfg, capsys):
    cfg, alerts, _ = store_cfg
    assert main(["alerts", "ack", "0123456789abcdef0123456789abcdef", "-c", cfg]) == 1
    assert "no alert with id" in capsys.readouterr().err
    assert main(["alerts", "ack", "abc", "-c", cfg]) == 1
    assert "too short" in capsys.readouterr().err
    assert main(["alerts", "list", "-c", cfg, "--since", "lately"]) == 2
    assert "neither a duration" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["alerts", "list", "-c", cfg, "--status", "done"])
    assert exc.value.code == 2


class MemoryIndex:
    """In-memory AlertIndex for the pure prefix logic."""

    def __init__(self, ids):
        self.alerts = [make_alert(f"p{i}") for i in range(len(ids))]
        for a, i in zip(self.alerts, ids, strict=True):
            a.id = i

    def list_alerts(self, status=None, min_level=None, since=None, limit=100):
        return self.alerts[:limit]

    def set_alert_status(self, alert_id, status, note=None):
        return any(a.id == alert_id for a in self.alerts)


def test_resolve_id_prefixes():
    idx = MemoryIndex(["aaaaaaaa11112222", "aaaaaaaa33334444", "bbbbbbbb55556666"])
    assert resolve_id(idx, "bbbbbbbb") == ("bbbbbbbb55556666", None)
    assert resolve_id(idx, "AAAAAAAA1111") == ("aaaaaaaa11112222", None)
    full, problem = resolve_id(idx, "aaaaaaaa")
    assert full is None and "ambiguous (2 alerts)" in problem
    assert resolve_id(idx, "cccccccc")[1].startswith("no alert")


@pytest.mark.integration
def test_alerts_test_command_reports_each_channel(tmp_path, webhook_server, capsys):
    from tests.support.receivers import free_port

    port, hooks = webhook_server
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text(
        "alerts:\n  timeout: 1\n  channels:\n"
        f"    - json://127.0.0.1:{port}/hook\n"
        f"    - json://127.0.0.1:{free_port()}/hooks/Z3cretZ3cret\n"
        "    - slack://OnlyOneToken\n"
    )
    assert main(["alerts", "test", "-c", str(cfg)]) == 1
    out = capsys.readouterr()
    assert f"ok     json://127.0.0.1:{port}/****" in out.out
    assert "FAILED json://127.0.0.1:" in out.out
    assert "alerts.channels[2]: 'slack://****' is not a valid apprise URL" in out.err
    assert "Z3cretZ3cret" not in out.out + out.err and "OnlyOneToken" not in out.out + out.err
    [msg] = hooks.wait_for(1)
    assert msg["json"]["title"] == "[darkwatch] test notification"
