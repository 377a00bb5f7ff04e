"""Each preset against pages shaped like the engine's real rendered templates."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config.models import ForumConfig
from crawler.engines.extract import RawPost, ThreadRow, parse_board, parse_thread
from crawler.engines.presets import ENGINES, PresetError, load_preset, resolve_selectors
from crawler.engines.selectors import REQUIRED_FOR_CRAWL, Selectors

PAGES = Path(__file__).with_name("pages")
NOW = datetime(2024, 1, 16, 22, 0, tzinfo=UTC)  # "Today" on the pages = 2024-01-16
TZ = "Europe/Paris"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def board(engine: str, url: str):
    return parse_board(page(f"{engine}_board.html"), url, load_preset(engine).selectors, TZ, now=NOW)


def thread(engine: str, url: str):
    return parse_thread(page(f"{engine}_thread.html"), url, load_preset(engine).selectors, TZ, now=NOW)


@pytest.mark.parametrize("engine", ENGINES)
def test_preset_loads_with_required_fields_and_login_defaults(engine: str) -> None:
    p = load_preset(engine)
    for f in REQUIRED_FOR_CRAWL:
        assert getattr(p.selectors, f), f"{engine}: {f} missing"
    assert p.selectors.logged_out and p.selectors.thread_next and p.selectors.published
    assert p.login.username_field and p.login.password_field and p.login.form


@pytest.mark.parametrize("engine", ENGINES)
def test_login_wall_is_detected_and_content_pages_are_not(engine: str) -> None:
    sel = load_preset(engine).selectors
    wall = parse_thread(page(f"{engine}_login.html"), "http://x.onion/t", sel, TZ, now=NOW)
    assert wall.logged_out and wall.posts == []
    assert wall.warnings == []  # a login wall explains the missing posts: no selector noise
    assert not board(engine, "http://x.onion/b").logged_out
    assert not thread(engine, "http://x.onion/t").logged_out


def test_unknown_engine() -> None:
    with pytest.raises(PresetError, match="no preset"):
        load_preset("vbulletin")


def test_resolve_selectors_merges_overrides_and_custom_uses_config_only() -> None:
    forum = ForumConfig(name="f", engine="phpbb", start_urls=["http://a.onion/viewforum.php?f=1"],
                        selectors=Selectors(body="div.message"))
    sel = resolve_selectors(forum)
    assert sel.body == "div.message"
    assert sel.post == load_preset("phpbb").selectors.post
    custom = ForumConfig(name="c", engine="custom", start_urls=["http://a.onion/"],
                         selectors=Selectors(thread_row="li", thread_link="a", post="div.p",
                                             post_id="xpath:@id", body="div.b"))
    assert resolve_selectors(custom) == custom.selectors


# -- phpBB 3.3 prosilver -------------------------------------------------------------------

def test_phpbb_board() -> None:
    b = board("phpbb", "http://forum.onion/viewforum.php?f=2")
    assert b.threads == [
        ThreadRow("http://forum.onion/viewtopic.php?t=1", "Règles du forum", "0 | ./viewtopic.php?p=1#p1"),
        ThreadRow("http://forum.onion/viewtopic.php?t=4", "Vendeurs fiables (à lire)",
                  "3 | ./viewtopic.php?p=17#p17"),
        ThreadRow("http://forum.onion/viewtopic.php?t=5", "Base patients labo Cerballiance 2024",
                  "14 | ./viewtopic.php?p=42#p42"),
    ]
    assert b.next_url == "http://forum.onion/viewforum.php?f=2&start=25"
    assert b.subboards == ["http://forum.onion/viewforum.php?f=7"]
    assert b.warnings == []


def test_phpbb_thread() -> None:
    t = thread("phpbb", "http://forum.onion/viewtopic.php?t=5&start=10")
    assert t.title == "Base patients labo Cerballiance 2024"
    assert t.next_url == "http://forum.onion/viewtopic.php?t=5&start=20"
    assert t.posts == [
        RawPost("41", "d4rkdump", "2024-01-16T09:30:00Z",
                "Échantillon dispo : NIR 1 84 12 75 115 423 57, Cerballiance Paris. Logiciel Hexalis v4. "
                "SELECT * FROM patients;", ""),
        RawPost("42", "nirhunter", "2024-01-16T20:15:00Z", "Intéressé, combien pour 10k lignes ?",
                "Échantillon dispo : NIR 1 84 12 75 115 423 57"),
    ]
    assert t.warnings == []


def test_phpbb_32_text_date_fallback() -> None:
    """phpBB 3.1/3.2 print the date as text after "by X »" (no <time>)."""
    html = page("phpbb_thread.html").replace(
        '<time datetime="2024-01-16T10:30:00+01:00">mar. 16 janv. 2024 10:30</time>',
        "mar. 16 janv. 2024 10:30")
    t = parse_thread(html, "http://forum.onion/viewtopic.php?t=5", load_preset("phpbb").selectors, TZ)
    assert t.posts[0].published == "2024-01-16T09:30:00Z"


# -- MyBB 1.8 ----------------------------------------------------------------------------

def test_mybb_board() -> None:
    b = board("mybb", "http://mybb.onion/forumdisplay.php?fid=2")
    assert b.threads == [
        ThreadRow("http://mybb.onion/showthread.php?tid=3", "Escrow rules", "2 | 2024-01-05T10:00:00Z | :"),
        ThreadRow("http://mybb.onion/showthread.php?tid=12", "[FR] Synlab export + NIR",
                  "11 | 2024-01-15T23:00:00Z | , 09:15 PM | :"),  # naive dates: UTC in the forum's tz
    ]
    assert b.next_url == "http://mybb.onion/forumdisplay.php?fid=2&page=2"
    assert b.subboards == ["http://mybb.onion/forumdisplay.php?fid=9"]
    assert not b.logged_out  # the guest quick-login modal is not a login wall
    assert b.warnings == []


def test_mybb_thread() -> None:
    t = thread("mybb", "http://mybb.onion/showthread.php?tid=12")
    assert t.title == "[FR] Synlab export + NIR"
    assert t.next_url == "http://mybb.onion/showthread.php?tid=12&page=2"
    assert t.posts == [
        RawPost("101", "labrat", "2024-01-15T09:30:00Z",
                "Export complet Synlab (mars). Colonnes : nom, NIR, date prélèvement. "
                "2 91 02 13 055 112 79;DUPONT", ""),
        RawPost("108", "buyer22", "2024-01-16T20:15:00Z", "Prix pour le lot ?",
                "Export complet Synlab (mars)."),
    ]
    assert t.warnings == []


# -- SMF 2.1 -------------------------------------------------------------------------------

def test_smf_board() -> None:
    b = board("smf", "https://smf.onion/index.php?board=1.0")
    assert b.threads == [
        ThreadRow("https://smf.onion/index.php?topic=2.0", "Règles de la section",
                  "https://smf.onion/index.php?topic=2.0#msg3"),
        ThreadRow("https://smf.onion/index.php?topic=7.0", "Biogroup LIS dump",
                  "https://smf.onion/index.php?topic=7.20#msg31"),
    ]
    assert b.next_url == "https://smf.onion/index.php?board=1.20"
    assert b.subboards == ["https://smf.onion/index.php?board=2.0"]
    assert b.warnings == []


def test_smf_thread() -> None:
    t = thread("smf", "https://smf.onion/index.php?topic=7.0")
    assert t.title == "Biogroup LIS dump"
    assert t.next_url == "https://smf.onion/index.php?topic=7.20"
    assert t.posts == [
        RawPost("10", "vendeur", "2024-01-14T19:00:00Z",
                "LIS export, 40k patients. Sample: NIR 2 55 08 69 123 045 16 id;nir;labo", ""),
        RawPost("12", "acheteur", "2024-01-16T09:30:00Z", "Still available?",
                "LIS export, 40k patients. nested bit"),
    ]
    assert t.warnings == []


def test_smf_20_reply_header_date() -> None:
    html = page("smf_thread.html").replace(
        '<a href="https://smf.onion/index.php?msg=10" rel="nofollow" title="Biogroup LIS dump" '
        'class="smalltext">January 14, 2024, 08:00:00 PM</a>',
        '<div class="smalltext">&#171; <strong>Reply #3 on:</strong> '
        'January 14, 2024, 08:00:00 PM &#187;</div>')
    t = parse_thread(html, "https://smf.onion/index.php?topic=7.0", load_preset("smf").selectors, TZ)
    assert t.posts[0].published == "2024-01-14T19:00:00Z"


# -- XenForo 2 -----------------------------------------------------------------------------

def test_xenforo_board() -> None:
    b = board("xenforo", "http://xf.onion/forums/health-data.4/")
    assert b.threads == [
        ThreadRow("http://xf.onion/threads/read-first.21/", "Read first", "0 | 2023-12-01T10:00:00+0100"),
        ThreadRow("http://xf.onion/threads/eurofins-patients-fr.57/", "Eurofins patients FR",
                  "23 | 2024-01-16T21:15:00+0100"),
    ]
    assert b.next_url == "http://xf.onion/forums/health-data.4/page-2"
    assert b.subboards == ["http://xf.onion/forums/labs.8/"]  # link forums are not boards
    assert b.warnings == []


def test_xenforo_thread() -> None:
    t = thread("xenforo", "http://xf.onion/threads/eurofins-patients-fr.57/")
    assert t.title == "Eurofins patients FR"
    assert t.next_url == "http://xf.onion/threads/eurofins-patients-fr.57/page-2"
    assert t.posts == [
        RawPost("901", "m3dleak", "2024-01-15T09:30:00Z",
                "Fresh Eurofins Biomnis export. Fields: NIR, name, DOB, results. 1 69 05 49 588 157 80", ""),
        RawPost("905", "Guest buyer", "2024-07-16T19:15:00Z", "Price for Lyon only?",
                "Fields: NIR, name, DOB, results."),
    ]
    assert t.warnings == []


def test_xenforo_23_time_attributes() -> None:
    """XF 2.3: data-timestamp is the epoch and data-time is a clock string."""
    html = page("xenforo_thread.html").replace(
        'datetime="2024-01-15T10:30:00+0100" data-time="1705311000"',
        'data-timestamp="1705311000" data-time="10:30 AM"')
    t = parse_thread(html, "http://xf.onion/threads/x.57/", load_preset("xenforo").selectors, TZ, now=NOW)
    assert t.posts[0].published == "2024-01-15T09:30:00Z"


# -- Discourse crawler view ---------------------------------------------------------------

def test_discourse_board() -> None:
    b = board("discourse", "http://disc.onion/c/sante/5")
    assert b.threads == [
        ThreadRow("http://disc.onion/t/a-propos-de-la-categorie-sante/12", "À propos de la catégorie Santé",
                  "0 | 2023-11-30T23:00:00Z"),
        ThreadRow("http://disc.onion/t/cegedim-patient-files/31", "Cegedim patient files",
                  "7 | 2024-01-15T23:00:00Z"),
    ]
    assert b.next_url == "http://disc.onion/c/sante/5?page=1"
    assert b.subboards == ["http://disc.onion/c/sante/laboratoires/9"]
    assert b.warnings == []


def test_discourse_thread() -> None:
    t = thread("discourse", "http://disc.onion/t/cegedim-patient-files/31?page=2")
    assert t.title == "Cegedim patient files"
    assert t.next_url == "http://disc.onion/t/cegedim-patient-files/31?page=3"
    assert t.posts == [
        RawPost("31-21", "cegdump", "2024-01-16T08:05:00Z",
                "Nouvel échantillon, logiciel Crossway : NIR;NOM 2 80 04 33 063 218 71;MARTIN", ""),
        RawPost("31-22", "acheteur_x", "2024-01-16T20:15:00Z", "Combien pour la région PACA ?",
                "Nouvel échantillon, logiciel Crossway"),
    ]
    assert t.warnings == []  # the navigation div shares the post classes but is not a post


# -- selector misses are reported, not fatal ---------------------------------------------

def test_misses_become_warnings_with_url_and_selector() -> None:
    sel = load_preset("phpbb").selectors
    b = parse_board(page("mybb_board.html"), "http://x.onion/b", sel, TZ)
    assert b.threads == []
    assert any("thread_row" in w and "http://x.onion/b" in w for w in b.warnings)
    profile_link = '<a href="./memberlist.php?mode=viewprofile&amp;u=9" class="username">d4rkdump</a>'
    html = page("phpbb_thread.html").replace(profile_link, "", 1)  # only the postprofile one
    html = html.replace('<div class="content"><blockquote', '<div class="nocontent"><blockquote')
    t = parse_thread(html, "http://x.onion/t", sel, TZ)
    assert [p.post_id for p in t.posts] == ["41"]
    assert t.posts[0].author == "d4rkdump"  # fell back to the "by <strong>" alternative
    assert any("body" in w and "post 42 skipped" in w for w in t.warnings)


def test_author_miss_is_warned_but_post_kept() -> None:
    sel = load_preset("xenforo").selectors.model_copy(update={"author": ".no-such-class"})
    t = parse_thread(page("xenforo_thread.html"), "http://x.onion/t", sel, TZ)
    assert len(t.posts) == 2 and t.posts[0].author == ""
    assert any("selector author" in w for w in t.warnings)


def test_phpbb_30_pagination_without_next_arrow() -> None:
    html = ("<html><body><div class='pagination'>23 posts &bull; <a href='#'>Page <strong>2</strong> of "
            "<strong>3</strong></a> &bull; <span><a href='./viewtopic.php?f=2&amp;t=5'>1</a>"
            "<span class='page-sep'>, </span><strong>2</strong><span class='page-sep'>, </span>"
            "<a href='./viewtopic.php?f=2&amp;t=5&amp;start=20'>3</a></span></div></body></html>")
    t = parse_thread(html, "http://f.onion/viewtopic.php?f=2&t=5&start=10", load_preset("phpbb").selectors)
    assert t.next_url == "http://f.onion/viewtopic.php?f=2&t=5&start=20"


def test_discourse_categories_page_lists_boards() -> None:
    html = """<html><body><div id="main-outlet" class="wrap" role="main">
    <div itemscope itemtype='http://schema.org/ItemList'><table class='category-list'><tbody>
    <tr><td class='category' style='border-color: #0088CC;'><div itemprop='itemListElement'>
    <h3><a href='http://disc.onion/c/sante/5'><span itemprop='name'>Santé</span></a></h3>
    <div itemprop='description'>Données de santé</div></div></td>
    <td class='topics'><div title='12 sujets'>12</div></td></tr>
    </tbody></table></div></div></body></html>"""
    b = parse_board(html, "http://disc.onion/categories", load_preset("discourse").selectors)
    assert b.subboards == ["http://disc.onion/c/sante/5"]
    assert b.threads == []


def test_xenforo_1_markup_alternatives() -> None:
    sel = load_preset("xenforo").selectors
    b = parse_board(page("xenforo1_board.html"), "http://xf1.onion/forums/health-data.4/", sel, TZ)
    assert b.threads == [ThreadRow("http://xf1.onion/threads/eurofins-patients-fr.57/",
                                   "Eurofins patients FR", "23 | 1705436100")]
    assert b.next_url == "http://xf1.onion/forums/health-data.4/page-2"
    t = parse_thread(page("xenforo1_thread.html"), "http://xf1.onion/threads/eurofins-patients-fr.57/page-2",
                     sel, TZ)
    assert t.title == "SELL Eurofins patients FR"
    assert t.next_url == "http://xf1.onion/threads/eurofins-patients-fr.57/page-3"
    assert t.posts == [RawPost("905", "buyer", "2024-01-16T20:15:00Z", "Price for Lyon only?",
                               "Fields: NIR, name, DOB, results.")]
    assert t.warnings == []


def test_relative_links_resolve_against_base_href() -> None:
    """XenForo 1 pages set <base href> and link everything relative to it."""
    html = page("xenforo1_board.html")
    b = parse_board(html, "http://xf1.onion/forums/health-data.4/page-3", load_preset("xenforo").selectors)
    assert b.threads[0].url == "http://xf1.onion/threads/eurofins-patients-fr.57/"
    assert b.next_url == "http://xf1.onion/forums/health-data.4/page-2"
