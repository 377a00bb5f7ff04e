"""Visible text of an lxml element, and URL normalisation for crawl keys.

Text convention (one rule everywhere): only what a reader sees; ``<br>`` and block
elements are word boundaries; every run of whitespace becomes one space; no leading or
trailing space. Rules match on single-line text, so we never keep newlines.

The walk is iterative: hostile pages nest thousands of tags and must not hit Python's
recursion limit.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from lxml import etree

SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "head", "title", "object", "embed",
    "svg", "math", "select", "textarea", "button", "input", "canvas", "audio", "video",
})
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd",
    "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "img", "li", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul", "cite",
})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_WS = re.compile(r"\s+")


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _tag(el: etree._Element) -> str | None:
    tag = el.tag
    if not isinstance(tag, str):  # comments, processing instructions, entities
        return None
    return tag.rsplit("}", 1)[-1].lower()


def is_hidden(el: etree._Element) -> bool:
    """Hidden to a reader: ``hidden`` attribute, inline display:none, or class ``hidden``."""
    get = el.get
    if get("hidden") is not None:
        return True
    style = get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    cls = get("class")
    return bool(cls) and "hidden" in cls.split()


def visible_text(root: etree._Element) -> str:
    """What a reader sees inside ``root`` (its tail excluded), whitespace collapsed."""
    tag = _tag(root)
    if tag is None:
        return ""
    out: list[str] = []
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, closing = stack.pop()
        if closing:
            if _tag(el) in BLOCK_TAGS:
                out.append(" ")
            if el is not root and el.tail:
                out.append(el.tail)
            continue
        t = _tag(el)
        if t is None or (el is not root and (t in SKIP_TAGS or is_hidden(el))):
            if el is not root and el.tail:
                out.append(el.tail)
            continue
        if t in BLOCK_TAGS:
            out.append(" ")
        if el.text:
            out.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    return collapse("".join(out))


def drop(el: etree._Element) -> None:
    """Remove ``el`` from its tree, keeping its tail text (as a separate word)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + " " + tail
        else:
            parent.text = (parent.text or "") + " " + tail
    parent.remove(el)


# -- URLs ------------------------------------------------------------------------------

# Session ids some engines add to every link when cookies are off: phpBB ``sid``, MyBB
# ``s`` (both 32 hex digits), PHP's ``PHPSESSID`` (SMF and others). Without them the same
# thread would get a new key at every crawl. ``;`` separates SMF's query parameters.
_SESSION_PARAM = re.compile(
    r"(?:(?<=[?&;])|^)(?:(?:sid|s)=[0-9a-fA-F]{32}|PHPSESSID=[^&;#]*)(?:[&;]|(?=#)|$)"
)


def strip_session(url: str) -> str:
    if "=" not in url:
        return url
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = _SESSION_PARAM.sub("", parts.query).rstrip("&;")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def absolute(base: str, href: str | None) -> str | None:
    """Absolute page URL for ``href``: joined, fragment and session id removed."""
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(("javascript:", "mailto:", "data:", "#")):
        return None
    try:
        url = urldefrag(urljoin(base, href))[0]
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    return strip_session(url)


_XF_UNREAD = re.compile(r"/(?:unread|latest)/?$")


def thread_key_url(base: str, href: str | None) -> str | None:
    """A thread's canonical first-page URL (XenForo's ``…/unread`` jump suffix removed)."""
    url = absolute(base, href)
    if url is None:
        return None
    parts = urlsplit(url)
    if not parts.query and _XF_UNREAD.search(parts.path) and "/threads/" in parts.path:
        path = _XF_UNREAD.sub("/", parts.path)
        url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return url
