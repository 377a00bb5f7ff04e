"""Downloader middlewares that keep a forum crawl in its lane.

Order (see settings): scope check, then backoff delay, then the ``--direct`` guard, then
Scrapy's stack with our retry that spaces attempts out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.context import CrawlContext, Origin
from crawler.errors import Classified
from crawler.netpolicy import direct_refusal, has_binary_extension, origin

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class Refused(Classified, IgnoreRequest):
    """A request darkwatch will not send; ``reason`` ends up in the crawl summary."""


class ForumScopeMiddleware:
    """Only the forum's own origins, never binaries. Also catches redirects, which re-enter here."""

    def __init__(self, allowed: frozenset[Origin]) -> None:
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ForumScopeMiddleware:
        return cls(CrawlContext.of(crawler).origins)

    def process_request(self, request: Request) -> None:
        if origin(request.url) not in self.allowed:
            raise Refused("offsite", "not followed: outside the forum's host")
        if has_binary_extension(request.url):
            raise Refused("binary", "not fetched: binary/media extension")


class LoopbackOnlyMiddleware:
    """In ``--direct`` mode, refuse anything that is not a loopback address (redirects too)."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("DARKWATCH_DIRECT"):
            raise NotConfigured
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LoopbackOnlyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        why = direct_refusal(request.url)
        if why:
            raise Refused("direct-refused", why)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, with exponential backoff and jitter between attempts.

    Onion services fail in bursts; hammering them again at once only wastes the retries.
    """

    def _retry(self, request, reason):  # type: ignore[no-untyped-def]
        new = super()._retry(request, reason)
        if new is not None:
            settings = self.crawler.settings
            base = settings.getfloat("DARKWATCH_RETRY_BACKOFF_BASE", 2.0)
            cap = settings.getfloat("DARKWATCH_RETRY_BACKOFF_MAX", 60.0)
            attempt = int(new.meta.get("retry_times", 1))
            delay = min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
            new.meta["darkwatch_backoff"] = delay
            self.crawler.stats.inc_value("darkwatch/retries")
        return new


class BackoffMiddleware:
    """Waits out ``meta['darkwatch_backoff']`` without blocking the reactor."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop("darkwatch_backoff", 0)
        if delay:
            await asyncio.sleep(delay)
