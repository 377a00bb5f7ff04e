"""SMF 2.1 (Curve2 default theme) skin of the fixture forum.

Markup follows SMF's MessageIndex/Display/Login templates: board rows
``#topic_container > div.windowbg`` with ``div.message_index_title span[id^=msg_] a``,
``div.lastpost`` linking ``index.php?topic=T.msgN#new``, ``div.pagelinks`` whose next
link is ``a.nav_page`` holding ``span.next_page``; posts ``div.windowbg#msgN`` with
``div.poster h4 a``, ``div.postinfo a.smalltext`` (``January 15, 2024, 10:30:00 AM``,
``<strong>Today</strong> at ...`` for today), ``div.post > div.inner#msg_N``,
``blockquote.bbc_standard_quote > cite`` and ``div.signature``. URLs are absolute and
use SMF's ``board=B.START`` / ``topic=T.START`` offsets. Stickies sort first (page 1).
"""

# HTML templates mirror the engine's one-line markup; wrapping them would hurt fidelity.
# ruff: noqa: E501

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from html import escape

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_content import ForumContent, Post, Thread, User
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Request, Response, Sessions, page_count

_SMF_INLINE = ('<strong class="bbc_strong">{}</strong>', '<em>{}</em>')


class SmfSkin:
    engine = "smf"

    def __init__(self, content: ForumContent, sessions: Sessions, faults: Faults, prefix: str = "/smf",
                 threads_per_page: int = 10, posts_per_page: int = 10) -> None:
        self.c = content
        self.sessions = sessions
        self.faults = faults
        self.prefix = prefix
        self.tpp = threads_per_page
        self.ppp = posts_per_page
        self._tl = threading.local()  # per-request scripturl root (from the Host header)

    # ------------------------------------------------------------------ URLs
    def thread_url(self, tid: int) -> str:
        return f"{self.prefix}/index.php?topic={tid}.0"

    def thread_page_url(self, tid: int, page: int) -> str:
        return f"{self.prefix}/index.php?topic={tid}.{(page - 1) * self.ppp}"

    def board_page_url(self, board_id: int, page: int) -> str:
        return f"{self.prefix}/index.php?board={board_id}.{(page - 1) * self.tpp}"

    @property
    def base(self) -> str:
        return getattr(self._tl, "base", "")

    def _abs(self, url: str) -> str:
        return escape(self.base + url)

    def date(self, dt: datetime) -> str:
        d = dt.astimezone(UTC)
        clock = f"{d:%I:%M:%S} {'AM' if d.hour < 12 else 'PM'}"
        if d.date() == datetime.now(UTC).date():
            return f"<strong>Today</strong> at {clock}"
        return f"{d:%B %d, %Y}, {clock}"

    def profile(self, u: User) -> str:
        return (f'<a href="{self._abs(self.prefix + "/index.php?action=profile;u=" + str(u.uid))}" '
                f'title="View the profile of {escape(u.name)}">{escape(u.name)}</a>')

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        self._tl.base = f"http://{req.host}" if req.host else ""
        sid = req.cookies.get("PHPSESSID")
        user = self.sessions.user(sid)
        q = req.query
        if req.path not in ("/", "/index.php"):
            return self.fatal(user, "The page you requested does not exist.", 404)
        action = q.get("action", "")
        if action in ("login", "login2"):
            return self.login(req, user, sid)
        if action == "logout":
            r = Response.redirect(self.base + self.prefix + "/index.php")
            r.headers.append(("Set-Cookie", "PHPSESSID=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT"))
            return r
        if "topic" in q:
            return self.display(req, user, sid)
        if "board" in q:
            return self.messageindex(req, user, sid)
        return self.index(user)

    @staticmethod
    def _split(value: str) -> tuple[int, str]:
        head, _, tail = value.partition(".")
        try:
            return int(head), tail
        except ValueError:
            return -1, ""

    # ------------------------------------------------------------------ chrome
    def layout(self, title: str, body: str, user: str | None, crumbs: list[tuple[str, str]] = ()) -> str:
        links = [f'<li><a href="{self._abs(self.prefix + "/index.php")}"><span>darkwatch lab</span></a></li>']
        for i, (href, label) in enumerate(crumbs):
            last = ' class="last"' if i == len(crumbs) - 1 else ""
            links.append(f'<li{last}><span class="dividers"> &#9658; </span><a href="{self._abs(href)}"><span>{escape(label)}</span></a></li>')
        userbox = (f'<li><a href="{self._abs(self.prefix + "/index.php?action=profile")}">{escape(user)}</a></li>' if user
                   else f'<li class="welcome">Welcome to <strong>darkwatch lab</strong>. Please <a href="{self._abs(self.prefix + "/index.php?action=login")}" onclick="return reqOverlayDiv(this.href, \'Log in\', \'login\');">log in</a>.</li>')
        return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
