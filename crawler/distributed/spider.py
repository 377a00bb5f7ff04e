"""The forum spider when several workers share one forum's crawl.

What is per-process in a local crawl becomes shared here: the URL budget and "already
scheduled" set live in Redis; board pages are seeded by the coordinator, not by each
worker; a login stays local to the worker that owns the session. Every request popped from
the shared queue is acked once its output (posts stored, follow-up requests queued) is through,
whatever callback handled it (:class:`AckMiddleware`), so a worker killed before that point
leaves the request in flight, to be re-queued.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import RedisError
from scrapy.exceptions import DropItem
from scrapy.http import Request

from crawler.distributed import keys
from crawler.distributed.scheduler import LOCAL
from crawler.spiders.forum import MAX_ERROR_SAMPLES, ForumSpider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.context import CrawlContext

logger = logging.getLogger(__name__)

ERRBACK = "darkwatch_errback"  # meta: the spider's own errback, called by on_error

@dataclass(frozen=True)
class AckMarker:
    """Trails a callback's output: acked by :class:`AckPipeline` once everything before it has
    been through the pipelines (``CONCURRENT_ITEMS=1``), and its follow-up requests queued.
    Scrapy reads a callback's whole output before processing it, so acking when the output
    ends would ack too early."""

    token: str


class AckPipeline:
    """First item pipeline of a worker: acks markers, passes everything else."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AckPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, AckMarker):
            cast("DistributedForumSpider", self.crawler.spider).ack_token(item.token)
            raise DropItem("acked", log_level="DEBUG")
        return item


class Acker:
    """The ack of one request's output: markers after its last item or request, at once when the
    callback raised, never while a relogin carries the request on (its retry hands the token
    over when it is re-queued)."""

    def __init__(self, spider: DistributedForumSpider, request: Request | None) -> None:
        self.spider = spider
        meta = request.meta if request is not None else {}
        # One acker per token: an errback's output (HTTP 401/403) also passes the middleware.
        self.tokens = [t for t in (meta.get("darkwatch_token"), meta.get("darkwatch_held"))
                       if t and t not in spider.acks_claimed]
        spider.acks_claimed.update(self.tokens)
        self.hold = False

    def see(self, out: Any) -> Any:
        if isinstance(out, Request):
            self.spider.route_errback(out)
        if isinstance(out, Request) and out.meta.get("darkwatch_kind") == "login":
            # A relogin carries this request on: its retry re-queues it (token handed
            # over then), so it stays in flight until the login is through.
            out.meta[LOCAL] = True
            self.hold = True
        return out

    def failed(self) -> None:
        """The callback raised: nothing more comes, ack now (unless a relogin holds it)."""
        if not self.hold:
            for t in self.tokens:
                self.spider.ack_token(t)
        self._release()

    def markers(self) -> list[AckMarker]:
        done = [] if self.hold else [AckMarker(t) for t in self.tokens]
        self._release()
        return done

    def _release(self) -> None:
        self.spider.acks_claimed.difference_update(self.tokens)
        self.tokens = []

    def wrap(self, output: Iterable[Any] | None) -> Iterator[Any]:
        try:
            for out in output or ():
                yield self.see(out)
        except Exception:
            self.failed()
            raise
        yield from self.markers()

    async def wrap_async(self, output: AsyncIterator[Any]) -> AsyncIterator[Any]:
        try:
            async for out in output:
                yield self.see(out)
        except Exception:
            self.failed()
            raise
        for marker in self.markers():
            yield marker


