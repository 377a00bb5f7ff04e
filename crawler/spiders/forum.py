"""The one forum spider: boards -> changed threads -> posts, driven by config and presets.

Incremental by design: a board row's marker (last-post link/time, reply count) tells
whether a thread changed since the last crawl; unchanged threads are never fetched, and
changed ones resume at the last page we saw.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.http import FormRequest, Request, TextResponse

from crawler.engines.diagnose import empty_page_reason, too_complex
from crawler.engines.extract import parse_board, parse_thread
from crawler.extensions import failure_reason
from crawler.logjson import scrub_text
from crawler.model import Post
from crawler.netpolicy import origin
from crawler.sinks.base import ThreadState
from crawler.spiders.cookies import load_cookies

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from twisted.python.failure import Failure

    from crawler.config import Config, ForumConfig
    from crawler.sinks.sqlite import SqliteStore

logger = logging.getLogger(__name__)

MAX_RELOGINS = 3
THREAD_META = ("thread_url", "thread_title", "marker", "resumed")
MAX_ERROR_SAMPLES = 50


class ForumSpider(scrapy.Spider):
    name = "forum"

    def __init__(
        self,
        forum_config: ForumConfig,
        darkwatch_config: Config,
        store: SqliteStore,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=forum_config.name, **kwargs)
        from crawler.engines.presets import load_preset, resolve_selectors

        self.forum_config = forum_config
        self.darkwatch_config = darkwatch_config
        self.store = store
        self.name_for_humans = forum_config.name
        self.sel = resolve_selectors(forum_config)
        self.login_defaults = (
            load_preset(forum_config.engine).login if forum_config.engine != "custom" else None
        )
        self.allowed_origins = {origin(u) for u in forum_config.start_urls}
        if forum_config.auth.login:
            self.allowed_origins.add(origin(forum_config.auth.login.url))
        self.seen: set[str] = set()
        self.dirty_threads: set[str] = set()  # threads with a post that failed to store
        self.pages_scheduled = 0
        self.relogins = 0
        self.errors: Counter[str] = Counter()
        self.error_samples: list[dict[str, str]] = []
        self.warnings: Counter[str] = Counter()
        self.events: list[dict[str, str]] = []
        self.cookies: list[dict[str, Any]] = []
        self.now = datetime.now(UTC)

    # -- start ------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        auth = self.forum_config.auth
        if auth.cookies_file:
            self.cookies = load_cookies(auth.cookies_file)
        if auth.login:
            yield Request(auth.login.url, callback=self.parse_login_page,
                          errback=self.on_error, dont_filter=True,
                          cookies=self.cookies or None, meta={"darkwatch_kind": "login"})
            return
        for url in self.forum_config.start_urls:
            req = self.board_request(url)
            if req is not None:
                yield req

    # -- budget & dedupe -----------------------------------------------------------------
    def _claim(self, url: str, force: bool = False) -> bool:
        """One fetch per URL per crawl, within ``max_pages``: bounds loops and hostile paging."""
        if url in self.seen and not force:
            return False
        if self.pages_scheduled >= self.forum_config.max_pages:
            self.crawler.stats.inc_value("darkwatch/max_pages_reached")
            self.warn("max-pages", f"max_pages={self.forum_config.max_pages} reached; "
                                   f"not fetching {url}")
            return False
        self.seen.add(url)
        self.pages_scheduled += 1
        return True

    def board_request(self, url: str) -> Request | None:
        if not self._claim(url):
            return None
        return Request(url, callback=self.parse_board, errback=self.on_error,
                       cookies=self.cookies or None, meta={"darkwatch_kind": "board"})

    def thread_request(self, url: str, meta: dict[str, Any], force: bool = False) -> Request | None:
        if not self._claim(url, force=force):
            return None
        return Request(url, callback=self.parse_thread, errback=self.on_error,
                       meta={**meta, "darkwatch_kind": "thread"}, dont_filter=force)

    # -- login ----------------------------------------------------------------------------
    def parse_login_page(self, response: TextResponse, then: list[Request] | None = None):
        login = self.forum_config.auth.login
        assert login is not None
        defaults = self.login_defaults
        ufield = login.username_field or (defaults.username_field if defaults else "username")
        pfield = login.password_field or (defaults.password_field if defaults else "password")
        form = login.form or (defaults.form if defaults else None) or self.sel.login_form
        try:
            yield FormRequest.from_response(
                response, formcss=form or None, formdata={ufield: login.username, pfield: login.password},
                callback=self.after_login, errback=self.on_error, dont_filter=True,
                cb_kwargs={"then": then},
                meta={"darkwatch_kind": "login",
                      **{k: response.meta[k] for k in ("darkwatch_held",) if response.meta.get(k)}},
            )
        except ValueError as exc:
            self.fail("login-failed", f"no login form on {response.url} ({exc}); "
                                      "check auth.login.url and auth.login.form")
            yield from self._after_auth(then)

    def after_login(self, response: TextResponse, then: list[Request] | None = None):
        if self.looks_logged_out(response, page_flag=False):
            self.fail("login-failed", f"login rejected at {response.url}: the login form is still "
                                      "shown; check the username/password environment variables")
        else:
            self.crawler.stats.inc_value("darkwatch/logins")
        yield from self._after_auth(then)

    def _after_auth(self, then: list[Request] | None) -> Iterable[Request]:
        if then is not None:
            yield from then
            return
        for url in self.forum_config.start_urls:
            req = self.board_request(url)
            if req is not None:
                yield req

    def looks_logged_out(self, response: TextResponse, page_flag: bool) -> bool:
        if page_flag:
            return True
        if self.sel.login_form and response.css(self.sel.login_form):
            return True
        text = response.text.lower()
        return any(s.lower() in text for s in self.forum_config.auth.logged_out_text)

    def handle_logged_out(self, response: TextResponse) -> Iterable[Request]:
        """Re-login once when we can; otherwise say so loudly: an empty crawl is not a quiet one."""
        login = self.forum_config.auth.login
        if login and self.relogins < MAX_RELOGINS and not response.meta.get("darkwatch_relogin"):
            self.relogins += 1
            self.crawler.stats.inc_value("darkwatch/relogins")
            retry = response.request.replace(dont_filter=True)
            hops = response.meta.get("redirect_urls")
            if hops:  # the page redirected to the login form: after login, ask for the page
                retry = retry.replace(url=hops[0], meta={
                    k: v for k, v in response.meta.items()
                    if k in (*THREAD_META, "darkwatch_kind", "darkwatch_token")})
            retry.meta["darkwatch_relogin"] = True
            yield Request(login.url, callback=self.parse_login_page, errback=self.on_error,
                          dont_filter=True, cb_kwargs={"then": [retry]},
                          meta={"darkwatch_kind": "login"})
            return
        self.crawler.stats.inc_value("darkwatch/session_expired")
        self.fail("session-expired", f"{response.url} shows a login wall: session expired or "
                                     "login required (configure auth: cookies_file or login)")

    # -- boards ---------------------------------------------------------------------------
    def parse_board(self, response: Any):
        if not isinstance(response, TextResponse):
            self.fail("not-html", f"{response.url}: not an HTML page")
            return
        self.crawler.stats.inc_value("darkwatch/pages_board")
        if self.refuse_complex(response):
            return
        page = parse_board(response.text, response.url, self.sel, self.forum_config.timezone,
                           now=self.now)
        self.parse_warnings(page.warnings)
        if not page.threads and self.looks_logged_out(response, page.logged_out):
            yield from self.handle_logged_out(response)
            return
        if not page.threads and not page.subboards and self.explain_empty(response):
            return
        for row in page.threads:
            if origin(row.url) not in self.allowed_origins:
                continue
            if row.url in self.seen:  # stickies repeat on every board page
                continue
            state = self.store.get_thread(self.forum_config.name, row.url)
            if state is not None and row.marker and state.marker == row.marker:
                self.crawler.stats.inc_value("darkwatch/threads_unchanged")
                self.seen.add(row.url)
                continue
            start = state.last_page_url if state is not None else row.url
            meta = {"thread_url": row.url, "thread_title": row.title, "marker": row.marker,
                    "resumed": state is not None and start != row.url}
            if start != row.url:
                self.seen.add(row.url)
            req = self.thread_request(start, meta)
            if req is not None:
                self.crawler.stats.inc_value("darkwatch/threads_changed")
                yield req
        for url in page.subboards:
            if origin(url) in self.allowed_origins:
                req = self.board_request(url)
                if req is not None:
                    yield req
        if page.next_url and origin(page.next_url) in self.allowed_origins:
            req = self.board_request(page.next_url)
            if req is not None:
                yield req

    # -- threads --------------------------------------------------------------------------
    def parse_thread(self, response: Any):
        meta = response.meta
        if not isinstance(response, TextResponse):
            self.fail("not-html", f"{response.url}: not an HTML page")
            return
        self.crawler.stats.inc_value("darkwatch/pages_thread")
        if self.refuse_complex(response):
            return
        page = parse_thread(response.text, response.url, self.sel, self.forum_config.timezone,
                            now=self.now)
        self.parse_warnings(page.warnings)
        if not page.posts and self.looks_logged_out(response, page.logged_out):
            yield from self.handle_logged_out(response)
            return
        if not page.posts and self.explain_empty(response):
            return
        title = page.title or meta.get("thread_title", "")
        for raw in page.posts:
            self.crawler.stats.inc_value("darkwatch/posts_seen")
            yield Post(
                forum=self.forum_config.name, thread_url=meta["thread_url"], thread_title=title,
                post_id=raw.post_id, author=raw.author, published=raw.published, text=raw.text,
                quoted_text=raw.quoted_text, url=response.url,
            )
        nxt = page.next_url
        if nxt and origin(nxt) in self.allowed_origins:
            req = self.thread_request(nxt, {k: meta[k] for k in THREAD_META if k in meta})
            if req is not None:
                yield req
                return
            if self.pages_scheduled >= self.forum_config.max_pages:
                return  # budget cut: keep the old state so the next crawl resumes here
        if not page.posts:
            return  # nothing recognisable: do not move the thread's state forward
        last = page.posts[-1]
        yield ThreadState(
            forum=self.forum_config.name, thread_url=meta["thread_url"],
            marker=meta.get("marker", ""), last_page_url=response.url,
            last_post_id=last.post_id, last_post_time=last.published,
        )

    def refuse_complex(self, response: TextResponse) -> bool:
        reason = too_complex(response.text)
        if reason is not None:
            self.fail(reason[0], f"{response.url}: {reason[1]}")
        return reason is not None

    def parse_warnings(self, warnings: list[str]) -> None:
        for w in warnings:
            if "depth limit" in w:  # content past the limit is lost: a failure, not a nit
                self.fail("too-deep", w)
            else:
                self.warn("selector", w)

    def explain_empty(self, response: TextResponse) -> bool:
        """Report a page without content that we can explain (binary, block page, JS shell)."""
        reason = empty_page_reason(response.status, response.body, response.text)
        if reason is None:
            return False
        self.fail(reason[0], f"{response.url}: {reason[1]}")
        return True

    # -- failures -------------------------------------------------------------------------
    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ForumSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_dropped, signal=signals.request_dropped)
        return spider

    def on_dropped(self, request: Request, spider: Any = None) -> None:
        """A redirect back to a page already fetched is dropped by the scheduler: say so."""
        hops = request.meta.get("redirect_urls")
        if hops and request.url in hops:  # a true loop, not a redirect to a page read elsewhere
            self.fail("redirect-loop", f"{hops[0]}: redirect loop back to {request.url} "
                                       f"after {len(hops)} hop(s); not followed")
    def on_error(self, failure: Failure):
        request = failure.request
        kind, reason = failure_reason(failure)
        meta = request.meta
        if meta.get("darkwatch_kind") == "thread" and meta.get("resumed"):
            # The remembered last page is gone (posts deleted, paging changed): start over.
            keep = {k: meta[k] for k in THREAD_META if k in meta}  # not spent retries or redirects
            retry = self.thread_request(meta["thread_url"], {**keep, "resumed": False}, force=True)
            if retry is not None:
                self.warn("resume", f"{request.url}: {reason}; re-reading thread from page 1")
                yield retry
                return
        self.fail(kind, f"{request.url}: {reason}")

    def fail(self, kind: str, message: str) -> None:
        # Reports, logs and Redis keep the message: no session id (sid=), password or NIR in it.
        message = scrub_text(message)
        self.errors[kind] += 1
        self.crawler.stats.inc_value(f"darkwatch/errors/{kind}")
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append({"kind": kind, "message": message})
        logger.error("[%s] %s", self.forum_config.name, message)

    def warn(self, kind: str, message: str) -> None:
        message = scrub_text(message)
        self.warnings[kind] += 1
        self.crawler.stats.inc_value(f"darkwatch/warnings/{kind}")
        if self.warnings[kind] <= 5:
            logger.warning("[%s] %s", self.forum_config.name, message)
