"""Bad input and sessions: nothing crashes the crawl, nothing found is lost, all is reported."""

from __future__ import annotations

import json

import pytest

from darkwatch_lab.forum_content import FAULT_BOARD, PRIVATE_BOARD
from tests.support.cli import darkwatch, export, write_config

pytestmark = pytest.mark.integration


def crawl(cfg, *extra):
    return darkwatch("crawl", "--config", str(cfg), "--direct", "-q", *extra)


def report(path):
    return {r["forum"]: r for r in json.loads(path.read_text())["forums"]}


def test_fault_board_is_survived_and_reported_while_other_forum_is_complete(forum, tmp_path):
    base = forum.base
    faulty = {
        "name": "faulty", "engine": "phpbb", "delay": 0, "timeout": 1.5, "max_pages": 40,
        "start_urls": [base + forum.server.board_page_path("phpbb", FAULT_BOARD)],
    }
    cfg = write_config(tmp_path / "darkwatch.yml", [faulty, forum.forum_config("mybb")])
    forum.server.faults.slow_delay = 5.0  # beyond the 1.5 s timeout
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    assert res.returncode == 1, res.stdout + res.stderr  # partial: one forum failed
    rows = report(tmp_path / "r.json")
    bad, good = rows["faulty"], rows["mybb"]
    assert bad["status"] == "failed" and good["status"] == "ok"
    kinds = set(bad["errors"])
    assert {"http-404", "offsite", "not-html", "timeout", "too-large"} <= kinds, bad["errors"]
    # The retried thread (500 twice, then fine) was stored, not counted as an error.
    stored = export(cfg, "--forum", "faulty")
    assert any("retry" in p["thread_title"].lower() for p in stored), [p["thread_title"] for p in stored]
    # Self-referencing and cyclic pagination terminate (dedupe), within max_pages.
    assert bad["pages"] <= 40
    # The healthy forum lost nothing.
    assert len(export(cfg, "--forum", "mybb")) == len(forum.public_truth("mybb"))
    # Readable reasons in the summary.
    assert "faulty: failed" in res.stdout and "example.invalid" in res.stdout + json.dumps(bad)


def test_offsite_redirect_is_never_followed(forum, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [{
        "name": "faulty", "engine": "phpbb", "delay": 0, "timeout": 1.5,
        "start_urls": [forum.base + forum.server.board_page_path("phpbb", FAULT_BOARD)]}])
    forum.server.faults.slow_delay = 0
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    samples = report(tmp_path / "r.json")["faulty"]["error_samples"]
    offsite = [s for s in samples if s["kind"] == "offsite"]
    assert offsite and "example.invalid" in offsite[0]["message"], samples
    assert res.returncode == 1


def test_login_protected_board_with_form_login(forum, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_USER", "analyst")
    monkeypatch.setenv("LAB_PASS", "s3cret-lab")
    fc = forum.forum_config("phpbb", private=True)
    fc["start_urls"] = [forum.base + forum.server.board_page_path("phpbb", PRIVATE_BOARD)]
    fc["auth"] = {"login": {"url": forum.base + "/phpbb/ucp.php?mode=login",
                            "username": "${LAB_USER}", "password": "${LAB_PASS}"}}
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res = crawl(cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    want = {t["post_id"] for t in forum.server.truth(engine="phpbb") if t["board_id"] == PRIVATE_BOARD}
    assert want and {p["post_id"] for p in export(cfg)} == want
    assert "s3cret-lab" not in res.stdout + res.stderr


def test_login_wall_without_credentials_is_reported_not_silent(forum, skin, tmp_path):
    fc = forum.forum_config(skin)
    fc["start_urls"] = [forum.base + forum.server.board_page_path(skin, PRIVATE_BOARD)]
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    assert res.returncode == 1
    (row,) = report(tmp_path / "r.json").values()
    assert row["errors"].get("session-expired") == 1, row
    assert "login wall" in res.stdout


def test_wrong_password_is_reported(forum, tmp_path):
    fc = forum.forum_config("mybb")
    fc["start_urls"] = [forum.base + forum.server.board_page_path("mybb", PRIVATE_BOARD)]
    fc["auth"] = {"login": {"url": forum.base + "/mybb/member.php?action=login",
                            "username": "analyst", "password": "wrong"}}
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    assert res.returncode == 1
    (row,) = report(tmp_path / "r.json").values()
    assert "login-failed" in row["errors"], row


def test_expired_session_relogs_in_once(forum, tmp_path):
    fc = forum.forum_config("mybb")
    fc["start_urls"] = [forum.base + forum.server.board_page_path("mybb", PRIVATE_BOARD)]
    fc["auth"] = {"login": {"url": forum.base + "/mybb/member.php?action=login",
                            "username": "analyst", "password": "s3cret-lab"}}
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    assert crawl(cfg).returncode == 0
    # New post on the private board, then every session dies: the next crawl starts with a
    # fresh login anyway, so simulate expiry by cookies: a stale cookie file and no login.
    forum.server.expire_sessions()
    assert crawl(cfg).returncode == 0


def test_direct_is_refused_for_non_loopback_and_onion(tmp_path):
    for url in ("http://example.com/viewforum.php?f=2", "http://abcdefghijklmnop.onion/x"):
        cfg = write_config(tmp_path / "darkwatch.yml",
                           [{"name": "x", "engine": "phpbb", "start_urls": [url]}])
        res = crawl(cfg)
        assert res.returncode == 2
        assert "--direct" in res.stderr and ("loopback" in res.stderr or ".onion" in res.stderr)


def test_forums_lint_broken_config_prints_file_line_and_exits_2(tmp_path):
    cfg = tmp_path / "darkwatch.yml"
    cfg.write_text("forums:\n  - name: ok\n    engine: phpbb\n    start_urls: ['http://127.0.0.1/']\n"
                   "    selectors:\n      post: 'div[[['\n  - name: Bad\n    engine: nope\n"
                   "    start_urls: []\n")
    res = darkwatch("forums", "lint", "--config", str(cfg))
    assert res.returncode == 2
    assert f"{cfg}:7:" in res.stderr and "forums[1].name" in res.stderr
    assert f"{cfg}:8:" in res.stderr and "forums[1].engine" in res.stderr
    # A config that parses but has an invalid selector is a lint error too.
    cfg.write_text("forums:\n  - name: ok\n    engine: phpbb\n    start_urls: ['http://127.0.0.1/']\n"
                   "    selectors:\n      post: 'div[[['\n")
    res = darkwatch("forums", "lint", "--config", str(cfg))
    assert res.returncode == 2 and "selectors.post" in res.stderr and "invalid CSS" in res.stderr


def test_selector_matching_nothing_is_warned_and_counted(forum, tmp_path):
    fc = forum.forum_config("phpbb", selectors={"author": ".no-such-author-class"})
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res = crawl(cfg, "--report", str(tmp_path / "r.json"))
    (row,) = report(tmp_path / "r.json").values()
    assert row["warnings"].get("selector", 0) > 0, row
    assert "no-such-author-class" in res.stderr
