"""A worker whose spider subclass handles seeded requests with callbacks the base spider does
not have: run as ``python -m tests.distributed.ack_probe CONFIG REDIS_URL FORUM`` (one reactor
per process). Prints the crawl's darkwatch stats as JSON on stdout.

``parse_custom`` reads a board page like ``parse_board`` and asks for an off-scope page whose
failure goes to ``on_custom_error``; ``parse_boom`` raises. Every request must be acknowledged
(the in-flight hash empties) although no code names these callbacks.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import redis
from scrapy.crawler import CrawlerProcess
from scrapy.http import Request

from crawler.config.loader import load_config
from crawler.context import CrawlContext
from crawler.distributed.spider import DistributedForumSpider
from crawler.distributed.worker import worker_settings
from crawler.sinks import open_sink, open_state


class NewCallbackSpider(DistributedForumSpider):
    def parse_custom(self, response: Any) -> Any:
        self.crawler.stats.inc_value("darkwatch/probe_custom")
        yield from self.parse_board(response)
        # Off the forum's origin: refused before download, so it fails through the errback.
        yield Request("http://127.0.0.2:9/elsewhere", callback=self.parse_board,
                      errback=self.on_custom_error)

    def on_custom_error(self, failure: Any) -> Any:
        self.crawler.stats.inc_value("darkwatch/probe_custom_error")
        return []

    def parse_boom(self, response: Any) -> Any:
        self.crawler.stats.inc_value("darkwatch/probe_boom")
        raise RuntimeError("probe: a callback that fails")
        yield  # a generator, like the spider's own callbacks


def main(cfg_path: str, redis_url: str, forum_name: str) -> int:
    cfg = load_config(cfg_path)
    forum = cfg.forum(forum_name)
    store = open_state(cfg)
    sink = open_sink(cfg, store)
    server = redis.Redis.from_url(redis_url)
    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
                              "REMOTE_CONTROL_ENABLED": False})
    crawler = process.create_crawler(NewCallbackSpider)
    worker_settings(crawler.settings, cfg, forum, True, redis_url, "probe")
    crawler.settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    process.crawl(crawler, context=CrawlContext(config=cfg, forum=forum, store=store, sink=sink,
                                                redis=server))
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({k: v for k, v in stats.items() if k.startswith("darkwatch/")}))
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
