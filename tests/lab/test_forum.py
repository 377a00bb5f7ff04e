"""The fixture forum over real HTTP: skins, truth consistency, pagination, login, mutations."""

from __future__ import annotations

from collections import defaultdict

import pytest

from darkwatch_lab import PRIVATE_BOARD, FixtureForum
from darkwatch_lab import forum_text as ft
from tests.support.forum_client import Client, absolute, body_text, iso_z, mybb_date, smf_date

pytestmark = pytest.mark.integration

SKINS = ("phpbb", "phpbb-fr", "mybb", "smf")


@pytest.fixture(scope="module")
def forum():
    with FixtureForum(seed=1, skins=SKINS) as f:
        yield f


def crawl_thread(client: Client, skin: str, url: str, max_pages: int = 20) -> tuple[dict, list[str]]:
    """Posts of a thread keyed by id, following the skin's next links; also the page URLs."""
    posts, pages = {}, []
    while url and len(pages) < max_pages:
        pages.append(url)
        doc = client.page(url)
        if skin.startswith("phpbb"):
            for el in doc.cssselect("div.post"):
                pid = el.get("id")[1:]
                text, quoted = body_text(el.cssselect("div.content")[0], "")
                posts[pid] = {
                    "author": el.cssselect("p.author a.username, p.author a.username-coloured")[0]
                    .text_content(),
                    "published": iso_z(el.cssselect("p.author time")[0].get("datetime")),
                    "text": text, "quoted_text": quoted,
                    "title": doc.cssselect("h2.topic-title a")[0].text_content(),
                }
            nxt = doc.cssselect(".action-bar.bar-top .pagination li.arrow.next a[rel=next]")
        elif skin == "smf":
            for el in doc.cssselect("#forumposts div.windowbg[id^=msg]"):
                pid = el.get("id").removeprefix("msg")
                inner = el.cssselect("div.post > div.inner")[0]
                assert inner.get("id") == f"msg_{pid}"
                text, quoted = body_text(inner, "")
                posts[pid] = {
                    "author": el.cssselect("div.poster h4 a")[0].text_content(),
                    "published": smf_date(el.cssselect("div.postinfo a.smalltext")[0]),
                    "text": text, "quoted_text": quoted,
                    "title": doc.cssselect("#top_subject")[0].text_content(),
                }
            nxt = [a for a in doc.cssselect(".pagesection.top a.nav_page") if a.cssselect("span.next_page")]
        else:
            for el in doc.cssselect("div.post"):
                pid = el.get("id").removeprefix("post_")
                text, quoted = body_text(el.cssselect("div.post_body")[0], "")
                assert el.cssselect("div.post_body")[0].get("id") == f"pid_{pid}"
                posts[pid] = {
                    "author": el.cssselect(".author_information .largetext a")[0].text_content(),
                    "published": mybb_date(el.cssselect("span.post_date")[0]),
                    "text": text, "quoted_text": quoted,
                    "title": doc.cssselect("td.thead > div:last-child > strong")[0].text_content(),
                }
            nxt = doc.cssselect("a.pagination_next")
        url = absolute(doc, nxt[0].get("href")) if nxt else None
    return posts, pages


def board_threads(client: Client, skin: str, base: str, board_id: int) -> tuple[list[str], int]:
    """Thread URLs linked from every page of a board (in order, duplicates kept), page count."""
    if skin.startswith("phpbb"):
        url = f"{base}/{skin}/viewforum.php?f={board_id}"
        row = "ul.topiclist.topics > li.row a.topictitle"
        nxt_sel = ".action-bar.bar-top .pagination li.arrow.next a[rel=next]"
    elif skin == "smf":
        url = f"{base}/smf/index.php?board={board_id}.0"
        row, nxt_sel = "#topic_container div.windowbg .message_index_title span[id^=msg_] a", \
            ".pagesection a.nav_page:has(span.next_page)"
    else:
        url = f"{base}/mybb/forumdisplay.php?fid={board_id}"
        row, nxt_sel = "tr.inline_row span.subject_old a", "a.pagination_next"
    links, n = [], 0
    while url and n < 20:
        n += 1
        doc = client.page(url)
        links += [absolute(doc, a.get("href")) for a in doc.cssselect(row)]
        nxt = doc.cssselect(nxt_sel)
        url = absolute(doc, nxt[0].get("href")) if nxt else None
    return links, n


