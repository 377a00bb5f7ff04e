"""scrapy-redis's scheduler, made safe for darkwatch's workers.

On top of scrapy-redis (shared queue, shared RFP duplicate filter):

- requests marked local (logins: a session belongs to one worker) stay in this process;
- shared requests are taken only once the worker's session is ready (logged in);
- Redis down: pushes are buffered in memory and retried, pops return nothing; the worker
  waits instead of dying, and no request is lost while it lives;
- a push is checked against the duplicate filter and queued in one idempotent step, so a push
  whose reply a Redis restart lost is sent again safely (never dropped as "already seen");
- the queue is :class:`~crawler.distributed.queue.ReliableQueue` (pop to in-flight, ack).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from typing import Any, Protocol, runtime_checkable

from redis.exceptions import RedisError
from scrapy_redis.scheduler import Scheduler

from crawler.distributed import codec
from crawler.distributed.queue import ReliableQueue, requeue, worker_of

logger = logging.getLogger(__name__)

LOCAL = "_dw_local"


@runtime_checkable
class QueueSpider(Protocol):
    """What the shared queue needs from the spider it feeds (DistributedForumSpider has it).

    ``ready``: False until the worker's login took (nothing is popped before: a page fetched
    anonymously would be read as an empty forum). ``cookies``: the session every popped
    request carries. ``on_dropped``: a request dropped as already seen is reported.
    """

    name: str
    ready: bool
    cookies: list[dict[str, Any]]

    def on_dropped(self, request: Any, spider: Any = None) -> None: ...


class DistributedScheduler(Scheduler):
    def __init__(self, *args: Any, worker_id: str = "worker", **kwargs: Any) -> None:
        kwargs.setdefault("serializer", codec)
        super().__init__(*args, **kwargs)
        self.worker_id = worker_id
        self.local: deque[Any] = deque()
        # Shared requests waiting for Redis, each with the push id that makes a resend a no-op.
        self.unsent: deque[tuple[Any, str]] = deque()
        self.unacked: deque[str] = deque()  # acks waiting for Redis to come back
        self.held: set[str] = set()  # tokens popped by this worker, not yet acked or handed back
        self._redis_down_since: float | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> DistributedScheduler:  # type: ignore[override]
        inst = super().from_settings(settings)
        inst.worker_id = settings.get("DARKWATCH_WORKER_ID", "worker")
        inst.serializer = codec
        return inst

    def open(self, spider: Any) -> None:
        if not isinstance(spider, QueueSpider):
            raise TypeError(f"{type(spider).__name__} cannot run on the shared queue: it needs "
                            "ready, cookies and on_dropped (subclass DistributedForumSpider)")
        self.spider: QueueSpider = spider
        self.queue = ReliableQueue(self.server, spider, self.queue_key % {"spider": spider.name},
                                   codec, worker_id=self.worker_id)
        if not self.df:
            from scrapy_redis.dupefilter import RFPDupeFilter

            self.df = RFPDupeFilter(self.server, self.dupefilter_key % {"spider": spider.name})
        self.queue.dupefilter = self.df.key  # checked by the push script, with the push

    def close(self, reason: str) -> None:
        # The shared queue outlives any worker: never flush it here (the coordinator owns it).
        if self.unsent:
            logger.error("worker closing with %d request(s) not yet sent to Redis", len(self.unsent))

    # -- enqueue ---------------------------------------------------------------------------
    def enqueue_request(self, request: Any) -> bool:
        if request.meta.get(LOCAL):
            self.local.append(request)
            return True
        self.unsent.append((request, uuid.uuid4().hex))
        self._flush_unsent()
        return True

    def _flush_unsent(self) -> None:
        while self.unsent:
            request, push_id = self.unsent[0]
            token = request.meta.get("darkwatch_token")
            try:
                fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
                if self.queue.push_once(request, push_id, fingerprint):
                    if self.stats:
                        self.stats.inc_value("scheduler/enqueued/redis")
                else:
                    # A redirect/retry of an in-flight request that lands on a page already
                    # seen ends here (its slot was freed with the check).
                    self.spider.on_dropped(request)  # a redirect loop is reported, not swallowed
                    if self.stats:
                        self.stats.inc_value("dupefilter/filtered")
            except RedisError as exc:
                self._down(exc)
                return
            except (TypeError, ValueError) as exc:  # not serialisable: drop it loudly, free its slot
                logger.error("request %s cannot be queued (%s); dropped", request.url, exc)
                try:
                    self.queue.ack(token)
                except RedisError as down:
                    self._down(down)
                    return
                request.meta.pop("darkwatch_token", None)
            self.held.discard(token)
            self.unsent.popleft()
            self._up()

    # -- dequeue ---------------------------------------------------------------------------
    def next_request(self) -> Any:
        if self.local:
            return self.local.popleft()
        if self.unsent:
            self._flush_unsent()
        if not self.unsent:  # acks only after the follow-ups they vouch for are queued
            self._flush_acks()
        if not self.spider.ready:
            return None
        try:
            request = self.queue.pop()
        except RedisError as exc:
            self._down(exc)
            return None
        self._up()
        if request is not None:
            self.held.add(request.meta["darkwatch_token"])
            if self.stats:
                self.stats.inc_value("scheduler/dequeued/redis")
            if self.spider.cookies and not request.cookies:
                request.cookies = self.spider.cookies
        return request

    def has_pending_requests(self) -> bool:
        if self.local or self.unsent or self.unacked:
            return True
        try:
            return len(self.queue) > 0
        except RedisError as exc:
            self._down(exc)
            return False

    def ack(self, request: Any) -> None:
        token = request.meta.pop("darkwatch_token", None)
        if token:
            self.held.discard(token)
            self.unacked.append(token)
            if not self.unsent:
                self._flush_acks()

    def _flush_acks(self) -> None:
        while self.unacked:
            try:
                self.queue.ack(self.unacked[0])
            except RedisError as exc:  # kept: retried on the next scheduler call
                self._down(exc)
                return
            self.unacked.popleft()

    def reconcile(self) -> int:
        """Re-queue this worker's in-flight entries it does not hold: a pop whose reply was lost
        (Redis went away mid-call) left one behind, and this worker's heartbeat keeps it from
        the dead-worker sweep. Runs on the reactor thread, so no pop is half-done meanwhile."""
        try:
            moved = requeue(self.server, self.spider.name,
                            lambda f: (worker_of(f) == self.worker_id and f not in self.held
                                       and f not in self.unacked))
        except RedisError as exc:
            self._down(exc)
            return 0
        if moved:
            logger.warning("re-queued %d orphaned in-flight request(s) of this worker", moved)
        return moved

    # -- Redis health ----------------------------------------------------------------------
    def _down(self, exc: Exception) -> None:
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            logger.error("Redis unavailable (%s): waiting and retrying; %d request(s) buffered",
                         exc, len(self.unsent))

    def _up(self) -> None:
        if self._redis_down_since is not None:
            logger.warning("Redis is back after %.0fs", time.monotonic() - self._redis_down_since)
            self._redis_down_since = None
