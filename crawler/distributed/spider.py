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
from collections.abc import Callable, Iterator
from typing import Any

from redis.exceptions import RedisError
from scrapy.http import Request

from crawler.distributed import keys
from crawler.distributed.scheduler import LOCAL
from crawler.spiders.forum import MAX_ERROR_SAMPLES, ForumSpider

logger = logging.getLogger(__name__)


def acking(method: Callable[..., Any]) -> Callable[..., Any]:
    """Ack the request once the callback's output has been consumed (or it raised)."""

    @functools.wraps(method)
    def wrapper(self: DistributedForumSpider, response_or_failure: Any, *a: Any, **kw: Any) -> Iterator:
        request = getattr(response_or_failure, "request", None)
        hold = False
        try:
            for out in method(self, response_or_failure, *a, **kw) or ():
                if isinstance(out, Request) and out.meta.get("darkwatch_kind") == "login":
                    # A relogin carries this request on: its retry re-queues it (token
                    # handed over then), so it stays in flight until the login is through.
                    out.meta[LOCAL] = True
                    hold = True
                yield out
        finally:
            if request is not None and not hold:
                self.ack(request)
            held = getattr(request, "meta", {}).get("darkwatch_held") if request is not None else None
            if held and not hold:
                self.ack_token(held)

    return wrapper


class DistributedForumSpider(ForumSpider):
    def __init__(self, *args: Any, redis: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis = redis
        self.ready = not self.forum_config.auth.login

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

    parse_board = acking(ForumSpider.parse_board)
    parse_thread = acking(ForumSpider.parse_thread)
    parse_login_page = acking(ForumSpider.parse_login_page)
    after_login = acking(ForumSpider.after_login)
    on_error = acking(ForumSpider.on_error)

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
