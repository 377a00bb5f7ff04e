"""Turn a board or thread page into plain records using a ``Selectors`` set.

Pure (parsel + lxml only): no Scrapy, so `forums test` and unit tests use it directly.

Selector semantics (documented for config authors):

- CSS by default (parsel ``::text`` / ``::attr(name)``), XPath with an ``xpath:`` prefix.
- Multi-valued fields (``thread_row``, ``post``, ``subboard_link``, ``quote``,
  ``signature``, ``exclude``, ``thread_marker``) use every match.
- Single-valued fields (links, ``author``, ``post_id``, ``body``, ``thread_title``,
  next links) treat comma-separated CSS alternatives as a priority list: the first
  alternative that yields a non-empty value wins. That is how one preset covers several
  versions of a theme without picking the wrong element when both are present.
- ``published``: every value of every alternative is a candidate, in order; the first
  one that parses *and* carries a time of day wins, else the first that parses (the post
  is then flagged ``date_without_time``: the crawl counts it, nothing is silently lost).
  Human dates are read in the forum's ``language`` (else the page's ``<html lang>``).
- An element result gives its visible text (or ``href`` for links); an ``::attr``/
  ``::text`` result gives the string.

Body text: ``signature`` and ``exclude`` blocks are removed, outermost ``quote`` blocks
are moved to ``quoted_text`` (their "X wrote:" header is expected to be in ``exclude``),
the rest is visible text with whitespace collapsed to single spaces.

Never raises on page content: problems become ``warnings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import lxml.etree
import lxml.html
from parsel import Selector, SelectorList

from crawler.engines.dates import has_time, is_absolute, languages_for, normalise_language, parse_date
from crawler.engines.selectors import Selectors
from crawler.engines.text import absolute, collapse, drop, strip_session, thread_key_url, visible_text

MAX_WARNINGS = 40
MAX_HTML_CHARS = 20_000_000  # beyond DOWNLOAD_MAXSIZE anyway; protects direct callers


@dataclass(slots=True)
class ThreadRow:
    url: str  # absolute URL of the thread's first page
    title: str
    marker: str  # empty when the preset has no marker selector: treat as changed


@dataclass(slots=True)
class BoardPage:
    threads: list[ThreadRow] = field(default_factory=list)
    next_url: str | None = None
    subboards: list[str] = field(default_factory=list)
    logged_out: bool = False
    warnings: list[str] = field(default_factory=list)  # "selector X matched nothing" etc.


@dataclass(slots=True)
class RawPost:
    post_id: str
    author: str
    published: str | None  # ISO 8601 UTC or None
    text: str
    quoted_text: str
    # The candidate the date was read from (shown by `forums test`; not part of equality).
    date_text: str = field(default="", compare=False)
    date_without_time: bool = False  # only a day was found: the time of day is unknown


@dataclass(slots=True)
class ThreadPage:
    title: str
    posts: list[RawPost] = field(default_factory=list)
    next_url: str | None = None
    logged_out: bool = False
    warnings: list[str] = field(default_factory=list)
    languages: tuple[str, ...] = ()  # languages human dates were read in, first = the forum's
    language_source: str = ""  # "configured", "page" (<html lang>) or "default"


# -- selector plumbing -------------------------------------------------------------------


class _Warn:
    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.dropped = 0

    def __call__(self, msg: str) -> None:
        if len(self.out) < MAX_WARNINGS:
            self.out.append(msg)
        else:
            self.dropped += 1

    def close(self) -> None:
        if self.dropped:
            self.out.append(f"... and {self.dropped} more warnings")


def split_alternatives(expr: str) -> list[str]:
    """Split a CSS selector list at top-level commas (not inside (), [] or quotes)."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    for i, ch in enumerate(expr):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
    parts.append(expr[start:].strip())
    return [p for p in parts if p]


def _run(node: Selector, expr: str, warn: _Warn, name: str) -> SelectorList[Selector]:
    try:
        if expr.startswith("xpath:"):
            return node.xpath(expr[len("xpath:"):].strip())
        return node.css(expr)
    except Exception as exc:  # invalid selector from a config, or lxml limits
        warn(f"selector {name} {expr!r} failed: {type(exc).__name__}: {exc}")
        return SelectorList([])


@lru_cache(maxsize=1024)
def _alternatives(expr: str) -> tuple[str, ...]:
    if expr.startswith("xpath:"):
        return (expr,)
    return tuple(split_alternatives(expr))


def select_all(node: Selector, expr: str | None, warn: _Warn, name: str) -> SelectorList[Selector]:
    if not expr:
        return SelectorList([])
    return _run(node, expr, warn, name)


