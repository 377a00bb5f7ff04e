"""Body text rules: visible text only, quotes moved aside, signatures and exclusions gone."""

from parsel import Selector

from crawler.engines.extract import body_text, extract_id, split_alternatives
from crawler.engines.selectors import Selectors
from crawler.engines.text import absolute, strip_session, thread_key_url, visible_text

SEL = Selectors(quote="blockquote", signature=".sig", exclude="blockquote > cite, .codetitle")


def _body(html: str) -> Selector:
    return Selector(text=f"<html><body><div id='b'>{html}</div></body></html>").css("#b")[0]


def test_visible_text_drops_scripts_styles_hidden_and_collapses_whitespace() -> None:
    body = _body(
        "Hello<br>world<script>evil()</script><style>p{}</style><noscript>ns</noscript>"
        "<template>t</template><iframe>f</iframe><span style='display: none'>hid</span>"
        "<span hidden>h2</span><p>  para\n\n  two </p><b>bo</b>ld &nbsp; end"
    )
    assert visible_text(body.root) == "Hello world para two bold end"


def test_quotes_move_to_quoted_text_without_cite_header() -> None:
    body = _body(
        "<blockquote><cite>alice wrote:</cite>leaked <blockquote><cite>bob wrote:</cite>inner</blockquote>"
        "</blockquote>my reply<div class='sig'>my signature</div><div class='codetitle'>Code:</div>x=1"
    )
    text, quoted = body_text(body, SEL)
    assert text == "my reply x=1"
    assert quoted == "leaked inner"


def test_two_quotes_are_joined_in_order() -> None:
    text, quoted = body_text(_body("<blockquote>one</blockquote>mid<blockquote>two</blockquote>end"), SEL)
    assert (text, quoted) == ("mid end", "one two")


def test_post_without_quote_has_empty_quoted_text() -> None:
    assert body_text(_body("just text"), SEL) == ("just text", "")


def test_split_alternatives_respects_brackets_and_quotes() -> None:
    assert split_alternatives('a[title="x,y"], b:not(.c, .d) , e::attr(href)') == [
        'a[title="x,y"]', "b:not(.c, .d)", "e::attr(href)",
    ]


def test_extract_id() -> None:
    import re

    assert extract_id("p123", re.compile(r"^p(\d+)$")) == "123"
    assert extract_id("post-9", re.compile(r"post-(\d+)")) == "9"
    discourse = re.compile(r"/t/(?:[^/?#]*/)?(\d+)[^#]*#\D*(\d+)")
    assert extract_id("http://d/t/slug/31?page=2#post_22", discourse) == "31-22"
    assert extract_id("nope", re.compile(r"(\d+)")) == ""


def test_session_ids_are_dropped_from_urls() -> None:
    sid = "0123456789abcdef0123456789abcdef"
    assert strip_session(f"http://f/viewtopic.php?t=5&sid={sid}") == "http://f/viewtopic.php?t=5"
    assert strip_session(f"http://f/viewtopic.php?sid={sid}&t=5") == "http://f/viewtopic.php?t=5"
    assert strip_session(f"http://f/showthread.php?tid=3&s={sid}") == "http://f/showthread.php?tid=3"
    assert strip_session("http://f/index.php?PHPSESSID=abc;topic=5.0") == "http://f/index.php?topic=5.0"
    assert strip_session("http://f/index.php?topic=5.0;PHPSESSID=abc") == "http://f/index.php?topic=5.0"
    # an ordinary short "s" parameter is not a session id
    assert strip_session("http://f/search.php?s=nir") == "http://f/search.php?s=nir"


def test_absolute_urls_keep_query_and_drop_fragment() -> None:
    assert absolute("http://f/forum/viewforum.php?f=2", "./viewtopic.php?t=5#p7") == (
        "http://f/forum/viewtopic.php?t=5"
    )
    assert absolute("http://f/", "javascript:void(0)") is None
    assert absolute("http://f/", "#top") is None
    assert thread_key_url("http://x/forums/a.4/", "/threads/t.57/unread") == "http://x/threads/t.57/"
