"""Hostile pages never raise: they give (possibly empty) results with warnings."""

import os
import time

import pytest

from crawler.engines.extract import parse_board, parse_thread
from crawler.engines.presets import ENGINES, load_preset
from crawler.engines.selectors import Selectors

DEEP = "<html><body>" + "<div>" * 10_000 + "deep" + "</div>" * 10_000 + "</body></html>"
DEEP_POST = (
    "<html><body><div class='post' id='p1'><div class='content'>"
    + "<span>" * 10_000 + "x" + "</span>" * 10_000 + "</div></div></body></html>"
)
GARBAGE = os.urandom(64 * 1024).decode("latin-1")
HOSTILE = {
    "empty": "",
    "whitespace": "   \n\t ",
    "garbage": GARBAGE,
    "nul bytes": "<html>\x00\x00<body>\x00</body></html>",
    "deep nesting": DEEP,
    "deep post": DEEP_POST,
    "not html": '{"json": true}',
    "xml decl": '<?xml version="1.0" encoding="ISO-8859-1"?><html><body>x</body></html>',
    "unclosed": "<html><body><div class='post' id='p1'><div class='content'>text",
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_pages_never_raise(engine: str, name: str) -> None:
    sel = load_preset(engine).selectors
    b = parse_board(HOSTILE[name], "http://x.onion/b", sel, "UTC")
    t = parse_thread(HOSTILE[name], "http://x.onion/t", sel, "UTC")
    assert b.threads == [] and not b.logged_out
    assert isinstance(t.posts, list)
    assert b.warnings and t.warnings  # something was said about the page


def test_deep_post_body_still_extracted_or_warned() -> None:
    t = parse_thread(DEEP_POST, "http://x.onion/t", load_preset("phpbb").selectors, "UTC")
    # libxml2 stops at its nesting limit: the text below it is lost, and we say so
    assert all(p.post_id == "1" for p in t.posts)
    assert any("depth limit" in w for w in t.warnings)


def test_bytes_input_is_decoded() -> None:
    html = "<html><body><ul class='topiclist topics'><li class='row'><a class='topictitle' " \
           "href='./viewtopic.php?t=9'>Énorme</a></li></ul></body></html>"
    b = parse_board(html.encode(), "http://x.onion/viewforum.php?f=1", load_preset("phpbb").selectors)
    assert [(t.url, t.title) for t in b.threads] == [("http://x.onion/viewtopic.php?t=9", "Énorme")]


def test_invalid_selectors_become_warnings() -> None:
    sel = Selectors(thread_row="li[[", thread_link="a", post="xpath://div[", post_id="xpath:@id",
                    body="div", post_id_regex="(unclosed")
    b = parse_board("<html><body><li><a href='/t'>t</a></li></body></html>", "http://x.onion/", sel)
    t = parse_thread("<html><body><div id='1'>x</div></body></html>", "http://x.onion/t", sel)
    assert b.threads == [] and any("thread_row" in w for w in b.warnings)
    assert t.posts == [] and any("post" in w for w in t.warnings)


def test_huge_page_is_parsed_in_bounded_time() -> None:
    row = ("<div id='p{i}' class='post'><dl class='postprofile'><dt><a class='username'>u{i}</a></dt></dl>"
           "<p class='author'><time datetime='2024-01-15T10:30:00+00:00'>x</time></p>"
           "<div class='content'>post {i} " + "lorem ipsum " * 40 + "</div></div>")
    html = "<html><body>" + "".join(row.format(i=i) for i in range(5000)) + "</body></html>"
    start = time.monotonic()
    t = parse_thread(html, "http://x.onion/t", load_preset("phpbb").selectors, "UTC")
    assert len(t.posts) == 5000 and t.posts[-1].post_id == "4999"
    assert t.posts[0].published == "2024-01-15T10:30:00Z"
    assert time.monotonic() - start < 30


def test_warnings_are_capped() -> None:
    html = "<html><body>" + "<div class='post' id='px'></div>" * 500 + "</body></html>"
    t = parse_thread(html, "http://x.onion/t", load_preset("phpbb").selectors, "UTC")
    assert t.posts == [] and len(t.warnings) <= 41 and t.warnings[-1].startswith("... and")


def test_pagination_loop_to_self_is_not_a_next_page() -> None:
    html = ("<html><body><ul class='topiclist topics'><li class='row'><a class='topictitle' "
            "href='./viewtopic.php?t=1'>a</a></li></ul><li class='arrow next'>"
            "<a href='./viewforum.php?f=2'>next</a></li></body></html>")
    b = parse_board(html, "http://x.onion/viewforum.php?f=2", load_preset("phpbb").selectors)
    assert b.next_url is None
