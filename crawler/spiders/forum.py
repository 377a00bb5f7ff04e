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
from scrapy.http import Request, TextResponse

from crawler.engines.diagnose import empty_page_reason, too_complex
from crawler.engines.extract import parse_board, parse_thread
from crawler.engines.login import LoginFormError, login_evidence, plan_login, wall_reason
from crawler.extensions import failure_reason
from crawler.model import Post
from crawler.netpolicy import origin
from crawler.privacy import scrub_text
from crawler.sinks.base import ThreadState
from crawler.spiders.cookies import load_cookies

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from twisted.python.failure import Failure

    from crawler.context import CrawlContext

logger = logging.getLogger(__name__)

MAX_RELOGINS = 3
THREAD_META = ("thread_url", "thread_title", "marker", "resumed")
MAX_ERROR_SAMPLES = 50
LAYOUT_MIN_ROWS = 5  # below this many rows last time, a drop says nothing about the layout


def last_good_rows(store: Any, forum: str, history: int = 500) -> int | None:
    """Board thread rows (changed + unchanged) of the forum's last ``ok`` crawl, if known."""
    import json

    try:
        runs = store.last_runs(limit=history)
    except Exception:  # noqa: BLE001 - a store without history: no baseline
        return None
    for run in runs:
        if run.get("forum") != forum or run.get("status") != "ok":
            continue
        try:
            stats = json.loads(run.get("stats") or "{}")
        except (TypeError, ValueError):
            return None
        return int(stats.get("threads_changed", 0)) + int(stats.get("threads_unchanged", 0))
    return None


