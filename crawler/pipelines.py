"""Item pipelines: novelty -> rules -> store. Thin Scrapy adapters over pure code.

``ThreadState`` records (yielded by the spider after a thread's last page) pass through
untouched until the store pipeline saves them, after the posts they cover.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from crawler.model import Post
from crawler.sinks.base import ThreadState

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 5.0


class _Base:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def spider(self) -> Any:
        return self.crawler.spider


class NoveltyPipeline(_Base):
    """Posts are stored once: unchanged ones stop here, edited ones are flagged."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Post):
            return item
        novelty = self.spider.store.classify(item)
        self.stats.inc_value(f"darkwatch/posts_{novelty}")
        if novelty == "unchanged":
            raise DropItem(f"post {item.post_id} unchanged", log_level="DEBUG")
        item.edited = novelty == "edited"
        return item


class RulesPipeline(_Base):
    """Runs the rule set on new and edited posts; reloads rules when their files change."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.last_check = time.monotonic()

    def process_item(self, item: Any) -> Any:
        rules = getattr(self.spider, "rules", None)
        if rules is None or not isinstance(item, Post):
            return item
        now = time.monotonic()
        if now - self.last_check >= RELOAD_CHECK_SECONDS:
            self.last_check = now
            problems = rules.maybe_reload()
            if problems:
                for p in problems:
                    logger.error("rules reload failed, keeping the previous rule set: %s", p)
        item.alerts = rules.apply(item)
        if item.alerts:
            self.stats.inc_value("darkwatch/alerts", len(item.alerts))
            for alert in item.alerts:
                self.stats.inc_value(f"darkwatch/alerts_{alert.level}")
        return item


class StorePipeline(_Base):
    """Local SQLite first (it is also the crawl's memory), then the configured sink and channels."""

    def process_item(self, item: Any) -> Any:
        spider = self.spider
        store = spider.store
        if isinstance(item, ThreadState):
            store.put_thread(item)
            raise DropItem("thread state saved", log_level="DEBUG")
        if not isinstance(item, Post):
            return item
        store.write_posts([item])
        sink = getattr(spider, "sink", None)
        if sink is not None and sink is not store:
            # Remote sinks get identifiers masked; clear text only to the restricted raw
            # index, and only when `store_raw` asks for it (write_raw is a no-op otherwise).
            write_raw = getattr(sink, "write_raw", None)
            if write_raw is not None:
                write_raw([item])
            sink.write_posts([item.masked_copy()])
        if item.alerts:
            store.write_alerts(item.alerts)
            if sink is not None and sink is not store:
                sink.write_alerts(item.alerts)
            notifier = getattr(spider, "notifier", None)
            if notifier is not None:
                notifier.notify(item.alerts)
        return item
