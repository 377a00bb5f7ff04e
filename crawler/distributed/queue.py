"""The shared FIFO queue of one forum, with reliable pop: nothing popped is lost.

A pop moves the request atomically (one Lua script) from the queue into the forum's
``inflight`` hash under ``<worker>|<n>``; the worker acks (HDEL) once the request's callback
has finished and its follow-up requests are queued. A worker that dies stops renewing its
heartbeat key, and :func:`requeue_dead` moves its in-flight entries back to the head of the
queue. The round is done when queue and in-flight hash are both empty, read atomically.

Every write that is not idempotent is one Lua script carrying its own idempotency key, because
a Redis restart can run a command and lose its reply: the client cannot tell "done" from
"not done" and must be able to send it again. A push checks the duplicate filter, queues and
frees the request's in-flight slot at once, and runs only once per push id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from scrapy_redis.queue import Base

from crawler.distributed import keys

logger = logging.getLogger(__name__)

POP = """
local raw = redis.call('RPOP', KEYS[1])
if not raw then return false end
local field = ARGV[1] .. '|' .. redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], field, raw)
return {field, raw}
"""
REQUEUE = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
redis.call('RPUSH', KEYS[1], raw)
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[2], 1) end
return 1
"""
PUSH = """
local before = redis.call('HGET', KEYS[4], ARGV[4])
if before then return tonumber(before) end
local queued = 1
if ARGV[2] ~= '' and redis.call('SADD', KEYS[3], ARGV[2]) == 0 then
  queued = 0
else
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
if ARGV[3] ~= '' then redis.call('HDEL', KEYS[2], ARGV[3]) end
redis.call('HSET', KEYS[4], ARGV[4], queued)
return queued
"""
IDLE = """
return redis.call('LLEN', KEYS[1]) + redis.call('HLEN', KEYS[2])
"""


class ReliableQueue(Base):
    """scrapy-redis queue API (push/pop/len/clear) plus ack and token transfer."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None,
                 worker_id: str = "worker") -> None:
        super().__init__(server, spider, key, serializer)
        self.worker_id = worker_id
        self.inflight = keys.inflight(spider.name)
        self.pushed = keys.pushed(spider.name)
        self.dupefilter = keys.dupefilter(spider.name)
        self._pop = server.register_script(POP)
        self._push = server.register_script(PUSH)

    def __len__(self) -> int:
        return self.server.llen(self.key)

    def push(self, request: Any) -> None:
        self.push_once(request, uuid.uuid4().hex)

    def push_once(self, request: Any, push_id: str, fingerprint: str = "") -> bool:
        """Queue ``request`` unless ``fingerprint`` (if given) is already in the duplicate filter;
        either way free the in-flight slot it carries (a retry or redirect of a popped request).

        Sending it again with the same ``push_id`` after a lost reply is a no-op that answers as
        the first send did (it ran whole or not at all). False: dropped as a duplicate."""
        raw = self._encode_request(request)
        token = request.meta.get("darkwatch_token") or ""
        queued = self._push(keys=[self.key, self.inflight, self.dupefilter, self.pushed],
                            args=[raw, fingerprint, token, push_id])
        request.meta.pop("darkwatch_token", None)
        return bool(queued)

    def pop(self, timeout: int = 0) -> Any:
        got = self._pop(keys=[self.key, self.inflight, keys.tokens()], args=[self.worker_id])
        if not got:
            return None
        field, raw = got
        field = field.decode() if isinstance(field, bytes) else field
        try:
            request = self._decode_request(raw)
        except Exception as exc:  # a garbled or hostile entry must not wedge the round
            logger.error("dropping an unreadable request from %s: %s", self.key, exc)
            self.server.hdel(self.inflight, field)
            return None
        request.meta["darkwatch_token"] = field
        return request

    def ack(self, token: str | None) -> None:
        if token:
            self.server.hdel(self.inflight, token)


def round_pending(server: Any, forum: str) -> int:
    """Requests queued or in flight for ``forum`` (0: the round is over), read atomically."""
    return int(server.eval(IDLE, 2, keys.queue(forum), keys.inflight(forum)))


def requeue(server: Any, forum: str, pick: Callable[[str], bool], count_as: str = "") -> int:
    """Move the in-flight entries whose field ``pick`` selects back to the queue's head; each
    move adds one to the forum's stats counter ``count_as`` (if given) in the same script, so a
    resent move neither moves nor counts twice."""
    moved = 0
    for field in server.hkeys(keys.inflight(forum)):
        field = field.decode() if isinstance(field, bytes) else field
        if pick(field):
            moved += int(server.eval(REQUEUE, 3, keys.queue(forum), keys.inflight(forum),
                                     keys.stats(forum), field, count_as))
    return moved


def worker_of(field: str) -> str:
    return field.rsplit("|", 1)[0]


def requeue_dead(server: Any, forum: str) -> int:
    """Re-queue the in-flight requests of workers without a heartbeat."""
    alive: dict[str, bool] = {}

    def dead(field: str) -> bool:
        worker = worker_of(field)
        if worker not in alive:
            alive[worker] = bool(server.exists(keys.worker(worker)))
        return not alive[worker]

    moved = requeue(server, forum, dead, count_as="darkwatch/warnings/requeued")
    if moved:
        logger.warning("forum %s: re-queued %d in-flight request(s) of dead worker(s)", forum, moved)
    return moved
