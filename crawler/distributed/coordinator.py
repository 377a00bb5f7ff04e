"""``darkwatch crawl --distributed``: one crawl round of the forums, run by the workers.

The coordinator fetches nothing itself: it takes each forum's lock in Redis (a second
coordinator skips that forum, as a second local crawl would), clears the forum's round
state, seeds its board pages, then waits until the queue and the in-flight hash are both
empty, re-queueing the requests of dead workers meanwhile. The report and the ``runs``
table are the same as a local crawl's.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from crawler.config import Config, ForumConfig
from crawler.crawl import (
    CrawlRefused,
    CrawlResult,
    ForumResult,
    load_rules,
    precheck,
    select_forums,
)
from crawler.distributed import codec, keys
from crawler.distributed.queue import requeue_dead, round_pending
from crawler.exitcodes import ExitCode

logger = logging.getLogger(__name__)

EXIT_QUEUE_UNAVAILABLE = ExitCode.QUEUE
LOCK_TTL = 60  # seconds; renewed while the round runs, so a dead coordinator frees it soon
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def seed_request(url: str) -> bytes:
    """A board-page request as a worker's spider would build it (callbacks by name)."""
    return codec.dumps({
        "url": url, "callback": "parse_board", "errback": "on_error", "method": "GET",
        "headers": {}, "body": b"", "cookies": {}, "meta": {"darkwatch_kind": "board"},
        "encoding": "utf-8", "priority": 0, "dont_filter": False, "flags": [], "cb_kwargs": {},
    })


def live_workers(server: Any) -> int:
    return sum(1 for _ in server.scan_iter(match=keys.worker("*"), count=100))


def start_round(server: Any, forum: ForumConfig) -> None:
    name = forum.name
    server.delete(*keys.job_keys(name), keys.inflight(name))
    pipe = server.pipeline(transaction=True)
    for url in forum.start_urls:
        pipe.sadd(keys.seen(name), url)
        pipe.incr(keys.pages(name))
        pipe.lpush(keys.queue(name), seed_request(url))
    pipe.execute()


def round_result(server: Any, forum: str, duration: float, timed_out: bool) -> ForumResult:
    raw = {k.decode() if isinstance(k, bytes) else k: int(v)
           for k, v in server.hgetall(keys.stats(forum)).items()}

    def g(key: str) -> int:
        return raw.get(f"darkwatch/{key}", 0)

    res = ForumResult(forum=forum)
    res.board_pages, res.thread_pages = g("pages_board"), g("pages_thread")
    res.pages = res.board_pages + res.thread_pages
    res.requests = raw.get("downloader/request_count", 0)
    res.posts_seen, res.posts_new, res.posts_edited = g("posts_seen"), g("posts_new"), g("posts_edited")
    res.threads_changed, res.threads_unchanged = g("threads_changed"), g("threads_unchanged")
    res.alerts = g("alerts")
    res.alerts_by_level = {k.split("alerts_", 1)[1]: v for k, v in raw.items()
                           if k.startswith("darkwatch/alerts_")}
    res.errors = {k.split("/", 2)[2]: v for k, v in raw.items() if k.startswith("darkwatch/errors/")}
    res.warnings = {k.split("/", 2)[2]: v for k, v in raw.items()
                    if k.startswith("darkwatch/warnings/")}
    res.error_samples = [json.loads(s) for s in server.lrange(keys.errors(forum), 0, -1)]
    res.duration = duration
    res.finish_reason = "timeout" if timed_out else "finished"
    if timed_out:
        res.errors["round-timeout"] = res.errors.get("round-timeout", 0) + 1
        res.error_samples.append({"kind": "round-timeout", "message":
                                  f"the round did not finish within the timeout "
                                  f"({round_pending(server, forum)} requests left)"})
    if res.errors:
        res.status = "failed"
    return res