class AckMiddleware:
    """Spider middleware of a worker: every response's request is acked after the output of its
    callback, whatever the callback's name (a new callback needs no wiring)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AckMiddleware:
        return cls(crawler)

    @property
    def spider(self) -> DistributedForumSpider:
        return cast("DistributedForumSpider", self.crawler.spider)

    def process_spider_input(self, response: Response) -> None:
        self.spider.sync_round()

    async def process_spider_output(self, response: Response,
                                    result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for out in Acker(self.spider, response.request).wrap_async(result):
            yield out

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        # Raised before any output (or by a middleware): nothing to wait for.
        Acker(self.spider, response.request).failed()


class DistributedForumSpider(ForumSpider):
    sees_whole_crawl = False  # the round is shared with other workers

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        if context.redis is None:
            raise TypeError("a distributed spider needs the shared Redis client (context.redis)")
        self.redis = context.redis
        self.acks_claimed: set[str] = set()  # tokens an Acker is answering for right now
        self.ready = not self.forum_config.auth.login
        self.round_id: str | None = None
        self._round_checked = 0.0

    # -- rounds: a long-lived worker starts each round with a clean slate -------------------
    def sync_round(self) -> None:
        """Per-round state (pages seen, budget, relogins, "now") is reset when a new round
        starts; checked at most once a second."""
        now = time.monotonic()
        if now - self._round_checked < 1.0:
            return
        self._round_checked = now
        try:
            current = self.redis.get(keys.job(self.forum_config.name))
        except RedisError:
            return
        current = current.decode() if isinstance(current, bytes) else current
        if current and current != self.round_id:
            self.round_id = current
            self.seen.clear()
            self.dirty_threads.clear()
            self.pages_scheduled = 0
            self.relogins = 0
            self.login_failed = False  # a new round may log in again (password fixed since)
            self.now = datetime.now(UTC)

    # -- start: log in locally; the coordinator seeds the board pages ---------------------
    async def start(self):  # noqa: ANN201 - Scrapy's signature
        async for req in super().start():
            if req.meta.get("darkwatch_kind") == "login":
                req.meta[LOCAL] = True
                yield req

    def _after_auth(self, then: list[Request] | None):  # noqa: ANN202
        self.ready = True
        if then is not None:
            yield from then

    def handle_logged_out(self, response: Any):  # noqa: ANN201
        for req in super().handle_logged_out(response):
            req.meta["darkwatch_held"] = response.request.meta.get("darkwatch_token")
            yield req

    def on_login_error(self) -> None:
        # A login that cannot be fetched must not leave the worker idle for ever: go on, and
        # let the login wall be met (and reported, or relogged) on the pages themselves.
        self.ready = True

    # -- shared budget and dedupe ----------------------------------------------------------
    def _claim(self, url: str, force: bool = False) -> bool:
        forum = self.forum_config.name
        try:
            new = bool(self.redis.sadd(keys.seen(forum), url))
            if not new and not force:
                return False
            if int(self.redis.incr(keys.pages(forum))) > self.forum_config.max_pages:
                self.crawler.stats.inc_value("darkwatch/max_pages_reached")
                self.warn("max-pages", f"max_pages={self.forum_config.max_pages} reached; "
                                       f"not fetching {url}")
                return False
        except RedisError as exc:
            # Without Redis the worker cannot know whether another one took this URL; the
            # shared duplicate filter (buffered until Redis is back) still drops repeats.
            logger.error("forum %s: budget unavailable (%s); scheduling %s", forum, exc, url)
        self.seen.add(url)
        self.pages_scheduled += 1
        return True

    # -- acks ------------------------------------------------------------------------------
    def ack(self, request: Any) -> None:
        scheduler = getattr(getattr(self.crawler, "engine", None), "scheduler", None)
        if scheduler is not None and hasattr(scheduler, "ack"):
            scheduler.ack(request)

    def ack_token(self, token: str) -> None:
        self.ack(Request("data:,", meta={"darkwatch_token": token}))

    def route_errback(self, request: Request) -> None:
        """Every request fails through :meth:`on_error`, which acks: a download failure's output
        bypasses the spider middlewares. Another errback of this spider is kept by name (it
        travels through the shared queue like the callbacks) and called from there."""
        errback = request.errback
        if errback is None or errback == self.on_error or getattr(errback, "__self__", None) is not self:
            return  # no errback, already on_error, or not a method (not sendable anyway)
        request.meta[ERRBACK] = errback.__name__
        request.errback = self.on_error

    def on_error(self, failure: Any) -> Iterator[Any]:
        """The errback of every request: acks its output (an HTTP 401/403 one only once)."""
        self.sync_round()
        request = failure.request
        if request.meta.get("darkwatch_kind") == "login" and not self.ready:
            self.on_login_error()
        routed = request.meta.get(ERRBACK)
        # A name read back from the shared queue: only a public method of this spider.
        handler = getattr(self, routed, None) if isinstance(routed, str) and \
            not routed.startswith("_") and routed != "on_error" else None
        output = handler(failure) if callable(handler) else super().on_error(failure)
        yield from Acker(self, request).wrap(output)

    # -- failures are shared with the coordinator -------------------------------------------
    def fail(self, kind: str, message: str) -> None:
        super().fail(kind, message)
        try:
            pipe = self.redis.pipeline()
            pipe.rpush(keys.errors(self.forum_config.name), json.dumps({"kind": kind, "message": message}))
            pipe.ltrim(keys.errors(self.forum_config.name), 0, MAX_ERROR_SAMPLES - 1)
            pipe.execute()
        except RedisError:
            pass  # the count still reaches the coordinator through the stats mirror
