"""Run a crawl: one Scrapy crawler per forum in one reactor, then a per-forum summary.

Everything that can fail before the first request (config, rules, Tor) fails here,
before the reactor starts, with a specific exit code.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.config import Config, ForumConfig
from crawler.context import CrawlContext
from crawler.exitcodes import ExitCode
from crawler.locks import ForumLock
from crawler.netpolicy import direct_refusal
from crawler.sinks.base import StoreError

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawler.alerts.notify import Notifier
    from crawler.rules.post import PostRules
    from crawler.sinks.base import Sink
    from crawler.sinks.sqlite import SqliteStore

logger = logging.getLogger(__name__)


EXIT_STORE_WRITE = ExitCode.STORE_WRITE


class CrawlRefused(Exception):
    """The crawl must not start; ``exit_code`` says why (2 config/rules/store, 3 Tor, 6 store write)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ForumResult:
    forum: str
    status: str = "ok"  # ok | failed | skipped (another run holds the lock) | stopped (SIGTERM/SIGINT)
    pages: int = 0
    board_pages: int = 0
    thread_pages: int = 0
    requests: int = 0
    posts_seen: int = 0
    posts_new: int = 0
    posts_edited: int = 0
    threads_changed: int = 0
    threads_unchanged: int = 0
    alerts: int = 0
    alerts_by_level: dict[str, int] = field(default_factory=dict)
    incidents_new: int = 0  # incidents (one per leaking thread) opened by this crawl
    incidents_escalated: int = 0  # existing incidents whose level rose
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[dict[str, str]] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0
    finish_reason: str = ""

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.forum}: skipped (another crawl of this forum is running)"
        errs = sum(self.errors.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items()))
        return (
            f"{self.forum}: {self.status}, {self.pages} pages ({self.board_pages} board, "
            f"{self.thread_pages} thread), {self.posts_seen} posts seen, {self.posts_new} new, "
            f"{self.posts_edited} edited, {self.alerts} alerts, {self._incidents()}, {errs} errors"
            + (f" ({detail})" if detail else "") + f", {self.duration:.1f}s"
        )


    def _incidents(self) -> str:
        return incidents_phrase(self.incidents_new, self.incidents_escalated)


def incidents_phrase(new: int, escalated: int) -> str:
    return f"{new} new incident{'s' if new != 1 else ''}" + (
        f" ({escalated} escalated)" if escalated else "")


@dataclass
class CrawlResult:
    forums: list[ForumResult]
    started: str
    duration: float
    spooled: int = 0  # documents the remote store did not take; kept in the spool (exit 4)
    store_error: str = ""  # the local store failed a write: one line for the operator (exit 6)
    # alert messages a channel gave up on, per channel (redacted URL): said, never silent
    alerts_undelivered: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[ForumResult]:
        return [f for f in self.forums if f.status == "failed"]

    def summary(self) -> str:
        new = sum(f.posts_new for f in self.forums)
        alerts = sum(f.alerts for f in self.forums)
        pages = sum(f.pages for f in self.forums)
        incidents = incidents_phrase(sum(f.incidents_new for f in self.forums),
                                     sum(f.incidents_escalated for f in self.forums))
        return (
            f"crawl {'finished' if not self.failed else 'partial'}: {len(self.forums)} forums, "
            f"{len(self.failed)} failed, {pages} pages, {new} new posts, {alerts} alerts, "
            f"{incidents} in {self.duration:.1f}s"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"started": self.started, "duration": self.duration, "spooled": self.spooled,
                **({"store_error": self.store_error} if self.store_error else {}),
                **({"alerts_undelivered": self.alerts_undelivered}
                   if self.alerts_undelivered else {}),
                "forums": [asdict(f) for f in self.forums]}


def select_forums(cfg: Config, names: list[str] | None) -> list[ForumConfig]:
    if names:
        try:
            return [cfg.forum(n) for n in names]
        except KeyError as exc:
            raise CrawlRefused(str(exc.args[0]), 2) from None
    forums = [f for f in cfg.forums if f.enabled]
    if not forums:
        raise CrawlRefused("no enabled forum in the config: add one under 'forums:'", 2)
    return forums