\t<meta charset="UTF-8">
\t<link rel="stylesheet" href="{self._abs(self.prefix + '/Themes/default/css/index.css?smf214')}">
\t<style>.signature {{ overflow: auto; }}</style>
\t<script src="{self._abs(self.prefix + '/Themes/default/scripts/script.js?smf214')}"></script>
\t<script>
\t\tvar smf_theme_url = "{self._abs(self.prefix + '/Themes/default')}";
\t\tvar smf_scripturl = "{self._abs(self.prefix + '/index.php')}";
\t</script>
\t<title>{escape(title)}</title>
\t<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body id="chrome" class="action_messageindex">
<div id="footerfix">
\t<div id="top_section">
\t\t<div class="inner_wrap">
\t\t\t<ul class="floatleft" id="top_info">
\t\t\t\t{userbox}
\t\t\t</ul>
\t\t\t<form id="search_form" class="floatright" action="{self._abs(self.prefix + '/index.php?action=search2')}" method="post" accept-charset="UTF-8">
\t\t\t\t<input type="search" name="search" value="">&nbsp;
\t\t\t\t<input type="submit" name="search2" value="Search" class="button">
\t\t\t\t<input type="hidden" name="advanced" value="0">
\t\t\t</form>
\t\t</div>
\t</div>
\t<div id="header">
\t\t<h1 class="forumtitle"><a id="top" href="{self._abs(self.prefix + '/index.php')}">darkwatch lab</a></h1>
\t\t<div id="siteslogan">Le forum du marché noir (fixture)</div>
\t</div>
\t<div id="wrapper">
\t\t<div id="upper_section">
\t\t\t<div id="inner_section">
\t\t\t\t<div class="navigate_section">
\t\t\t\t\t<ul>
\t\t\t\t\t\t{''.join(links)}
\t\t\t\t\t</ul>
\t\t\t\t</div>
\t\t\t</div>
\t\t</div>
\t\t<div id="content_section">
\t\t\t<div id="main_content_section">
{body}
\t\t\t</div>
\t\t</div>
\t</div>
</div>
<div id="footer">
\t<div class="inner_wrap">
\t<ul>
\t\t<li class="floatright"><a href="{self._abs(self.prefix + '/index.php?action=help')}">Help</a> | <a href="{self._abs(self.prefix + '/index.php?action=agreement')}">Terms and Rules</a> | <a href="#top_section">Go Up &#9650;</a></li>
\t\t<li class="copyright"><a href="{self._abs(self.prefix + '/index.php?action=credits')}" title="License" target="_blank" rel="noopener">SMF 2.1.4 &copy; 2023</a>, <a href="https://www.simplemachines.org" title="Simple Machines" target="_blank" rel="noopener">Simple Machines</a></li>
\t</ul>
\t</div>
</div>
</body>
</html>
"""

    def pagelinks(self, cur: int, pages: int, url_of) -> str:
        out = ['<div class="pagelinks floatleft">', '<a href="#bot" class="button">Go Down</a>', '<span class="pages">Pages</span>']
        if cur > 1:
            out.append(f'<a class="nav_page" href="{self._abs(url_of(cur - 1))}"><span class="main_icons previous_page"></span></a>')
        for p in range(1, pages + 1):
            if p == cur:
                out.append(f'<span class="current_page">{p}</span>')
            elif p in (1, pages) or abs(p - cur) <= 2:
                out.append(f'<a class="nav_page" href="{self._abs(url_of(p))}">{p}</a>')
            elif abs(p - cur) == 3:
                out.append('<span class="expand_pages"> ... </span>')
        if cur < pages:
            out.append(f'<a class="nav_page" href="{self._abs(url_of(cur + 1))}"><span class="main_icons next_page"></span></a>')
        out.append("</div>")
        return " ".join(out)

    # ------------------------------------------------------------------ pages
    def index(self, user: str | None) -> Response:
        rows = []
        for b in self.c.boards.values():
            ths = self.c.board_threads(b.board_id)
            rows.append(f"""<div id="board_{b.board_id}" class="up_contain ">
