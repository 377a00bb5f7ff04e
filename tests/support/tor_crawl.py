"""Crawls through the private Tor lab: a config for the lab's onion forum, checked against the
fixture's truth per skin."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import yaml

FIELDS = ("author", "published", "text", "quoted_text", "thread_title")


def lab_config(tor_lab, tmp_path, **forum_overrides):
    assert tor_lab.forum is not None, tor_lab.forum_error
    cfg = yaml.safe_load(tor_lab.config.read_text())
    cfg["store"] = {"sqlite": str(tmp_path / "darkwatch.db")}
    for f in cfg["forums"]:
        f.update(forum_overrides)
    path = tmp_path / "lab.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path, cfg


def check_against_truth(tor_lab, cfg, stored):
    problems = []
    for forum in cfg["forums"]:
        skin = forum["engine"]
        truth = {t["post_id"]: t for t in tor_lab.forum.truth(skin, private=False)}
        mine = [p for p in stored if p["forum"] == forum["name"]]
        ids = Counter(p["post_id"] for p in mine)
        assert [pid for pid, n in ids.items() if n > 1] == [], f"{skin}: duplicates"
        missing, extra = set(truth) - set(ids), set(ids) - set(truth)
        assert not missing and not extra, (
            f"{skin}: missing {sorted(missing)[:10]} ({len(missing)}), extra {sorted(extra)[:10]}")
        for post in mine:
            want = truth[post["post_id"]]
            for field in FIELDS:
                if post.get(field) != want[field]:
                    problems.append((skin, post["post_id"], field, post.get(field), want[field]))
            got_url, want_url = urlsplit(post["thread_url"]), urlsplit(want["thread_url"])
            if got_url.hostname != tor_lab.onion or (got_url.path, got_url.query) != (
                    want_url.path, want_url.query):
                problems.append((skin, post["post_id"], "thread_url", post["thread_url"],
                                 want["thread_url"]))
    assert problems == [], problems[:5]
