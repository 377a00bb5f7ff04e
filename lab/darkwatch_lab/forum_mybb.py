"""MyBB 1.8 (default theme) skin of the fixture forum.

Markup follows MyBB's templates (forumdisplay_thread, forumdisplay_thread_multipage,
multipage, postbit, postbit_signature, mycode_quote_post, error_nopermission):
``tr.inline_row`` rows with ``span.subject_old#tid_N a``, ``span.lastpost.smalltext``
with ``showthread.php?tid=N&action=lastpost``, ``.pagination_next``; posts are
``div.post#post_N`` with ``.author_information .largetext a``, ``span.post_date``
(board time zone, "MM-DD-YYYY, h:mm AM", relative "Today"/"Yesterday"/"N minutes ago"
with the absolute date in a ``title``), ``div.post_body#pid_N``,
``blockquote.mycode_quote > cite`` and ``div.signature``. Stickies sort first and are on
page 1 only, as in MyBB.
"""

# HTML templates mirror the engines' one-line markup; wrapping them would hurt fidelity.
# ruff: noqa: E501

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_content import ForumContent, Post, Thread, User
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Request, Response, Sessions, page_count


class MybbSkin:
    engine = "mybb"

    def __init__(self, content: ForumContent, sessions: Sessions, faults: Faults, prefix: str = "/mybb",
                 tz: str = "Europe/Paris", threads_per_page: int = 10, posts_per_page: int = 10) -> None:
        self.c = content
        self.sessions = sessions
        self.faults = faults
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.tpp = threads_per_page
        self.ppp = posts_per_page

    # ------------------------------------------------------------------ URLs
    def thread_url(self, tid: int) -> str:
        return f"{self.prefix}/showthread.php?tid={tid}"

    def thread_page_url(self, tid: int, page: int) -> str:
        return self.thread_url(tid) + (f"&page={page}" if page > 1 else "")

    def board_page_url(self, board_id: int, page: int) -> str:
        return f"{self.prefix}/forumdisplay.php?fid={board_id}" + (f"&page={page}" if page > 1 else "")

    def _rel(self, url: str) -> str:
        return url[len(self.prefix) + 1:].replace("&", "&amp;")

    # ------------------------------------------------------------------ dates
    def _abs(self, dt: datetime) -> tuple[str, str]:
        d = dt.astimezone(self.tz)
        return f"{d:%m-%d-%Y}", f"{d:%I:%M} {'AM' if d.hour < 12 else 'PM'}"

    def date(self, dt: datetime) -> str:
        """MyBB's my_date('relative'): HTML, with spans carrying absolute dates in ``title``."""
        day, clock = self._abs(dt)
        diff = time.time() - dt.timestamp()
        if 0 <= diff < 3600:
            mins = max(1, int(diff // 60))
            return f'<span title="{day}, {clock}">{mins} minute{"s" if mins > 1 else ""} ago</span>'
        if 0 <= diff < 43200:
            hours = int(diff // 3600)
            return f'<span title="{day}, {clock}">{hours} hour{"s" if hours > 1 else ""} ago</span>'
        now = datetime.now(UTC).astimezone(self.tz).date()
        local = dt.astimezone(self.tz).date()
        if local == now:
            return f'<span title="{day}">Today</span>, {clock}'
        if local == now - timedelta(days=1):
            return f'<span title="{day}">Yesterday</span>, {clock}'
        return f"{day}, {clock}"

    def plain_date(self, dt: datetime) -> str:
        day, clock = self._abs(dt)
        return f"{day}, {clock}"

    def profile(self, u: User) -> str:
        name = escape(u.name)
        if u.colour:
            name = f'<span style="color: #{u.colour};"><strong>{name}</strong></span>'
        return f'<a href="member.php?action=profile&amp;uid={u.uid}">{name}</a>'

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        user = self.sessions.user(req.cookies.get("sid")) if req.cookies.get("mybbuser") else None
        page = req.path.lstrip("/") or "index.php"
        if page == "index.php":
            return self.index(user)
        if page == "forumdisplay.php":
            return self.forumdisplay(req, user)
        if page == "showthread.php":
            return self.showthread(req, user)
        if page == "member.php":
            return self.member(req, user)
        return self.error(user, "The specified page does not exist.", 404)

    def _int(self, req: Request, key: str, default: int = 0) -> int:
        try:
            return max(0, int(req.query.get(key, default)))
        except ValueError:
            return default

    # ------------------------------------------------------------------ chrome
    def layout(self, title: str, body: str, user: str | None, nav: list[tuple[str, str]] = ()) -> str:
        post_key = self.sessions.token("mybb", "post_key")[:32]
        if user:
            welcome = (f'<span class="welcome">Welcome back, <strong><a href="member.php?action=profile">'
                       f'{escape(user)}</a></strong>. <a href="member.php?action=logout&amp;logoutkey=x">Log Out</a>'
                       f"</span>")
        else:
            welcome = ('<span class="welcome">Hello There, Guest! <a href="member.php?action=login" '
                       'onclick="$(\'#quick_login\').modal({ fadeDuration: 250, keepelement: true, zIndex: '
                       '(typeof modal_zindex !== \'undefined\' ? modal_zindex : 9999) }); return false;" '
                       'class="login">Login</a> <a href="member.php?action=register" class="register">Register</a>'
                       "</span>")
        crumbs = '<a href="index.php">darkwatch lab</a>'
        for i, (href, label) in enumerate(nav):
            if i == len(nav) - 1:
                crumbs += f' &rsaquo;\n<span class="active">{escape(label)}</span>'
            else:
                crumbs += f' &rsaquo;\n<a href="{href}">{escape(label)}</a>'
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xml:lang="en" lang="en" xmlns="http://www.w3.org/1999/xhtml">
<head>
<title>{escape(title)}</title>
<link rel="alternate" type="application/rss+xml" title="Latest Threads (RSS 2.0)" href="syndication.php" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<script type="text/javascript" src="jscripts/jquery.js?ver=1823"></script>
<script type="text/javascript" src="jscripts/general.js?ver=1827"></script>
<link type="text/css" rel="stylesheet" href="cache/themes/theme1/global.css?t=1700000000" />
<style type="text/css">.post .post_body {{ padding: 5px; }}</style>
<script type="text/javascript">
<!--
\tvar cookieDomain = "";
\tvar cookiePath = "/";
\tvar my_post_key = "{post_key}";
// -->
</script>
</head>
<body>
\t<div id="container">
\t\t<a name="top" id="top"></a>
\t\t<div id="header">
\t\t\t<div id="logo">
\t\t\t\t<div class="wrapper">
\t\t\t\t\t<a href="index.php"><img src="images/logo.png" alt="darkwatch lab" title="darkwatch lab" /></a>
\t\t\t\t\t<ul class="menu top_links">
\t\t\t\t\t\t<li><a href="search.php" class="search">Search</a></li>
\t\t\t\t\t\t<li><a href="memberlist.php" class="memberlist">Member List</a></li>
\t\t\t\t\t\t<li><a href="misc.php?action=help" class="help">Help</a></li>
\t\t\t\t\t</ul>
\t\t\t\t</div>
\t\t\t</div>
\t\t\t<div id="panel">
\t\t\t\t<div class="upper">
\t\t\t\t\t<div class="wrapper">
\t\t\t\t\t\t{welcome}
\t\t\t\t\t</div>
\t\t\t\t</div>
\t\t\t</div>
\t\t</div>
\t\t<div id="container">
\t\t<div id="content">
\t\t\t<div class="wrapper">
\t\t\t\t<div class="navigation">
{crumbs}
\t\t\t\t</div>
\t\t\t\t<br />
{body}
\t\t\t</div>
\t\t</div>
\t\t<div id="footer">
\t\t\t<div class="upper"><div class="wrapper">
\t\t\t\t<ul class="menu bottom_links"><li><a href="showteam.php">Forum Team</a></li>
\t\t\t\t<li><a href="#top">Return to Top</a></li><li><a href="misc.php?action=syndication">RSS Syndication</a></li></ul>
\t\t\t</div></div>
\t\t\t<div class="lower"><div class="wrapper">
\t\t\t\t<span id="current_time"><strong>Current time:</strong> {escape(self.plain_date(datetime.now(UTC)))}</span>
\t\t\t\t<span id="copyright">Powered By <a href="https://mybb.com" target="_blank" rel="noopener">MyBB</a>, &copy; 2002-2024 <a href="https://mybb.com" target="_blank" rel="noopener">MyBB Group</a>.</span>
\t\t\t</div></div>
\t\t</div>
\t\t</div>
\t</div>
</body>
</html>
"""

    def multipage(self, cur: int, pages: int, url_of) -> str:
        if pages <= 1:
            return ""
        out = [f'<div class="pagination">\n<span class="pages">Pages ({pages}):</span>']
        if cur > 1:
            out.append(f'<a href="{self._rel(url_of(cur - 1))}" class="pagination_previous">&laquo; Previous</a>')
        for p in range(1, pages + 1):
            if p == cur:
                out.append(f'<span class="pagination_current">{p}</span>')
            elif p in (1, pages) or abs(p - cur) <= 2:
                out.append(f'<a href="{self._rel(url_of(p))}" class="pagination_page">{p}</a>')
            elif abs(p - cur) == 3:
                out.append("<span>...</span>")
        if cur < pages:
            out.append(f'<a href="{self._rel(url_of(cur + 1))}" class="pagination_next">Next &raquo;</a>')
        return "\n".join(out) + "\n</div>"

    # ------------------------------------------------------------------ pages
    def index(self, user: str | None) -> Response:
        rows = []
        for i, b in enumerate(self.c.boards.values()):
            ths = self.c.board_threads(b.board_id)
            last = max((th.last for th in ths), key=lambda p: (p.published, p.pid), default=None)
            lp = "<span class=\"lastpost smalltext\">Never</span>"
            if last is not None:
                lth = self.c.thread(last.tid)
                lp = (f'<span class="smalltext">\n<a href="showthread.php?tid={lth.tid}&amp;action=lastpost" '
                      f'title="{escape(lth.title)}"><strong>{escape(lth.title)}</strong></a>\n<br />'
                      f'{self.date(last.published)}<br />by {self.profile(last.author)}</span>')
            bg = "trow1" if i % 2 == 0 else "trow2"
            rows.append(f"""<tr>
<td class="{bg}" align="center" valign="top" width="1"><span class="forum_status forum_off ajax_mark_read" title="No New Posts" id="mark_read_{b.board_id}"></span></td>
<td class="{bg}" valign="top">
<strong><a href="forumdisplay.php?fid={b.board_id}">{escape(b.name)}</a></strong><div class="smalltext">{escape(b.description)}</div>
</td>
<td class="{bg}" valign="top" align="center" style="white-space: nowrap">{len(ths)}</td>
<td class="{bg}" valign="top" align="center" style="white-space: nowrap">{sum(len(t.posts) for t in ths)}</td>
<td class="{bg}" valign="top" align="right" style="white-space: nowrap">{lp}</td>
</tr>""")
        body = f"""<table border="0" cellspacing="0" cellpadding="5" class="tborder">
<thead><tr><td class="thead" colspan="5"><div><strong><a href="index.php">Forums</a></strong></div></td></tr></thead>
<tbody style="" id="cat_1_e">
<tr>
<td class="tcat" colspan="2"><span class="smalltext"><strong>Forum</strong></span></td>
<td class="tcat" width="85" align="center" style="white-space: nowrap"><span class="smalltext"><strong>Threads</strong></span></td>
<td class="tcat" width="85" align="center" style="white-space: nowrap"><span class="smalltext"><strong>Posts</strong></span></td>
<td class="tcat" width="200" align="center"><span class="smalltext"><strong>Last Post</strong></span></td>
</tr>
{chr(10).join(rows)}
</tbody>
</table>"""
        return Response.html(self.layout("darkwatch lab", body, user))

    def forumdisplay(self, req: Request, user: str | None) -> Response:
        fid = self._int(req, "fid")
        board = self.c.boards.get(fid)
        if board is None:
            return self.error(user, "Invalid forum", 404)
        nav = [(f"forumdisplay.php?fid={fid}", board.name)]
        if board.private and not user:
            return self.no_permission(user, self.board_page_url(fid, 1), nav)
        ths = self.c.board_threads(fid)
        pages = page_count(len(ths), self.tpp)
        cur = min(max(1, self._int(req, "page", 1)), pages)
        shown = ths[(cur - 1) * self.tpp: cur * self.tpp]
        mp = self.multipage(cur, pages, lambda p: self.board_page_url(fid, p))
        rows = []
        in_sticky = None
        for i, th in enumerate(shown):
            sticky = th.kind != "normal"
            if sticky != in_sticky:
                label = "Important Threads" if sticky else "Normal Threads"
                rows.append(f'<tr><td class="trow_sep" colspan="6">{label}</td></tr>')
                in_sticky = sticky
            rows.append(self._thread_row(th, i))
        body = f"""<div class="float_left">
\t{mp}
</div>
<div class="float_right">
\t<a href="newthread.php?fid={fid}" class="button new_thread_button"><span>Post Thread</span></a>
</div>
<table border="0" cellspacing="0" cellpadding="5" class="tborder clear">
\t<tr>
\t\t<td class="thead" colspan="6">
\t\t\t<div class="float_right"><span class="smalltext"><strong><a href="misc.php?action=markread&amp;fid={fid}">Mark this forum read</a></strong></span></div>
\t\t\t<div><strong>{escape(board.name)}</strong></div>
\t\t</td>
\t</tr>
\t<tr>
\t\t<td class="tcat" align="center" colspan="2">&nbsp;</td>
\t\t<td class="tcat" width="100%"><span class="smalltext"><strong><a href="forumdisplay.php?fid={fid}&amp;sortby=subject&amp;order=asc">Thread</a></strong> / <a href="forumdisplay.php?fid={fid}&amp;sortby=starter&amp;order=asc">Author</a></span></td>
\t\t<td class="tcat" align="center" width="7%"><span class="smalltext"><strong>Replies</strong></span></td>
\t\t<td class="tcat" align="center" width="7%"><span class="smalltext"><strong>Views</strong></span></td>
\t\t<td class="tcat" align="right" width="20%"><span class="smalltext"><strong>Last Post</strong></span></td>
\t</tr>
{chr(10).join(rows)}
</table>
<div class="float_left">
\t{mp}
</div>
<form action="forumdisplay.php" method="get">
<input type="hidden" name="fid" value="{fid}" />
<select name="datecut"><option value="9999">Show all threads</option></select>
<input type="submit" class="button" value="Go" />
</form>"""
        return Response.html(self.layout(board.name, body, user, nav))

    def _thread_row(self, th: Thread, i: int) -> str:
        bg = "trow1" if i % 2 == 0 else "trow2"
        first, last = th.posts[0], th.last
        pages = page_count(len(th.posts), self.ppp)
        mp = ""
        if pages > 1:
            links = " ".join(f'<a href="{self._rel(self.thread_page_url(th.tid, p))}">{p}</a>'
                             for p in range(1, pages + 1))
            mp = f' <span class="smalltext">(Pages: {links})</span>'
        cls = "forumdisplay_sticky" if th.kind != "normal" else "forumdisplay_regular"
        prefix = '<span class="thread_status">Sticky:</span> ' if th.kind != "normal" else ""
        return f"""<tr class="inline_row">
\t<td align="center" class="{bg} {cls}" width="2%"><span class="thread_status {'hotfolder' if len(th.posts) > 15 else 'folder'}" title="No new posts.">&nbsp;</span></td>
\t<td align="center" class="{bg} {cls}" width="2%">&nbsp;</td>
\t<td class="{bg} {cls}">
\t\t<div>
\t\t\t<span>{prefix}<span class=" subject_old" id="tid_{th.tid}"><a href="{self._rel(self.thread_url(th.tid))}">{escape(th.title)}</a></span>{mp}</span>
\t\t\t<div class="author smalltext">{self.profile(first.author)}</div>
\t\t</div>
\t</td>
\t<td align="center" class="{bg} {cls}"><a href="javascript:MyBB.whoPosted({th.tid});">{len(th.posts) - 1}</a></td>
\t<td align="center" class="{bg} {cls}">{th.views}</td>
\t<td class="{bg} {cls}" style="white-space: nowrap; text-align: right;">
\t\t<span class="lastpost smalltext">{self.date(last.published)}<br />
\t\t<a href="showthread.php?tid={th.tid}&amp;action=lastpost">Last Post</a>: {self.profile(last.author)}</span>
\t</td>
</tr>"""

    def showthread(self, req: Request, user: str | None) -> Response:
        th = self.c.thread(self._int(req, "tid"))
        pid = self._int(req, "pid")
        post = self.c.posts.get(pid) if pid else None
        if th is None and post is not None:
            th = self.c.thread(post.tid)
        if th is None:
            return self.error(user, "The specified thread does not exist.", 404)
        board = self.c.boards[th.board_id]
        nav = [(f"forumdisplay.php?fid={board.board_id}", board.name), ("", th.title)]
        if board.private and not user:
            return self.no_permission(user, self.thread_url(th.tid), nav)
        with self.c.lock:
            posts = list(th.posts)
        if req.query.get("action") == "lastpost":
            last = posts[-1]
            return Response.redirect(f"{self.prefix}/showthread.php?tid={th.tid}&pid={last.pid}#pid{last.pid}")
        if th.fault:
            r = self.faults.respond(th.fault, f"{self.prefix}:{th.tid}", req.query)
            if r is not None:
                return r
        pages = page_count(len(posts), self.ppp)
        if post is not None and post in posts:
            cur = posts.index(post) // self.ppp + 1
        else:
            cur = min(max(1, self._int(req, "page", 1)), pages)
        shown = posts[(cur - 1) * self.ppp: cur * self.ppp]
        mp = self.multipage(cur, pages, lambda p: self.thread_page_url(th.tid, p))
        if th.fault == "selfnext":
            nxt = f'<a href="{self._rel(self.thread_page_url(th.tid, cur))}" class="pagination_next">Next &raquo;</a>'
            mp = _replace_next(mp, nxt)
        elif th.fault == "cycle" and cur == pages:
            nxt = f'<a href="{self._rel(self.thread_page_url(th.tid, 1))}" class="pagination_next">Next &raquo;</a>'
            mp = mp.replace("\n</div>", "\n" + nxt + "\n</div>")
        posts_html = "\n".join(self._post(p, th, (cur - 1) * self.ppp + i + 1) for i, p in enumerate(shown))
        body = f"""<div class="float_left">
\t{mp}
</div>
<div class="float_right">
\t<a href="newreply.php?tid={th.tid}" class="button new_reply_button"><span>New Reply</span></a>
</div>
<table border="0" cellspacing="0" cellpadding="5" class="tborder tfixed clear">
\t<tr>
\t\t<td class="thead">
\t\t\t<div class="float_right"><span class="smalltext"><strong><a href="javascript:void(0)" id="thread_modes">Threaded Mode</a></strong></span></div>
\t\t\t<div><strong>{escape(th.title)}</strong></div>
\t\t</td>
\t</tr>
<tr><td id="posts_container">
\t<div id="posts">
{posts_html}
\t</div>
</td></tr>
</table>
<div class="float_left">
\t{mp}
</div>
<form method="post" action="newreply.php?tid={th.tid}&amp;processed=1" name="quick_reply_form" id="quick_reply_form">
\t<input type="hidden" name="my_post_key" value="{self.sessions.token('mybb', 'post_key')[:32]}" />
\t<input type="hidden" name="subject" value="RE: {escape(th.title)}" />
\t<input type="hidden" name="action" value="do_newreply" />
\t<input type="hidden" name="tid" value="{th.tid}" />
\t<textarea name="message" rows="8" cols="80"></textarea>
</form>"""
        r = Response.html(self.layout(th.title, body, user, nav))
        r = self.faults.finish(th.fault, r, f"fault:{th.fault} post:")
        return r

    def _post(self, p: Post, th: Thread, number: int) -> str:
        u = p.author
        paras = "<br />\n".join(ft.inline_html(x, ft.MYBB_INLINE) for x in p.paragraphs)
        quote = ""
        if p.quote_of is not None:
            q = p.quote_of
            quote = (f'<blockquote class="mycode_quote"><cite><span> ({escape(self.plain_date(q.published))})</span>'
                     f'{escape(q.author.name)} Wrote: <a href="showthread.php?pid={q.pid}#pid{q.pid}" '
                     f'class="quick_jump"></a></cite>{ft.inline_html(p.quote_text, ft.MYBB_INLINE)}</blockquote><br />\n')
        edit = ""
        if p.edit_count:
            edit = (f'<span class="post_edit" id="edited_by_{p.pid}"><span class="edited_post">(This post was last '
                    f'modified: {self.date(p.edited_at)} by <a href="member.php?action=profile&amp;uid={u.uid}">'
                    f'{escape(u.name)}</a>.)</span></span>')
        sig = ""
        if u.signature:
            sig = f'<div class="signature scaleimages">\n{escape(u.signature)}\n</div>'
        return f"""<a name="pid{p.pid}" id="pid{p.pid}"></a>
<div class="post " style="" id="post_{p.pid}">
<div class="post_author">
\t<div class="author_avatar"><a href="member.php?action=profile&amp;uid={u.uid}"><img src="images/default_avatar.png" alt="" width="55" height="55" /></a></div>
\t<div class="author_information">
\t\t\t<strong><span class="largetext">{self.profile(u)}</span></strong> <img src="images/buddy_offline.png" title="Offline" alt="Offline" class="buddy_status" /><br />
\t\t\t<span class="smalltext">{escape(u.rank)}<br /></span>
\t</div>
\t<div class="author_statistics">
\t\t<div class="author_row"><div class="author_label">Posts:</div><div class="author_value">{u.uid * 7}</div></div>
\t\t<div class="author_row"><div class="author_label">Joined:</div><div class="author_value">{u.joined.astimezone(self.tz):%b %Y}</div></div>
\t</div>
</div>
<div class="post_content">
\t<div class="post_head">
\t\t<div class="float_right" style="vertical-align: top"><strong><a href="showthread.php?tid={th.tid}&amp;pid={p.pid}#pid{p.pid}" title="{escape(th.title)}">#{number}</a></strong></div>
\t\t<span class="post_date">{self.date(p.published)} {edit}</span>
\t</div>
\t<div class="post_body scaleimages" id="pid_{p.pid}">
\t\t{quote}{paras}
\t</div>
\t{sig}
\t<div class="post_meta" id="post_meta_{p.pid}"></div>
</div>
<div class="post_controls">
\t<div class="postbit_buttons author_buttons float_left"><a href="private.php?action=send&amp;uid={u.uid}" title="Send this user a private message" class="postbit_pm"><span>PM</span></a></div>
\t<div class="postbit_buttons post_management_buttons float_right"><a href="newreply.php?tid={th.tid}&amp;replyto={p.pid}" title="Quote this message in a reply" class="postbit_quote postbit_mirage"><span>Reply</span></a></div>
</div>
</div>"""

    # ------------------------------------------------------------------ errors and login
    def error(self, user: str | None, text: str, status: int = 200) -> Response:
        body = (f'<table border="0" cellspacing="0" cellpadding="5" class="tborder"><tr><td class="thead">'
                f'<span class="smalltext"><strong>darkwatch lab</strong></span></td></tr><tr><td class="trow1">'
                f"{escape(text)}</td></tr></table>")
        return Response.html(self.layout("darkwatch lab", body, user), status)

    def login_form(self, url: str, errors: str = "", intro: str = "") -> str:
        post_key = self.sessions.token("mybb", "post_key")[:32]
        err = (f'<div class="error"><p><em>Please correct the following errors before continuing:</em></p>'
               f"<ul><li>{escape(errors)}</li></ul></div>\n<br />") if errors else ""
        return f"""{err}{intro}
<form action="member.php" method="post">
<table border="0" cellspacing="0" cellpadding="5" class="tborder">
<tr><td class="thead" colspan="2"><strong>Login</strong></td></tr>
<tr><td class="trow1"><strong>Username:</strong></td>
<td class="trow1"><input type="text" class="textbox" name="username" size="25" maxlength="30" style="width: 200px;" value="" /></td></tr>
<tr><td class="trow2"><strong>Password:</strong><br /><span class="smalltext"><a href="member.php?action=lostpw">Lost Password?</a></span></td>
<td class="trow2"><input type="password" class="textbox" name="password" size="25" style="width: 200px;" value="" /></td></tr>
<tr><td class="trow1" colspan="2" align="center"><label title="If ticked, your login details will be remembered on this computer"><input type="checkbox" class="checkbox" name="remember" checked="checked" value="yes" /> Remember me</label></td></tr>
</table>
<br />
<div align="center"><input type="submit" class="button" name="submit" value="Login" /></div>
<input type="hidden" name="action" value="do_login" />
<input type="hidden" name="url" value="{escape(url)}" />
<input type="hidden" name="my_post_key" value="{post_key}" />
</form>"""

    def no_permission(self, user: str | None, url: str, nav) -> Response:
        intro = ('<table border="0" cellspacing="0" cellpadding="5" class="tborder"><tr><td class="thead">'
                 '<span class="smalltext"><strong>darkwatch lab</strong></span></td></tr><tr><td class="trow1">'
                 "You are either not logged in or do not have permission to view this page. This could be because "
                 "one of the following reasons:\n<ol>\n<li>You are not logged in or registered. Please use the form "
                 "at the bottom of this page to login.</li>\n<li>You do not have permission to access this page. "
                 "Are you trying to access administrative pages or a resource that you shouldn't be?</li>\n</ol>"
                 "</td></tr></table>\n<br />")
        return Response.html(self.layout("darkwatch lab", self.login_form(url, intro=intro), user, nav))

    def member(self, req: Request, user: str | None) -> Response:
        action = req.form.get("action") or req.query.get("action", "")
        if action == "logout":
            r = Response.redirect(f"{self.prefix}/index.php")
            r.headers.append(("Set-Cookie", "mybbuser=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT"))
            return r
        if action == "do_login" and req.method == "POST":
            f = req.form
            if f.get("my_post_key") != self.sessions.token("mybb", "post_key")[:32]:
                return self.error(user, "Authorization code mismatch. Are you accessing this function correctly? "
                                        "Please go back and refresh the page and try again.", 403)
            if not self.sessions.check(f.get("username", ""), f.get("password", "")):
                html = self.login_form(f.get("url", ""), "Please enter a valid username and password "
                                                         "combination.")
                return Response.html(self.layout("Login", html, None, [("", "Login")]))
            sid = self.sessions.create(f["username"])
            target = f.get("url") or f"{self.prefix}/index.php"
            if not target.startswith(self.prefix + "/"):
                target = f"{self.prefix}/index.php"
            r = Response.redirect(target)
            uid = self.c.users[f["username"]].uid if f["username"] in self.c.users else 2
            r.headers.append(("Set-Cookie", f"mybbuser={uid}_{sid[:16]}; path=/; HttpOnly"))
            r.headers.append(("Set-Cookie", f"sid={sid}; path=/; HttpOnly"))
            return r
        if action == "login":
            return Response.html(self.layout("Login", self.login_form(f"{self.prefix}/index.php"), user,
                                             [("", "Login")]))
        if action == "profile":
            return self.error(user, "Profile pages are not part of the lab.", 200)
        return self.error(user, "Invalid action.", 404)


def _replace_next(mp: str, nxt: str) -> str:
    import re

    if "pagination_next" in mp:
        return re.sub(r'<a href="[^"]*" class="pagination_next">Next &raquo;</a>', nxt, mp)
    return mp.replace("\n</div>", "\n" + nxt + "\n</div>")
