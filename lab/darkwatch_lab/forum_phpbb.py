"""phpBB 3.3 "prosilver" skin of the fixture forum (English, or French with ``lang="fr"``).

Markup follows prosilver's templates (index_body, forumlist_body, viewforum_body,
viewtopic_body, login_body, pagination): ``ul.topiclist.topics > li.row > dl.row-item``,
``a.topictitle``, ``dd.posts``/``dd.views``/``dd.lastpost`` (last post link
``./viewtopic.php?p=N#pN``), ``div.post#pN`` with ``p.author`` and ``<time datetime>``,
``div.content`` with ``<blockquote><div><cite>`` quotes, ``div.signature``, and
``.pagination`` with ``li.arrow.next a[rel=next]``. Announcements show on every board
page; stickies sort first. Dates are shown in UTC (the board default).
"""

# HTML templates mirror the engines' one-line markup; wrapping them would hurt fidelity.
# ruff: noqa: E501

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from html import escape

from darkwatch_lab import forum_text as ft
from darkwatch_lab.forum_content import Board, ForumContent, Post, Thread, User
from darkwatch_lab.forum_faults import Faults
from darkwatch_lab.forum_http import Request, Response, Sessions, page_count

COOKIE = "phpbb3_lab"

EN = {
    "lang": "en-gb", "index": "Board index", "login": "Login", "logout": "Logout", "by": "by",
    "wrote": "wrote:", "topics": "Topics", "posts": "Posts", "replies": "Replies", "views": "Views",
    "last_post": "Last post", "announcements": "Announcements", "next": "Next", "previous": "Previous",
    "n_topics": "{} topics", "n_posts": "{} posts", "go_last": "Go to last post", "forum": "Forum",
    "edited": "Last edited by {} on {}, edited {} time{} in total.",
    "login_forum": "The board requires you to be registered and logged in to view this forum.",
    "username": "Username:", "password": "Password:", "bad_login": "You have specified an incorrect "
    "username. Please check your username and try again.", "bad_form": "The submitted form was invalid. "
    "Try submitting again.", "no_topic": "The requested topic does not exist.",
    "no_forum": "The forum you selected does not exist.", "reply": "Post Reply", "quote": "Quote",
    "ago_min": "{} minute{} ago", "ago_less": "less than a minute ago", "joined": "Joined:",
}
FR = {
    "lang": "fr", "index": "Accueil du forum", "login": "Connexion", "logout": "Déconnexion", "by": "par",
    "wrote": "a écrit :", "topics": "Sujets", "posts": "Messages", "replies": "Réponses", "views": "Vues",
    "last_post": "Dernier message", "announcements": "Annonces", "next": "Suivante", "previous": "Précédente",
    "n_topics": "{} sujets", "n_posts": "{} messages", "go_last": "Consulter le dernier message",
    "forum": "Forum", "edited": "Dernière modification par {} le {}, modifié {} fois{}.",
    "login_forum": "Le forum nécessite que vous soyez inscrit et connecté pour pouvoir consulter ce forum.",
    "username": "Nom d’utilisateur :", "password": "Mot de passe :",
    "bad_login": "Vous avez indiqué un nom d’utilisateur incorrect. Vérifiez-le et réessayez.",
    "bad_form": "Le formulaire envoyé est invalide. Essayez de l’envoyer à nouveau.",
    "no_topic": "Le sujet demandé n’existe pas.", "no_forum": "Le forum sélectionné n’existe pas.",
    "reply": "Répondre", "quote": "Citer", "ago_min": "il y a {} minute{}",
    "ago_less": "il y a moins d’une minute", "joined": "Inscription :",
}
_EN_D = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_EN_M = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_FR_D = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
_FR_M = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]


