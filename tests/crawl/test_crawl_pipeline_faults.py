"""A post whose rule evaluation blows up is still stored, counted, and the run is partial."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.cli import REPO, export, write_config

pytestmark = pytest.mark.integration

SCRIPT = """
import json, sys
from crawler.config import load_config
from crawler.crawl import run_crawl
from crawler.rules.post import PostRules

real = PostRules.apply
def apply(self, post):
    if post.post_id == sys.argv[2]:
        raise RuntimeError("boom on a hostile post")
    return real(self, post)
PostRules.apply = apply
res = run_crawl(load_config(sys.argv[1]), direct=True)
print(json.dumps(res.to_dict()))
"""


def test_rules_exception_keeps_the_post_and_fails_the_forum(forum, tmp_path, monkeypatch):
    monkeypatch.setenv("DARKWATCH_FINGERPRINT_KEY", "test-key-0123456789abcdef")
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config("mybb")],
                       rules={"paths": [str(REPO / "rules")]})
    victim = forum.public_truth("mybb")[5]["post_id"]
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(cfg), victim], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout.strip().splitlines()[-1])["forums"]
    assert row["status"] == "failed" and row["errors"] == {"rules-error": 1}
    stored = {p["post_id"]: p for p in export(cfg)}
    assert len(stored) == len(forum.public_truth("mybb"))
    assert stored[victim]["text"] and "matches" not in stored[victim]
    assert "boom on a hostile post" in res.stderr
