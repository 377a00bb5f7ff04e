"""Per-forum politeness held in Redis, so N workers together keep one forum's rate.

A request may go when one Lua script on the Redis server grants it: granted when the
server's clock has passed the forum's next free time, which then moves ``delay`` ahead;
otherwise the worker sleeps for the time left and asks again. Grants are not reserved in
advance: a worker whose event loop is late cannot send close behind another's grant.
Redis's clock is the only clock involved, so skew between worker machines does not matter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from redis.exceptions import RedisError

from crawler.distributed import keys

logger = logging.getLogger(__name__)

TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < nxt then return nxt - now end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', ARGV[2])
return 0
"""
RETRY_SECONDS = 2.0


def margin(delay: float) -> float:
    """Safety margin added to a forum's delay between two grants: 10%, at least 10 ms."""
    return max(0.010, 0.1 * delay)


class RateLimitedDownloadHandler:
    """Wraps the real http(s) handler (direct or Tor) and waits for the forum's slot.

    At the handler, not in a downloader middleware: a middleware runs before the request
    waits in Scrapy's per-worker download slot, so its slot could be spent in that queue and
    two workers' requests would then reach the forum closer together than the delay.
    """

    lazy = False

    def __init__(self, crawler: Any) -> None:
        from scrapy.utils.misc import build_from_crawler, load_object
        from scrapy_redis.connection import get_redis_from_settings

        self.crawler = crawler
        settings = crawler.settings
        self.inner = build_from_crawler(load_object(settings.get("DARKWATCH_RATE_INNER_HANDLER")),
                                        crawler)
        self.server = get_redis_from_settings(settings)
        delay = settings.getfloat("DARKWATCH_GLOBAL_DELAY", 0.0)
        # Grants are spaced a little wider than the delay: a send can lag its grant (a busy
        # event loop, a worker's first connection), and the forum must still never see more
        # than one request per ``delay`` over any window.
        self.delay_us = int((delay + margin(delay)) * 1_000_000) if delay > 0 else 0
        self._take = self.server.register_script(TAKE_SLOT)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RateLimitedDownloadHandler:
        return cls(crawler)

    async def download_request(self, request: Any) -> Any:
        await self.wait_slot()
        return await self.inner.download_request(request)

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            await close()

    async def wait_slot(self) -> None:
        if self.delay_us <= 0:
            return
        forum = self.crawler.spider.name
        ttl_ms = 3_600_000  # forgets an idle forum after an hour
        waited = False
        while True:
            try:
                wait_us = int(self._take(keys=[keys.rate(forum)], args=[self.delay_us, ttl_ms]))
            except RedisError as exc:  # no grant without Redis: waiting is the polite failure
                logger.error("forum %s: rate limiter unavailable (%s); retrying", forum, exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if wait_us <= 0:
                break
            if not waited:
                waited = True
                self.crawler.stats.inc_value("darkwatch/rate_waits")
            # A little jitter so that contending workers do not wake in lockstep.
            await asyncio.sleep(wait_us / 1_000_000 + random.uniform(0, 0.002))