\t<div class="board_icon"><a href="{self._abs(self.board_page_url(b.board_id, 1))}" class="board_off" title="No New Posts"></a></div>
\t<div class="info">
\t\t<a class="subject mobile_subject" href="{self._abs(self.board_page_url(b.board_id, 1))}" id="b{b.board_id}">{escape(b.name)}</a>
\t\t<div class="board_description">{escape(b.description)}</div>
\t</div>
\t<div class="board_stats"><p>{sum(len(t.posts) for t in ths)} Posts<br>{len(ths)} Topics</p></div>
</div>""")
        body = f"""<div id="boardindex_table" class="boardindex_table">
<div class="main_container">
\t<div class="cat_bar" id="category_1"><h3 class="catbg">Forums</h3></div>
\t<div id="category_1_boards">
{chr(10).join(rows)}
\t</div>
</div>
</div>"""
        return Response.html(self.layout("darkwatch lab - Index", body, user))

    def messageindex(self, req: Request, user: str | None, sid: str | None) -> Response:
        fid, start = self._split(req.query.get("board", ""))
        board = self.c.boards.get(fid)
        if board is None:
            return self.fatal(user, "The topic or board you are looking for appears to be either missing or off limits to you.", 404)
        crumbs = [(self.board_page_url(fid, 1), board.name)]
        if board.private and not user:
            return self.login_form(sid, "The topic or board you are looking for appears to be either missing or off limits to you.", crumbs)
        ths = self.c.board_threads(fid)
        pages = page_count(len(ths), self.tpp)
        try:
            cur = min(int(start or 0) // self.tpp + 1, pages)
        except ValueError:
            cur = 1
        shown = ths[(cur - 1) * self.tpp: cur * self.tpp]
        pl = self.pagelinks(cur, pages, lambda p: self.board_page_url(fid, p))
        rows = "\n".join(self._row(th) for th in shown)
        body = f"""<div id="display_head" class="information"><h2 class="display_title">{escape(board.name)}</h2><p>{escape(board.description)}</p></div>
<div class="pagesection">
\t{pl}
\t<div class="buttonlist floatright"><a class="button button_strip_new_topic active" href="{self._abs(self.prefix + '/index.php?action=post;board=' + str(fid) + '.0')}">New Topic</a></div>
</div>
<div id="messageindex">
\t<div class="title_bar" id="topic_header">
\t\t<div class="board_icon"></div>
\t\t<div class="info">Subject / Started by</div>
\t\t<div class="board_stats centertext">Replies / Views</div>
\t\t<div class="lastpost">Last post</div>
\t</div>
\t<div id="topic_container">
{rows}
\t</div>
</div>
<div class="pagesection">
\t{pl}
</div>
<form action="{self._abs(self.prefix + '/index.php?action=quickmod;board=' + str(fid) + '.0')}" method="post" name="quickModForm" id="quickModForm">
\t<input type="hidden" name="qaction" value="">
</form>"""
        return Response.html(self.layout(board.name, body, user, crumbs))

    def _row(self, th: Thread) -> str:
        first, last = th.posts[0], th.last
        pages = page_count(len(th.posts), self.ppp)
        tp = ""
        if pages > 1:
            tp = (f'\n\t\t<span id="pages{th.tid}" class="topic_pages"><span class="pages">Pages</span>: '
                  + " ".join(f'<a class="nav_page" href="{self._abs(self.thread_page_url(th.tid, p))}">{p}</a>' for p in range(1, pages + 1))
                  + "</span>")
        cls = "windowbg sticky" if th.kind != "normal" else "windowbg"
        icons = '<span class="main_icons sticky"></span>' if th.kind != "normal" else ""
        return f"""\t\t<div class="{cls}">
