"""Explaining pages without content: binary bodies, block pages, JavaScript shells, tag floods."""

from __future__ import annotations

from crawler.engines.diagnose import MAX_TAGS, empty_page_reason, too_complex
from darkwatch_lab.forum_faults import DDOS_PAGE, JS_ONLY_PAGE, PNG


def test_binary_bodies_are_named():
    assert empty_page_reason(200, PNG, PNG.decode("latin-1"))[0] == "binary-body"
    assert "PDF" in empty_page_reason(200, b"%PDF-1.7 ...", "%PDF-1.7 ...")[1]
    assert empty_page_reason(200, b"<html>\x00\x00</html>", "<html></html>")[0] == "binary-body"


def test_block_and_js_pages_are_named_but_real_pages_are_not():
    assert empty_page_reason(200, DDOS_PAGE.encode(), DDOS_PAGE)[0] == "anti-bot"
    assert empty_page_reason(200, JS_ONLY_PAGE.encode(), JS_ONLY_PAGE)[0] == "js-only"
    page = ("<html><body>" + "<p>real forum text, no posts matched</p>" * 20
            + "<script>x=1</script></body></html>")
    assert empty_page_reason(200, page.encode(), page) is None


def test_tag_floods_are_refused_before_parsing():
    assert too_complex("<a>" * (MAX_TAGS + 1))[0] == "too-complex"
    assert too_complex("<p>ok</p>" * 1000) is None
