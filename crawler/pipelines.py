"""Item pipelines: novelty -> rules -> store. Thin Scrapy adapters over pure code.

``ThreadState`` records (yielded by the spider after a thread's last page) pass through
untouched until the store pipeline saves them, after the posts they cover.

A storage failure (full disk, I/O error, corruption) stops the forum's crawl: fetching more
would only produce posts with nowhere to go. Posts already in memory go to the recovery
journal (stored by the next crawl), and a post is counted as new only once it is stored.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

from scrapy.exceptions import DropItem

from crawler.context import CrawlContext
from crawler.incidents.sqlite import Change
from crawler.model import Post
from crawler.sinks.base import StoreError, ThreadState
from crawler.sinks.es_incidents import send_change

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.alerts.notify import Notifier
    from crawler.sinks.sqlite import SqliteStore
    from crawler.spiders.forum import ForumSpider

logger = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 5.0
STORE_FAILED = "store-write-failed"  # error kind and the spider's close reason


def stop_on_store_failure(crawler: Crawler, spider: ForumSpider, exc: StoreError) -> None:
    """Remember the failure, report it once, and close the spider (no more fetching)."""
    if spider.store_failure is not None:
        return
    spider.store_failure = str(exc)
    spider.fail(STORE_FAILED, f"{exc}; fetching stopped")
    from scrapy.utils.defer import deferred_from_coro

    d = deferred_from_coro(crawler.engine.close_spider_async(reason=STORE_FAILED))
    d.addErrback(lambda f: logger.error("could not stop the crawl of %s: %s",
                                        spider.name, f.getErrorMessage()))


def count_incident_change(stats: Any, change: Change) -> None:
    """Crawl stats of what a stored post did to its incident (summary and report)."""
    kinds = {e.kind for e in change.events}
    if change.created:
        stats.inc_value("darkwatch/incidents_new")
    if "escalated" in kinds and not change.created:
        stats.inc_value("darkwatch/incidents_escalated")
    if "reopened" in kinds:
        stats.inc_value("darkwatch/incidents_reopened")


def notify_post(notifier: Notifier, store: SqliteStore, alerts: list[Any], change: Any) -> None:
    """Per incident (``alerts.notify: incident``) or per alert, as configured."""
    if notifier.cfg.notify == "incident":
        if isinstance(change, Change) and change.notify:
            related = store.incidents.related(change.incident.id, limit=5)
            notifier.notify_incident(change.incident, change.notify, related)
    elif alerts:
        notifier.notify(alerts)


class _Base:
    """A pipeline of one forum's crawl: its context (store, sink, notifier, rules) is taken once."""

    def __init__(self, crawler: Crawler, context: CrawlContext) -> None:
        self.crawler = crawler
        self.context = context
        self.store = context.store
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler, CrawlContext.of(crawler))

    @property
    def spider(self) -> ForumSpider:
        """The forum spider (per-crawl state: failures, threads not to save)."""
        return cast("ForumSpider", self.crawler.spider)


