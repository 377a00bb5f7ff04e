"""HTTP and HTML helpers for the fixture-forum tests (stdlib urllib, no proxy)."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lxml import html as lxml_html

from crawler.engines.text import visible_text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


class Client:
    """A cookie-keeping browser-ish client that never uses a proxy."""

    def __init__(self, follow: bool = True) -> None:
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def get(self, url: str, data: dict | None = None, timeout: float = 30):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            resp = self.opener.open(url, data=body, timeout=timeout)
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()
        with resp:
            return resp.status, dict(resp.headers), resp.read()

    def page(self, url: str, data: dict | None = None):
        status, _, body = self.get(url, data)
        assert status == 200, (url, status)
        return lxml_html.fromstring(body, base_url=url)


def absolute(doc, href: str) -> str:
    return urllib.parse.urljoin(doc.base_url, href)


def body_text(el, remove: str) -> tuple[str, str]:
    """(text without quotes/signatures, quoted text without the cite header)."""
    el = lxml_html.fromstring(lxml_html.tostring(el))
    quotes = []
    for q in el.cssselect("blockquote"):
        for cite in q.cssselect("cite"):
            cite.drop_tree()
        quotes.append(visible_text(q))
        q.drop_tree()
    for sel in remove.split(","):
        for node in el.cssselect(sel.strip()) if sel.strip() else []:
            node.drop_tree()
    return visible_text(el), " ".join(quotes).strip()


def mybb_date(el, tz: str = "Europe/Paris") -> str:
    """An absolute MyBB post_date ("01-15-2024, 09:30 AM") to ISO UTC."""
    text = visible_text(el)
    text = text.split("(")[0].strip()
    local = datetime.strptime(text, "%m-%d-%Y, %I:%M %p").replace(tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def smf_date(el) -> str:
    """An absolute SMF date ("January 15, 2024, 10:30:00 AM", board zone UTC) to ISO UTC."""
    local = datetime.strptime(visible_text(el), "%B %d, %Y, %I:%M:%S %p").replace(tzinfo=UTC)
    return local.strftime("%Y-%m-%dT%H:%M:%SZ")