\t\t\t<div class="board_icon"><img src="{self._abs(self.prefix + '/Themes/default/images/topic/normal_post.png')}" alt=""></div>
\t\t\t<div class="info info_block">
\t\t\t\t<div class="icons floatright">{icons}</div>
\t\t\t\t<div class="message_index_title">
\t\t\t\t\t<span class="preview" title="">
\t\t\t\t\t\t<span id="msg_{first.pid}"><a href="{self._abs(self.thread_url(th.tid))}">{escape(th.title)}</a></span>
\t\t\t\t\t</span>
\t\t\t\t</div>
\t\t\t\t<p class="floatleft">Started by {self.profile(first.author)}</p>{tp}
\t\t\t</div>
\t\t\t<div class="board_stats centertext"><p>Replies: {len(th.posts) - 1}<br>Views: {th.views}</p></div>
\t\t\t<div class="lastpost">
\t\t\t\t<p><a href="{self._abs(f'{self.prefix}/index.php?topic={th.tid}.msg{last.pid}#new')}">{self.date(last.published)}</a><br>by {self.profile(last.author)}</p>
\t\t\t</div>
\t\t</div>"""

    def display(self, req: Request, user: str | None, sid: str | None) -> Response:
        tid, start = self._split(req.query.get("topic", ""))
        th = self.c.thread(tid)
        if th is None:
            return self.fatal(user, "The topic or board you are looking for appears to be either missing or off limits to you.", 404)
        board = self.c.boards[th.board_id]
        crumbs = [(self.board_page_url(board.board_id, 1), board.name), (self.thread_url(th.tid), th.title)]
        if board.private and not user:
            return self.login_form(sid, "The topic or board you are looking for appears to be either missing or off limits to you.", crumbs)
        if th.fault:
            r = self.faults.respond(th.fault, f"{self.prefix}:{th.tid}", req.query)
            if r is not None:
                return r
        with self.c.lock:
            posts = list(th.posts)
        pages = page_count(len(posts), self.ppp)
        if start.startswith("msg"):
            pid = int(start[3:]) if start[3:].isdigit() else -1
            idx = next((i for i, p in enumerate(posts) if p.pid == pid), 0)
            cur = idx // self.ppp + 1
        else:
            cur = min(int(start) // self.ppp + 1, pages) if start.isdigit() else 1
        shown = posts[(cur - 1) * self.ppp: cur * self.ppp]
        pl = self.pagelinks(cur, pages, lambda p: self.thread_page_url(th.tid, p))
        nxt = None
        if th.fault == "selfnext":
            nxt = self.thread_page_url(th.tid, cur)
        elif th.fault == "cycle" and cur == pages:
            nxt = self.thread_page_url(th.tid, 1)
        if nxt is not None:
            link = f'<a class="nav_page" href="{self._abs(nxt)}"><span class="main_icons next_page"></span></a>'
            pl = re.sub(r'<a class="nav_page" href="[^"]*"><span class="main_icons next_page"></span></a>', "", pl)
            pl = pl.replace("</div>", link + " </div>")
        msgs = "\n".join(self._post(p, th, (cur - 1) * self.ppp + i) for i, p in enumerate(shown))
        body = f"""<div id="display_head" class="information">
