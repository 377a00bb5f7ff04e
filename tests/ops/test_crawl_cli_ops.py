"""``darkwatch crawl --metrics-file F --log-format json``: the real CLI on a loopback forum.

Needs the crawl CLI options (integration of crawler/metrics.py, crawler/logjson.py and
crawler/monitoring.py into crawler/cli/crawl.py).
"""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import darkwatch, write_config
from tests.support.mini_forum import forum_entry

pytestmark = pytest.mark.integration


def samples(path) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(path.read_text()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_file_and_json_logs_from_real_runs(mini_forum, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum_entry("mini", mini_forum)])
    prom = tmp_path / "metrics" / "darkwatch.prom"
    args = ("crawl", "--config", str(cfg), "--direct", "-q", "-vv", "--log-format", "json",
            "--metrics-file", str(prom))
    first = darkwatch(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = [ln for ln in first.stderr.splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]  # every log line is one JSON object
    assert any(r.get("forum") == "mini" and r.get("url", "").endswith("/board") and r.get("status") == 200
               for r in records), lines[:5]
    s = samples(prom)
    assert s[("darkwatch_posts_new_total", (("forum", "mini"),))] == 3
    assert s[("darkwatch_pages_fetched_total", (("forum", "mini"),))] == 3
    assert s[("darkwatch_crawl_last_exit_code", ())] == 0
    first_success = s[("darkwatch_last_success_timestamp_seconds", (("forum", "mini"),))]

    second = darkwatch(*args)
    assert second.returncode == 0, second.stderr
    s = samples(prom)
    assert s[("darkwatch_posts_new_total", (("forum", "mini"),))] == 3  # nothing new
    assert s[("darkwatch_pages_fetched_total", (("forum", "mini"),))] == 4  # + the board page
    assert s[("darkwatch_crawl_runs_total", (("forum", "mini"), ("status", "ok")))] == 2
    assert s[("darkwatch_last_success_timestamp_seconds", (("forum", "mini"),))] >= first_success


def test_tor_unavailable_is_counted(tmp_path):
    forum = forum_entry("onion", "http://exampleexampleexampleexampleexampleexampleexampleexam.onion")
    cfg = write_config(tmp_path / "darkwatch.yml", [forum],
                       tor={"mode": "system", "socks": "127.0.0.1:9", "control": "127.0.0.1:9",
                            "bootstrap_timeout": 5})
    prom = tmp_path / "darkwatch.prom"
    res = darkwatch("crawl", "--config", str(cfg), "-q", "--metrics-file", str(prom), timeout=120)
    assert res.returncode == 3, res.stdout + res.stderr
    s = samples(prom)
    assert s[("darkwatch_tor_bootstrap_failures_total", ())] == 1
    assert s[("darkwatch_crawl_last_exit_code", ())] == 3