def run_distributed(cfg: Config, redis_url: str, forum_names: list[str] | None = None,
                    direct: bool = False, progress: Callable[[str], None] = lambda s: None,
                    timeout: float = 3600.0, poll: float = 0.5,
                    redis_wait: float | None = None) -> CrawlResult:
    import redis

    from crawler.distributed.worker import redis_url_safe, wait_for_redis
    from crawler.model import utcnow_iso
    from crawler.sinks import open_state

    forums = select_forums(cfg, forum_names)
    precheck(cfg, forums, direct)  # the same scope and channel checks as a local crawl
    if cfg.rules.enabled:
        load_rules(cfg)  # a broken rule set must stop the round here, not in every worker
    if redis_wait is None:
        redis_wait = float(os.environ.get("DARKWATCH_REDIS_WAIT", "60"))
    try:
        server = wait_for_redis(redis_url, progress, timeout=redis_wait)
    except ConnectionError as exc:
        raise CrawlRefused(str(exc), EXIT_QUEUE_UNAVAILABLE) from None
    round_id = uuid.uuid4().hex
    store = open_state(cfg)
    started, t0 = utcnow_iso(), time.monotonic()
    active: dict[str, tuple[ForumConfig, int, float]] = {}
    results: list[ForumResult] = []
    try:
        for forum in forums:
            if not server.set(keys.lock(forum.name), round_id, nx=True, ex=LOCK_TTL):
                progress(f"{forum.name}: skipped, another round holds its lock")
                logger.warning("forum %s: skipped, another distributed round holds its lock",
                               forum.name)
                results.append(ForumResult(forum=forum.name, status="skipped"))
                continue
            start_round(server, forum)
            server.set(keys.job(forum.name), round_id)
            active[forum.name] = (forum, store.start_run(forum.name), time.monotonic())
        if active and not live_workers(server):
            progress(f"no worker is alive yet: start `darkwatch worker {redis_url_safe(redis_url)}`")
        quiet: dict[str, int] = {}
        while active:
            time.sleep(poll)
            for name in list(active):
                forum, run_id, f0 = active[name]
                try:
                    if not server.eval(RENEW, 1, keys.lock(name), round_id, LOCK_TTL):
                        # Redis was gone longer than the lock's TTL and another round took the
                        # forum: its keys are not ours any more; report and leave them alone.
                        res = ForumResult(forum=name, status="failed", duration=time.monotonic() - f0,
                                          finish_reason="lock-lost", errors={"lock-lost": 1},
                                          error_samples=[{"kind": "lock-lost", "message":
                                                          "the forum's lock expired while Redis was "
                                                          "unreachable and another round took it"}])
                        store.finish_run(run_id, res.status, asdict(res))
                        results.append(res)
                        del active[name]
                        continue
                    requeue_dead(server, name)
                    pending = round_pending(server, name)
                except redis.RedisError as exc:
                    progress(f"{name}: Redis unavailable ({exc}); waiting")
                    continue
                # Two quiet polls in a row: a worker between pop and ack is never "quiet".
                quiet[name] = quiet.get(name, 0) + 1 if pending == 0 else 0
                timed_out = time.monotonic() - f0 > timeout
                if quiet[name] >= 2 or timed_out:
                    time.sleep(0.2)  # let the workers' stats mirror land
                    res = round_result(server, name, time.monotonic() - f0, timed_out)
                    store.finish_run(run_id, res.status, asdict(res))
                    results.append(res)
                    server.eval(RELEASE, 1, keys.job(name), round_id)
                    server.eval(RELEASE, 1, keys.lock(name), round_id)
                    del active[name]
    finally:
        for name in active:  # interrupted: free the locks so the next round can start
            try:
                server.eval(RELEASE, 1, keys.job(name), round_id)
                server.eval(RELEASE, 1, keys.lock(name), round_id)
            except redis.RedisError:
                pass
        store.close()
    order = {f.name: i for i, f in enumerate(forums)}
    results.sort(key=lambda r: order.get(r.forum, 0))
    return CrawlResult(results, started, time.monotonic() - t0)

