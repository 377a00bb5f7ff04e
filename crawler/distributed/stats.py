"""Scrapy's stats collector, with darkwatch's counters mirrored into the forum's Redis hash.

The coordinator reports a distributed round from that hash: pages, posts, alerts and errors
summed over every worker, with the same keys a local crawl reads from its own stats.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from redis.exceptions import RedisError
from scrapy.statscollectors import MemoryStatsCollector

from crawler.distributed import keys

logger = logging.getLogger(__name__)

MIRRORED = ("darkwatch/", "downloader/request_count", "downloader/response_status_count/", "retry/")


class RedisMirrorStatsCollector(MemoryStatsCollector):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._server: Any = None
        self._pending: Counter[str] = Counter()  # increments not yet in Redis (Redis down)

    def _redis(self) -> Any:
        if self._server is None:
            from scrapy_redis.connection import get_redis_from_settings

            self._server = get_redis_from_settings(self._crawler.settings)
        return self._server

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        super().inc_value(key, count, start)
        spider = self._crawler.spider
        if spider is None or not isinstance(count, int) or not key.startswith(MIRRORED):
            return
        self._pending[key] += count
        self.flush()

    def flush(self) -> None:
        spider = self._crawler.spider
        if spider is None or not self._pending:
            return
        try:
            pipe = self._redis().pipeline(transaction=False)
            for key, n in self._pending.items():
                pipe.hincrby(keys.stats(spider.name), key, n)
            pipe.execute()
        except RedisError as exc:
            logger.debug("stats mirror: Redis unavailable (%s); kept for later", exc)
            return
        self._pending.clear()