\t<h2 class="display_title"><span id="top_subject">{escape(th.title)}</span></h2>
\t<p>Started by {self.profile(posts[0].author)}, {self.date(posts[0].published)}</p>
</div>
<div class="pagesection top">
\t{pl}
\t<div class="buttonlist floatright"><a class="button button_strip_reply active" href="{self._abs(f'{self.prefix}/index.php?action=post;topic={th.tid}.0')}">Reply</a></div>
</div>
<div id="forumposts">
\t<form action="{self._abs(f'{self.prefix}/index.php?action=quickmod2;topic={th.tid}.{(cur - 1) * self.ppp}')}" method="post" accept-charset="UTF-8" name="quickModForm" id="quickModForm" onsubmit="return oQuickModify.bInEditMode ? oQuickModify.modifySave('x', 'y') : false">
{msgs}
\t</form>
</div>
<div class="pagesection">
\t{pl}
</div>"""
        r = Response.html(self.layout(th.title, body, user, crumbs))
        r = self.faults.finish(th.fault, r, f"fault:{th.fault} post:")
        return r

    def _post(self, p: Post, th: Thread, counter: int) -> str:
        u = p.author
        paras = "<br>".join(ft.inline_html(x, _SMF_INLINE) for x in p.paragraphs)
        quote = ""
        if p.quote_of is not None:
            q = p.quote_of
            quote = (f'<blockquote class="bbc_standard_quote"><cite><a href="{self._abs(f"{self.prefix}/index.php?topic={th.tid}.msg{q.pid}#msg{q.pid}")}">'
                     f"Quote from: {escape(q.author.name)} on {self.date(q.published)}</a></cite>"
                     f"{ft.inline_html(p.quote_text, _SMF_INLINE)}</blockquote>")
        href = self._abs(f"{self.prefix}/index.php?topic={th.tid}.msg{p.pid}#msg{p.pid}")
        subject = ("Re: " if counter else "") + escape(th.title)
        reply = f"Reply #{counter} - " if counter else ""
        modified = ""
        if p.edit_count:
            modified = f'<span class="lastedit">Last Edit</span>: {self.date(p.edited_at)} by {escape(u.name)}'
        sig = f'\n\t\t\t\t<div class="signature" id="msg_{p.pid}_signature">{escape(u.signature)}</div>' if u.signature else ""
        return f"""\t\t\t\t<div class="windowbg" id="msg{p.pid}">