def _value(s: Selector, attr: str | None = None) -> str:
    root = s.root
    if isinstance(root, str):
        return collapse(root)
    if not hasattr(root, "tag"):  # number/bool from an XPath function
        return collapse(str(root))
    if attr:
        return (root.get(attr) or "").strip()
    try:
        return visible_text(root)
    except Exception:
        return ""


def first_value(node: Selector, expr: str | None, warn: _Warn, name: str,
                attr: str | None = None) -> str:
    """First non-empty value over the alternatives, in priority order."""
    if not expr:
        return ""
    for alt in _alternatives(expr):
        for s in _run(node, alt, warn, name):
            v = _value(s, attr)
            if v:
                return v
    return ""


def first_element(node: Selector, expr: str | None, warn: _Warn, name: str) -> Selector | None:
    if not expr:
        return None
    for alt in _alternatives(expr):
        for s in _run(node, alt, warn, name):
            if hasattr(s.root, "tag"):
                return s
    return None


def all_values(node: Selector, expr: str | None, warn: _Warn, name: str,
               attr: str | None = None) -> list[str]:
    if not expr:
        return []
    out: list[str] = []
    for alt in _alternatives(expr):
        for s in _run(node, alt, warn, name):
            v = _value(s, attr)
            if v:
                out.append(v)
    return out


def _link(node: Selector, expr: str | None, warn: _Warn, name: str) -> tuple[str, str]:
    """(href, text) of the first alternative matching a link (element or ``::attr``)."""
    if not expr:
        return "", ""
    for alt in _alternatives(expr):
        for s in _run(node, alt, warn, name):
            root = s.root
            if isinstance(root, str):
                if root.strip():
                    return root.strip(), ""
                continue
            if not hasattr(root, "tag"):
                continue
            href = root.get("href")
            if href is None:  # matched a wrapper: use its first link
                inner = root.find(".//a[@href]") if hasattr(root, "find") else None
                if inner is None:
                    continue
                return inner.get("href", ""), visible_text(inner)
            return href, visible_text(root)
    return "", ""


def _parse(html: str | bytes, url: str, warn: _Warn) -> Selector | None:
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if not isinstance(html, str):
        warn(f"{url}: page is not text")
        return None
    if len(html) > MAX_HTML_CHARS:
        warn(f"{url}: page truncated to {MAX_HTML_CHARS} characters")
        html = html[:MAX_HTML_CHARS]
    html = html.replace("\x00", "")
    if not html.strip():
        warn(f"{url}: empty page")
        return None
    try:
        # Our own parser (same settings as parsel's) so its error log can tell us when
        # libxml2 stopped at its nesting limit: content past that point is lost, and a
        # page nesting thousands of tags is either broken or hiding something.
        parser = lxml.html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
        root = lxml.etree.fromstring(html.encode("utf-8", "surrogatepass"), parser=parser, base_url=url)
        if root is None:
            raise ValueError("no document element")
        if any("depth" in e.message.lower() for e in parser.error_log):
            warn(f"{url}: tags nested beyond the HTML parser's depth limit; "
                 "content after that point could not be read")
        return Selector(root=root, type="html", base_url=url)
    except Exception as exc:
        warn(f"{url}: page could not be parsed as HTML ({type(exc).__name__}: {exc})")
        return None


def _is_logged_out(doc: Selector, sel: Selectors, warn: _Warn) -> bool:
    return bool(sel.logged_out) and bool(select_all(doc, sel.logged_out, warn, "logged_out"))


def _missing(name: str, expr: str | None, url: str) -> str:
    return f"selector {name} {expr!r} matched nothing on {url}"


# -- boards ------------------------------------------------------------------------------


def parse_board(html: str, url: str, sel: Selectors, tz: str = "UTC",
                *, now: datetime | None = None, language: str | None = None) -> BoardPage:
    """Thread rows (URL, title, change marker), next board page and child boards.

    A relative or naive date in a marker ("Today, 10:30", "il y a 2 heures", "01-05-2024,
    11:00 AM") is resolved like a post date (forum ``tz``, relative to ``now``, in ``language`` else the
    page's ``<html lang>``) and kept as ISO UTC: as shown, "Today, 10:30" on two days, or
    "2 hours ago" after a new post, would compare equal and hide a changed thread."""
    page = BoardPage()
    warn = _Warn(page.warnings)
    try:
        _parse_board(page, html, url, sel, warn, tz, now, language)
    except Exception as exc:  # last line of defence: lxml limits, recursion, memory
        warn(f"{url}: board parsing stopped: {type(exc).__name__}: {exc}")
    warn.close()
    return page