class PhpbbSkin:
    engine = "phpbb"

    def __init__(self, content: ForumContent, sessions: Sessions, faults: Faults, prefix: str = "/phpbb",
                 lang: str = "en", threads_per_page: int = 10, posts_per_page: int = 10,
                 sid_urls: bool = False) -> None:
        self.c = content
        self.sessions = sessions
        self.faults = faults
        self.prefix = prefix
        self.fr = lang == "fr"
        self.t = FR if self.fr else EN
        self.tpp = threads_per_page
        self.ppp = posts_per_page
        self.sid_urls = sid_urls

    # ------------------------------------------------------------------ URLs (as linked)
    def thread_url(self, tid: int) -> str:
        return f"{self.prefix}/viewtopic.php?t={tid}"

    def thread_page_url(self, tid: int, page: int) -> str:
        start = (page - 1) * self.ppp
        return self.thread_url(tid) + (f"&start={start}" if start else "")

    def board_page_url(self, board_id: int, page: int) -> str:
        start = (page - 1) * self.tpp
        return f"{self.prefix}/viewforum.php?f={board_id}" + (f"&start={start}" if start else "")

    def _rel(self, url: str) -> str:
        """The template form of an internal link: ``./page.php?a=1&amp;b=2``."""
        return "." + url[len(self.prefix):].replace("&", "&amp;")

    # ------------------------------------------------------------------ dates
    def date(self, dt: datetime, relative: bool = True) -> str:
        delta = time.time() - dt.timestamp()
        if relative and -60 < delta < 3600:
            mins = int(delta // 60)
            if mins < 1:
                return self.t["ago_less"]
            return self.t["ago_min"].format(mins, "s" if mins > 1 else "")
        d = dt.astimezone(UTC)
        if self.fr:
            return f"{_FR_D[d.weekday()]} {d.day} {_FR_M[d.month - 1]} {d.year} {d:%H:%M}"
        hour = d.hour % 12 or 12
        return f"{_EN_D[d.weekday()]} {_EN_M[d.month - 1]} {d.day:02d}, {d.year} {hour}:{d:%M} " \
               f"{'am' if d.hour < 12 else 'pm'}"

    def time_tag(self, dt: datetime) -> str:
        iso = dt.astimezone(UTC).isoformat()
        return f'<time datetime="{iso}">{escape(self.date(dt))}</time>'

    def user_link(self, u: User) -> str:
        href = f"./memberlist.php?mode=viewprofile&amp;u={u.uid}"
        if u.colour:
            return f'<a href="{href}" style="color: #{u.colour};" class="username-coloured">{escape(u.name)}</a>'
        return f'<a href="{href}" class="username">{escape(u.name)}</a>'

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        resp = self._handle(req)
        if self.sid_urls and f"{COOKIE}_sid" not in req.cookies and isinstance(resp.body, bytes) \
                and resp.content_type.startswith("text/html"):
            # phpBB appends ``sid=`` to every internal link until it sees its cookie come back:
            # a crawler must strip it from the URLs it keys on.
            sid = self.sessions.token("guest-sid", str(time.time_ns()))[:32]
            resp.body = _SID_LINK.sub(lambda m: _with_sid(m, sid), resp.body.decode()).encode()
            if not any(h == "Set-Cookie" for h, _ in resp.headers):
                resp.headers.append(("Set-Cookie", f"{COOKIE}_sid={sid}; path=/; HttpOnly"))
                resp.headers.append(("Set-Cookie", f"{COOKIE}_u=1; path=/; HttpOnly"))
        return resp

    def _handle(self, req: Request) -> Response:
        user = self.sessions.user(req.cookies.get(f"{COOKIE}_sid"))
        page = req.path.lstrip("/") or "index.php"
        if page == "index.php":
            return self.index(user)
        if page == "viewforum.php":
            return self.viewforum(req, user)
        if page == "viewtopic.php":
            return self.viewtopic(req, user)
        if page == "ucp.php":
            return self.ucp(req, user)
        return self.message(user, "General Error", "The page you requested does not exist.", 404)

    # ------------------------------------------------------------------ chrome
    def layout(self, title: str, body: str, user: str | None, section: str,
               crumbs: list[tuple[str, str, int | None]] = ()) -> str:
        t = self.t
        crumb_html = (f'<span class="crumb" itemtype="https://schema.org/ListItem" itemprop="itemListElement" '
                      f'itemscope><a itemprop="item" href="./index.php" accesskey="h" '
                      f'data-navbar-reference="index"><i class="icon fa-home fa-fw"></i>'
                      f'<span itemprop="name">{t["index"]}</span></a><meta itemprop="position" content="1" />'
                      f"</span>")
        for i, (href, label, fid) in enumerate(crumbs, start=2):
            crumb_html += (f'\n\t\t\t\t\t<span class="crumb" itemtype="https://schema.org/ListItem" '
                           f'itemprop="itemListElement" itemscope data-forum-id="{fid}"><a itemprop="item" '
                           f'href="{href}"><span itemprop="name">{escape(label)}</span></a>'
                           f'<meta itemprop="position" content="{i}" /></span>')
        if user:
            account = (f'<li id="username_logged_in" class="rightside " data-skip-responsive="true">'
                       f'<div class="header-profile dropdown-container"><a href="./ucp.php" '
                       f'class="header-avatar dropdown-trigger"><span class="username">{escape(user)}</span></a>'
                       f'</div></li>')
        else:
            account = (f'<li class="rightside" data-skip-responsive="true"><a href="./ucp.php?mode=login" '
                       f'title="{t["login"]}" accesskey="x" role="menuitem"><i class="icon fa-power-off fa-fw" '
                       f'aria-hidden="true"></i><span>{t["login"]}</span></a></li>')
        return f"""<!DOCTYPE html>
<html dir="ltr" lang="{t['lang']}">
<head>
<meta charset="utf-8" />
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{escape(title)} - darkwatch lab</title>
<link href="./assets/css/font-awesome.min.css?assets_version=12" rel="stylesheet">
<link href="./styles/prosilver/theme/stylesheet.css?assets_version=12" rel="stylesheet">
<link href="./styles/prosilver/theme/{t['lang']}/stylesheet.css?assets_version=12" rel="stylesheet">
<style>.post .signature {{ margin-top: 1.5em; }}</style>
</head>
<body id="phpbb" class="nojs notouch section-{section} ltr ">
<div id="wrap" class="wrap">
\t<a id="top" class="top-anchor" accesskey="t"></a>
\t<div id="page-header">
\t\t<div class="headerbar" role="banner">
\t\t\t<div class="inner">
\t\t\t<div id="site-description" class="site-description">
\t\t\t\t<a id="logo" class="logo" href="./index.php" title="{t['index']}"><span class="site_logo"></span></a>
\t\t\t\t<h1>darkwatch lab</h1>
\t\t\t\t<p>Le forum du marché noir (fixture)</p>
\t\t\t\t<p class="skiplink"><a href="#start_here">Skip to content</a></p>
\t\t\t</div>
\t\t\t<div id="search-box" class="search-box search-header" role="search">
\t\t\t\t<form action="./search.php" method="get" id="search">
\t\t\t\t<fieldset>
\t\t\t\t\t<input name="keywords" id="keywords" type="search" maxlength="128" title="Search for keywords"
\t\t\t\t\t class="inputbox search tiny" size="20" value="" placeholder="Search…" />
\t\t\t\t\t<button class="button button-search" type="submit" title="Search">
\t\t\t\t\t<i class="icon fa-search fa-fw" aria-hidden="true"></i><span class="sr-only">Search</span></button>
\t\t\t\t</fieldset>
\t\t\t\t</form>
\t\t\t</div>
\t\t\t</div>
\t\t</div>
\t\t<div class="navbar" role="navigation">
\t\t\t<div class="inner">
\t\t\t<ul id="nav-main" class="nav-main linklist" role="menubar">
\t\t\t\t<li data-skip-responsive="true"><a href="./app.php/help/faq" rel="help" title="Frequently Asked Questions"
\t\t\t\t role="menuitem"><i class="icon fa-question-circle fa-fw" aria-hidden="true"></i><span>FAQ</span></a></li>
\t\t\t\t{account}
\t\t\t</ul>
\t\t\t<ul id="nav-breadcrumbs" class="nav-breadcrumbs linklist navlinks" role="menubar">
\t\t\t\t<li class="breadcrumbs" itemscope itemtype="https://schema.org/BreadcrumbList">
\t\t\t\t\t{crumb_html}
\t\t\t\t</li>
\t\t\t</ul>
\t\t\t</div>
\t\t</div>
\t</div>
\t<a id="start_here" class="anchor"></a>
\t<div id="page-body" class="page-body" role="main">
{body}
\t</div>
\t<div id="page-footer" class="page-footer" role="contentinfo">
\t\t<div class="navbar" role="navigation"><div class="inner">
\t\t<ul id="nav-footer" class="nav-footer linklist" role="menubar">
\t\t\t<li class="breadcrumbs"><span class="crumb"><a href="./index.php" data-navbar-reference="index">
\t\t\t<i class="icon fa-home fa-fw" aria-hidden="true"></i><span>{t['index']}</span></a></span></li>
\t\t\t<li class="rightside">All times are <span title="UTC">UTC</span></li>
\t\t</ul></div></div>
\t\t<div class="copyright">
\t\t\t<p class="footer-row"><span class="footer-copyright">Powered by <a href="https://www.phpbb.com/">phpBB</a>&reg;
\t\t\t Forum Software &copy; phpBB Limited</span></p>
\t\t</div>
\t</div>
</div>
<script src="./assets/javascript/jquery-3.6.0.min.js?assets_version=12"></script>
<script src="./assets/javascript/core.js?assets_version=12"></script>
<script>phpbb.plupload = {{}}; var on_page = '1';</script>
</body>
</html>
"""

    def pagination(self, label: str, cur: int, pages: int, url_of) -> str:
        items = []
        if pages > 1:
            if cur > 1:
                items.append(f'<li class="arrow previous"><a class="button button-icon-only" href="{self._rel(url_of(cur - 1))}" '
                             f'rel="prev" role="button"><i class="icon fa-chevron-left fa-fw" aria-hidden="true"></i>'
                             f'<span class="sr-only">{self.t["previous"]}</span></a></li>')
            for p in range(1, pages + 1):
                if p in (1, pages) or abs(p - cur) <= 2:
                    if p == cur:
                        items.append(f'<li class="active"><span>{p}</span></li>')
                    else:
                        items.append(f'<li><a class="button" href="{self._rel(url_of(p))}" role="button">{p}</a></li>')
                elif abs(p - cur) == 3:
                    items.append('<li class="ellipsis" role="separator"><span>…</span></li>')
            if cur < pages:
                items.append(self._next_li(self._rel(url_of(cur + 1))))
        ul = f"\n\t\t\t<ul>\n\t\t\t\t{''.join(items)}\n\t\t\t</ul>" if items else f" &bull; Page <strong>{cur}</strong> of <strong>{pages}</strong>"
        return f'<div class="pagination">\n\t\t\t{label}{ul}\n\t\t</div>'

    def _next_li(self, href: str) -> str:
        return (f'<li class="arrow next"><a class="button button-icon-only" href="{href}" rel="next" '
                f'role="button"><i class="icon fa-chevron-right fa-fw" aria-hidden="true"></i>'
                f'<span class="sr-only">{self.t["next"]}</span></a></li>')

    # ------------------------------------------------------------------ pages
    def index(self, user: str | None) -> Response:
        t = self.t
        cats: dict[str, list[Board]] = {}
        for b in self.c.boards.values():
            cats.setdefault(b.category, []).append(b)
        blocks = []
        for ci, (cat, boards) in enumerate(cats.items(), start=1):
            rows = []
            for b in boards:
                ths = self.c.board_threads(b.board_id)
                n_posts = sum(len(th.posts) for th in ths)
                last = max((th.last for th in ths), key=lambda p: (p.published, p.pid), default=None)
                last_html = ""
                if last is not None:
                    last_th = self.c.thread(last.tid)
                    last_html = (f'<span><dfn>{t["last_post"]}</dfn><a href="./viewtopic.php?p={last.pid}#p{last.pid}" '
                                 f'title="{escape(last_th.title)}" class="lastsubject">{escape(last_th.title)}</a> <br />'
                                 f'{t["by"]} {self.user_link(last.author)} <a href="./viewtopic.php?p={last.pid}#p{last.pid}" '
                                 f'title="{t["go_last"]}"><i class="icon fa-external-link-square fa-fw icon-lightgray '
                                 f'icon-md" aria-hidden="true"></i><span class="sr-only">{t["go_last"]}</span></a>'
                                 f'<br />{self.time_tag(last.published)}</span>')
                rows.append(f"""\t\t<li class="row">
\t\t\t<dl class="row-item forum_read">
\t\t\t\t<dt title="No unread posts">
\t\t\t\t\t<div class="list-inner">
\t\t\t\t\t\t<a href="./viewforum.php?f={b.board_id}" class="forumtitle">{escape(b.name)}</a>
\t\t\t\t\t\t<br />{escape(b.description)}
\t\t\t\t\t</div>
\t\t\t\t</dt>
\t\t\t\t<dd class="topics">{len(ths)} <dfn>{t['topics']}</dfn></dd>
\t\t\t\t<dd class="posts">{n_posts} <dfn>{t['posts']}</dfn></dd>
\t\t\t\t<dd class="lastpost">{last_html}</dd>
\t\t\t</dl>
\t\t</li>""")
            blocks.append(f"""\t<div class="forabg">
\t\t<div class="inner">
\t\t<ul class="topiclist">
\t\t\t<li class="header">
\t\t\t\t<dl class="row-item">
\t\t\t\t\t<dt><div class="list-inner"><a href="./viewforum.php?f={100 + ci}">{escape(cat)}</a></div></dt>
\t\t\t\t\t<dd class="topics">{t['topics']}</dd>
\t\t\t\t\t<dd class="posts">{t['posts']}</dd>
\t\t\t\t\t<dd class="lastpost"><span>{t['last_post']}</span></dd>
\t\t\t\t</dl>
\t\t\t</li>
\t\t</ul>
\t\t<ul class="topiclist forums">
{chr(10).join(rows)}
\t\t</ul>
\t\t</div>
\t</div>""")
        return Response.html(self.layout(t["index"], "\n".join(blocks), user, "index"))

    def _int(self, req: Request, key: str, default: int = 0) -> int:
        try:
            return max(0, int(req.query.get(key, default)))
        except ValueError:
            return default

    def viewforum(self, req: Request, user: str | None) -> Response:
        fid = self._int(req, "f")
        board = self.c.boards.get(fid)
        if board is None:
            return self.message(user, "Information", self.t["no_forum"], 404)
        crumbs = [(f"./viewforum.php?f={fid}", board.name, fid)]
        if board.private and not user:
            return self.login_box(user, self.t["login_forum"], self.board_page_url(fid, 1), crumbs)
        t = self.t
        ths = self.c.board_threads(fid)
        announces = [th for th in ths if th.kind == "announce"]
        topics = [th for th in ths if th.kind != "announce"]
        start = self._int(req, "start")
        pages = page_count(len(topics), self.tpp)
        cur = min(start // self.tpp + 1, pages)
        shown = topics[(cur - 1) * self.tpp: cur * self.tpp]
        pag = self.pagination(t["n_topics"].format(len(topics)), cur, pages,
                              lambda p: self.board_page_url(fid, p))
        body = [f'<h2 class="forum-title"><a href="./viewforum.php?f={fid}">{escape(board.name)}</a></h2>',
                f'<div>\n\t<!-- NOTE: remove the style="display: none" when you want to have the forum description '
                f'on the forum body -->\n\t<div style="display: none !important;">{escape(board.description)}<br /></div>'
                f"\n</div>",
                f'<div class="action-bar bar-top">\n\t<a href="./posting.php?mode=post&amp;f={fid}" class="button" '
                f'title="Post a new topic"><span>New Topic</span> <i class="icon fa-pencil fa-fw" aria-hidden="true">'
                f'</i></a>\n\t<div class="search-box" role="search"><form method="get" id="forum-search" '
                f'action="./search.php"><fieldset><input class="inputbox search tiny" type="search" name="keywords" '
                f'id="search_keywords" size="20" placeholder="Search this forum…" /><input type="hidden" name="fid[]" '
                f'value="{fid}" /></fieldset></form></div>\n\t{pag}\n</div>']
        if announces:
            body.append(self._topic_block(announces, t["announcements"], "announcement"))
        if shown:
            body.append(self._topic_block(shown, t["topics"], ""))
        body.append(f'<div class="action-bar bar-bottom">\n\t{pag}\n</div>')
        return Response.html(self.layout(board.name, "\n".join(body), user, "viewforum", crumbs))

    def _topic_block(self, threads: list[Thread], header: str, extra: str) -> str:
        t = self.t
        rows = []
        for i, th in enumerate(threads):
            first, last = th.posts[0], th.last
            kind = {"announce": " announce", "sticky": " sticky"}.get(th.kind, "")
            icon = {"announce": "announce_read", "sticky": "sticky_read"}.get(th.kind, "topic_read")
            n_pages = page_count(len(th.posts), self.ppp)
            mini = ""
            if n_pages > 1:
                lis = "".join(f'<li><a class="button" href="{self._rel(self.thread_page_url(th.tid, p))}">{p}</a></li>'
                              for p in range(1, n_pages + 1))
                mini = (f'\n\t\t\t\t\t\t<div class="pagination">\n\t\t\t\t\t\t\t<span><i class="icon fa-clone fa-fw" '
                        f'aria-hidden="true"></i></span>\n\t\t\t\t\t\t\t<ul>{lis}</ul>\n\t\t\t\t\t\t</div>')
            rows.append(f"""\t\t<li class="row bg{2 - i % 2}{kind}">
\t\t\t<dl class="row-item {icon}">
\t\t\t\t<dt title="No unread posts">
\t\t\t\t\t<div class="list-inner">
\t\t\t\t\t\t<a href="{self._rel(self.thread_url(th.tid))}" class="topictitle">{escape(th.title)}</a>
\t\t\t\t\t\t<br />
\t\t\t\t\t\t<div class="responsive-show" style="display: none;">{t['last_post']} {t['by']} {self.user_link(last.author)} &laquo; <a href="./viewtopic.php?p={last.pid}#p{last.pid}" title="{t['go_last']}">{self.time_tag(last.published)}</a></div>{mini}
\t\t\t\t\t\t<div class="topic-poster responsive-hide left-box">
\t\t\t\t\t\t\t{t['by']} {self.user_link(first.author)} &raquo; {self.time_tag(first.published)}
\t\t\t\t\t\t</div>
\t\t\t\t\t</div>
\t\t\t\t</dt>
\t\t\t\t<dd class="posts">{len(th.posts) - 1} <dfn>{t['replies']}</dfn></dd>
\t\t\t\t<dd class="views">{th.views} <dfn>{t['views']}</dfn></dd>
\t\t\t\t<dd class="lastpost">
\t\t\t\t\t<span><dfn>{t['last_post']} </dfn>{t['by']} {self.user_link(last.author)}
\t\t\t\t\t\t<a href="./viewtopic.php?p={last.pid}#p{last.pid}" title="{t['go_last']}">
\t\t\t\t\t\t\t<i class="icon fa-external-link-square fa-fw icon-lightgray icon-md" aria-hidden="true"></i><span class="sr-only"></span>
\t\t\t\t\t\t</a>
\t\t\t\t\t\t<br />{self.time_tag(last.published)}
\t\t\t\t\t</span>
\t\t\t\t</dd>
\t\t\t</dl>
\t\t</li>""")
        return f"""<div class="forumbg {extra}">
\t<div class="inner">
\t<ul class="topiclist">
\t\t<li class="header">
\t\t\t<dl class="row-item">
\t\t\t\t<dt><div class="list-inner">{header}</div></dt>
\t\t\t\t<dd class="posts">{t['replies']}</dd>
\t\t\t\t<dd class="views">{t['views']}</dd>
\t\t\t\t<dd class="lastpost"><span>{t['last_post']}</span></dd>
\t\t\t</dl>
\t\t</li>
\t</ul>
\t<ul class="topiclist topics">
{chr(10).join(rows)}
\t</ul>
\t</div>
</div>"""

    def viewtopic(self, req: Request, user: str | None) -> Response:
        t = self.t
        th = None
        if "p" in req.query:
            post = self.c.posts.get(self._int(req, "p"))
            th = self.c.thread(post.tid) if post else None
            if th is not None:
                start = th.posts.index(post) // self.ppp * self.ppp
        else:
            th = self.c.thread(self._int(req, "t"))
            start = self._int(req, "start")
        if th is None:
            return self.message(user, "Information", t["no_topic"], 404)
        board = self.c.boards[th.board_id]
        crumbs = [(f"./viewforum.php?f={board.board_id}", board.name, board.board_id)]
        if board.private and not user:
            return self.login_box(user, t["login_forum"], self.thread_url(th.tid), crumbs)
        if th.fault:
            r = self.faults.respond(th.fault, f"{self.prefix}:{th.tid}", req.query)
            if r is not None:
                return r
        with self.c.lock:
            posts = list(th.posts)
        pages = page_count(len(posts), self.ppp)
        cur = min(start // self.ppp + 1, pages)
        shown = posts[(cur - 1) * self.ppp: cur * self.ppp]
        pag = self.pagination(t["n_posts"].format(len(posts)), cur, pages,
                              lambda p: self.thread_page_url(th.tid, p))
        if th.fault == "selfnext":
            pag = pag.replace("</ul>", self._next_li(self._rel(self.thread_page_url(th.tid, cur))) + "</ul>", 1) \
                if cur == pages else _swap_next(pag, self._rel(self.thread_page_url(th.tid, cur)))
        elif th.fault == "cycle" and cur == pages:
            pag = pag.replace("</ul>", self._next_li(self._rel(self.thread_page_url(th.tid, 1))) + "</ul>", 1)
        body = [f'<h2 class="topic-title"><a href="{self._rel(self.thread_page_url(th.tid, 1))}">{escape(th.title)}</a></h2>',
                '<!-- NOTE: remove the style="display: none" when you want to have the forum description on the topic body -->',
                f'<div style="display: none !important;">{escape(board.description)}<br /></div>',
                f'<div class="action-bar bar-top">\n\t<a href="./posting.php?mode=reply&amp;t={th.tid}" class="button" '
                f'title="{t["reply"]}"><span>{t["reply"]}</span> <i class="icon fa-reply fa-fw" aria-hidden="true"></i></a>'
                f'\n\t{pag}\n</div>']
        for i, p in enumerate(shown):
            body.append(self._post(p, th, i))
        body.append(f'<div class="action-bar bar-bottom">\n\t{pag}\n</div>')
        body.append(f'<form method="post" id="jumpbox" action="./viewforum.php" '
                    f'onsubmit="if(this.f.value == -1){{return false;}}"><input type="hidden" name="f" '
                    f'value="{board.board_id}" /></form>')
        r = Response.html(self.layout(th.title, "\n".join(body), user, "viewtopic", crumbs))
        r = self.faults.finish(th.fault, r, f"fault:{th.fault} post:")
        return r

    def _post(self, p: Post, th: Thread, i: int) -> str:
        t = self.t
        u = p.author
        paras = "<br />\n".join(ft.inline_html(x) for x in p.paragraphs)
        quote = ""
        if p.quote_of is not None:
            q = p.quote_of
            quote = (f'<blockquote><div><cite><a href="./memberlist.php?mode=viewprofile&amp;u={q.author.uid}">'
                     f'{escape(q.author.name)}</a> {t["wrote"]} <a href="./viewtopic.php?p={q.pid}#p{q.pid}" '
                     f'data-post-id="{q.pid}" onclick="if(document.getElementById(hash.substr(1)))href=hash">↑</a>'
                     f'<span class="responsive-hide">{escape(self.date(q.published, relative=False))}</span></cite>'
                     f'{ft.inline_html(p.quote_text)}</div></blockquote>\n')
        notice = ""
        if p.edit_count:
            n = p.edit_count
            plural = ("s" if n > 1 else "") if not self.fr else ""
            notice = (f'\n\t\t\t\t<div class="notice">\n\t\t\t\t\t'
                      f'{t["edited"].format(self.user_link(u), escape(self.date(p.edited_at, relative=False)), n, plural)}'
                      f"\n\t\t\t\t</div>")
        sig = f'\n\t\t\t\t<div id="sig{p.pid}" class="signature">{escape(u.signature)}</div>' if u.signature else ""
        return f"""\t\t<div id="p{p.pid}" class="post has-profile bg{2 - i % 2}">
\t\t<div class="inner">
\t\t<dl class="postprofile" id="profile{p.pid}">
\t\t\t<dt class="has-profile-rank no-avatar">
\t\t\t\t<div class="avatar-container"></div>
\t\t\t\t{self.user_link(u)}
\t\t\t</dt>
\t\t\t<dd class="profile-rank">{escape(u.rank)}</dd>
\t\t\t<dd class="profile-posts"><strong>{t['posts']}:</strong> <a href="./search.php?author_id={u.uid}&amp;sr=posts">{u.uid * 7}</a></dd>
\t\t\t<dd class="profile-joined"><strong>{t['joined']}</strong> {escape(self.date(u.joined, relative=False))}</dd>
\t\t</dl>
\t\t<div class="postbody">
\t\t\t<div id="post_content{p.pid}">
\t\t\t<h3 {'class="first"' if i == 0 else ''}><a href="./viewtopic.php?p={p.pid}#p{p.pid}">{'Re: ' if p is not th.posts[0] else ''}{escape(th.title)}</a></h3>
\t\t\t<ul class="post-buttons">
\t\t\t\t<li><a href="./posting.php?mode=quote&amp;p={p.pid}" title="Reply with quote" class="button button-icon-only">
\t\t\t\t<i class="icon fa-quote-left fa-fw" aria-hidden="true"></i><span>{t['quote']}</span></a></li>
\t\t\t</ul>
\t\t\t<p class="author">
\t\t\t\t<a class="unread" href="./viewtopic.php?p={p.pid}#p{p.pid}" title="Post"><i class="icon fa-file fa-fw icon-lightgray icon-md" aria-hidden="true"></i><span class="sr-only">Post</span></a>
\t\t\t\t<span class="responsive-hide">{t['by']} <strong>{self.user_link(u)}</strong> &raquo; </span>{self.time_tag(p.published)}
\t\t\t</p>
\t\t\t<div class="content">{quote}{paras}</div>{notice}{sig}
\t\t\t</div>
\t\t</div>
\t\t<div class="back2top">
\t\t\t<a href="#top" class="top" title="Top"><i class="icon fa-chevron-circle-up fa-fw icon-gray" aria-hidden="true"></i><span class="sr-only">Top</span></a>
\t\t</div>
\t\t</div>
\t\t</div>
\t\t<hr class="divider" />"""

    # ------------------------------------------------------------------ login
    def login_box(self, user: str | None, message: str, redirect: str, crumbs=(), error: str = "",
                  status: int = 200) -> Response:
        t = self.t
        sid = self.sessions.token("guest", str(time.time_ns()))[:32]
        creation = str(int(time.time()))
        token = self.sessions.token(creation, "login", sid)
        err = f'\n\t\t<div class="error">{escape(error)}</div>' if error else ""
        body = f"""<form action="./ucp.php?mode=login" method="post" id="login" data-focus="username">
<div class="panel">
\t<div class="inner">
\t<div class="content">
\t\t<h2 class="login-title">{t['login']}</h2>
\t\t<p>{escape(message)}</p>{err}
\t\t<fieldset class="fields1">
\t\t<dl>
\t\t\t<dt><label for="username">{t['username']}</label></dt>
\t\t\t<dd><input type="text" tabindex="1" name="username" id="username" size="25" value="" class="inputbox autowidth" /></dd>
\t\t</dl>
\t\t<dl>
\t\t\t<dt><label for="password">{t['password']}</label></dt>
\t\t\t<dd><input type="password" tabindex="2" id="password" name="password" size="25" class="inputbox autowidth" autocomplete="off" /></dd>
\t\t\t<dd><a href="./ucp.php?mode=sendpassword">I forgot my password</a></dd>
\t\t</dl>
\t\t<dl>
\t\t\t<dd><label for="autologin"><input type="checkbox" name="autologin" id="autologin" tabindex="4" /> Remember me</label></dd>
\t\t\t<dd><label for="viewonline"><input type="checkbox" name="viewonline" id="viewonline" tabindex="5" /> Hide my online status this session</label></dd>
\t\t</dl>
\t\t<input type="hidden" name="redirect" value="{self._rel(redirect)}" />
\t\t<input type="hidden" name="creation_time" value="{creation}" />
\t\t<input type="hidden" name="form_token" value="{token}" />
\t\t<dl>
\t\t\t<dt>&nbsp;</dt>
\t\t\t<dd><input type="hidden" name="sid" value="{sid}" />
<input type="submit" name="login" tabindex="6" value="{t['login']}" class="button1" /></dd>
\t\t</dl>
\t\t</fieldset>
\t</div>
\t</div>
</div>
</form>"""
        r = Response.html(self.layout(t["login"], body, user, "ucp", list(crumbs)), status)
        r.headers.append(("Set-Cookie", f"{COOKIE}_sid={sid}; path=/; HttpOnly"))
        r.headers.append(("Set-Cookie", f"{COOKIE}_u=1; path=/; HttpOnly"))
        return r

    def ucp(self, req: Request, user: str | None) -> Response:
        mode = req.query.get("mode", "")
        if mode == "logout":
            r = Response.redirect(f"{self.prefix}/index.php")
            r.headers.append(("Set-Cookie", f"{COOKIE}_sid=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT"))
            return r
        if mode != "login":
            if not user:
                return self.login_box(user, "", f"{self.prefix}/ucp.php")
            return self.message(user, "User Control Panel", f"Logged in as {user}.")
        if req.method != "POST":
            return self.login_box(user, "", f"{self.prefix}/index.php")
        f = req.form
        creation = f.get("creation_time", "")
        want = self.sessions.token(creation, "login", f.get("sid", ""))
        try:
            fresh = 0 <= time.time() - int(creation) < 7200
        except ValueError:
            fresh = False
        if not fresh or f.get("form_token") != want:
            return self.login_box(None, "", f"{self.prefix}/index.php", error=self.t["bad_form"])
        if not self.sessions.check(f.get("username", ""), f.get("password", "")):
            return self.login_box(None, "", f"{self.prefix}/index.php", error=self.t["bad_login"])
        sid = self.sessions.create(f["username"])
        target = f.get("redirect") or "./index.php"
        if not target.startswith("./"):
            target = "./index.php"
        r = Response.redirect(self.prefix + target[1:])
        uid = self.c.users[f["username"]].uid if f["username"] in self.c.users else 2
        r.headers.append(("Set-Cookie", f"{COOKIE}_sid={sid}; path=/; HttpOnly"))
        r.headers.append(("Set-Cookie", f"{COOKIE}_u={uid}; path=/; HttpOnly"))
        r.headers.append(("Set-Cookie", f"{COOKIE}_k=; path=/; HttpOnly"))
        return r

    def message(self, user: str | None, title: str, text: str, status: int = 200) -> Response:
        body = (f'<div class="panel" id="message">\n\t<div class="inner">\n\t<h2 class="message-title">'
                f"{escape(title)}</h2>\n\t<p>{escape(text)}</p>\n\t</div>\n</div>")
        return Response.html(self.layout(title, body, user, "error"), status)


_SID_LINK = re.compile(r'href="(\./[a-z_]+\.php)(\?[^"#]*)?(#[^"]*)?"')


def _with_sid(m: re.Match, sid: str) -> str:
    path, query, frag = m.group(1), m.group(2) or "", m.group(3) or ""
    query = f"{query}&amp;sid={sid}" if query else f"?sid={sid}"
    return f'href="{path}{query}{frag}"'


def _swap_next(pag: str, href: str) -> str:
    """Point an existing rel=next link at ``href`` (the selfnext fault)."""
    return re.sub(r'(<li class="arrow next"><a [^>]*href=")[^"]*(")', lambda m: m.group(1) + href + m.group(2), pag)
