"""Downloader middleware: when a forum answers with block signals, give it fresh circuits.

"Fresh circuits" = a new SOCKS identity for this forum only (see crawler.tor.identity),
not a global NEWNYM: other forums' circuits and sessions are left alone. Bursts, not
single errors, trigger it, and at most once per DARKWATCH_TOR_ROTATE_MIN_INTERVAL.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from crawler.engines.blocks import block_signal
from crawler.tor.identity import identity_for

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


class BlockSignalMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        if not s.get("DARKWATCH_TOR_SOCKS"):
            raise NotConfigured
        self.crawler = crawler
        self.identity = identity_for(crawler)
        self.threshold = s.getint("DARKWATCH_TOR_BLOCK_THRESHOLD", 3)
        self.window = s.getfloat("DARKWATCH_TOR_BLOCK_WINDOW", 120.0)
        self.min_interval = s.getfloat("DARKWATCH_TOR_ROTATE_MIN_INTERVAL", 30.0)
        self.global_newnym = s.getbool("DARKWATCH_TOR_NEWNYM", False) if hasattr(s, "getbool") \
            else bool(s.get("DARKWATCH_TOR_NEWNYM", False))
        self.hits: deque[float] = deque()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BlockSignalMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        head = ""
        if response.status == 200:
            head = response.body[:8192].decode("utf-8", "replace")
        why = block_signal(response.status, head)
        if why:
            self.note_block(why, request.url)
        return response

    def note_block(self, why: str, url: str, now: float | None = None) -> bool:
        """Count a block signal; rotate the forum's identity on a burst. True if rotated."""
        now = time.monotonic() if now is None else now
        self.hits.append(now)
        while self.hits and now - self.hits[0] > self.window:
            self.hits.popleft()
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("darkwatch/tor/block_signals")
        if len(self.hits) < self.threshold:
            return False
        if self.identity.rotated_at and now - self.identity.rotated_at < self.min_interval:
            return False
        gen = self.identity.rotate()
        self.identity.rotated_at = now
        self.hits.clear()
        if stats is not None:
            stats.inc_value("darkwatch/tor/identity_rotations")
        logger.warning("forum %s: %d block signals (last: %s at %s); switching to new Tor circuits "
                       "(identity #%d)", self.identity.forum, self.threshold, why, url, gen)
        if self.global_newnym:
            self._newnym()
        return True

    def _newnym(self) -> None:
        """Optional global NEWNYM (DARKWATCH_TOR_NEWNYM): affects every forum on this tor, so
        off by default. stem blocks: run in a thread; Tor rate-limits NEWNYM itself."""
        from twisted.internet.threads import deferToThread

        from crawler.tor.control import active_session

        session = active_session()
        if session is None or not session.control:
            return
        d = deferToThread(session.newnym)
        d.addErrback(lambda f: logger.warning("NEWNYM failed: %s", f.getErrorMessage()))