@pytest.mark.parametrize("skin", SKINS)
def test_index_lists_every_board(forum, skin):
    doc = Client().page(f"{forum.base_url}/{skin}/index.php")
    if skin.startswith("phpbb"):
        titles = [a.get("href") for a in doc.cssselect("ul.topiclist.forums li.row a.forumtitle")]
        assert sorted(titles) == sorted(f"./viewforum.php?f={b}" for b in (2, 3, 4, 99))
        assert doc.cssselect("#nav-breadcrumbs .crumb") and doc.cssselect("#page-footer .copyright")
    elif skin == "smf":
        titles = [a.get("href") for a in doc.cssselect("#boardindex_table .info a.subject")]
        assert sorted(titles) == sorted(f"{forum.base_url}/smf/index.php?board={b}.0" for b in (2, 3, 4, 99))
    else:
        titles = [a.get("href") for a in doc.cssselect("td strong a[href^=forumdisplay]")]
        assert sorted(titles) == sorted(f"forumdisplay.php?fid={b}" for b in (2, 3, 4, 99))
        assert doc.cssselect("#footer #copyright") and doc.cssselect(".navigation")


@pytest.mark.parametrize("skin", SKINS)
def test_truth_matches_what_pages_show(forum, skin):
    client = Client()
    truth = forum.truth(engine=skin, private=False)
    by_thread = defaultdict(list)
    for t in truth:
        by_thread[t["thread_url"]].append(t)
    seen = {}
    for url in by_thread:
        posts, _ = crawl_thread(client, skin, url)
        seen.update(posts)
    want = {t["post_id"]: t for t in truth}
    assert set(seen) == set(want)
    for pid, t in want.items():
        got = seen[pid]
        assert got["author"] == t["author"], pid
        assert got["published"] == t["published"], pid
        assert got["text"] == t["text"], pid
        assert got["quoted_text"] == t["quoted_text"], pid
        assert got["title"] == t["thread_title"], pid
    assert any(t["quoted_text"] for t in truth) and len(by_thread) > 40


@pytest.mark.parametrize("skin", ("phpbb", "mybb", "smf"))
def test_board_pagination_links_every_thread_once(forum, skin):
    client = Client()
    links, pages = board_threads(client, skin, forum.base_url, 2)
    truth_urls = {t["thread_url"] for t in forum.truth(engine=skin) if t["board_id"] == 2}
    ths = forum.content.board_threads(2)
    announces = [t for t in ths if t.kind == "announce"]
    assert pages == forum.board_pages(skin, 2) >= 3
    assert set(links) == truth_urls
    if skin == "phpbb":
        # Announcements repeat on every board page; everything else appears once.
        assert len(links) == len(ths) + len(announces) * (pages - 1)
        first = links[0]
        assert first.endswith(f"t={announces[0].tid}")
        assert sum(1 for u in links if u == first) == pages
    else:
        assert len(links) == len(ths) == len(set(links))