\t\t\t\t<div class="post_wrapper">
\t\t\t\t\t<div class="poster">
\t\t\t\t\t\t<h4><span class="off" title="Offline"></span>{self.profile(u)}</h4>
\t\t\t\t\t\t<ul class="user_info"><li class="membergroup">{escape(u.rank)}</li><li class="postcount">Posts: {u.uid * 7}</li></ul>
\t\t\t\t\t</div>
\t\t\t\t\t<div class="postarea">
\t\t\t\t\t\t<div class="keyinfo">
\t\t\t\t\t\t\t<div id="subject_{p.pid}" class="subject_title subject_hidden"><a href="{href}" rel="nofollow">{subject}</a></div>
\t\t\t\t\t\t\t<span class="page_number floatright">#{counter + 1}</span>
\t\t\t\t\t\t\t<div class="postinfo">
\t\t\t\t\t\t\t\t<span class="messageicon" style="position: absolute; z-index: -1;"><img src="{self._abs(self.prefix + '/Themes/default/images/post/xx.png')}" alt=""></span>
\t\t\t\t\t\t\t\t<a href="{href}" rel="nofollow" title="{reply}{subject}" class="smalltext">{self.date(p.published)}</a>
\t\t\t\t\t\t\t\t<span class="spacer"></span>
\t\t\t\t\t\t\t\t<span class="smalltext modified floatright{' mvisible' if modified else ''}" id="modified_{p.pid}">{modified}</span>
\t\t\t\t\t\t\t</div>
\t\t\t\t\t\t\t<div id="msg_{p.pid}_quick_mod"></div>
\t\t\t\t\t\t</div>
\t\t\t\t\t\t<div class="post">
\t\t\t\t\t\t\t<div class="inner" data-msgid="{p.pid}" id="msg_{p.pid}">{quote}{paras}</div>
\t\t\t\t\t\t</div>
\t\t\t\t\t</div>
\t\t\t\t\t<div class="moderatorbar">{sig}
\t\t\t\t\t</div>
\t\t\t\t</div>
\t\t\t\t</div>
\t\t\t\t<hr class="post_separator">"""

    # ------------------------------------------------------------------ errors and login
    def fatal(self, user: str | None, text: str, status: int = 200) -> Response:
        body = (f'<div id="fatal_error"><div class="cat_bar"><h3 class="catbg">An Error Has Occurred!</h3></div>'
                f'<div class="windowbg"><div class="padding">{escape(text)}</div></div></div>')
        return Response.html(self.layout("An Error Has Occurred!", body, user), status)

    def _session_field(self, sid: str) -> tuple[str, str]:
        """SMF's per-session hidden field: a random name and value bound to PHPSESSID."""
        name = "".join(c for c in self.sessions.token("smf-var", sid) if c.isalpha())[:7] or "x"
        return name + self.sessions.token("smf-n", sid)[:3], self.sessions.token("smf-val", sid)[:32]

    def login_form(self, sid: str | None, message: str, crumbs=(), error: str = "") -> Response:
        new_cookie = not sid
        sid = sid or self.sessions.token("smf-guest", str(datetime.now(UTC).timestamp()))[:26]
        var, val = self._session_field(sid)
        err = f'<div class="errorbox">{escape(error)}</div>' if error else ""
        body = f"""<form action="{self._abs(self.prefix + '/index.php?action=login2')}" name="frmLogin" id="frmLogin" method="post" accept-charset="UTF-8">
<div class="login">
\t<div class="cat_bar"><h3 class="catbg"><span class="main_icons login"></span> Warning!</h3></div>
\t<p class="information centertext">Only registered members are allowed to access this section.<br>{escape(message)}</p>
\t{err}
\t<div class="roundframe">
\t\t<dl>
\t\t\t<dt>Username:</dt>
\t\t\t<dd><input type="text" name="user" size="20" required></dd>
\t\t\t<dt>Password:</dt>
\t\t\t<dd><input type="password" name="passwrd" size="20" required></dd>
\t\t\t<dt>Time to stay logged in:</dt>
\t\t\t<dd><select name="cookielength"><option value="3153600" selected>Forever</option></select></dd>
\t\t</dl>
\t\t<p class="centertext"><input type="submit" value="Log in" class="button"></p>
\t\t<p class="centertext smalltext"><a href="{self._abs(self.prefix + '/index.php?action=reminder')}">Forgot your password?</a></p>
\t\t<input type="hidden" name="{var}" value="{val}">
\t\t<input type="hidden" name="hash_passwrd" value="">
\t</div>
</div>
</form>
<script>document.forms.frmLogin.user.focus();</script>"""
        r = Response.html(self.layout("Log in", body, None, list(crumbs)))
        if new_cookie:
            r.headers.append(("Set-Cookie", f"PHPSESSID={sid}; path=/; HttpOnly"))
        return r

    def login(self, req: Request, user: str | None, sid: str | None) -> Response:
        if req.query.get("action") == "login" or req.method != "POST":
            return self.login_form(sid, "")
        f = req.form
        var, val = self._session_field(sid or "")
        if not sid or f.get(var) != val:
            return self.login_form(sid, "", error="Your session timed out while posting. Please try to re-submit your message.")
        if not self.sessions.check(f.get("user", ""), f.get("passwrd", "")):
            return self.login_form(sid, "", error="Password incorrect")
        new = self.sessions.create(f["user"])
        r = Response.redirect(self.base + self.prefix + "/index.php")
        r.headers.append(("Set-Cookie", f"PHPSESSID={new}; path=/; HttpOnly"))
        r.headers.append(("Set-Cookie", "SMFCookie956=lab; path=/; HttpOnly"))
        return r
