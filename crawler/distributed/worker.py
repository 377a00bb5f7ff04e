"""``darkwatch worker``: a long-running process that crawls whatever the shared queues hold.

One Scrapy crawler per enabled forum, all in one reactor, each with the distributed
scheduler; the worker's own Tor client (or the configured one) carries its traffic. The
worker heartbeats in Redis; when it stops (SIGTERM) it hands its in-flight requests back,
and when it dies the coordinator (or any other worker) re-queues them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crawler.config import Config, ForumConfig
from crawler.context import CrawlContext
from crawler.distributed import keys
from crawler.distributed.queue import requeue, requeue_dead, worker_of

if TYPE_CHECKING:
    from scrapy.settings import Settings

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 2.0
WAKE_EVERY = 0.5  # an idle Scrapy engine looks at its scheduler only every 5 s
REQUEUE_EVERY = 5.0
HANDLER = "crawler.distributed.ratelimit.RateLimitedDownloadHandler"
DEFAULT_HTTP = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


def default_worker_id() -> str:
    # A random part: a restarted container has the same host name and pid 1, and must not
    # look like the worker whose in-flight requests it should re-queue.
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def worker_settings(settings: Settings, cfg: Config, forum: ForumConfig, direct: bool,
                    redis_url: str, worker_id: str) -> None:
    """A local crawl's settings (layered over ``settings``), with the queue, duplicate filter,
    stats and rate in Redis, and every request acked after its output."""
    from crawler.crawl import add_components, forum_settings
    from crawler.distributed.spider import AckMiddleware, AckPipeline

    forum_settings(settings, cfg, forum, direct)
    inner = settings.getdict("DOWNLOAD_HANDLERS").get("http") or DEFAULT_HTTP
    settings.setdict({
        "SCHEDULER": "crawler.distributed.scheduler.DistributedScheduler",
        "SCHEDULER_QUEUE_KEY": keys.queue("%(spider)s"),
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter("%(spider)s"),
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": redis_url,
        "REDIS_PARAMS": client_params(),
        "DARKWATCH_WORKER_ID": worker_id,
        "STATS_CLASS": "crawler.distributed.stats.RedisMirrorStatsCollector",
        # Politeness is global (Redis slots); a per-worker delay on top would only slow down.
        "DOWNLOAD_DELAY": 0,
        "DARKWATCH_GLOBAL_DELAY": forum.delay,
        "DARKWATCH_RATE_INNER_HANDLER": inner,
        "DOWNLOAD_HANDLERS": {**settings.getdict("DOWNLOAD_HANDLERS"),
                              "http": HANDLER, "https": HANDLER},
        "CLOSESPIDER_PAGECOUNT": 0,  # the budget is per round, in Redis
        # In order, one at a time: a request's ack marker is processed after its posts are
        # stored and its follow-up requests queued (see crawler.distributed.spider.AckMarker).
        "CONCURRENT_ITEMS": 1,
    }, priority="spider")
    add_components(settings, "ITEM_PIPELINES", {AckPipeline: 10})
    # Closest to the engine: it sees the output every other spider middleware let through.
    add_components(settings, "SPIDER_MIDDLEWARES", {AckMiddleware: 0})


def client_params() -> dict[str, Any]:
    """Options of every Redis client of a worker. No automatic resend (scrapy-redis's default
    client re-sends a command once when its connection drops): after a Redis restart that
    command may already have run (a pop, a push, a counter). darkwatch's calls each handle
    RedisError themselves, retrying idempotently, without blocking the reactor in a backoff."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_timeout": 30, "socket_connect_timeout": 10, "health_check_interval": 30,
            "retry": Retry(NoBackoff(), 0)}


def requeue_own(server: Any, forum: str, worker_id: str) -> int:
    """On a clean stop: hand this worker's in-flight requests back at once."""
    return requeue(server, forum, lambda field: worker_of(field) == worker_id)