class NoveltyPipeline(_Base):
    """Posts are stored once: unchanged ones stop here, edited ones are flagged."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Post):
            return item
        try:
            novelty = self.store.classify(item)
        except StoreError as exc:
            # Unknown novelty: keep the thread unsaved so the next crawl reads it again.
            self.spider.dirty_threads.add(item.thread_url)
            stop_on_store_failure(self.crawler, self.spider, exc)
            raise DropItem("store unreadable", log_level="DEBUG") from None
        if novelty == "unchanged":
            self.stats.inc_value("darkwatch/posts_unchanged")
            raise DropItem(f"post {item.post_id} unchanged", log_level="DEBUG")
        item.edited = novelty == "edited"
        return item


class RulesPipeline(_Base):
    """Runs the rule set on new and edited posts; reloads rules when their files change."""

    def __init__(self, crawler: Crawler, context: CrawlContext) -> None:
        super().__init__(crawler, context)
        self.last_check = time.monotonic()

    def process_item(self, item: Any) -> Any:
        rules = self.context.rules
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
        return item


class StorePipeline(_Base):
    """Local SQLite first (it is also the crawl's memory), then the configured sink and channels."""

    def __init__(self, crawler: Crawler, context: CrawlContext) -> None:
        super().__init__(crawler, context)
        self.journal: Any = None
        self.announced: set[Any] = set()  # journal paths already named in the log

    def process_item(self, item: Any) -> Any:
        spider = self.spider
        store = self.store
        if isinstance(item, ThreadState):
            if item.thread_url in spider.dirty_threads or spider.store_failure is not None:
                # A post of this thread was not stored: keep the old state so the next
                # crawl reads the thread again.
                raise DropItem("thread state kept: a post failed to store", log_level="DEBUG")
            try:
                store.put_thread(item)
            except StoreError as exc:
                stop_on_store_failure(self.crawler, spider, exc)
            raise DropItem("thread state saved", log_level="DEBUG")
        if not isinstance(item, Post):
            return item
        change = None
        if spider.store_failure is None:
            try:  # the local copy first: it is the crawl's memory and the post's safety net
                # post row, alerts and its incident's evidence atomically
                change = store.store_post(item, item.alerts)
            except StoreError as exc:
                stop_on_store_failure(self.crawler, spider, exc)
            except Exception as exc:
                spider.dirty_threads.add(item.thread_url)
                spider.fail("store-error", f"post {item.forum}:{item.post_id} not stored: {exc}")
                raise DropItem("not stored", log_level="DEBUG") from None
        if spider.store_failure is not None:
            spider.dirty_threads.add(item.thread_url)
            self.keep_in_journal(item)
            raise DropItem("not stored: kept in the recovery journal", log_level="DEBUG")
        self.stats.inc_value("darkwatch/posts_edited" if item.edited else "darkwatch/posts_new")
        if isinstance(change, Change):
            count_incident_change(self.stats, change)
        if item.alerts:
            self.stats.inc_value("darkwatch/alerts", len(item.alerts))
            for alert in item.alerts:
                self.stats.inc_value(f"darkwatch/alerts_{alert.level}")
        sink = self.context.sink
        if not sink.is_state_store:  # else store_post above wrote the post and its alerts
            try:
                # Remote sinks get identifiers masked; clear text only to the restricted raw
                # index, and only when `store_raw` asks for it (write_raw is a no-op otherwise).
                sink.write_raw([item])
                sink.write_posts([item.masked_copy()])
                if item.alerts:
                    sink.write_alerts(item.alerts)
                send_change(sink, store, change)  # the incident's current state, after its alerts
            except Exception as exc:  # kept locally; the sink's spool/replay is its own job
                logger.exception("sink failed on post %s:%s", item.forum, item.post_id)
                spider.fail("sink-error", f"post {item.forum}:{item.post_id} not sent to the sink "
                                          f"(kept locally): {exc}")
        notifier = self.context.notifier
        if notifier is not None:
            try:
                notify_post(notifier, store, item.alerts, change)
            except Exception as exc:
                logger.exception("notification failed")
                spider.fail("notify-error", f"alerts of post {item.forum}:{item.post_id}: {exc}")
        return item

    def keep_in_journal(self, item: Post) -> None:
        """The store failed: the post and its alerts wait in the journal for the next crawl."""
        from crawler.recovery import RecoveryJournal

        spider = self.spider
        if self.journal is None:
            self.journal = RecoveryJournal(self.store.path)
        try:
            where = self.journal.append(item, item.alerts)
        except OSError as exc:
            # The thread stays unsaved, so the next crawl fetches this post again.
            spider.fail("journal-failed", f"post {item.forum}:{item.post_id} not kept in the "
                                          f"recovery journal ({exc.strerror or exc}); the next "
                                          "crawl fetches it again")
            return
        self.stats.inc_value("darkwatch/posts_journaled")
        if where not in self.announced:
            self.announced.add(where)
            logger.warning("[%s] store failed: posts kept in the recovery journal %s; the next "
                           "crawl stores them", spider.name, where)
