import json, re, sqlite3
from tests.helpers import darkwatch, write_config, REPO
from tests.incidents.test_notify_incidents import *  # noqa
from tests.incidents.test_notify_incidents import _crawl, _incidents, _ids
from tests.alerts.conftest import smtp_server, webhook_server  # noqa
from tests.incidents.test_crawl_incidents import lab  # noqa

def test_dbg(lab, tmp_path, smtp_server, webhook_server):
    smtp_port, mails = smtp_server
    hook_port, hooks = webhook_server
    cfg = write_config(
        tmp_path / "darkwatch.yml", [lab.forum_config("phpbb")],
        rules={"paths": [str(REPO / "rules")]},
        alerts={"channels": [f"json://127.0.0.1:{hook_port}/hook"],
                "min_level": "critical", "throttle": "1h", "notify": "incident",
                "incident_growth": 1000})
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-v", env={"DARKWATCH_FINGERPRINT_KEY": "test-key-0123456789abcdef"})
    errs = [l for l in res.stderr.splitlines() if "ERROR" in l or "Traceback" in l or "fail" in l.lower()][:20]
    incidents = _incidents(cfg)
    critical = {i["id"]: i for i in incidents if i["level"] == "critical"}
    got = hooks.wait_for(len(critical))
    texts = [h["json"]["title"] + "\n" + h["json"]["message"] for h in got]
    missing = set(critical) - set(_ids(texts))
    from crawler.sinks.sqlite import SqliteStore
    s = SqliteStore(str(tmp_path / "darkwatch.db"))
    out = {m: [(e.kind, e.data) for e in s.incidents.history(m) if e.kind != "evidence"] for m in missing}
    n = sqlite3.connect(tmp_path / "darkwatch-alerts.db")
    w = n.execute("select * from windows").fetchall()
    assert not missing, json.dumps(out) + "\n" + "\n".join(errs) + "\n" + str(res.returncode)
