"""Within the crawl that finds a leak, the team's channels hear of it: once, masked."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.alerts.conftest import smtp_server, webhook_server  # noqa: F401 (fixtures)
from tests.helpers import REPO, darkwatch, write_config

pytestmark = pytest.mark.integration


def test_crawl_notifies_smtp_and_webhook_once_per_rule_and_thread(
        forum, tmp_path, monkeypatch, smtp_server, webhook_server):  # noqa: F811
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    cfg = write_config(
        tmp_path / "darkwatch.yml", [forum.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{hook_port}/hook",
                             f"mailto://127.0.0.1:{smtp_port}?to=soc@example.test"
                             "&from=darkwatch@example.test"],
                "min_level": "critical", "throttle": "1h"})
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
    clear = set(forum.server.valid_nirs())
    blob = json.dumps([h["raw"] for h in got_hooks] + [m["raw"] for m in got_mails])
    compact = blob.replace(" ", "").replace(".", "").replace("-", "")
    assert not [n for n in clear if n in compact]
    # An unchanged re-crawl raises nothing new and sends nothing.
    before = (len(hooks.items), len(mails.items))
    assert darkwatch("crawl", "--config", str(cfg), "--direct", "-q").returncode == 0
    time.sleep(1)
    assert (len(hooks.items), len(mails.items)) == before
