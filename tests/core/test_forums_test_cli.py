"""`darkwatch forums test` sees what the crawl sees; `forums lint` warns before a silent gap.

Real CLI, real fixture forum over HTTP (`--direct` to loopback): auth, redirects, the page's
kind and the per-field selector matches.
"""

from __future__ import annotations

import json

import pytest

from darkwatch_lab.forum import DEFAULT_PASSWORD, DEFAULT_USER
from darkwatch_lab.forum_content import PRIVATE_BOARD
from tests.support.cli import darkwatch, write_config
from tests.support.forum_lab import ACME_SELECTORS, running_forum

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab():
    with running_forum("phpbb", "acme") as forum:
        yield forum.server


def acme(lab, tmp_path, auth: dict | None = None, **selectors) -> str:
    forum = {"name": "acme", "engine": "custom",
             "start_urls": [lab.base_url + lab.board_page_path("acme", 2)],
             "selectors": {**ACME_SELECTORS, **selectors}}
    if auth:
        forum["auth"] = auth
    return str(write_config(tmp_path / "darkwatch.yml", [forum]))


def login(lab, password: str = DEFAULT_PASSWORD) -> dict:
    return {"login": {"url": lab.base_url + "/acme/auth/login", "username": DEFAULT_USER,
                      "password": password}}


def forums_test(cfg: str, url: str, *extra: str):
    return darkwatch("forums", "test", "acme", "--config", cfg, "--direct", "--url", url, *extra,
                     timeout=120)


def members_thread(lab) -> tuple[str, set[str]]:
    truth = [t for t in lab.truth(engine="acme") if t["board_id"] == PRIVATE_BOARD]
    tid = truth[0]["thread_id"]
    ids = [t["post_id"] for t in truth if t["thread_id"] == tid][:lab.posts_per_page]  # page 1
    return lab.base_url + lab.thread_page_path("acme", tid, 1), set(ids)


def test_login_only_page_with_auth_login_shows_the_posts(lab, tmp_path):
    url, ids = members_thread(lab)
    res = forums_test(acme(lab, tmp_path, auth=login(lab)), url)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "login: form at" in out and "'login' / 'password' (read from the form)" in out
    assert "login: ok:" in out
    assert f"page: thread ({len(ids)} posts)" in out
    shown = {line.split()[1] for line in out.splitlines()
             if line.startswith("  post ") and " by " in line}
    assert shown == ids
    assert DEFAULT_PASSWORD not in out + res.stderr


def test_login_only_page_without_auth_is_a_login_wall(lab, tmp_path):
    url, _ = members_thread(lab)
    res = forums_test(acme(lab, tmp_path), url)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "redirect to " + lab.base_url + "/acme/auth/login?next=" in res.stdout
    assert "followed 1 redirect(s)" in res.stdout
    assert "page: login wall (redirected to" in res.stdout
    assert "login wall" in res.stderr and "Traceback" not in res.stderr


def test_wrong_password_says_login_failed_with_what_it_saw(lab, tmp_path):
    url, _ = members_thread(lab)
    res = forums_test(acme(lab, tmp_path, auth=login(lab, "nope")), url)
    assert res.returncode == 1
    assert "login: FAILED:" in res.stdout and "Wrong login or password" in res.stdout
    assert "page: login wall" in res.stdout


def test_every_field_shows_how_many_nodes_matched(lab, tmp_path):
    url = lab.base_url + lab.thread_page_path("acme", 5, 1)  # a public thread
    # The README's first attempt: a bare `time` also matches the author's join date.
    res = forums_test(acme(lab, tmp_path, published="time::attr(datetime)"), url)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines()
             if line.startswith("  ") and len(line.split()) > 2}
    assert "2 matches in each, using the first" in lines["published"]
    assert "warning: published matches 2 nodes in a post" in res.stdout
    res = forums_test(acme(lab, tmp_path), url)  # the scoped selector
    published = [line for line in res.stdout.splitlines() if line.startswith("  published")]
    assert published and "using the first" not in published[0] and "posts" in published[0]


def test_wrong_preset_is_unknown_not_thread(lab, tmp_path):
    cfg = write_config(tmp_path / "darkwatch.yml", [{
        "name": "acme", "engine": "mybb", "start_urls": [lab.base_url + "/phpbb/viewforum.php?f=2"]}])
    res = forums_test(str(cfg), lab.base_url + lab.board_page_path("phpbb", 2))
    assert res.returncode == 1
    assert "page: unknown" in res.stdout and "thread_row" in res.stdout
    assert "nothing extracted" in res.stderr
    # The same page with a preset that fits is a board with its rows.
    res = forums_test(str(write_config(tmp_path / "darkwatch.yml", [{
        "name": "acme", "engine": "phpbb", "start_urls": [lab.base_url + "/phpbb/viewforum.php?f=2"]}])),
        lab.base_url + lab.board_page_path("phpbb", 2))
    assert res.returncode == 0 and "page: board (" in res.stdout


def test_lint_warns_on_undetectable_login_and_ambiguous_selectors(lab, tmp_path):
    cfg = acme(lab, tmp_path, auth=login(lab), published="time::attr(datetime)")
    res = darkwatch("forums", "lint", "--config", cfg)
    assert res.returncode == 0, res.stderr
    assert "no selectors.logged_out nor selectors.login_form" in res.stderr
    assert "selectors.published 'time::attr(datetime)' is ambiguous" in res.stderr
    assert "2 warnings" in res.stdout
    clean = acme(lab, tmp_path, auth=login(lab), logged_out="form.auth-form")
    res = darkwatch("forums", "lint", "--config", clean)
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr


def test_cookies_file_session_reads_the_members_page(lab, tmp_path):
    url, ids = members_thread(lab)
    sid = lab.sessions.create(DEFAULT_USER)  # a session exported from Tor Browser
    cookies = tmp_path / "cookies.json"
    cookies.write_text(json.dumps([{"name": "acme_session", "value": sid}]))
    res = forums_test(acme(lab, tmp_path, auth={"cookies_file": str(cookies)}), url)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "auth: 1 cookies from auth.cookies_file" in res.stdout
    assert f"page: thread ({len(ids)} posts)" in res.stdout and sid not in res.stdout