def _parse_board(page: BoardPage, html: str, url: str, sel: Selectors, warn: _Warn,
                 tz: str = "UTC", now: datetime | None = None, language: str | None = None) -> None:
    doc = _parse(html, url, warn)
    if doc is None:
        return
    lang = language or page_language(doc)
    page.logged_out = _is_logged_out(doc, sel, warn)
    base = base_url(doc, url)
    seen: set[str] = set()
    rows = select_all(doc, sel.thread_row, warn, "thread_row")
    if sel.thread_row and not rows and not page.logged_out:
        warn(_missing("thread_row", sel.thread_row, url))
    linkless = 0
    for row in rows:
        href, title = _link(row, sel.thread_link, warn, "thread_link")
        turl = thread_key_url(base, href)
        if turl is None:
            linkless += 1
            continue
        if turl in seen:
            continue
        seen.add(turl)
        found = select_all(row, sel.thread_marker, warn, "thread_marker")  # union: no repeats
        markers = [_marker_value(m, tz, now, lang)
                   for m in (strip_session(_value(s)) for s in found) if m]
        page.threads.append(ThreadRow(url=turl, title=title, marker=" | ".join(markers)))
    # Rows without a link (separators, headers caught by a tolerant thread_row) are
    # expected; only a page where no row had a link is a selector problem.
    if rows and not page.threads:
        warn(_missing("thread_link", sel.thread_link, url) + f" (in {linkless} thread rows)")
    if sel.thread_marker and page.threads and not any(t.marker for t in page.threads):
        warn(_missing("thread_marker", sel.thread_marker, url))
    nxt, _ = _link(doc, sel.board_next, warn, "board_next")
    page.next_url = _next(url, base, nxt)
    subs: list[str] = []
    for s in select_all(doc, sel.subboard_link, warn, "subboard_link"):
        root = s.root
        link: str | None = root if isinstance(root, str) else (
            root.get("href") if hasattr(root, "get") else None)
        sub = absolute(base, link)
        if sub and sub != absolute(url, url) and sub not in subs:
            subs.append(sub)
    page.subboards = subs


# Marker values that are not dates however they parse: links (phpBB/SMF last-post hrefs) and
# a bare clock (MyBB's ", 09:15 PM" beside its dated span), which alone would mean "today".
_NOT_A_DATE = re.compile(r"://|[?=#&]|^\.?/")
_CLOCK_ONLY = re.compile(r"[\s,;:.\-]*\d{1,2}\s*[:h]\s*\d{2}(?::\d{2})?\s*(?:[ap]\.?\s*m\.?)?[\s,;:.\-]*",
                         re.IGNORECASE)


def _marker_value(value: str, tz: str, now: datetime | None, lang: str | None) -> str:
    """A relative or naive date in a marker as ISO UTC (see :func:`parse_board`); anything else,
    including an already absolute date (epoch, ISO with offset), as is."""
    if _NOT_A_DATE.search(value) or _CLOCK_ONLY.fullmatch(value) or is_absolute(value):
        return value
    return parse_date(value, tz, now, lang) or value


def base_url(doc: Selector, url: str) -> str:
    """The URL relative links resolve against: ``<base href>`` when the page has one
    (XenForo 1 and others write every link relative to it), else the page URL."""
    href = doc.xpath("//head/base/@href").get()
    if href:
        joined = absolute(url, href)
        if joined:
            return joined
    return url


def _next(url: str, base: str, href: str) -> str | None:
    nxt = absolute(base, href)
    if nxt is None or nxt == absolute(url, url):
        return None
    return nxt


# -- threads -----------------------------------------------------------------------------


def parse_thread(html: str, url: str, sel: Selectors, tz: str = "UTC",
                 *, now: datetime | None = None, language: str | None = None) -> ThreadPage:
    """Posts of one thread page (id, author, UTC time, text, quoted text) and next page.

    ``language`` is the forum's configured interface language; None reads it from the
    page's ``<html lang>``."""
    page = ThreadPage(title="")
    warn = _Warn(page.warnings)
    try:
        _parse_thread(page, html, url, sel, tz, now, warn, language)
    except Exception as exc:  # last line of defence
        warn(f"{url}: thread parsing stopped: {type(exc).__name__}: {exc}")
    warn.close()
    return page


