"""No silent monitoring gaps (issue 17): a forum that yields nothing is never ``ok``.

Each case is a real crawl of the fixture forum (``darkwatch crawl --direct``) and asserts the
four places an operator looks: the status and reason in the crawl report, the exit code, the
summary line, and the monitoring alert (stored, and delivered to a channel in one case).
"""

from __future__ import annotations

import json

import pytest

from crawler.monitoring import BLIND_RULE
from darkwatch_lab.forum import DEFAULT_PASSWORD, DEFAULT_USER, FixtureForum
from darkwatch_lab.forum_content import PRIVATE_BOARD
from tests.support.cli import darkwatch, export, write_config
from tests.support.forum_lab import ACME_SELECTORS, running_forum

pytestmark = pytest.mark.integration

@pytest.fixture
def lab():
    with running_forum("phpbb", "acme") as forum:
        yield forum.server


def acme_forum(lab: FixtureForum, board: int, **extra) -> dict:
    return {"name": "acme", "engine": "custom", "delay": 0, "timeout": 20,
            "start_urls": [lab.base_url + lab.board_page_path("acme", board)],
            "selectors": dict(ACME_SELECTORS), **extra}


def acme_login(lab: FixtureForum, password: str = DEFAULT_PASSWORD, **extra) -> dict:
    return {"login": {"url": lab.base_url + "/acme/auth/login", "username": DEFAULT_USER,
                      "password": password, **extra}}


def crawl(cfg, tmp_path):
    res = darkwatch("crawl", "--config", str(cfg), "--direct", "-q", "--no-gap-check",
                    "--report", str(tmp_path / "report.json"))
    rows = {r["forum"]: r for r in json.loads((tmp_path / "report.json").read_text())["forums"]}
    return res, rows


def blind_alerts(cfg) -> list[dict]:
    res = darkwatch("alerts", "list", "--config", str(cfg), "--format", "jsonl")
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return [d for d in docs if d["rule"]["id"] == BLIND_RULE]


def assert_failed(res, row: dict, reason: str, cfg) -> dict:
    """Failed with ``reason`` in the report, exit 1, the summary, and one stored alert."""
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert row["status"] == "failed", row
    assert reason in row["errors"], row["errors"]
    assert any(s["kind"] == reason for s in row["error_samples"]), row["error_samples"]
    assert f"{row['forum']}: failed" in res.stdout and f"{reason}:" in res.stdout, res.stdout
    (alert,) = blind_alerts(cfg)
    assert alert["forum"] == row["forum"] and alert["rule"]["level"] == "high"
    assert reason in alert["rule"]["title"] and reason in alert["counts"], alert
    assert "monitoring: Forum" in res.stderr
    return alert


def test_wrong_preset_is_failed_no_threads(lab, tmp_path, webhook_server):
    port, inbox = webhook_server
    forum = {"name": "wrong-preset", "engine": "mybb", "delay": 0, "timeout": 20,
             "start_urls": [lab.base_url + lab.board_page_path("phpbb", 2)]}
    cfg = write_config(tmp_path / "darkwatch.yml", [forum],
                       alerts={"channels": [f"json://127.0.0.1:{port}/hook"], "min_level": "high"})
    res, rows = crawl(cfg, tmp_path)
    alert = assert_failed(res, rows["wrong-preset"], "no-threads", cfg)
    assert "thread_row" in alert["snippet"]
    # The alert reached the channel too, and a second failing crawl does not send a new one.
    (hook,) = inbox.wait_for(1, timeout=30)
    assert "wrong-preset" in hook["raw"] and "no-threads" in hook["raw"]
    res2, _ = crawl(cfg, tmp_path)
    assert res2.returncode == 1
    assert len(blind_alerts(cfg)) == 1  # same episode: re-detected, not duplicated


def test_thread_page_without_posts_is_no_posts(lab, tmp_path):
    fc = acme_forum(lab, 2, max_pages=3)
    fc["selectors"]["post"] = "article.post"  # the layout changed: posts are not found
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    assert_failed(res, rows["acme"], "no-posts", cfg)
    assert export(cfg) == []


def test_guest_redirected_to_login_with_unfamiliar_phrase(lab, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [acme_forum(lab, PRIVATE_BOARD)])
    res, rows = crawl(cfg, tmp_path)
    row = rows["acme"]
    assert_failed(res, row, "redirected-to-login", cfg)
    (sample,) = [s for s in row["error_samples"] if s["kind"] == "redirected-to-login"]
    assert "/acme/auth/login" in sample["message"] and "password form" in sample["message"]
    assert row["posts_seen"] == 0


def test_login_with_nondefault_username_field_is_detected_and_works(lab, tmp_path):
    fc = acme_forum(lab, PRIVATE_BOARD, auth=acme_login(lab))  # no username_field: detected
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert rows["acme"]["status"] == "ok" and rows["acme"]["errors"] == {}
    assert lab.sessions.logins == 1
    want = {t["post_id"]: t for t in lab.truth(engine="acme") if t["board_id"] == PRIVATE_BOARD}
    got = {p["post_id"]: p for p in export(cfg)}
    assert want and set(got) == set(want)
    for pid, t in want.items():  # the post's own date, not the author's join date
        assert (got[pid]["published"], got[pid]["author"], got[pid]["text"]) == \
            (t["published"], t["author"], t["text"]), pid
    assert blind_alerts(cfg) == []
    assert DEFAULT_PASSWORD not in res.stdout + res.stderr
    assert "deprecat" not in res.stderr.lower()  # form2request, not FormRequest.from_response


