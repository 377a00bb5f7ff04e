"""The reliable queue and scheduler against a real redis-server: pop, ack, hand-over, dead workers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import redis
from scrapy.http import Request
from scrapy.settings import Settings

from crawler.distributed import keys
from crawler.distributed.queue import requeue_dead, round_pending
from crawler.distributed.scheduler import DistributedScheduler
from crawler.distributed.worker import client_params
from tests.support.reply_cutter import ReplyCutter


class Spider(SimpleNamespace):
    """Just what the scheduler needs (QueueSpider): a name, readiness, no cookies, and where
    dropped requests are reported; callbacks by name."""

    def parse_board(self, response):  # pragma: no cover - never called here
        return None

    def on_dropped(self, request, spider=None) -> None:
        self.dropped.append(request.url)


def scheduler(url: str, worker: str, params: dict | None = None) -> tuple[DistributedScheduler, Spider]:
    settings = Settings({"REDIS_URL": url, "DARKWATCH_WORKER_ID": worker,
                         **({"REDIS_PARAMS": params} if params is not None else {}),
                         "SCHEDULER_QUEUE_KEY": keys.queue("%(spider)s"),
                         "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter("%(spider)s"),
                         "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter"})
    s = DistributedScheduler.from_settings(settings)
    spider = Spider(name="f", ready=True, cookies=[], dropped=[])
    s.open(spider)
    return s, spider


def req(spider: Spider, url: str) -> Request:
    return Request(url, callback=spider.parse_board)


def test_pop_moves_to_inflight_and_ack_frees_it(redis_server):
    s, spider = scheduler(redis_server.url, "w1")
    s.enqueue_request(req(spider, "http://127.0.0.1/a"))
    assert round_pending(s.server, "f") == 1
    got = s.next_request()
    assert got.url == "http://127.0.0.1/a" and got.meta["darkwatch_token"].startswith("w1|")
    assert round_pending(s.server, "f") == 1  # in flight, not done
    s.ack(got)
    assert round_pending(s.server, "f") == 0


def test_a_redirect_to_a_page_already_seen_frees_its_slot(redis_server):
    s, spider = scheduler(redis_server.url, "w1")
    s.enqueue_request(req(spider, "http://127.0.0.1/a"))
    s.enqueue_request(req(spider, "http://127.0.0.1/b"))
    first = s.next_request()
    # "a" redirects to "b" (already queued): the duplicate is dropped, its token released.
    s.enqueue_request(first.replace(url="http://127.0.0.1/b"))
    assert round_pending(s.server, "f") == 1  # only "b" left
    assert spider.dropped == ["http://127.0.0.1/b"]  # reported, not swallowed
    second = s.next_request()
    s.ack(second)
    assert round_pending(s.server, "f") == 0


def test_a_retry_hands_its_slot_back_to_the_queue(redis_server):
    s, spider = scheduler(redis_server.url, "w1")
    s.enqueue_request(req(spider, "http://127.0.0.1/a"))
    got = s.next_request()
    s.enqueue_request(got.replace(dont_filter=True))  # RetryMiddleware's copy keeps the meta
    client = redis.Redis.from_url(redis_server.url)
    assert client.hlen(keys.inflight("f")) == 0 and client.llen(keys.queue("f")) == 1
    s.ack(s.next_request())
    assert round_pending(s.server, "f") == 0


def test_requests_of_a_dead_worker_are_requeued_not_those_of_a_live_one(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    dead, _ = scheduler(redis_server.url, "dead")
    live, spider = scheduler(redis_server.url, "live")
    for u in ("http://127.0.0.1/1", "http://127.0.0.1/2"):
        dead.enqueue_request(req(spider, u))
    client.set(keys.worker("live"), "1", ex=30)  # "dead" never heart-beats
    dead.next_request()
    live.next_request()
    assert requeue_dead(client, "f") == 1
    assert client.llen(keys.queue("f")) == 1 and client.hlen(keys.inflight("f")) == 1
    assert client.hget(keys.stats("f"), "darkwatch/warnings/requeued") == b"1"


def test_redis_down_buffers_pushes_and_acks(redis_server):
    s, spider = scheduler(redis_server.url, "w1")
    s.enqueue_request(req(spider, "http://127.0.0.1/a"))
    got = s.next_request()
    redis_server.stop()
    s.enqueue_request(req(spider, "http://127.0.0.1/child"))  # buffered, not lost
    s.ack(got)  # buffered too
    assert s.next_request() is None and s.has_pending_requests()
    assert len(s.unsent) == 1 and len(s.unacked) == 1


def test_an_orphaned_pop_of_a_live_worker_is_requeued(redis_server):
    """Redis went away mid-pop: the entry moved to in-flight but the worker never got it."""
    from crawler.distributed.queue import POP

    s, spider = scheduler(redis_server.url, "w1")
    s.enqueue_request(req(spider, "http://127.0.0.1/a"))
    s.enqueue_request(req(spider, "http://127.0.0.1/b"))
    held = s.next_request()  # a real pop: held by the worker
    client = redis.Redis.from_url(redis_server.url)
    client.eval(POP, 3, keys.queue("f"), keys.inflight("f"), keys.tokens(), "w1")  # reply "lost"
    assert client.llen(keys.queue("f")) == 0 and client.hlen(keys.inflight("f")) == 2
    assert s.reconcile() == 1  # the orphan only, not the request the worker holds
    assert client.llen(keys.queue("f")) == 1
    s.ack(held)
    assert round_pending(client, "f") == 1


# The worker's own clients (no resend) and scrapy-redis's default client (retry_on_timeout: it
# re-sends a command once after a dropped connection): both must queue the request once.
CLIENTS = pytest.mark.parametrize("params", [client_params(), None],
                                  ids=["worker", "scrapy-redis-defaults"])


def flush_until_sent(s: DistributedScheduler) -> None:
    """What next_request does while Redis is away: try the buffered pushes again."""
    for _ in range(20):
        if not s.unsent:
            return
        s._flush_unsent()
    raise AssertionError("the push never went through")


@CLIENTS
def test_a_push_whose_reply_was_lost_is_queued_once(redis_server, params):
    """Redis ran the duplicate check and the push, then the connection dropped before the reply
    (a restart does that): the retry must neither drop the request as "already seen" nor queue
    it twice."""
    cutter = ReplyCutter(redis_server.port)
    try:
        s, spider = scheduler(cutter.url, "w1", params)
        s.enqueue_request(req(spider, "http://127.0.0.1/parent"))  # the script is loaded now
        assert s.next_request().url == "http://127.0.0.1/parent"
        cutter.arm(keys.dupefilter("f").encode())
        s.enqueue_request(req(spider, "http://127.0.0.1/child"))
        flush_until_sent(s)
        assert cutter.cut == 1
        assert spider.dropped == []
        assert s.server.llen(keys.queue("f")) == 1
        assert s.next_request().url == "http://127.0.0.1/child"
        # The filter still works: the same page again is dropped.
        s.enqueue_request(req(spider, "http://127.0.0.1/child"))
        assert spider.dropped == ["http://127.0.0.1/child"] and not s.unsent
    finally:
        cutter.close()


@CLIENTS
def test_a_retry_whose_reply_was_lost_is_queued_once_and_frees_its_slot(redis_server, params):
    """A retry (not filtered) of an in-flight request: handed back once, slot freed."""
    cutter = ReplyCutter(redis_server.port)
    try:
        s, spider = scheduler(cutter.url, "w1", params)
        s.enqueue_request(req(spider, "http://127.0.0.1/a"))
        got = s.next_request()
        cutter.arm(keys.pushed("f").encode())
        s.enqueue_request(got.replace(dont_filter=True))
        flush_until_sent(s)
        assert cutter.cut == 1
        assert s.server.llen(keys.queue("f")) == 1 and s.server.hlen(keys.inflight("f")) == 0
        s.ack(s.next_request())
        assert round_pending(s.server, "f") == 0
    finally:
        cutter.close()


@CLIENTS
def test_a_duplicate_whose_reply_was_lost_is_still_reported_as_one(redis_server, params):
    """A redirect to a page already queued, and the reply lost: the resend answers as the first
    send did (dropped as a duplicate, reported once), and its slot is free."""
    cutter = ReplyCutter(redis_server.port)
    try:
        s, spider = scheduler(cutter.url, "w1", params)
        s.enqueue_request(req(spider, "http://127.0.0.1/a"))
        s.enqueue_request(req(spider, "http://127.0.0.1/b"))
        first = s.next_request()
        cutter.arm(keys.pushed("f").encode())
        s.enqueue_request(first.replace(url="http://127.0.0.1/b"))
        flush_until_sent(s)
        assert cutter.cut == 1 and spider.dropped == ["http://127.0.0.1/b"]
        assert round_pending(s.server, "f") == 1  # only "b" left
    finally:
        cutter.close()


@CLIENTS
def test_a_pop_whose_reply_was_lost_comes_back_once(redis_server, params):
    """The pop ran (the request moved to this worker's in-flight hash) and the reply was lost:
    the worker's reconcile hands it back; nothing is held twice or lost."""
    cutter = ReplyCutter(redis_server.port)
    try:
        s, spider = scheduler(cutter.url, "w1", params)
        for u in ("http://127.0.0.1/a", "http://127.0.0.1/b"):
            s.enqueue_request(req(spider, u))
        first = s.next_request()  # the pop script is loaded now
        cutter.arm(keys.tokens().encode())
        second = s.next_request()  # redis-py re-sends the pop itself; the worker's client does not
        assert cutter.cut == 1
        assert s.reconcile() == 1  # the pop whose reply was lost
        third = s.next_request()
        got = [r.url for r in (first, second, third) if r is not None]
        assert sorted(got) == ["http://127.0.0.1/a", "http://127.0.0.1/b"]
        for r in (first, second, third):
            if r is not None:
                s.ack(r)
        assert round_pending(s.server, "f") == 0
    finally:
        cutter.close()


def _scrapy_redis_client(url: str, params: dict | None):
    from scrapy_redis.connection import get_redis_from_settings

    return get_redis_from_settings(Settings({"REDIS_URL": url,
                                             **({"REDIS_PARAMS": params} if params else {})}))


@pytest.mark.parametrize("make", ["wait_for_redis", "scrapy-redis"])
def test_the_workers_clients_do_not_resend_a_command_whose_reply_was_lost(redis_server, make):
    """A Redis restart can run a command and lose its reply. scrapy-redis's default client sends
    it again (a SADD that then answers "already there" made a worker skip a page); the worker's
    clients raise instead, and each caller decides what a retry means."""
    from crawler.distributed.worker import wait_for_redis

    cutter = ReplyCutter(redis_server.port)
    try:
        if make == "wait_for_redis":  # the spider's and the heartbeat's client
            client = wait_for_redis(cutter.url, lambda s: None, params=client_params())
        else:  # the scheduler's, duplicate filter's, rate limiter's and stats mirror's
            client = _scrapy_redis_client(cutter.url, client_params())
        cutter.arm(b"probe-set")
        with pytest.raises(redis.ConnectionError):
            client.sadd("probe-set", "x")
        assert client.scard("probe-set") == 1  # it ran, once
        # The default client, for contrast: the resend answers "already there", silently.
        default = _scrapy_redis_client(cutter.url, None)
        cutter.arm(b"probe-two")
        assert default.sadd("probe-two", "x") == 0 and cutter.cut == 2
    finally:
        cutter.close()


def test_a_requeue_whose_reply_was_lost_moves_and_counts_once(redis_server):
    """A dead worker's request re-queued by a command whose reply was lost is moved once and
    counted once in the report (the move and the count are one script)."""
    client = redis.Redis.from_url(redis_server.url)
    dead, spider = scheduler(redis_server.url, "dead")
    dead.enqueue_request(req(spider, "http://127.0.0.1/1"))
    dead.next_request()  # in flight; "dead" never heart-beats
    cutter = ReplyCutter(redis_server.port)
    try:
        cutter.arm(b"warnings/requeued")
        with pytest.raises(redis.ConnectionError):  # the coordinator's poll says so and goes on
            requeue_dead(redis.Redis.from_url(cutter.url), "f")
        assert cutter.cut == 1
        assert requeue_dead(redis.Redis.from_url(cutter.url), "f") == 0  # the next poll
    finally:
        cutter.close()
    assert client.llen(keys.queue("f")) == 1 and client.hlen(keys.inflight("f")) == 0
    assert client.hget(keys.stats("f"), "darkwatch/warnings/requeued") == b"1"