def _parse_thread(page: ThreadPage, html: str, url: str, sel: Selectors, tz: str,
                  now: datetime | None, warn: _Warn, language: str | None = None) -> None:
    doc = _parse(html, url, warn)
    if doc is None:
        return
    lang = language or page_language(doc)
    page.languages = languages_for(lang)
    page.language_source = "configured" if language else "page" if lang else "default"
    page.logged_out = _is_logged_out(doc, sel, warn)
    page.title = first_value(doc, sel.thread_title, warn, "thread_title")
    if sel.thread_title and not page.title and not page.logged_out:
        warn(_missing("thread_title", sel.thread_title, url))
    nxt, _ = _link(doc, sel.thread_next, warn, "thread_next")
    page.next_url = _next(url, base_url(doc, url), nxt)
    posts = select_all(doc, sel.post, warn, "post")
    if sel.post and not posts and not page.logged_out:
        warn(_missing("post", sel.post, url))
    id_re = _compile(sel.post_id_regex, warn)
    seen: set[str] = set()
    for n, post in enumerate(posts, 1):
        raw = _post(post, n, url, sel, tz, now, id_re, warn, lang)
        if raw is None:
            continue
        if raw.post_id in seen:
            warn(f"post {n} on {url}: duplicate post id {raw.post_id}; skipped")
            continue
        seen.add(raw.post_id)
        page.posts.append(raw)


def page_language(doc: Selector) -> str | None:
    """The page's declared language (``<html lang>`` / ``xml:lang``), if dateparser knows it."""
    for expr in ("/html/@lang", "/html/@*[name()='xml:lang']",
                 "//meta[@http-equiv='Content-Language']/@content"):
        code = normalise_language(doc.xpath(expr).get())
        if code:
            return code
    return None


def _compile(pattern: str | None, warn: _Warn) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        warn(f"selector post_id_regex {pattern!r} is not a valid regex: {exc}")
        return None


def extract_id(value: str, id_re: re.Pattern[str] | None) -> str:
    """The engine's post id: the regex's groups (joined by ``-`` when several, e.g.
    Discourse topic + post number), else the value itself."""
    if id_re is None:
        return value.strip()
    m = id_re.search(value)
    if not m:
        return ""
    groups = [g for g in m.groups() if g]
    if not groups:
        return m.group(0)
    return "-".join(groups)


def _post(post: Selector, n: int, url: str, sel: Selectors, tz: str, now: datetime | None,
          id_re: re.Pattern[str] | None, warn: _Warn, lang: str | None = None) -> RawPost | None:
    where = f"post {n} on {url}"
    id_value = first_value(post, sel.post_id, warn, "post_id")
    post_id = extract_id(id_value, id_re) if id_value else ""
    if not post_id:
        warn(f"{where}: selector post_id {sel.post_id!r} gave no id"
             + (f" (value {id_value[:60]!r})" if id_value else "") + "; post skipped")
        return None
    body = first_element(post, sel.body, warn, "body")
    if body is None:
        warn(f"{where}: selector body {sel.body!r} matched nothing; post {post_id} skipped")
        return None
    author = first_value(post, sel.author, warn, "author")
    if sel.author and not author:
        warn(f"{where}: selector author {sel.author!r} matched nothing (post {post_id})")
    published, date_text, timed = _published(post, sel.published, tz, now, warn, lang)
    if sel.published and published is None:
        warn(f"{where}: selector published {sel.published!r} gave no parseable date (post {post_id})")
    text, quoted = body_text(body, sel, warn)
    return RawPost(post_id=post_id, author=author, published=published, text=text, quoted_text=quoted,
                   date_text=date_text, date_without_time=published is not None and not timed)


def _published(post: Selector, expr: str | None, tz: str, now: datetime | None,
               warn: _Warn, lang: str | None = None) -> tuple[str | None, str, bool]:
    """(ISO date, the candidate it came from, whether that candidate had a time of day)."""
    fallback: tuple[str | None, str, bool] = (None, "", False)
    for cand in all_values(post, expr, warn, "published")[:12]:
        iso = parse_date(cand, tz, now, lang)
        if iso is None:
            continue
        if has_time(cand):
            return iso, cand, True
        if fallback[0] is None:
            fallback = (iso, cand, False)
    return fallback


def body_text(body: Selector, sel: Selectors, warn: _Warn | None = None) -> tuple[str, str]:
    """(text, quoted_text) of a post body. Mutates the body's tree (each parse owns it)."""
    warn = warn or _Warn([])
    for name, expr in (("signature", sel.signature), ("exclude", sel.exclude)):
        for s in select_all(body, expr, warn, name):
            if hasattr(s.root, "getparent") and s.root is not body.root:
                drop(s.root)
    quotes = [s.root for s in select_all(body, sel.quote, warn, "quote")
              if hasattr(s.root, "getparent") and s.root is not body.root]
    chosen = set(quotes)
    outer = [q for q in quotes if not any(a in chosen for a in q.iterancestors())]
    quoted: list[str] = []
    for q in outer:
        t = visible_text(q)
        if t:
            quoted.append(t)
        drop(q)
    return visible_text(body.root), " ".join(quoted)


__all__ = [
    "BoardPage", "RawPost", "ThreadPage", "ThreadRow", "body_text", "extract_id",
    "page_language", "parse_board", "parse_thread", "split_alternatives",
]