def add_components(settings: Settings, key: str, components: dict[Any, int | None]) -> None:
    """Add components (class or import path -> order) to a component-priority setting such as
    ``ITEM_PIPELINES``, at ``spider`` priority: the process merges its own settings into the
    crawler at ``crawl()``, and its defaults must not drop them."""
    from scrapy.utils.misc import load_object

    settings.set(key, settings.getdict(key), priority="spider")
    for component, order in components.items():
        cls = load_object(component) if isinstance(component, str) else component
        settings.set_in_component_priority_dict(key, cls, order)


def forum_settings(settings: Settings, cfg: Config, forum: ForumConfig, direct: bool) -> None:
    """Layer darkwatch's project settings, the forum's values and its route (Tor or direct) over
    ``settings`` (a crawler's, before it crawls), with Scrapy's priorities: the project module at
    ``project``, the forum's values at ``spider``."""
    from crawler.extensions import Progress

    settings.setmodule("crawler.settings", priority="project")
    settings.setdict({
        "DOWNLOAD_DELAY": forum.delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": forum.concurrency,
        "CONCURRENT_REQUESTS": max(forum.concurrency, 1),
        "DOWNLOAD_TIMEOUT": forum.timeout,
        "CLOSESPIDER_PAGECOUNT": forum.max_pages * 2,  # backstop; the spider's budget comes first
        "DARKWATCH_DIRECT": direct,
    }, priority="spider")
    add_components(settings, "EXTENSIONS", {Progress: 20})
    if not direct:
        from crawler.tor.settings import tor_settings

        extra = tor_settings(cfg, forum)
        for key in ("DOWNLOADER_MIDDLEWARES", "EXTENSIONS", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES"):
            if key in extra:
                add_components(settings, key, extra.pop(key))
        handlers = {**settings.getdict("DOWNLOAD_HANDLERS"), **extra.pop("DOWNLOAD_HANDLERS", {})}
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
        settings.setdict(extra, priority="spider")


def precheck(cfg: Config, forums: list[ForumConfig], direct: bool) -> None:
    """The config checks every way of crawling (local, distributed round) makes before any
    request: direct-mode scope (start and login URLs) and alert channels."""
    if direct:
        for f in forums:
            for url in [*f.start_urls, *([f.auth.login.url] if f.auth.login else [])]:
                why = direct_refusal(url)
                if why:
                    raise CrawlRefused(f"forum {f.name}: {why}", 2)
    if cfg.alerts.channels:
        from crawler.alerts.notify import validate_channels

        problems = validate_channels(cfg.alerts.channels)
        if problems:  # like a broken rule: say it now, not after an hour of silent alerts
            listed = "\n".join(f"  {p}" for p in problems)
            raise CrawlRefused(f"invalid alert channel(s), crawl not started:\n{listed}", 2)


def prepare(cfg: Config, forums: list[ForumConfig], direct: bool,
            progress: Callable[[str], None]) -> tuple[PostRules | None, Any]:
    """Checks that must pass before any request: direct-mode scope, rules, Tor.

    Returns the loaded rules (None when disabled) and the Tor session (None when direct)."""
    precheck(cfg, forums, direct)
    rules: PostRules | None = None
    if cfg.rules.enabled:
        rules = load_rules(cfg)
        import threading

        if threading.current_thread() is threading.main_thread():
            from crawler.rules.post import install_sighup_reload

            install_sighup_reload(rules)  # SIGHUP: reload rules without a restart
    tor = None
    if not direct:
        try:
            from crawler.tor.control import TorUnavailable, ensure_tor_ready
        except ImportError as exc:  # pragma: no cover - packaging error
            raise CrawlRefused(f"Tor support is not installed: {exc}", 3) from None
        try:
            tor = ensure_tor_ready(cfg.tor, progress)
        except TorUnavailable as exc:
            raise CrawlRefused(f"Tor unavailable: {exc}", 3) from None
        # A launched tor listens on ports chosen at start: route the forums there.
        cfg.tor.socks = tor.socks
        cfg.tor.control = tor.control
    return rules, tor


def load_rules(cfg: Config) -> PostRules:
    from crawler.rules.post import PostRules, RuleError

    try:
        return PostRules.from_config(cfg.rules)
    except RuleError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        raise CrawlRefused(f"invalid rule set, crawl not started:\n{problems}", 2) from None


def run_crawl(
    cfg: Config,
    forum_names: list[str] | None = None,
    direct: bool = False,
    progress: Callable[[str], None] = lambda s: None,
    log_level: str = "WARNING",
    show_progress: bool = False,
    log_format: str = "text",
) -> CrawlResult:
    from scrapy.crawler import Crawler, CrawlerProcess

    from crawler.model import utcnow_iso
    from crawler.sinks import open_sink, open_state
    from crawler.spiders.forum import ForumSpider
    from crawler.store_checks import lock_dir, preflight

    forums = select_forums(cfg, forum_names)
    problems = preflight(cfg)  # before Tor and before any request
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise CrawlRefused(f"crawl not started: {problems[0]}{more}", 2)
    rules, tor = prepare(cfg, forums, direct, progress)
    locks, skipped = [], []
    for forum in list(forums):
        lock = ForumLock(lock_dir(cfg), forum.name)
        try:
            acquired = lock.acquire()
        except OSError as exc:
            for held in locks:
                held.release()
            raise CrawlRefused(f"crawl not started: cannot create the lock {lock.path}: "
                               f"{exc.strerror or exc}", 2) from None
        if acquired:
            locks.append(lock)
        else:
            logger.warning("forum %s: skipped, another crawl holds its lock (%s)",
                           forum.name, lock.holder(), extra={"forum": forum.name})
            progress(f"{forum.name}: skipped, another crawl holds its lock ({lock.holder()})")
            forums.remove(forum)
            skipped.append(ForumResult(forum=forum.name, status="skipped"))
    try:
        store = open_state(cfg)
    except Exception as exc:  # sqlite3.Error, OSError: a path that is a directory, no space...
        for lock in locks:
            lock.release()
        raise CrawlRefused(f"crawl not started: {exc}" if isinstance(exc, StoreError) else
                           f"cannot open the state store {cfg.store.sqlite}: {exc} "
                           "(store.sqlite must be a writable file path)", 2) from None
    sink = open_sink(cfg, store)
    notifier = open_notifier(cfg)
    try:
        replay_journal(store, sink, notifier, progress)
    except (StoreError, sqlite3.Error) as exc:  # the journal is kept whole for the next try
        for lock in locks:
            lock.release()
        store.close()
        raise CrawlRefused(f"crawl not started: the recovery journal of the last crawl could "
                           f"not be stored: {exc}", EXIT_STORE_WRITE) from None
    from crawler.sinks.es_incidents import adopt_before_crawl

    adopt_before_crawl(sink, store)  # statuses analysts set in Kibana, before any escalation
    started, t0 = utcnow_iso(), time.monotonic()
    process = CrawlerProcess({"LOG_LEVEL": log_level, "TELNETCONSOLE_ENABLED": False,
                              "REMOTE_CONTROL_ENABLED": False,  # no listening socket
                              "LOG_INSTALL_ROOT_HANDLER": log_format != "json"})
    crawlers: list[tuple[ForumConfig, Crawler, int]] = []
    try:
        for forum in forums:
            # The process builds the crawler so the reactor is installed the way Scrapy
            # expects; its settings are layered before it crawls.
            crawler = process.create_crawler(ForumSpider)
            forum_settings(crawler.settings, cfg, forum, direct)
            crawler.settings.setdict({"LOG_LEVEL": log_level, "DARKWATCH_PROGRESS": show_progress},
                                     priority="cmdline")
            try:
                run_id = store.start_run(forum.name)
            except (StoreError, sqlite3.Error) as exc:
                raise CrawlRefused(f"crawl not started: {exc}", EXIT_STORE_WRITE) from None
            crawlers.append((forum, crawler, run_id))
            process.crawl(crawler, context=CrawlContext(
                config=cfg, forum=forum, store=store, sink=sink, notifier=notifier, rules=rules))
        if crawlers:
            process.start()
    finally:
        for lock in locks:
            lock.release()
        spooled = 0
        try:
            sink.flush()
            spooled = sink.pending()
        except Exception:  # a failing flush must not hide the crawl result
            logger.exception("error while flushing the store")
        for closer in (notifier.close if notifier is not None else None,
                       sink.close if not sink.is_state_store else None,  # the store closes below
                       getattr(tor, "close", None)):
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # a failing closer must not hide the crawl result
                logger.exception("error while closing %s", closer)
    results, store_error = [], ""
    for forum, crawler, run_id in crawlers:
        res = collect(forum, crawler)
        spider = crawler.spider
        store_error = store_error or (spider.store_failure if isinstance(spider, ForumSpider)
                                      else None) or ""
        try:
            store.finish_run(run_id, res.status, asdict(res))
        except (StoreError, sqlite3.Error) as exc:  # the run's history is lost, not the result
            store_error = store_error or f"{exc} (run history not recorded)"
        results.append(res)
    try:
        store.close()
    except Exception:
        logger.exception("error while closing the store")
    if store_error:
        store_error = describe_store_failure(store_error, store.path)
    undelivered = notifier.undelivered() if notifier is not None else {}
    return CrawlResult(results + skipped, started, time.monotonic() - t0, spooled, store_error,
                       undelivered)


def describe_store_failure(failure: str, store_path: str) -> str:
    """One line: what failed, where the unstored posts are, what to do."""
    from crawler.recovery import pending

    waiting = {p: n for p, n in pending(store_path).items() if n}
    kept = (f"{sum(waiting.values())} post(s) kept in {', '.join(waiting)}, stored by the next "
            "crawl" if waiting else "no post was lost")
    return f"{failure}; fetching stopped; {kept}; free space (see `darkwatch store check`) and crawl again"


def replay_journal(store: SqliteStore, sink: Sink, notifier: Notifier | None,
                   progress: Callable[[str], None]) -> None:
    """Store what the last crawl kept in its recovery journal, before fetching anything new."""
    from crawler.recovery import replay

    def apply(post: Any, alerts: list[Any]) -> None:
        change = store.store_post(post, alerts)
        if not sink.is_state_store:  # else store_post wrote the post and its alerts
            try:
                sink.write_raw([post])
                sink.write_posts([post.masked_copy()])
                if alerts:
                    sink.write_alerts(alerts)
                from crawler.sinks.es_incidents import send_change

                send_change(sink, store, change)
            except Exception as exc:  # stored locally; the sink's spool/replay is its own job
                logger.error("sink failed on journaled post %s:%s: %s", post.forum, post.post_id, exc)
        if notifier is not None:
            from crawler.pipelines import notify_post

            try:
                notify_post(notifier, store, alerts, change)
            except Exception as exc:
                logger.error("notification failed for journaled post %s:%s: %s",
                             post.forum, post.post_id, exc)

    done = replay(store.path, apply)
    if done.posts or done.unreadable:
        msg = (f"recovery journal: {done.posts} post(s) and {done.alerts} alert(s) kept by an "
               "earlier crawl are now stored")
        logger.warning(msg)
        progress(msg)


def open_notifier(cfg: Config) -> Notifier | None:
    if not cfg.alerts.channels:
        return None
    import os

    from crawler.alerts.notify import Notifier

    state_path = os.path.join(os.path.dirname(cfg.store.sqlite) or ".", "darkwatch-alerts.db")
    return Notifier(cfg.alerts, state_path)


def collect(forum: ForumConfig, crawler: Any) -> ForumResult:
    stats = crawler.stats.get_stats() if crawler.stats else {}
    spider = crawler.spider

    def g(key: str) -> int:
        return int(stats.get(f"darkwatch/{key}", 0))

    res = ForumResult(forum=forum.name)
    res.board_pages, res.thread_pages = g("pages_board"), g("pages_thread")
    res.pages = res.board_pages + res.thread_pages
    res.requests = int(stats.get("downloader/request_count", 0))
    res.posts_seen, res.posts_new, res.posts_edited = g("posts_seen"), g("posts_new"), g("posts_edited")
    res.threads_changed, res.threads_unchanged = g("threads_changed"), g("threads_unchanged")
    res.alerts = g("alerts")
    res.incidents_new, res.incidents_escalated = g("incidents_new"), g("incidents_escalated")
    res.alerts_by_level = {k.split("alerts_", 1)[1]: int(v) for k, v in stats.items()
                           if k.startswith("darkwatch/alerts_")}
    if spider is not None:
        res.errors = dict(spider.errors)
        res.error_samples = list(spider.error_samples)
        res.warnings = dict(spider.warnings)
    res.finish_reason = str(stats.get("finish_reason", ""))
    start, end = stats.get("start_time"), stats.get("finish_time")
    if start and end:
        res.duration = (end - start).total_seconds()
    from crawler import interrupt

    # SIGTERM/SIGINT (a second one stops the reactor before the spider closes: no reason at all):
    # an interruption, not a failure of the forum.
    if res.finish_reason == "shutdown" or (interrupt.received() and not res.finish_reason):
        res.status = "stopped"
    elif res.errors or res.finish_reason not in ("finished", "closespider_pagecount"):
        res.status = "failed"
    return res
