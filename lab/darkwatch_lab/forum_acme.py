""""Acme Board": a small forum engine no darkwatch preset covers (FlaskBB-like markup).

It exists to test and document ``engine: custom`` and the no-silent-gap checks on markup
nobody wrote a preset for: guests asking for the members-only board are redirected to
``/acme/auth/login?next=...`` with a phrase no default list knows ("Members only. Sign in
to continue."), the login form names its username field ``login`` and carries a CSRF token
bound to a session cookie, and each post shows the author's join date as a ``<time>``
before the post's own ``<time>`` (a bare ``time::attr(datetime)`` picks the join date).

URLs: ``/acme/`` (board list), ``/acme/forum/B[?page=N]``, ``/acme/topic/T[?page=N]``,
``/acme/auth/login[?next=PATH]`` (GET form, POST ``login``/``password``/``csrf_token``),
``/acme/auth/logout``.
"""

# HTML templates mirror an engine's one-line markup; wrapping them would hurt readability.
# ruff: noqa: E501

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_content import FAULT_BOARD, ForumContent, Post, Thread
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Request, Response, Sessions, page_count

_INLINE = ("<b>{}</b>", "<i>{}</i>")
COOKIE = "acme_session"
GUEST = "acme_guest"
WALL_TEXT = "Members only. Sign in to continue."


