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
        try:
            item.alerts = rules.apply(item)
        except Exception as exc:  # a hostile post must not cost us the post itself
            logger.exception("rules failed on post %s:%s", item.forum, item.post_id)
            self.spider.fail("rules-error", f"post {item.forum}:{item.post_id}: rules failed "
                                            f"({type(exc).__name__}); stored without matches")
            item.alerts, item.matches, item.masked = [], [], {}
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
            if item.thread_url in spider.dirty_threads:
                # A post of this thread was not stored: keep the old state so the next
                # crawl reads the thread again.
                raise DropItem("thread state kept: a post failed to store", log_level="DEBUG")
            store.put_thread(item)
            raise DropItem("thread state saved", log_level="DEBUG")
        if not isinstance(item, Post):
            return item
        try:  # the local copy first: it is the crawl's memory and the post's safety net
            store.write_posts([item])
            if item.alerts:
                store.write_alerts(item.alerts)
        except Exception as exc:
            spider.dirty_threads.add(item.thread_url)
            spider.fail("store-error", f"post {item.forum}:{item.post_id} not stored: {exc}")
            raise DropItem("not stored", log_level="DEBUG") from None
        sink = getattr(spider, "sink", None)
        if sink is not None and sink is not store:
            try:
                # Remote sinks get identifiers masked; clear text only to the restricted raw
                # index, and only when `store_raw` asks for it (write_raw is a no-op otherwise).
                write_raw = getattr(sink, "write_raw", None)
                if write_raw is not None:
                    write_raw([item])
                sink.write_posts([item.masked_copy()])
                if item.alerts:
                    sink.write_alerts(item.alerts)
            except Exception as exc:  # kept locally; the sink's spool/replay is its own job
                logger.exception("sink failed on post %s:%s", item.forum, item.post_id)
                spider.fail("sink-error", f"post {item.forum}:{item.post_id} not sent to the sink "
                                          f"(kept locally): {exc}")
        notifier = getattr(spider, "notifier", None)
        if item.alerts and notifier is not None:
            try:
                notifier.notify(item.alerts)
            except Exception as exc:
                logger.exception("notification failed")
                spider.fail("notify-error", f"alerts of post {item.forum}:{item.post_id}: {exc}")
        return item
