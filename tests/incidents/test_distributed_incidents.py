"""Scale-out: two `darkwatch worker` processes crawl one forum into one store; every thread
still has exactly one incident, with the counts a single crawl gives (no double evidence)."""

from __future__ import annotations

import pytest
import yaml

from tests.support.cli import REPO
from tests.support.distributed import coordinate, finish, worker_pool
from tests.support.incidents import incidents_of, thread_truth

pytestmark = pytest.mark.integration


def test_two_workers_give_one_exact_incident_per_thread(redis_server, lab, tmp_path):
    forum = lab.forum_config("mybb", delay=0.02, concurrency=2)
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text(yaml.safe_dump({
        "store": {"sqlite": str(tmp_path / "darkwatch.db")},
        "rules": {"paths": [str(REPO / "rules")], "fingerprint_key": "test-key-0123456789abcdef"},
        "forums": [forum]}, sort_keys=False))
    with worker_pool(redis_server.url, cfg, tmp_path):
        finish(coordinate(redis_server.url, cfg, tmp_path / "report.json"))
    for i in (1, 2):  # the round was really shared
        assert " pages, " in (tmp_path / f"w{i}.log").read_text()
    incidents = incidents_of(cfg)
    truth = thread_truth(lab.public_truth("mybb"))
    urls = [i["thread_url"] for i in incidents]
    assert len(urls) == len(set(urls)) and len(urls) > 5
    for inc in incidents:
        t = truth[inc["thread_url"]]
        assert inc["nir_distinct"] == len(t["nirs"]) and set(inc["labs"]) == t["labs"], inc["title"]
    assert sum(i["nir_distinct"] for i in incidents) == sum(len(t["nirs"]) for t in truth.values())