def run_worker(cfg: Config, redis_url: str, forum_names: list[str] | None = None,
               direct: bool = False, worker_id: str | None = None,
               exit_when_idle: float | None = None, log_level: str = "WARNING",
               progress: Callable[[str], None] = lambda s: None) -> int:
    import redis
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.exceptions import DontCloseSpider
    from twisted.internet import task

    from crawler.crawl import open_notifier, prepare, replay_journal, select_forums
    from crawler.distributed.spider import DistributedForumSpider
    from crawler.sinks import open_sink, open_state

    worker_id = worker_id or default_worker_id()
    forums = select_forums(cfg, forum_names)
    server = wait_for_redis(redis_url, progress, params=client_params())
    rules, tor = prepare(cfg, forums, direct, progress)
    store = open_state(cfg)
    sink = open_sink(cfg, store)
    notifier = open_notifier(cfg)
    replay_journal(store, sink, notifier, progress)  # posts a failed store left in the journal
    from crawler.sinks.es_incidents import adopt_before_crawl

    adopt_before_crawl(sink, store)  # statuses analysts set in Kibana, before any escalation
    process = CrawlerProcess({"LOG_LEVEL": log_level, "TELNETCONSOLE_ENABLED": False,
                              "REMOTE_CONTROL_ENABLED": False})  # no listening socket
    state = {"idle_since": None, "stopping": False}

    def heartbeat() -> None:
        try:
            server.set(keys.worker(worker_id), str(time.time()), ex=keys.HEARTBEAT_TTL)
        except redis.RedisError as exc:
            logger.error("worker %s: heartbeat failed (%s)", worker_id, exc)

    def housekeeping() -> None:
        for crawler in crawlers:
            sched = getattr(getattr(crawler, "engine", None), "scheduler", None)
            if sched is not None and hasattr(sched, "reconcile"):
                sched.reconcile()
        try:
            for f in forums:
                requeue_dead(server, f.name)
            busy = any(server.exists(keys.job(f.name)) for f in forums)
        except redis.RedisError:
            return
        if exit_when_idle is None:
            return
        now = time.monotonic()
        if busy:
            state["idle_since"] = None
        elif state["idle_since"] is None:
            state["idle_since"] = now
        elif now - state["idle_since"] >= exit_when_idle and not state["stopping"]:
            state["stopping"] = True
            progress(f"worker {worker_id}: no crawl round for {exit_when_idle:.0f}s, exiting")
            process.stop()

    def keep_open(spider: Any) -> None:
        if not state["stopping"]:
            raise DontCloseSpider

    def closed(spider: Any) -> None:
        stats = spider.crawler.stats
        pages = stats.get_value("darkwatch/pages_board", 0) + stats.get_value("darkwatch/pages_thread", 0)
        progress(f"worker {worker_id}: {spider.name}: {pages} pages, "
                 f"{stats.get_value('darkwatch/posts_new', 0)} new posts")
        try:
            n = requeue_own(server, spider.name, worker_id)
            if n:
                logger.warning("worker %s: handed %d in-flight request(s) of %s back",
                               worker_id, n, spider.name)
        except redis.RedisError as exc:
            logger.error("worker %s: could not hand requests back (%s); they will be re-queued "
                         "when this worker's heartbeat expires", worker_id, exc)

    crawlers: list[Any] = []

    def wake() -> None:
        # Private but stable since Scrapy 2.0: the engine's "look for work" call. Without it
        # a seeded round waits up to 5 s for each worker's next idle heartbeat.
        for crawler in crawlers:
            slot = getattr(getattr(crawler, "engine", None), "_slot", None)
            if slot is not None and not state["stopping"]:
                slot.nextcall.schedule()

    heartbeat()
    try:
        for forum in forums:
            crawler = process.create_crawler(DistributedForumSpider)
            worker_settings(crawler.settings, cfg, forum, direct, redis_url, worker_id)
            crawler.settings.set("LOG_LEVEL", log_level, priority="cmdline")
            crawlers.append(crawler)
            crawler.signals.connect(keep_open, signals.spider_idle)
            crawler.signals.connect(closed, signals.spider_closed)
            process.crawl(crawler, context=CrawlContext(
                config=cfg, forum=forum, store=store, sink=sink, notifier=notifier, rules=rules,
                redis=server))
        beats = task.LoopingCall(heartbeat)
        chores = task.LoopingCall(housekeeping)
        from twisted.internet import reactor

        reactor.callWhenRunning(beats.start, HEARTBEAT_EVERY, now=False)
        reactor.callWhenRunning(chores.start, REQUEUE_EVERY, now=False)
        reactor.callWhenRunning(task.LoopingCall(wake).start, WAKE_EVERY, now=False)

        def shutting_down() -> None:
            state["stopping"] = True

        reactor.addSystemEventTrigger("before", "shutdown", shutting_down)
        progress(f"worker {worker_id}: waiting for work on {redis_url_safe(redis_url)} "
                 f"({', '.join(f.name for f in forums)})")
        process.start()
    finally:
        with contextlib.suppress(redis.RedisError):
            server.delete(keys.worker(worker_id))
        for closer in (sink.flush, notifier.close if notifier is not None else None,
                       sink.close if not sink.is_state_store else None,  # store.close below
                       getattr(tor, "close", None), store.close):
            if closer is not None:
                try:
                    closer()
                except Exception:
                    logger.exception("error while closing %s", closer)
    return 0


def redis_url_safe(url: str) -> str:
    """The URL without its password, for logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def wait_for_redis(url: str, progress: Callable[[str], None], timeout: float | None = None,
                   params: dict[str, Any] | None = None) -> Any:
    """A connected client; waits (and says so) while Redis is down, up to ``timeout``."""
    import redis

    client = redis.Redis.from_url(url, **(params or {"socket_timeout": 30,
                                                    "socket_connect_timeout": 10,
                                                    "health_check_interval": 30}))
    t0 = time.monotonic()
    said = False
    while True:
        try:
            client.ping()
            return client
        except redis.RedisError as exc:
            if timeout is not None and time.monotonic() - t0 >= timeout:
                raise ConnectionError(f"Redis at {redis_url_safe(url)} unavailable: {exc}") from None
            if not said:
                progress(f"Redis at {redis_url_safe(url)} unavailable ({exc}); retrying")
                said = True
            time.sleep(1.0)
