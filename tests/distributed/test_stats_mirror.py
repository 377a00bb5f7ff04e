"""The stats mirror against a real redis-server: a counter is summed once, even when Redis ran
an increment and the reply was lost."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import redis
from scrapy.settings import Settings

from crawler.distributed import keys
from crawler.distributed.stats import RedisMirrorStatsCollector
from crawler.distributed.worker import client_params
from tests.support.reply_cutter import ReplyCutter


def collector(url: str, params: dict | None) -> RedisMirrorStatsCollector:
    settings = Settings({"REDIS_URL": url, **({"REDIS_PARAMS": params} if params else {})})
    crawler = SimpleNamespace(settings=settings, spider=SimpleNamespace(name="f"))
    return RedisMirrorStatsCollector(crawler)


@pytest.mark.parametrize("params", [client_params(), None], ids=["worker", "scrapy-redis-defaults"])
def test_an_increment_whose_reply_was_lost_counts_once(redis_server, params):
    cutter = ReplyCutter(redis_server.port)
    client = redis.Redis.from_url(redis_server.url)
    try:
        stats = collector(cutter.url, params)
        stats.inc_value("darkwatch/posts_new", 3)  # loads the script
        cutter.arm(keys.stats("f").encode())
        stats.inc_value("darkwatch/posts_new", 2)  # ran, reply lost
        stats.inc_value("darkwatch/pages_thread")  # sent with the next batch, or after it
        for _ in range(5):
            stats.flush()
        assert cutter.cut == 1
        got = client.hgetall(keys.stats("f"))
        assert got == {b"darkwatch/posts_new": b"5", b"darkwatch/pages_thread": b"1"}
        assert stats.get_value("darkwatch/posts_new") == 5  # the worker's own view agrees
    finally:
        cutter.close()


def test_redis_down_keeps_the_increments_until_it_is_back(tmp_path):
    from darkwatch_lab.redis_server import RedisServer

    with RedisServer(str(tmp_path), persistent=True) as server:  # as deployed: a restart keeps data
        client = redis.Redis.from_url(server.url)
        stats = collector(server.url, client_params())
        stats.inc_value("darkwatch/posts_new")
        server.stop()
        stats.inc_value("darkwatch/posts_new", 4)
        stats.inc_value("not/mirrored", 7)
        server.start()
        stats.flush()
        assert client.hgetall(keys.stats("f")) == {b"darkwatch/posts_new": b"5"}