@pytest.mark.parametrize("detection", ["login_form", "logged_out", "none"])
def test_wrong_password_is_login_failed(lab, tmp_path, detection):
    fc = acme_forum(lab, PRIVATE_BOARD, auth=acme_login(lab, password="not-the-password"))
    if detection == "login_form":
        fc["selectors"]["login_form"] = "form.auth-form"
    elif detection == "logged_out":
        fc["selectors"]["logged_out"] = "form.auth-form"
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    row = rows["acme"]
    assert_failed(res, row, "login-failed", cfg)
    assert "session-expired" not in row["errors"]
    first = row["error_samples"][0]
    assert first["kind"] == "login-failed" and "Wrong login or password" in first["message"], first
    assert lab.sessions.logins == 0


def test_wrong_password_on_a_preset_forum_is_login_failed(lab, tmp_path):
    fc = {"name": "phpbb", "engine": "phpbb", "delay": 0, "timeout": 20,
          "start_urls": [lab.base_url + lab.board_page_path("phpbb", PRIVATE_BOARD)],
          "auth": {"login": {"url": lab.base_url + "/phpbb/ucp.php?mode=login",
                             "username": DEFAULT_USER, "password": "wrong"}}}
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    assert_failed(res, rows["phpbb"], "login-failed", cfg)


def test_far_fewer_threads_than_last_good_crawl_is_layout_changed(lab, tmp_path):
    fc = acme_forum(lab, 2)  # the big board: four board pages
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    before = rows["acme"]["threads_changed"] + rows["acme"]["threads_unchanged"]
    assert before >= 20
    # A theme update: the row selector now only matches two rows per page.
    fc["selectors"]["thread_row"] = "div.topic-row:nth-child(-n+2)"
    write_config(cfg, [fc])
    res, rows = crawl(cfg, tmp_path)
    alert = assert_failed(res, rows["acme"], "layout-changed", cfg)
    assert "in the last good crawl" in alert["snippet"] and str(before) in alert["snippet"]


def test_expect_bounds_for_a_small_board(lab, tmp_path):
    fc = acme_forum(lab, 3, expect={"board_threads": 500})
    cfg = write_config(tmp_path / "darkwatch.yml", [fc])
    res, rows = crawl(cfg, tmp_path)
    assert_failed(res, rows["acme"], "no-threads", cfg)
    assert "expected at least 500" in rows["acme"]["error_samples"][0]["message"]


@pytest.mark.parametrize("status", ["401", "403"])
def test_members_page_answering_401_or_403_is_a_login_wall(lab, tmp_path, status):
    lab.skin("acme").guest_wall = status
    cfg = write_config(tmp_path / "darkwatch.yml", [acme_forum(lab, PRIVATE_BOARD)])
    res, rows = crawl(cfg, tmp_path)
    row = rows["acme"]
    assert_failed(res, row, "session-expired", cfg)
    assert f"HTTP {status}" in row["error_samples"][0]["message"]
    assert f"http-{status}" not in row["errors"]
    # With a login configured, the crawl logs in and reads the members-only board.
    fc = acme_forum(lab, PRIVATE_BOARD, auth=acme_login(lab))
    write_config(cfg, [fc])
    res, rows = crawl(cfg, tmp_path)
    assert res.returncode == 0 and rows["acme"]["posts_seen"] > 0, res.stdout + res.stderr


def probe_crawl(mark: str, cfg, tmp_path):
    """A crawl with a fault planted first (tests/crawl/raising_probe.py); its report row."""
    import subprocess
    import sys

    from tests.support.cli import REPO

    res = subprocess.run(
        [sys.executable, "-m", "tests.crawl.raising_probe", mark, "crawl", "--config", str(cfg),
         "--direct", "-q", "--no-gap-check", "--report", str(tmp_path / "report.json")],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    (row,) = json.loads((tmp_path / "report.json").read_text())["forums"]
    return res, row


def test_a_page_whose_parser_raises_fails_the_forum_and_names_the_page(lab, tmp_path):
    """A callback that raises on one page (Scrapy only logs "Spider error processing") is an
    error of the forum: its posts were not read, so the crawl is not ``ok``."""
    truth = [t for t in lab.truth(engine="acme") if t["board_id"] == 2]
    thread = truth[0]["thread_id"]
    page = lab.thread_page_path("acme", thread, 1)
    cfg = write_config(tmp_path / "darkwatch.yml", [acme_forum(lab, 2)])
    res, row = probe_crawl(page, cfg, tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    assert row["status"] == "failed" and row["errors"] == {"page-error": 1}, row
    (sample,) = row["error_samples"]
    assert page in sample["message"] and "RuntimeError: probe" in sample["message"], sample
    assert "acme: failed" in res.stdout and "page-error" in res.stdout, res.stdout
    # Every other thread was read; the failed page's posts are missing, and said to be.
    got = {p["post_id"] for p in export(cfg)}
    others = {t["post_id"] for t in truth if t["thread_id"] != thread}
    mine = {t["post_id"] for t in truth if t["thread_id"] == thread}
    assert others <= got and not mine <= got


def test_a_crawl_does_not_depend_on_ast_parse(lab, tmp_path):
    """Scrapy's per-callback source check (ast.parse on the reactor thread) is off: CPython
    3.11.7's ast.parse can fail under concurrent compiles, and it cost a page in CI."""
    cfg = write_config(tmp_path / "darkwatch.yml", [acme_forum(lab, 2)])
    res, row = probe_crawl("ast.parse", cfg, tmp_path)
    assert res.returncode == 0 and row["status"] == "ok", res.stdout + res.stderr
    want = {t["post_id"] for t in lab.truth(engine="acme") if t["board_id"] == 2}
    assert {p["post_id"] for p in export(cfg)} == want
