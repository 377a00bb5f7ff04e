"""The forum spider when several workers share one forum's crawl.

What is per-process in a local crawl becomes shared here: the URL budget and "already
scheduled" set live in Redis; board pages are seeded by the coordinator, not by each
worker; a login stays local to the worker that owns the session. Each callback acks its
request once its output (posts stored, follow-up requests queued) is through, so a
worker killed before that point leaves the request in flight, to be re-queued.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from scrapy.exceptions import DropItem
from scrapy.http import Request

from crawler.distributed import keys
from crawler.distributed.scheduler import LOCAL
from crawler.spiders.forum import MAX_ERROR_SAMPLES, ForumSpider

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AckMarker:
    """Yielded after a callback's last output: acked by :class:`AckPipeline` once everything
    before it has been through the pipelines (``CONCURRENT_ITEMS=1``), and its follow-up
    requests queued. Scrapy reads a callback's whole output before processing it, so acking
    at the end of the generator would ack too early."""

    token: str


class AckPipeline:
    """First item pipeline of a worker: acks markers, passes everything else."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> AckPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, AckMarker):
            self.crawler.spider.ack_token(item.token)
            raise DropItem("acked", log_level="DEBUG")
        return item


def acking(method: Callable[..., Any]) -> Callable[..., Any]:
    """Ack the request after the callback's output has been processed (or when it raised)."""

    @functools.wraps(method)
    def wrapper(self: DistributedForumSpider, response_or_failure: Any, *a: Any, **kw: Any) -> Iterator:
        request = getattr(response_or_failure, "request", None)
        meta = getattr(request, "meta", {}) if request is not None else {}
        tokens = [t for t in (meta.get("darkwatch_token"), meta.get("darkwatch_held")) if t]
        self.sync_round()
        hold = False
        try:
            for out in method(self, response_or_failure, *a, **kw) or ():
                if isinstance(out, Request) and out.meta.get("darkwatch_kind") == "login":
                    # A relogin carries this request on: its retry re-queues it (token
                    # handed over then), so it stays in flight until the login is through.
                    out.meta[LOCAL] = True
                    hold = True
                yield out
        except Exception:
            if not hold:
                for t in tokens:
                    self.ack_token(t)
            raise
        if not hold:
            for t in tokens:
                yield AckMarker(t)

    return wrapper


class DistributedForumSpider(ForumSpider):
    def __init__(self, *args: Any, redis: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis = redis
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

    def on_error(self, failure: Any):  # noqa: ANN201
        if failure.request.meta.get("darkwatch_kind") == "login" and not self.ready:
            self.on_login_error()
        yield from ForumSpider.on_error(self, failure)

    parse_board = acking(ForumSpider.parse_board)
    parse_thread = acking(ForumSpider.parse_thread)
    parse_login_page = acking(ForumSpider.parse_login_page)
    after_login = acking(ForumSpider.after_login)
    on_error = acking(on_error)

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
