"""What a crawl hands its Scrapy components: one typed object, declared once.

The crawl set-up (``crawler.crawl``, the distributed worker) builds one :class:`CrawlContext` per
forum and passes it to Scrapy once, as the spider's declared ``context`` argument. Pipelines,
extensions and middlewares take it in ``from_crawler`` with :meth:`CrawlContext.of` (Scrapy
creates the spider before any of them), instead of reading undeclared spider attributes.
Imports no Scrapy: the wiring is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from crawler.netpolicy import origin

Origin = tuple[str, str, int]  # (scheme, host, port), as ``netpolicy.origin`` gives it

if TYPE_CHECKING:
    from redis import Redis

    from crawler.alerts.notify import Notifier
    from crawler.config import Config, ForumConfig
    from crawler.rules.post import PostRules
    from crawler.sinks.base import Sink
    from crawler.sinks.sqlite import SqliteStore


class HasSpider(Protocol):
    """What :meth:`CrawlContext.of` reads: a Scrapy ``Crawler`` once its spider exists."""

    @property
    def spider(self) -> object: ...


@dataclass(frozen=True, slots=True)
class CrawlContext:
    """The state store, sink, notifier and rules of one forum's crawl (shared across forums)."""

    config: Config
    forum: ForumConfig
    store: SqliteStore  # the crawl's memory (always local SQLite)
    sink: Sink  # where posts and alerts go; ``sink.is_state_store`` when it is ``store`` itself
    notifier: Notifier | None = None  # None: no alert channel configured
    rules: PostRules | None = None  # None: rules disabled
    redis: Redis | None = None  # distributed worker only: the shared Redis client
    origins: frozenset[Origin] = field(init=False)  # the forum's own origins: the crawl's scope

    def __post_init__(self) -> None:
        login = self.forum.auth.login
        urls = [*self.forum.start_urls, *([login.url] if login else [])]
        object.__setattr__(self, "origins", frozenset(origin(u) for u in urls))

    @staticmethod
    def of(crawler: HasSpider) -> CrawlContext:
        """The context of ``crawler``'s spider; a clear error when the spider was given none."""
        ctx = getattr(crawler.spider, "context", None)
        if not isinstance(ctx, CrawlContext):
            raise TypeError(f"spider {getattr(crawler.spider, 'name', '?')!r} was started "
                            "without a CrawlContext (pass context= to crawler.crawl)")
        return ctx
