"""Scrapy's stats collector, with darkwatch's counters mirrored into the forum's Redis hash.

The coordinator reports a distributed round from that hash: pages, posts, alerts and errors
summed over every worker, with the same keys a local crawl reads from its own stats.

Increments go in batches, each applied by one Lua script at most once: a batch carries this
process's writer id and a sequence number, and a batch resent after a lost reply (a Redis
restart) is recognised and skipped, so a report never counts a post twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Any

from redis.exceptions import RedisError
from scrapy.statscollectors import MemoryStatsCollector

from crawler.distributed import keys

logger = logging.getLogger(__name__)

APPLY = """
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[2]) <= last then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
MIRRORED = ("darkwatch/", "downloader/request_count", "downloader/response_status_count/", "retry/")


class RedisMirrorStatsCollector(MemoryStatsCollector):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._server: Any = None
        self._apply: Any = None
        self._pending: Counter[str] = Counter()  # increments not yet batched
        self._batch: list[Any] | None = None  # the batch being sent: [seq, key, n, key, n, ...]
        self._writer = uuid.uuid4().hex  # this process, in the forum's applied-batches hash
        self._seq = 0

    def _redis(self) -> Any:
        if self._server is None:
            from scrapy_redis.connection import get_redis_from_settings

            self._server = get_redis_from_settings(self._crawler.settings)
            self._apply = self._server.register_script(APPLY)
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
        if spider is None:
            return
        while self._batch is not None or self._pending:
            if self._batch is None:  # frozen: a resend must carry exactly what the first send did
                self._seq += 1
                self._batch = [self._seq]
                for key, n in self._pending.items():
                    self._batch += [key, n]
                self._pending.clear()
            try:
                self._redis()
                self._apply(keys=[keys.stats(spider.name), keys.stats_applied(spider.name)],
                            args=[self._writer, *self._batch])
            except RedisError as exc:
                logger.debug("stats mirror: Redis unavailable (%s); kept for later", exc)
                return
            self._batch = None
