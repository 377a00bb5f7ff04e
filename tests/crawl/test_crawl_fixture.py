"""The foundation's acceptance, end to end over HTTP against the fixture forum.

Runs the real CLI (`python -m crawler crawl --direct`) and compares what it stored with the
fixture's own ground truth, for each engine skin the fixture serves.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.support.cli import darkwatch, export, write_config

pytestmark = pytest.mark.integration

FIELDS = ("thread_url", "thread_title", "author", "published", "text", "quoted_text")


def crawl(config, *extra):
    res = darkwatch("crawl", "--config", str(config), "--direct", "-q", *extra)
    return res


def test_every_post_stored_once_with_correct_fields(forum, skin, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config(skin)])
    res = crawl(cfg, "--report", str(tmp_path / "report.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    truth = {t["post_id"]: t for t in forum.public_truth(skin)}
    stored = export(cfg)
    ids = Counter(p["post_id"] for p in stored)
    assert [pid for pid, n in ids.items() if n > 1] == []
    assert set(ids) == set(truth), (
        f"missing {sorted(set(truth) - set(ids))[:10]} extra {sorted(set(ids) - set(truth))[:10]}"
    )
    mismatches = []
    for post in stored:
        want = truth[post["post_id"]]
        for field in FIELDS:
            if post[field] != want[field]:
                mismatches.append((post["post_id"], field, post[field], want[field]))
    assert mismatches == [], mismatches[:5]
    report = json.loads((tmp_path / "report.json").read_text())
    (row,) = report["forums"]
    assert row["posts_new"] == len(truth) and row["status"] == "ok"
    assert f"{len(truth)} new" in res.stdout


def test_incremental_recrawl_fetches_only_boards_and_changed_last_pages(forum, skin, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [forum.forum_config(skin)])
    assert crawl(cfg).returncode == 0
    before = {p["post_id"] for p in export(cfg)}

    # Unchanged forum: only board pages.
    forum.server.reset_requests()
    assert crawl(cfg).returncode == 0
    fetched = forum.fetched_pages(skin)
    assert fetched["thread"] == []
    assert fetched["board"], "board pages must be re-read"

    # Three new posts in two threads: exactly those are stored, and besides the boards only
    # those threads' last known pages (and any page the new posts opened) are fetched.
    t1, t2 = forum.multi_page_threads(skin)[:2]
    old_last = {t: forum.server.thread_pages(skin, t) for t in (t1, t2)}
    new_ids = {forum.server.add_post(t1, "newbie", "premier message ajouté"),
               forum.server.add_post(t1, "newbie", "deuxième message ajouté"),
               forum.server.add_post(t2, "other", "troisième message ajouté")}
    forum.server.reset_requests()
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    after = export(cfg)
    assert len(after) == len(before) + 3
    assert {p["post_id"] for p in after} - before == {str(i) for i in new_ids}
    expected = sorted(
        forum.server.thread_page_path(skin, t, page)
        for t in (t1, t2)
        for page in range(old_last[t], forum.server.thread_pages(skin, t) + 1)
    )
    assert sorted(forum.fetched_pages(skin)["thread"]) == expected
    (row,) = json.loads((tmp_path / "r.json").read_text())["forums"]
    assert row["posts_new"] == 3 and row["threads_changed"] == 2