class AcmeSkin:
    engine = "acme"

    def __init__(self, content: ForumContent, sessions: Sessions, faults: Faults, prefix: str = "/acme",
                 threads_per_page: int = 10, posts_per_page: int = 10) -> None:
        self.c = content
        self.sessions = sessions
        self.faults = faults
        self.prefix = prefix
        self.tpp = threads_per_page
        self.ppp = posts_per_page
        # How members-only pages answer guests: "redirect" (to the login page), or "401"/"403"
        # (the login form served in place with that status).
        self.guest_wall = "redirect"

    # ------------------------------------------------------------------ URLs
    def thread_url(self, tid: int) -> str:
        return f"{self.prefix}/topic/{tid}"

    def thread_page_url(self, tid: int, page: int) -> str:
        return self.thread_url(tid) + (f"?page={page}" if page > 1 else "")

    def board_page_url(self, board_id: int, page: int) -> str:
        return f"{self.prefix}/forum/{board_id}" + (f"?page={page}" if page > 1 else "")

    @staticmethod
    def date(dt: datetime) -> str:
        return dt.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")

    @staticmethod
    def iso(dt: datetime) -> str:
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        user = self.sessions.user(req.cookies.get(COOKIE))
        path = req.path.rstrip("/") or "/"
        page = _int(req.query.get("page", "1"), 1)
        if path in ("/", "/index"):
            return self.index(user)
        if path == "/auth/login":
            return self.login(req, user)
        if path == "/auth/logout":
            r = Response.redirect(f"{self.prefix}/")
            r.headers.append(("Set-Cookie", f"{COOKIE}=; Path=/; Max-Age=0"))
            return r
        kind, _, ident = path.strip("/").partition("/")
        if kind == "forum" and ident.isdigit():
            return self.board(int(ident), page, user, req)
        if kind == "topic" and ident.isdigit():
            return self.topic(int(ident), page, user, req)
        return self.not_found(user)

    def _wall(self, req: Request) -> Response:
        if self.guest_wall in ("401", "403"):
            page = self.login(Request("GET", "/auth/login", {}, req.cookies, host=req.host), None)
            page.status = int(self.guest_wall)
            return page
        target = self.prefix + req.path + ("?" + "&".join(f"{k}={v}" for k, v in req.query.items()) if req.query else "")
        return Response.redirect(f"{self.prefix}/auth/login?next={quote(target, safe='')}")

    # ------------------------------------------------------------------ chrome
    def layout(self, title: str, body: str, user: str | None, flash: str = "") -> str:
        account = (f'<span class="current-user">{escape(user)}</span> · <a href="{self.prefix}/auth/logout">Sign off</a>'
                   if user else f'<a href="{self.prefix}/auth/login">Sign in</a>')
        note = f'<div class="flash flash-info">{escape(flash)}</div>' if flash else ""
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Acme Board</title></head>
<body>
<header class="site-header"><a class="brand" href="{self.prefix}/">Acme Board</a>
<form class="search" method="get" action="{self.prefix}/search"><input type="text" name="q" placeholder="Search"><button>Go</button></form>
<nav class="account">{account}</nav></header>
<main class="site-main">{note}
{body}
</main>
<footer>powered by Acme Board 0.3</footer>
</body></html>"""

    def pager(self, cur: int, pages: int, url_of) -> str:
        links = []
        if cur > 1:
            links.append(f'<a class="pager-prev" href="{escape(url_of(cur - 1))}">« Prev</a>')
        links.append(f'<span class="pager-at">page {cur} of {pages}</span>')
        if cur < pages:
            links.append(f'<a class="pager-next" href="{escape(url_of(cur + 1))}">Next »</a>')
        return f'<nav class="pager">{" ".join(links)}</nav>'

    # ------------------------------------------------------------------ pages
    def index(self, user: str | None) -> Response:
        items = "".join(
            f'<li class="forum-item"><a class="forum-link" href="{self.board_page_url(b.board_id, 1)}">{escape(b.name)}</a>'
            f'<p class="forum-desc">{escape(b.description)}</p></li>'
            for b in self.c.boards.values() if b.board_id != FAULT_BOARD)
        return Response.html(self.layout("Boards", f'<ul class="forum-list">{items}</ul>', user))

    def board(self, fid: int, page: int, user: str | None, req: Request) -> Response:
        b = self.c.boards.get(fid)
        if b is None or fid == FAULT_BOARD:
            return self.not_found(user)
        if b.private and not user:
            return self._wall(req)
        ths = self.c.board_threads(fid)
        pages = page_count(len(ths), self.tpp)
        cur = min(max(page, 1), pages)
        rows = "\n".join(self._row(th) for th in ths[(cur - 1) * self.tpp: cur * self.tpp])
        body = (f'<h1 class="forum-heading">{escape(b.name)}</h1>\n<section class="topics">\n{rows}\n</section>\n'
                + self.pager(cur, pages, lambda p: self.board_page_url(fid, p)))
        return Response.html(self.layout(b.name, body, user))

    def _row(self, th: Thread) -> str:
        last = th.last
        pages = page_count(len(th.posts), self.ppp)
        return (f'<div class="topic-row" data-topic="{th.tid}"><div class="topic-main">'
                f'<a class="topic-link" href="{self.thread_url(th.tid)}">{escape(th.title)}</a>'
                f'<span class="topic-by">started by {escape(th.posts[0].author.name)}</span></div>'
                f'<div class="topic-count">{len(th.posts) - 1} replies</div>'
                f'<div class="topic-last"><a href="{self.thread_page_url(th.tid, pages)}#p{last.pid}">'
                f'<time datetime="{self.iso(last.published)}">{self.date(last.published)}</time></a> by {escape(last.author.name)}</div></div>')

    def topic(self, tid: int, page: int, user: str | None, req: Request) -> Response:
        th = self.c.thread(tid)
        if th is None or th.board_id == FAULT_BOARD:
            return self.not_found(user)
        if self.c.boards[th.board_id].private and not user:
            return self._wall(req)
        with self.c.lock:
            posts = list(th.posts)
        pages = page_count(len(posts), self.ppp)
        cur = min(max(page, 1), pages)
        entries = "\n".join(self._entry(p) for p in posts[(cur - 1) * self.ppp: cur * self.ppp])
        body = (f'<h1 class="topic-heading">{escape(th.title)}</h1>\n<section class="entries">\n{entries}\n</section>\n'
                + self.pager(cur, pages, lambda p: self.thread_page_url(tid, p)))
        return Response.html(self.layout(th.title, body, user))

    def _entry(self, p: Post) -> str:
        u = p.author
        quote_html = ""
        if p.quote_of is not None:
            quote_html = (f'<blockquote class="entry-quote"><div class="quote-head">{escape(p.quote_of.author.name)} wrote:</div>'
                          f"{ft.inline_html(p.quote_text, _INLINE)}</blockquote>")
        paras = "".join(f"<p>{ft.inline_html(x, _INLINE)}</p>" for x in p.paragraphs)
        sig = f'<div class="entry-signature">{escape(u.signature)}</div>' if u.signature else ""
        return (f'<article class="entry" id="p{p.pid}">'
                f'<aside class="entry-author"><a class="author-name" href="{self.prefix}/user/{u.uid}">{escape(u.name)}</a>'
                f'<div class="author-meta">{escape(u.rank)} · joined <time datetime="{self.iso(u.joined)}">{self.date(u.joined)}</time></div></aside>'
                f'<div class="entry-main"><div class="entry-meta"><a href="#p{p.pid}">#</a> '
                f'<time datetime="{self.iso(p.published)}">{self.date(p.published)}</time></div>'
                f'<div class="entry-content">{quote_html}{paras}</div>{sig}</div></article>')

    def not_found(self, user: str | None) -> Response:
        return Response.html(self.layout("Not found", '<h1 class="error-heading">Page not found</h1>', user), 404)

    # ------------------------------------------------------------------ login
    def login(self, req: Request, user: str | None) -> Response:
        guest = req.cookies.get(GUEST) or self.sessions.token("acme-guest", str(datetime.now(UTC).timestamp()))[:24]
        csrf = self.sessions.token("acme-csrf", guest)[:32]
        nxt = req.query.get("next", "")
        target = nxt if nxt.startswith(self.prefix + "/") else f"{self.prefix}/"
        error = ""
        if req.method == "POST":
            f = req.form
            if f.get("csrf_token") != csrf:
                error = "The CSRF token is missing."
            elif not f.get("login"):
                error = "Login: this field is required."
            elif not self.sessions.check(f.get("login", ""), f.get("password", "")):
                error = "Wrong login or password."
            else:
                r = Response.redirect(target)
                r.headers.append(("Set-Cookie", f"{COOKIE}={self.sessions.create(f['login'])}; Path=/; HttpOnly"))
                return r
        flash = WALL_TEXT if nxt and req.method != "POST" else ""
        err = f'<div class="alert alert-danger">{escape(error)}</div>' if error else ""
        action = f"{self.prefix}/auth/login" + (f"?next={quote(nxt, safe='')}" if nxt else "")
        body = f"""<h1 class="auth-heading">Sign in</h1>{err}
<form class="auth-form" method="post" action="{escape(action)}">
<input type="hidden" name="csrf_token" value="{csrf}">
<label>Login <input type="text" name="login" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<label><input type="checkbox" name="remember_me" value="y"> Remember me</label>
<button type="submit" name="submit" value="Sign in">Sign in</button>
</form>"""
        r = Response.html(self.layout("Sign in", body, user, flash))
        if not req.cookies.get(GUEST):
            r.headers.append(("Set-Cookie", f"{GUEST}={guest}; Path=/; HttpOnly"))
        return r


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default
