"""Presets against the fixture forum over loopback HTTP (no crawler: parsing only).

Walks every public board of each skin with plain urllib (no proxy, 127.0.0.1 only) and
compares what the presets extract with the fixture's own ground truth.
"""

import urllib.request

import pytest

from crawler.engines.extract import parse_board, parse_thread
from crawler.engines.presets import load_preset
from darkwatch_lab.forum import PRIVATE_BOARD, FixtureForum

pytestmark = pytest.mark.integration

SKIN_ENGINE = {"phpbb": "phpbb", "phpbb-fr": "phpbb", "mybb": "mybb"}
FIELDS = ("thread_url", "post_id", "author", "published", "text", "quoted_text")


@pytest.fixture(scope="module")
def forum():
    with FixtureForum(seed=1, skins=tuple(SKIN_ENGINE)) as f:
        assert f.base_url.startswith("http://127.0.0.1:")
        yield f


def get(url: str) -> str:
    assert url.startswith("http://127.0.0.1:"), url
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as resp:
        return resp.read().decode("utf-8", errors="replace")


def crawl(forum: FixtureForum, skin: str, board_id: int, tz: str):
    sel = load_preset(SKIN_ENGINE[skin]).selectors
    url = forum.base_url + forum.board_page_path(skin, board_id, 1)
    threads, posts, warnings, seen = {}, [], [], set()
    while url and url not in seen and len(seen) < 50:
        seen.add(url)
        page = parse_board(get(url), url, sel, tz)
        warnings += page.warnings
        for row in page.threads:
            threads.setdefault(row.url, row)
        url = page.next_url
    for turl in threads:
        url = turl
        while url and url not in seen and len(seen) < 500:
            seen.add(url)
            page = parse_thread(get(url), url, sel, tz)
            warnings += page.warnings
            posts += [{"thread_url": turl, **{k: getattr(p, k) for k in FIELDS[1:]}} for p in page.posts]
            url = page.next_url
    return threads, posts, warnings


@pytest.mark.parametrize("skin", sorted(SKIN_ENGINE))
def test_presets_extract_fixture_truth(forum: FixtureForum, skin: str) -> None:
    tz = "Europe/Paris"
    truth = [t for t in forum.truth(engine=skin, private=False)]
    for board_id in sorted({t["board_id"] for t in truth}):
        expected = [{k: t[k] for k in FIELDS} for t in truth if t["board_id"] == board_id]
        threads, got, warnings = crawl(forum, skin, board_id, tz)
        assert warnings == [], warnings[:5]
        assert {t["thread_url"] for t in expected} <= set(threads)
        by_id = {p["post_id"]: p for p in got}
        assert len(by_id) == len(got), "a post was extracted twice"
        missing = [e["post_id"] for e in expected if e["post_id"] not in by_id]
        assert not missing, f"{skin} board {board_id}: posts not extracted: {missing[:10]}"
        for e in expected:
            assert by_id[e["post_id"]] == e


@pytest.mark.parametrize("skin", sorted(SKIN_ENGINE))
def test_private_board_shows_login_wall(forum: FixtureForum, skin: str) -> None:
    sel = load_preset(SKIN_ENGINE[skin]).selectors
    url = forum.base_url + forum.board_page_path(skin, PRIVATE_BOARD, 1)
    try:
        html = get(url)
    except urllib.error.HTTPError as exc:  # some engines answer the wall with 403
        html = exc.read().decode("utf-8", errors="replace")
    page = parse_board(html, url, sel, "Europe/Paris")
    assert page.logged_out and page.threads == []