class ForumSpider(scrapy.Spider):
    name = "forum"
    #: False for a distributed worker: it sees part of a round, so no layout verdict.
    sees_whole_crawl = True

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=context.forum.name, **kwargs)
        from crawler.engines.presets import load_preset, resolve_selectors

        forum_config = context.forum
        self.context = context  # taken by the pipelines and middlewares (CrawlContext.of)
        self.forum_config = forum_config
        self.store = context.store
        self.sel = resolve_selectors(forum_config)
        self.login_defaults = (
            load_preset(forum_config.engine).login if forum_config.engine != "custom" else None
        )
        self.allowed_origins = context.origins
        self.seen: set[str] = set()
        self.dirty_threads: set[str] = set()  # threads with a post that failed to store
        self.store_failure: str | None = None  # why the store failed: no more fetching
        self.pages_scheduled = 0
        self.relogins = 0
        self.errors: Counter[str] = Counter()
        self.error_samples: list[dict[str, str]] = []
        self.warnings: Counter[str] = Counter()
        self.events: list[dict[str, str]] = []
        self.cookies: list[dict[str, Any]] = []
        self.now = datetime.now(UTC)
        self.login_failed = False  # the submitted login was not proven: walls are login-failed

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
        form = login.form or (defaults.form if defaults else None) or self.sel.login_form
        preset = (defaults.username_field, defaults.password_field) if defaults else None
        try:
            plan = plan_login(response.text, response.url, login.username, login.password,
                              form_css=form, username_field=login.username_field,
                              password_field=login.password_field, preset_fields=preset)
        except LoginFormError as exc:
            self.login_failed = True
            self.fail("login-failed", f"{exc}; check auth.login.url and auth.login.form")
            yield from self._after_auth(then)
            return
        if plan.detected:
            logger.info("[%s] login form fields: %s / %s", self.forum_config.name,
                        plan.username_field, plan.password_field)
        yield plan.submission.to_scrapy(
            callback=self.after_login, errback=self.on_error, dont_filter=True,
            cb_kwargs={"then": then},
            meta={"darkwatch_kind": "login",
                  **{k: response.meta[k] for k in ("darkwatch_held",) if response.meta.get(k)}},
        )

    def after_login(self, response: TextResponse, then: list[Request] | None = None):
        """Count a login only once the page proves it (logout link, username, form gone)."""
        login = self.forum_config.auth.login
        assert login is not None
        form = login.form or (self.login_defaults.form if self.login_defaults else None) \
            or self.sel.login_form
        ok, saw = login_evidence(response.text, response.url, login.username, form)
        if ok:
            self.login_failed = False
            self.crawler.stats.inc_value("darkwatch/logins")
            logger.info("[%s] logged in: %s", self.forum_config.name, saw)
        else:
            self.login_failed = True
            self.fail("login-failed", f"login not accepted: {saw}; check the username/password "
                                      "environment variables and auth.login.username_field")
        yield from self._after_auth(then)

    def _after_auth(self, then: list[Request] | None) -> Iterable[Request]:
        if then is not None:
            yield from then
            return
        for url in self.forum_config.start_urls:
            req = self.board_request(url)
            if req is not None:
                yield req

    def wall(self, response: TextResponse, page_flag: bool) -> str | None:
        """Why this content-less page is a login wall (None: it is not one)."""
        auth = self.forum_config.auth
        return wall_reason(
            response.text, response.url, status=response.status,
            login_url=auth.login.url if auth.login else None,
            redirected=bool(response.meta.get("redirect_urls")), selector_flag=page_flag,
            login_form_css=self.sel.login_form, phrases=auth.logged_out_text)

    def looks_logged_out(self, response: TextResponse, page_flag: bool) -> bool:
        return self.wall(response, page_flag) is not None

    def note_wall(self, response: TextResponse, page_flag: bool) -> bool:
        """Is this a login wall? The reason goes with the response to handle_logged_out."""
        why = self.wall(response, page_flag)
        if why is not None:
            response.meta["darkwatch_wall"] = why
        return why is not None

    def handle_logged_out(self, response: TextResponse, why: str | None = None) -> Iterable[Request]:
        """Re-login once when we can; otherwise say so loudly: an empty crawl is not a quiet one."""
        login = self.forum_config.auth.login
        why = why or response.meta.pop("darkwatch_wall", None) or self.wall(response, False) \
            or "login wall"
        if (login and not self.login_failed and self.relogins < MAX_RELOGINS
                and not response.meta.get("darkwatch_relogin")):
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
        hops = response.meta.get("redirect_urls") or []
        asked = hops[0] if hops else response.url
        if login and self.login_failed:
            self.fail("login-failed", f"{asked} shows a login wall ({why}): not read, the "
                                      "login failed")
        elif login:
            self.fail("login-failed", f"{asked} shows a login wall ({why}) although the login "
                                      "was accepted: the account cannot read it, or the "
                                      "session is refused; check the credentials and auth.login")
        elif hops:
            self.fail("redirected-to-login", f"{asked}: {why}; the page needs a login "
                                             "(configure auth: cookies_file or login)")
        else:
            self.crawler.stats.inc_value("darkwatch/session_expired")
            self.fail("session-expired", f"{response.url} shows a login wall ({why}): session "
                                         "expired or login required (configure auth: "
                                         "cookies_file or login)")

    # -- boards ---------------------------------------------------------------------------
    def parse_board(self, response: Any):
        if not isinstance(response, TextResponse):
            self.fail("not-html", f"{response.url}: not an HTML page")
            return
        self.crawler.stats.inc_value("darkwatch/pages_board")
        if self.refuse_complex(response):
            return
        page = parse_board(response.text, response.url, self.sel, self.forum_config.timezone,
                           now=self.now, language=self.forum_config.language)
        self.parse_warnings(page.warnings)
        if not page.threads and self.note_wall(response, page.logged_out):
            yield from self.handle_logged_out(response)
            return
        if not page.threads and not page.subboards and self.explain_empty(response):
            return
        self.check_board(response, len(page.threads), bool(page.subboards))
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
                            now=self.now, language=self.forum_config.language)
        self.parse_warnings(page.warnings)
        for raw in page.posts:
            if raw.date_without_time:  # stored at the day's midnight: say so, per post
                self.warn("date-without-time", f"{response.url}: post {raw.post_id}: date "
                          f"{raw.date_text[:60]!r} has no time of day (language "
                          f"{page.languages[0] if page.languages else '?'}); check the "
                          "'published' selector or the forum's 'language'")
        if not page.posts and self.note_wall(response, page.logged_out):
            yield from self.handle_logged_out(response)
            return
        if not page.posts and self.explain_empty(response):
            return
        want = self.forum_config.expect.thread_posts
        if len(page.posts) < want:
            self.fail("no-posts", f"{self.where(response)}: thread page with {len(page.posts)} "
                                  f"posts (expected at least {want}; selector post "
                                  f"{self.sel.post!r}): wrong engine preset or a changed "
                                  "layout? check with `darkwatch forums test`")
        title = page.title or meta.get("thread_title", "")
        for raw in page.posts:
            self.crawler.stats.inc_value("darkwatch/posts_seen")
            yield Post(
                forum=self.forum_config.name, thread_url=meta["thread_url"], thread_title=title,
                post_id=raw.post_id, author=raw.author, published=raw.published, text=raw.text,
                quoted_text=raw.quoted_text, url=response.url,
                date_without_time=raw.date_without_time,
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

    def where(self, response: TextResponse) -> str:
        hops = response.meta.get("redirect_urls")
        return f"{hops[0]} (redirected to {response.url})" if hops else response.url

    def check_board(self, response: TextResponse, rows: int, subboards: bool) -> None:
        """A board page without thread rows is a gap, not a quiet success (``no-threads``);
        a start URL's own page must hold ``expect.board_threads`` rows."""
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        want = self.forum_config.expect.board_threads if asked in self.forum_config.start_urls \
            else min(1, self.forum_config.expect.board_threads)
        if rows >= want or (subboards and rows == 0):
            return
        self.fail("no-threads", f"{self.where(response)}: board page with {rows} thread rows "
                                f"(expected at least {want}; selector thread_row "
                                f"{self.sel.thread_row!r}): wrong engine preset, a changed "
                                "layout or a redirect off the board? check with "
                                "`darkwatch forums test`")

    def closed(self, reason: str) -> None:
        self.check_layout(reason)

    def check_layout(self, reason: str) -> None:
        """``layout-changed``: far fewer board rows than the last good crawl saw."""
        if not self.sees_whole_crawl or reason != "finished" or self.errors:
            return  # a distributed worker sees part of the round; a failed crawl says why already
        if self.crawler.stats.get_value("darkwatch/max_pages_reached"):
            return
        last = last_good_rows(self.store, self.forum_config.name)
        drop = self.forum_config.expect.threads_drop
        stats = self.crawler.stats
        rows = int(stats.get_value("darkwatch/threads_changed", 0)) + \
            int(stats.get_value("darkwatch/threads_unchanged", 0))
        if last is None or last < LAYOUT_MIN_ROWS or rows >= last * drop:
            return
        self.fail("layout-changed", f"{rows} threads on the board pages, "
                                    f"{last} in the last good crawl (below {drop:.0%}): the "
                                    "forum's layout or the selectors changed; check with "
                                    "`darkwatch forums test`")

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
        crawler.signals.connect(spider.on_page_error, signal=signals.spider_error)
        return spider

    def on_page_error(self, failure: Failure, response: Any, spider: Any = None) -> None:
        """A callback that raised (a parser bug on a hostile page, an interpreter fault) read
        nothing more of its page: Scrapy only logs it, and the forum would be reported ``ok``
        with that page's posts missing. An error of the forum, with the page named."""
        exc = failure.value
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        self.fail("page-error", f"{response.url}: the page could not be processed "
                                f"({type(exc).__name__}{': ' + detail if detail else ''}); what "
                                "it held was not read")

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
        wall = self.http_wall(failure)
        if wall is not None:
            yield from self.handle_logged_out(failure.value.response)  # says "HTTP 401/403"
            return
        if meta.get("darkwatch_kind") == "thread" and meta.get("resumed"):
            # The remembered last page is gone (posts deleted, paging changed): start over.
            keep = {k: meta[k] for k in THREAD_META if k in meta}  # not spent retries or redirects
            retry = self.thread_request(meta["thread_url"], {**keep, "resumed": False}, force=True)
            if retry is not None:
                self.warn("resume", f"{request.url}: {reason}; re-reading thread from page 1")
                yield retry
                return
        self.fail(kind, f"{request.url}: {reason}")

    def http_wall(self, failure: Failure) -> str | None:
        """401 on a board or thread is a login wall; 403 only when its page asks for a login
        (a 403 is also how anti-bot filters say "go away")."""
        from scrapy.spidermiddlewares.httperror import HttpError

        exc = failure.value
        if not isinstance(exc, HttpError) or exc.response.status not in (401, 403):
            return None
        if failure.request.meta.get("darkwatch_kind") not in ("board", "thread"):
            return None
        response = exc.response
        if not isinstance(response, TextResponse):
            return "HTTP 401" if response.status == 401 else None
        if response.status == 401:
            return "HTTP 401"
        why = self.wall(response.replace(status=200), False)
        return f"HTTP 403, {why}" if why else None

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