def test_pagination_math_and_last_post_markers(forum):
    client = Client()
    th = max(forum.content.board_threads(2), key=lambda t: len(t.posts))
    n_pages = forum.thread_pages("phpbb", th.tid)
    assert n_pages == -(-len(th.posts) // 10) >= 2
    posts, urls = crawl_thread(client, "phpbb", f"{forum.base_url}/phpbb/viewtopic.php?t={th.tid}")
    assert [u.removeprefix(forum.base_url) for u in urls] == \
        [forum.thread_page_path("phpbb", th.tid, p) for p in range(1, n_pages + 1)]
    assert urls[-1].endswith(f"&start={(n_pages - 1) * 10}")
    _, urls = crawl_thread(client, "mybb", f"{forum.base_url}/mybb/showthread.php?tid={th.tid}")
    assert urls[-1].endswith(f"&page={n_pages}")
    # phpBB: dd.lastpost links viewtopic.php?p=N#pN, which renders the page holding N.
    doc = client.page(f"{forum.base_url}/phpbb/viewforum.php?f=2")
    href = doc.cssselect("li.row dd.lastpost a[href*='viewtopic.php?p=']")[0].get("href")
    assert "#p" in href
    pid = href.split("#p")[1]
    page = client.page(absolute(doc, href))
    assert page.cssselect(f"div#p{pid}.post")
    # MyBB: action=lastpost redirects to the last post.
    status, headers, _ = Client(follow=False).get(
        f"{forum.base_url}/mybb/showthread.php?tid={th.tid}&action=lastpost")
    assert status == 302 and headers["Location"].endswith(f"pid={th.last.pid}#pid{th.last.pid}")


def test_truth_is_deterministic_and_seeded():
    def strip(f):
        return [{k: v for k, v in t.items() if k != "thread_url"} for t in f.truth()]

    with FixtureForum(seed=7) as a, FixtureForum(seed=7) as b, FixtureForum(seed=8) as c:
        assert strip(a) == strip(b)
        assert strip(a) != strip(c)
        assert a.valid_nirs() == b.valid_nirs()


def test_nirs_and_decoys(forum):
    nirs = forum.valid_nirs()
    assert len(nirs) >= 20
    assert all(ft.nir_valid(n) for n in nirs)
    assert any(n[5:7] in ("2A", "2B") for n in nirs), "Corsican NIRs exercise the 2A/2B key rule"
    decoys = forum.decoy_nirs()
    assert decoys and not any(ft.nir_valid(d) for d in decoys)
    corpus = " ".join(t["text"] for t in forum.truth(engine="phpbb"))
    assert "clé" in corpus and "Cerballiance" in corpus or "Biogroup" in corpus
    assert any(v in corpus for v in ft.VENDORS) and "mutuelle" in corpus
    assert all(d in corpus for d in decoys)
    # Known key examples: 1 85 05 78 006 084 -> key 91; Corsica 2A counts as 19.
    assert ft.nir_key("1850578006084") == 91
    assert ft.nir_key("290032A004123") == 97 - int("2900319004123") % 97


@pytest.mark.parametrize("skin", ("phpbb", "mybb", "smf"))
def test_login_wall_login_and_session_expiry(skin):
    with FixtureForum(seed=1, skins=(skin,), username="bob", password="pw") as forum:
        base = forum.base_url
        tid = forum.content.board_threads(PRIVATE_BOARD)[0].tid
        board_url = forum.board_page_path(skin, PRIVATE_BOARD)
        thread_url = base + forum.skin(skin).thread_url(tid)
        client = Client()
        doc = client.page(base + board_url)
        assert is_login_wall(skin, doc)
        assert is_login_wall(skin, client.page(thread_url))
        form = login_fields(skin, doc)
        form_el = doc.cssselect("form[action*='ucp.php'], form[action='member.php'], form#frmLogin")[0]
        action = absolute(doc, form_el.get("action"))
        # Wrong password: still outside.
        bad = client.page(action, {**form, user_key(skin): "bob", pass_key(skin): "nope"})
        assert is_login_wall(skin, client.page(base + board_url))
        assert bad.cssselect("div.error, div.errorbox")
        # A form without its hidden token is refused even with good credentials.
        other = Client()
        other.get(base + board_url)
        stripped = {k: v for k, v in form.items() if k in ("redirect", "url", "action", "hash_passwrd")}
        status, _, _ = other.get(action, {**stripped, user_key(skin): "bob", pass_key(skin): "pw"})
        assert status in (200, 403)
        assert is_login_wall(skin, other.page(base + board_url))
        assert forum.sessions.logins == 0
        # Good login: redirected to the board, content visible.
        doc = client.page(base + board_url)
        doc = client.page(action, {**login_fields(skin, doc), user_key(skin): "bob", pass_key(skin): "pw"})
        assert not is_login_wall(skin, doc)
        posts, _ = crawl_thread(client, skin, thread_url)
        assert set(posts) == {str(p.pid) for p in forum.content.thread(tid).posts}
        assert forum.expire_sessions() == 1
        assert is_login_wall(skin, client.page(thread_url))


def user_key(skin: str) -> str:
    return "user" if skin == "smf" else "username"


def pass_key(skin: str) -> str:
    return "passwrd" if skin == "smf" else "password"


def is_login_wall(skin: str, doc) -> bool:
    if skin == "smf":
        return bool(doc.cssselect("form#frmLogin input[name=passwrd]")) and not doc.cssselect("#forumposts")
    if skin.startswith("phpbb"):
        return bool(doc.cssselect("form#login input[name=password]")) and not doc.cssselect("div.post")
    return bool(doc.cssselect("input[name=action][value=do_login]")) and not doc.cssselect("div.post")


def login_fields(skin: str, doc) -> dict:
    sel = {"smf": "form#frmLogin", "mybb": "form[action='member.php']"}.get(skin, "form#login")
    form = doc.cssselect(sel)[0]
    return {i.get("name"): i.get("value", "") for i in form.cssselect("input[type=hidden]")}


@pytest.mark.parametrize("skin", ("phpbb", "mybb", "smf"))
def test_add_post_lands_on_last_page_and_moves_board_marker(skin):
    with FixtureForum(seed=3, skins=(skin,)) as forum:
        client = Client()
        th = [t for t in forum.content.board_threads(2) if t.kind == "normal"][-1]  # oldest activity
        before_pages = forum.thread_pages(skin, th.tid)
        quoted = th.posts[0]
        pid = forum.add_post(th.tid, "newbie", "Vends  dump\nBiogroup 1 85 05 78 006 084 91",
                             quote_of=quoted.pid)
        assert int(pid) == max(p for p in forum.content.posts if p < 900000)  # ids are global
        last_path = forum.last_page_path(skin, th.tid)
        doc = client.page(forum.base_url + last_path)
        ids = [e.get("id") for e in doc.cssselect("div.post[id], #forumposts div.windowbg[id]")]
        assert ids[-1] in (f"p{pid}", f"post_{pid}", f"msg{pid}")
        assert forum.thread_pages(skin, th.tid) >= before_pages
        t = [x for x in forum.truth(engine=skin) if x["post_id"] == pid][0]
        assert t["text"] == "Vends dump Biogroup 1 85 05 78 006 084 91"
        assert t["quoted_text"] == ft.excerpt(quoted.text)
        assert "185057800608491" in forum.valid_nirs()
        # The thread is now the first non-sticky row of page 1, with the new last post marker.
        board = client.page(forum.base_url + forum.board_page_path(skin, 2))
        if skin == "phpbb":
            rows = [r for r in board.cssselect("ul.topiclist.topics > li.row")
                    if "announce" not in r.get("class") and "sticky" not in r.get("class")]
            assert rows[0].cssselect("a.topictitle")[0].get("href") == f"./viewtopic.php?t={th.tid}"
            assert rows[0].cssselect(f"dd.lastpost a[href='./viewtopic.php?p={pid}#p{pid}']")
        elif skin == "smf":
            rows = [r for r in board.cssselect("#topic_container > div.windowbg")
                    if "sticky" not in r.get("class")]
            assert rows[0].cssselect(f"a[href$='topic={th.tid}.0']")
            assert rows[0].cssselect(f"div.lastpost a[href$='topic={th.tid}.msg{pid}#new']")
            assert "Today" in rows[0].cssselect("div.lastpost")[0].text_content()
        else:
            rows = [r for r in board.cssselect("tr.inline_row") if not r.cssselect(".forumdisplay_sticky")]
            assert rows[0].cssselect(f"span#tid_{th.tid} a")
            assert "minute" in rows[0].cssselect("span.lastpost")[0].text_content()


def test_add_thread_and_edit(forum):
    tid = forum.add_thread(3, "Nouveau sujet", "zer0day_fr", "Premier message")
    assert any(t["thread_id"] == tid for t in forum.truth(engine="phpbb"))
    pid = [t for t in forum.truth(engine="phpbb") if t["thread_id"] == tid][0]["post_id"]
    forum.edit_post(pid, "Message modifié")
    doc = Client().page(f"{forum.base_url}/phpbb/viewtopic.php?t={tid}")
    post = doc.cssselect(f"div#p{pid}")[0]
    assert body_text(post.cssselect("div.content")[0], "")[0] == "Message modifié"
    assert "edited 1 time" in post.cssselect("div.notice")[0].text_content()
    with pytest.raises(KeyError):
        forum.add_post(123456, "x", "y")


def test_mybb_dates_use_board_time_zone_and_relative_forms():
    with FixtureForum(seed=1, skins=("mybb",), mybb_tz="America/New_York") as forum:
        skin = forum.skin("mybb")
        from datetime import UTC, datetime, timedelta

        winter = datetime(2024, 1, 15, 14, 5, tzinfo=UTC)
        assert skin.date(winter) == "01-15-2024, 09:05 AM"
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        assert "minute" in skin.date(now - timedelta(minutes=5)) and "title=" in skin.date(now)
        old = now - timedelta(hours=13)
        assert ("Today" in skin.date(old)) or ("Yesterday" in skin.date(old))


def test_phpbb_french_rendering(forum):
    doc = Client().page(f"{forum.base_url}/phpbb-fr/viewforum.php?f=2")
    assert doc.cssselect("html[lang=fr]")
    skin = forum.skin("phpbb-fr")
    from datetime import UTC, datetime

    assert skin.date(datetime(2024, 1, 15, 10, 30, tzinfo=UTC)) == "lun. 15 janv. 2024 10:30"
    quoted = [t for t in forum.truth(engine="phpbb-fr") if t["quoted_text"]][0]
    page = Client().page(f"{forum.base_url}/phpbb-fr/viewtopic.php?p={quoted['post_id']}")
    assert "a écrit :" in page.cssselect(f"div#p{quoted['post_id']} blockquote cite")[0].text_content()


def test_request_log_and_connections(forum):
    forum.reset_requests()
    c0 = forum.connections
    Client().get(f"{forum.base_url}/phpbb/viewforum.php?f=3")
    Client().get(f"{forum.base_url}/mybb/showthread.php?tid=5&page=1")
    assert forum.requests == [("GET", "/phpbb/viewforum.php?f=3"),
                              ("GET", "/mybb/showthread.php?tid=5&page=1")]
    assert forum.connections >= c0 + 2
    forum.reset_requests()
    assert forum.requests == []


def test_refuses_non_loopback_bind():
    with pytest.raises(ValueError, match="non-loopback"):
        FixtureForum().start(host="0.0.0.0")
    with pytest.raises(ValueError):
        FixtureForum().start(host="example.com")
    with pytest.raises(ValueError, match="non-loopback"):
        FixtureForum().start(host="10.0.0.1")


def test_phpbb_sid_in_urls_until_cookie_returns():
    with FixtureForum(seed=1, skins=("phpbb",), phpbb_sid_urls=True) as forum:
        client = Client()
        doc = client.page(f"{forum.base_url}/phpbb/viewforum.php?f=2")
        href = doc.cssselect("a.topictitle")[0].get("href")
        assert "&sid=" in href and len(href.split("sid=")[1]) == 32
        # Truth keys threads without the session id.
        tid = href.split("t=")[1].split("&")[0]
        assert f"{forum.base_url}/phpbb/viewtopic.php?t={tid}" in {t["thread_url"] for t in forum.truth()}
        doc = client.page(f"{forum.base_url}/phpbb/viewforum.php?f=2")  # cookie now sent back
        assert "sid=" not in doc.cssselect("a.topictitle")[0].get("href")


def test_no_post_sits_in_an_hour_repeated_when_clocks_go_back():
    """A MyBB page shows local wall times: 01:10 on the night New York's clocks go back is two
    instants, and the page cannot say which. The lab keeps posts out of those hours (the truth
    must be readable from the page), moving them forward so that a thread keeps its order."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from darkwatch_lab.forum_content import _repeated

    anchor = datetime(2026, 12, 6, 20, 18, tzinfo=UTC)  # 60 days back include 1 November
    zone = ZoneInfo("America/New_York")
    server = FixtureForum(seed=3, skins=("mybb-ru", "mybb-de"), anchor=anchor,
                          mybb_i18n_tz="America/New_York", big_board_threads=12)
    content = server.content
    assert _repeated(datetime(2026, 11, 1, 6, 10, tzinfo=UTC), zone)  # 01:10 EST, the second
    assert not any(_repeated(p.published, zone) for p in content.posts.values())
    # (with this seed a post fell at 06:10Z before the lab moved it)
    assert content.posts[53].published == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    for th in content.threads.values():
        assert [p.published for p in th.posts] == sorted(p.published for p in th.posts)
    # Posts added later are kept out too.
    tid = content.posts[53].tid
    pid = content.add_post(tid, "late", "a reply", when=datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
                           + timedelta(days=365))  # 2027-11-07: clocks go back that night
    assert not _repeated(content.posts[pid].published, zone)
