"""Scrapy extensions: stop non-HTML bodies at the headers, and show crawl progress."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import StopDownload

from crawler.errors import Classified

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


def media_type(content_type: bytes | str | None) -> str:
    if not content_type:
        return ""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return content_type.split(";", 1)[0].strip().lower()


class ContentTypeGuard:
    """Abort any response whose Content-Type is not HTML before its body is read.

    Images, archives and binaries from crawled sites are never downloaded; a missing
    Content-Type is let through (bounded by DOWNLOAD_MAXSIZE) and judged by the parser.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.allowed = set(crawler.settings.getlist("DARKWATCH_ALLOWED_CONTENT_TYPES"))
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ContentTypeGuard:
        ext = cls(crawler)
        crawler.signals.connect(ext.headers_received, signal=signals.headers_received)
        return ext

    def headers_received(self, headers: Any, body_length: int, request: Request,
                         spider: Any) -> None:
        kind = media_type(headers.get(b"Content-Type"))
        if kind and kind not in self.allowed:
            self.stats.inc_value("darkwatch/not_html")
            request.meta["darkwatch_refused"] = f"Content-Type {kind} is not HTML; body not downloaded"
            raise StopDownload(fail=True)


class Progress:
    """One refreshed status line per forum on a terminal; silent under cron."""

    def __init__(self, crawler: Crawler, forum: str, interval: float = 1.0) -> None:
        self.crawler = crawler
        self.forum = forum
        self.interval = interval
        self.last = 0.0
        self.enabled = sys.stderr.isatty() and crawler.settings.getbool("DARKWATCH_PROGRESS")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        from crawler.context import CrawlContext

        ext = cls(crawler, CrawlContext.of(crawler).forum.name)
        if ext.enabled:
            crawler.signals.connect(ext.tick, signal=signals.response_received)
            crawler.signals.connect(ext.tick, signal=signals.item_scraped)
            crawler.signals.connect(ext.done, signal=signals.spider_closed)
        return ext

    def tick(self, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._print(end="\r")

    def done(self, *args: Any, **kwargs: Any) -> None:
        self._print(end="\n")

    def _print(self, end: str) -> None:
        s = self.crawler.stats
        sys.stderr.write(
            f"\r{self.forum}: pages {s.get_value('response_received_count', 0)}, "
            f"posts {s.get_value('darkwatch/posts_seen', 0)}, "
            f"new {s.get_value('darkwatch/posts_new', 0)}\x1b[K{end}"
        )
        sys.stderr.flush()


def failure_reason(failure: Failure) -> tuple[str, str]:
    """(kind, readable reason) for the crawl summary, from a request's errback failure."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as terr

    exc = failure.value
    request = getattr(failure, "request", None)
    refused = request.meta.get("darkwatch_refused") if request is not None else None
    if isinstance(exc, StopDownload) and refused:
        return ("not-html", refused)
    if isinstance(exc, Classified):
        return (exc.kind, exc.reason)
    if isinstance(exc, IgnoreRequest) and "redirection" in str(exc):
        hops = request.meta.get("redirect_urls", []) if request is not None else []
        return ("redirect-loop", f"{str(exc)[:120]} ({len(hops)} hops, first "
                                 f"{hops[0] if hops else '?'}); not followed")
    if isinstance(exc, HttpError):
        status = exc.response.status
        return (f"http-{status}", f"HTTP {status} after retries")
    name = type(exc).__name__
    text = str(exc) or name
    if isinstance(exc, terr.TimeoutError | terr.TCPTimedOutError) or "Timeout" in name:
        return ("timeout", f"timed out after retries ({text[:200]})")
    if "max size" in text or "maxsize" in text.lower() or name == "DownloadCancelledError":
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE (no Content-Length to refuse).
        return ("too-large", text[:300] if name != "DownloadCancelledError" else
                "body passed DOWNLOAD_MAXSIZE (10 MiB) while streaming; download cancelled")
    if isinstance(exc, terr.ConnectionRefusedError):
        return ("connection-refused", "connection refused after retries")
    if isinstance(exc, terr.DNSLookupError):
        return ("dns", "host name did not resolve")
    return (name.lower(), text[:300])
